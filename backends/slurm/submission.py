"""`submit.sh` and the generated half of `lib.sh`: who is submitted when, waiting for what.

The submission functions live in `lib.sh` because two kinds of caller need them:
`submit.sh` (everything up to each loop's first iteration) and the loop controllers
(each later iteration, from inside the cluster). One function per unit submits it for
an iteration with a given dependency and records what its dependents wait for in the
associative array `REP` (a job id, the ids of all its arrays, or its sentinel); one
function per loop submits an iteration's units and its controller; `aiwf_submit_main`
submits the whole run in the order `layout.Layout.top` gives.
"""

from __future__ import annotations

from aiwfc.emitter import Emitter, bash_quote, header_lines
from aiwfc.manifest import MANIFEST_NAME
from aiwfc.provenance import SOURCE_DIR

from aiwfc_backends.runtime.spec import RUNTIME_MODULES, SPEC_FILE
from aiwfc_backends.slurm.data_ops import DATA_LIB
from aiwfc_backends.slurm.directives import array_range
from aiwfc_backends.slurm.layout import Layout, Unit, Wait, safe_name
from aiwfc_backends.slurm.scripts import FINISH_SCRIPT, ScriptContext, script_path
from aiwfc_backends.slurm.shell_lib import LIB_HELPERS

__all__ = ["lib_text", "submit_text", "RUNTIME_FILES"]

RUNTIME_FILES = (*RUNTIME_MODULES, SPEC_FILE)  # what submit.sh copies into the run (runtime_files' names)


def _rep(source: str) -> str:
    key = f"loop:{safe_name(source[5:])}" if source.startswith("loop:") else safe_name(source)
    return f"${{REP[{key}]}}"


def _deps_line(e: Emitter, waits: list[Wait]) -> None:
    items = [f'"{w.slurm}:{_rep(w.source)}"' for w in waits if not w.outside]
    e.line(f"d=$(aiwf_join {' '.join(items)})" if items else 'd=""')
    outside = [f'"{w.slurm}:{_rep(w.source)}"' for w in waits if w.outside]
    if outside:
        e.line('if (( k == 0 )); then')
        with e.indent():
            e.line(f'd=$(aiwf_join "$d" {" ".join(outside)})')
        e.line("fi")


def _unit_function(e: Emitter, sc: ScriptContext, unit: Unit) -> None:
    job = unit.job
    name, key = bash_quote(job.id), safe_name(job.id)
    script = f'"$AIWF_HOME/{script_path(job.id)}"'
    e.line(f"# job {job.id}: {job.kind}{' (dynamic item count)' if unit.dynamic else ''}"
           f"{'; with clients ' + ', '.join(c.id for c in unit.clients) if unit.clients else ''}")
    e.line(f"aiwf_submit__{key}() {{")
    with e.indent():
        e.line('local k=$1 d=$2')
        if unit.dynamic:
            e.line('local x s')
            e.line(f'x=$(aiwf_sbatch {name} "$k" expander "$d" "$AIWF_HOME/{script_path(job.id, "expand")}" --hold)')
            e.line(f's=$(aiwf_sbatch {name} "$k" sentinel "afterok:$x" "$AIWF_HOME/{script_path("wait", "")}" '
                   f'--job-name={bash_quote(f"{sc.workflow}.{job.id}.wait")})')
            e.line('aiwf_release "$x"')
            e.line('if [[ ${AIWF_DRY_RUN:-0} == 1 ]]; then')
            with e.indent():
                arr = "" if unit.per_task else " --array=0"
                e.line(f'aiwf_sbatch {name} "$k" array "" {script}{arr} > /dev/null')
            e.line("fi")
            e.line(f'REP[{key}]=$s')
        elif unit.per_task:
            e.line('local ids="" id t')
            e.line(f"for ((t = 0; t < {job.array.tasks}; t++)); do")
            with e.indent():
                e.line(f'id=$(AIWF_TASK_OFFSET=$t aiwf_sbatch {name} "$k" task "$d" {script})')
                e.line('ids=${ids:+$ids:}$id')
            e.line("done")
            e.line(f'REP[{key}]=$ids')
        elif unit.is_array and job.array.submissions > 1:
            a = job.array
            e.line('local ids="" id')
            for s in range(a.submissions):
                offset = s * a.max_array_size
                size = min(a.max_array_size, a.tasks - offset)
                e.line(f'id=$(AIWF_TASK_OFFSET={offset} aiwf_sbatch {name} "$k" array "$d" {script} '
                       f'--array={array_range(size, a.throttle)})')
                e.line('ids=${ids:+$ids:}$id')
            e.line(f'REP[{key}]=$ids')
        else:
            role = "array" if unit.is_array else "job"
            e.line(f'REP[{key}]=$(aiwf_sbatch {name} "$k" {role} "$d" {script})')
    e.line("}")
    e.line()


def _loop_function(e: Emitter, layout: Layout, name: str) -> None:
    loop = layout.loop(name)
    units = layout.loop_units[name]
    e.line(f"# feedback loop {name}: one iteration of {', '.join(units)}, then its controller "
           f"(at most {loop.max_iterations} iterations)")
    e.line(f"aiwf_submit_loop_{safe_name(name)}() {{")
    with e.indent():
        e.line("local k=$1 d")
        for u in units:
            _deps_line(e, layout.waits[u])
            e.line(f'aiwf_submit__{safe_name(u)} "$k" "$d"')
        items = " ".join(f'"afterok:{_rep(u)}"' for u in units)
        e.line(f"d=$(aiwf_join {items})")
        e.line(f'AIWF_CONTROLLER=$(aiwf_sbatch {bash_quote(name)} "$k" controller "$d" '
               f'"$AIWF_HOME/{script_path(name, "controller")}")')
    e.line("}")
    e.line()


def _finish_lines(e: Emitter, layout: Layout) -> None:
    """The finish job waits (afterany: whether they succeed or not) for every top-level unit
    and every loop's tail, which later iterations' controllers keep pointing at their newest
    controller; so it starts once nothing else of the run can still run or be submitted."""
    items = []
    for kind, ident in layout.top:
        if kind == "unit":
            items.append(f'"afterany:{_rep(ident)}"')
        elif layout.loop_units.get(ident):
            items.append(f'"afterany:{_rep("loop:" + ident)}"')
    e.comment("tracked workflow: the last job summarises the run and logs it to MLflow")
    e.line(f"d=$(aiwf_join {' '.join(items)})")
    e.line(f'aiwf_sbatch finish 0 finish "$d" "$AIWF_HOME/{FINISH_SCRIPT}" > /dev/null')


def lib_text(sc: ScriptContext, layout: Layout, track: tuple[str, str | None] | None = None) -> str:
    """`lib.sh`: fixed helpers, then the submission functions of this workflow. A tracked
    workflow (`track`, see aiwfc.tracking.resolve_track) ends with the finish job."""
    e = Emitter()
    for text in header_lines(f"Bash helpers and submission functions of workflow `{sc.workflow}` "
                             "(sourced by submit.sh, the jobs and the loop controllers).", sc.source):
        e.comment(text)
    e.comment("shellcheck shell=bash")
    e.line("# shellcheck disable=SC2034  # REP and AIWF_CONTROLLER are read by the caller")
    e.line()
    e.comment("What dependents of each unit wait for (job ids, colon-separated), by unit.")
    e.line("declare -A REP=()")
    e.line("AIWF_CONTROLLER=\"\"")
    e.extend(LIB_HELPERS.rstrip("\n").split("\n"))
    e.line()
    e.extend(DATA_LIB.rstrip("\n").split("\n"))
    e.line()
    e.comment("-------------------------------------------------------------- submission functions")
    e.line()
    for unit in layout.units.values():
        _unit_function(e, sc, unit)
    for lp in layout.plan.loops:
        if layout.loop_units.get(lp.name):
            _loop_function(e, layout, lp.name)
    e.comment("the whole run, in dependency order (loops: their first iteration and their tail)")
    e.line("aiwf_submit_main() {")
    with e.indent():
        e.line("local d")
        for kind, ident in layout.top:
            if kind == "unit":
                _deps_line(e, layout.waits[ident])
                e.line(f'aiwf_submit__{safe_name(ident)} 0 "$d"')
            elif layout.loop_units.get(ident):
                e.line(f'aiwf_submit_loop_{safe_name(ident)} 0')
                e.line(f'REP[loop:{safe_name(ident)}]=$(aiwf_sbatch {bash_quote(ident)} 0 tail '
                       f'"afterok:$AIWF_CONTROLLER" "$AIWF_HOME/{script_path("wait", "")}" '
                       f'--job-name={bash_quote(f"{sc.workflow}.{ident}.tail")})')
        for unit in layout.units.values():
            svc = unit.service
            if svc is None or unit.clients or unit.loop is not None:
                continue
            clients = [layout.unit_of[c] for c in svc.clients if c in layout.unit_of]
            clients = [c for c in clients if layout.units[c].loop is None]
            if not clients:
                continue
            items = " ".join(f'"afterany:{_rep(c)}"' for c in clients)
            e.comment(f"service {svc.service} runs in its own job: stopped once its clients ended")
            e.line(f"d=$(aiwf_join {items})")
            e.line(f'AIWF_SERVICE_JOB={_rep(unit.id)} aiwf_sbatch {bash_quote(unit.id)} 0 stopper "$d" '
                   f'"$AIWF_HOME/{script_path("stop-service", "")}" > /dev/null')
        if track is not None:
            _finish_lines(e, layout)
    e.line("}")
    return e.text()


def submit_text(sc: ScriptContext, layout: Layout, jobs: int) -> str:
    """`submit.sh`: makes the run directory, copies the artefacts into it, submits."""
    e = Emitter()
    e.line("#!/bin/bash")
    for text in header_lines(f"Submits workflow `{sc.workflow}` to Slurm ({jobs} job scripts).", sc.source):
        e.comment(text)
    e.comment("")
    e.comment("usage: submit.sh [--dry-run] [--run DIR] [--project DIR]")
    e.comment("  --run DIR      the run directory (default: runs/<workflow>-<date> beside this script)")
    e.comment("  --project DIR  the project directory `${project}` refers to (default: the compiled one)")
    e.comment("  --dry-run      sbatch --test-only for every job script; nothing is submitted")
    e.comment("The jobs survive logging out; status.sh and cancel.sh take the run directory.")
    e.line("set -euo pipefail")
    e.line('here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)')
    e.line("dry=0")
    e.line('run=""')
    e.line("while (( $# > 0 )); do")
    with e.indent():
        e.line('case $1 in')
        with e.indent():
            e.line("--dry-run) dry=1 ;;")
            e.line('--run) run=${2:?--run needs a directory}; shift ;;')
            e.line('--project) AIWF_PROJECT=${2:?--project needs a directory}; export AIWF_PROJECT; shift ;;')
            e.line("-h | --help) sed -n '2,12p' \"$0\"; exit 0 ;;")
            e.line('*) echo "submit.sh: unknown argument: $1" >&2; exit 2 ;;')
        e.line("esac")
        e.line("shift")
    e.line("done")
    e.line("if (( dry )); then")
    with e.indent():
        e.line('run=$(mktemp -d "${TMPDIR:-/tmp}/aiwf-dry-run.XXXXXX")')
    e.line("fi")
    e.line(f'run=${{run:-$here/runs/{sc.workflow}-$(date +%Y%m%d-%H%M%S)}}')
    e.line('if [[ -s $run/slurm/jobs.tsv ]]; then')
    with e.indent():
        e.line('echo "submit.sh: $run was already submitted (see $run/slurm/jobs.tsv); choose another --run" >&2')
        e.line("exit 2")
    e.line("fi")
    e.line('mkdir -p "$run/slurm" "$run/logs" "$run/archives"')
    e.line('AIWF_RUN=$(cd "$run" && pwd)')
    e.line("AIWF_HOME=$AIWF_RUN/slurm")
    e.line("AIWF_DRY_RUN=$dry")
    e.line("export AIWF_RUN AIWF_HOME AIWF_DRY_RUN")
    files = " ".join(f'"$here/{f}"' for f in ("jobs", "lib.sh", *RUNTIME_FILES, "status.sh", "cancel.sh"))
    e.line(f'cp -R {files} "$AIWF_HOME/"')
    # the compile manifest (the plan's decisions) and the sources for status.sh --crate; beside the artefacts,
    # or one level up when `aiwfc compile --target all` wrote one per output tree
    e.line(f'for manifest in "$here/{MANIFEST_NAME}" "$here/../{MANIFEST_NAME}"; do')
    with e.indent():
        e.line('if [[ -f $manifest ]]; then')
        with e.indent():
            e.line('cp "$manifest" "$AIWF_HOME/"')
            e.comment("the workflow's own sources, which aiwfc compile copied beside the manifest")
            e.line(f'if [[ -d ${{manifest%/*}}/{SOURCE_DIR} ]]; then')
            with e.indent():
                e.line(f'cp -R "${{manifest%/*}}/{SOURCE_DIR}" "$AIWF_HOME/"')
            e.line("fi")
            e.line("break")
        e.line("fi")
    e.line("done")
    e.line(': > "$AIWF_HOME/jobs.tsv"')
    e.line("# shellcheck source=/dev/null")
    e.line('source "$AIWF_HOME/lib.sh"')
    e.line("aiwf_submit_main")
    e.line("if (( dry )); then")
    with e.indent():
        e.line("cut -f 1-4 \"$AIWF_HOME/dry-run.log\" | sed 's/^/sbatch --test-only: /'")
        e.line('refused=$(grep -c "^refused" "$AIWF_HOME/dry-run.log" || true)')
        e.line('grep "^refused" "$AIWF_HOME/dry-run.log" >&2 || true')
        e.line('rm -rf -- "$AIWF_RUN"')
        e.line('if (( refused > 0 )); then')
        with e.indent():
            e.line('echo "submit.sh --dry-run: $refused job script(s) refused by sbatch --test-only" >&2')
            e.line("exit 1")
        e.line("fi")
        e.line('echo "submit.sh --dry-run: every job script accepted by sbatch --test-only"')
        e.line("exit 0")
    e.line("fi")
    e.line('printf \'%s\\n\' "$AIWF_RUN" > "$here/last-run"')
    e.line('echo "submitted $(wc -l < "$AIWF_HOME/jobs.tsv") job(s); run directory: $AIWF_RUN"')
    e.line('echo "status: $AIWF_HOME/status.sh    cancel: $AIWF_HOME/cancel.sh"')
    return e.text()
