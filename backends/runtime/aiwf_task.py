#!/usr/bin/env python3
"""aiwf_task.py: the task runtime of aiwf workflows (Slurm and Parsl run tasks through it).

Everything that happens on a compute node is done by this one program, so that every
backend runs, records and resumes tasks the same way: expanding a command with the
values of its inputs, running it in its task directory (inside its container when one
can be used), checking and collecting its outputs, recording what happened, evaluating
`foreach` item lists, feedback-loop conditions, loop-carried values and `stop` rules.
It needs python3's standard library only (3.6 or newer: what compute nodes have); it
never imports aiwfc. This file is its command line and the names other code uses
(`Spec`, `Runtime`, `TaskError`, `bash_quote`, `summary`, ...); the work is done by the
modules beside it: aiwf_base.py (errors, JSON, quoting, types, the spec), aiwf_values.py
(layout, items, port values, templates), aiwf_records.py (task records, hashes, the run
summary), aiwf_exec.py (running a task's attempts) and aiwf_loop.py (loop decisions,
stop rules). All of them are copied verbatim beside `workflow.json` (the *spec*, written
by `aiwfc_backends.runtime.spec.build_spec`) into every artefact tree (the list is
`aiwfc_backends.runtime.spec.RUNTIME_MODULES`); `python3 -S aiwf_task.py` finds them
in its own directory, and this file can be imported as the module `aiwf_task`.

Commands
--------
All commands take `--spec S` (workflow.json) and `--run RUN` (the run directory, created
when missing); `--project DIR` (or $AIWF_PROJECT) replaces the project directory that
`${project}` and relative dataset/image paths refer to (default: the spec's `project`).

    python3 aiwf_task.py items --spec S --run RUN --phase P [--iteration K]
        Evaluates P's `foreach` items for iteration K (default 0) and (re)writes
        RUN/tasks/P/iK/manifest.json {"phase", "iteration", "count", "items", "foreach"},
        which every `run` of P at K then reads (so array tasks agree on their items).
        Prints the count on stdout. A phase without `foreach` has one item (count 1).
        The items come from the loop-carried value of the previous iteration when the
        loop carries P's foreach variable (`next P.var = ...`), else from the source:
        a list expression, an upstream list output (absolute paths for list<file>), or a
        dataset (its files, sorted, as absolute paths). A foreach over a foreach producer's
        per-item output (`foreach t in md.traj`, source mode `elementwise`) has the
        producer's item count, and item I is producer task I's output, resolved when task I
        runs: it needs that one task only (a fused or `aftercorr` chunk), and it is
        `skipped` when that task was stopped or skipped.

    python3 aiwf_task.py run --spec S --run RUN --phase P [--iteration K]
                              [--index I | --range A:B] [--force]
        Runs the tasks of P at iteration K: one index (default 0), or items A..B-1 in
        turn (a bundle; indices at or beyond the item count are ignored, so a backend
        may submit array tasks from an estimate). Writes `manifest.json` first when a
        foreach phase has none. For each index: the task directory
        RUN/tasks/P/iK/<I>/ is the command's cwd; inputs are resolved from the upstream
        task records; when `when` is false the task is `skipped`; the command is expanded
        (every value bash-quoted, a list as separate words) and run with `bash -c`,
        inside `apptainer|singularity exec OPTIONS --bind PROJECT,RUN[,TASKDIR] SIF` (the
        task directory's real path too when it is a link to node-local scratch) when the phase
        has an image, the site has a container runtime, the runtime is on PATH and the
        SIF exists (else on the host, with a notice in stderr.log; $AIWF_CONTAINERS=off
        always runs on the host). stdout/stderr go to stdout.log/stderr.log in the task
        directory (an earlier attempt's to stdout.attempt<N>.log/stderr.attempt<N>.log).
        A failed attempt is re-run up to the phase's `retries`. While the task runs,
        the phase's `stop ... when` rules are evaluated on its outputs so far (every
        0.2 s); when one holds, the task's process group gets SIGTERM and the task is
        `stopped` (excluded from gathers, like a skipped task). SIGTERM/SIGINT to this
        program are forwarded to the running command (a service's normal end).
        Resume: a task whose task.json says `done` (or `stopped`) with the same `key`
        (sha256 of the expanded command, input values, input file hashes, dataset
        hashes, env and image recipe) and whose outputs still exist is not run again; it
        is reported as `cached` (--force re-runs it). File hashes are computed once per
        run and file (RUN/.hashes/ keeps them while size and mtime stay the same); a
        SIGTERM before the command started records it failed with exit 143, never run.
        Environment of the command: the caller's, the phase's `env`, and AIWF_RUN,
        AIWF_PHASE, AIWF_ITERATION, AIWF_INDEX, AIWF_TASK_DIR, AIWF_PROJECT.
        $AIWF_LAUNCH (split as shell words), when set, is put before everything (before
        the container prefix): the multi-node launcher of a distributed job, e.g.
        `srun --ntasks=2 --ntasks-per-node=1`; task.json records it as `launch`.
        One line per index on stdout:
            <phase> i<K>/<I> <done|failed|skipped|stopped|cached> exit=<N>
        A failed task's error and log tail go to stderr.

    python3 aiwf_task.py loop --spec S --run RUN --loop L --iteration K
        After iteration K of loop L: evaluates `until`/`while` on the outputs of K,
        decides whether iteration K+1 runs (never beyond `max_iterations`), evaluates the
        `next` carries when it does, writes RUN/loops/L/iK.json {"loop", "iteration",
        "kind", "condition", "value", "continue", "reason", "max_iterations", "carried"}
        and prints `continue` or `stop`.

    python3 aiwf_task.py stop --spec S --run RUN --loop L --iteration K --phase P --index I
        Evaluates P's `stop ... when` rules of loop L on task I's current outputs and
        prints `true` or `false` (`false` while the values the rule reads are not written).

    python3 aiwf_task.py summary --spec S --run RUN [--out FILE]
        The run as one JSON document built from the task.json and loop records (a base
        for the backends' run.json, identical whatever engine ran the tasks):
        {"format": "aiwf-run/1", "workflow", "params", "state": "done|failed|running|empty",
         "counts": {state: n}, "phases": {P: {"iK": {state: n}}}, "loops": {L: [loop records]},
         "tasks": [{"phase", "iteration", "index", "state", "exit", "seconds", "attempts",
                    "start", "end"}], "failed": [{"phase", "iteration", "index", "exit", "error",
                    "log_tail", "log"}], "tracked": [{"phase", "iteration", "index", "values",
                    "command", "params", "datasets", "input_files", "image"}]}
        printed, or written atomically to FILE.

Exit status: 0 when every task is done, skipped, stopped or cached (and for items/loop/
stop when they could be evaluated); a failed command's own exit status (the first
failure's; 128+N for signal N); 3 when the runtime could not run or check a task (an
upstream output missing, an output not written or malformed, a condition that cannot be
evaluated) -- the message names the task and is also written to its stderr.log and
task.json; 2 for bad arguments or an unreadable spec. Never a Python traceback
(set AIWF_DEBUG=1 to see one for an internal error).

Values and conventions (as the language defines them)
-----------------------------------------------------
A `file`/`dir` output is its path template (default: the port name) under the task
directory; any other output is the JSON file `<port>.json` the command writes, and
`${port}` in the command expands to that file name. Consumers receive values: a path as an
absolute path, a number as a number, a list<file> output's relative entries made absolute
(each must exist when the task ends; every output is checked against its type then).
A foreach phase's output seen from another phase is the list over its items (done tasks
only, in item order). A reference to a phase of the same loop reads the same iteration;
any other reference reads the producer's latest iteration that has a value. `${index}` is
the item number, `${iteration}` the loop iteration (0 outside loops), `${project}` the
project directory, `${ds}` a dataset's directory ($AIWF_DATASET_<name> overrides it: a
staged copy), `${svc.address}` the JSON value a service writes to `address.json` in its
task directory (waited for up to $AIWF_SERVICE_WAIT seconds, default 120; only an address
written since the service's current task started counts). Booleans
expand to true/false, lists to separate words, maps to JSON.

task.json (RUN/tasks/P/iK/I/task.json, written atomically)
----------------------------------------------------------
{"format": "aiwf-task/1", "workflow", "phase", "kind", "iteration", "index", "item",
 "state": "running|done|failed|skipped|stopped", "exit": int|null, "error": str|null (why it
 failed), "reason": str|null (why it was skipped or stopped),
 "start", "end" (ISO 8601 UTC), "seconds", "attempts": int, "attempt_log": [{"attempt",
 "exit", "seconds", "error"}], "command": the expanded command, "params": {name: value}
 (the params the phase refers to), "inputs": {name: value}, "input_files": {path: sha256},
 "datasets": {name: {"path", "version", "sha256"}} (sha256 of a dataset read whole that declares
 no version and holds at most 1000 files / 256 MiB, else null), "outputs": {name: value}, "tracked":
 {name: value} (the phase's `track` list), "image": {"name", "recipe_hash", "sif",
 "container": bool (it ran inside), "digest": "sha256:..." of the SIF when it did} or null,
 "launch": the $AIWF_LAUNCH words or null, "key": cache key, "host", "log_tail": last lines of stderr}

Spec format (workflow.json, "format": "aiwf-runtime/1")
-------------------------------------------------------
{"format", "workflow", "source", "project": absolute dir, "container_runtime",
 "prelude": Python source defining the helpers compiled expressions call,
 "params": {name: value}, "datasets": {name: {"path", "version"}},
 "order": [phase names in dependency order],
 "schedule": [{"phase": P} | {"service": P, "clients": [...]} | {"loop": L, "phases": [...]}],
 "phases": {P: {"kind", "loop": L|null, "job", "chunk", "after": [P...], "service": bool,
     "foreach": {"var", "expr", "text", "carried": bool, "count": int|null (null: known at run time),
                 "from_port": "P.port"|null, "dataset": name|null, "sources": SOURCES} | null,
     "inputs": [{"name", "type", "expr", "text", "carried": bool, "sources": SOURCES}],
     "outputs": [{"name", "type", "path": TEMPLATE|null, "tracked": bool}],
     "command": TEMPLATE, "when": EXPR|null, "env": {}, "retries": int,
     "image": {"name", "sif", "options": [...], "recipe_hash", "prefix": [runtime, "exec",
               *options, sif] (for a backend that starts containers itself)} | null,
     "container_runtime": the phase's site's (apptainer|singularity|docker|none),
     "uses": [services], "track": [names], "params": [names], "datasets": [names read],
     "item_datasets": [datasets whose files are the items],
     "stop": [{"loop", "expr", "text"}]}},
 "loops": {L: {"phases": [...], "kind": "until|while|none", "condition": EXPR|null,
     "max_iterations": int, "carries": [{"target": "P.name", "phase", "name", "expr", "text"}],
     "stops": [{"phase", "expr", "text"}]}}}
EXPR = {"expr": Python expression, "text": the aiwf source}; TEMPLATE = a list of literal
strings and EXPRs; SOURCES = [{"phase", "port", "mode": "single|gather|elementwise"}] (the
plan's bindings, for a backend's dependencies; the runtime itself evaluates `expr`). Python expressions call R(kind, *names) for references: R("param", p),
R("dataset", d), R("local", name, *fields) (project/index/iteration, the foreach variable,
the phase's own ports), R("port", phase, port, *fields), R("service", svc, "address").
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

if __name__ == "__main__":  # a run directory keeps only what was copied into it (no __pycache__)
    sys.dont_write_bytecode = True
if __package__:  # imported as aiwfc_backends.runtime.<module> (aiwfc's own tools and tests)
    from .aiwf_base import EXIT_RUNTIME, EXIT_USAGE, Spec, TaskError, UsageError, bash_quote, read_json, write_json
    from .aiwf_exec import ExecMixin
    from .aiwf_loop import LoopMixin
    from .aiwf_records import RecordsMixin, sha256_path, summary
    from .aiwf_values import ValuesMixin
else:  # beside aiwf_task.py in an artefact tree: its directory is sys.path[0]
    from aiwf_base import EXIT_RUNTIME, EXIT_USAGE, Spec, TaskError, UsageError, bash_quote, read_json, write_json
    from aiwf_exec import ExecMixin
    from aiwf_loop import LoopMixin
    from aiwf_records import RecordsMixin, sha256_path, summary
    from aiwf_values import ValuesMixin

# The module API the backends' drivers use (the Parsl program imports this file): kept stable.
# All but Runtime and main are re-exported from the modules beside this one.
__all__ = ["TaskError", "UsageError", "Spec", "Runtime", "summary", "write_json", "read_json", "bash_quote",
           "main", "sha256_path"]


# ---------------------------------------------------------------- the runtime

class Runtime(ValuesMixin, RecordsMixin, ExecMixin, LoopMixin):
    """One run directory of one workflow: where tasks live and how values are found.

    Its methods are grouped by concern in the modules beside this one (aiwf_values.py,
    aiwf_records.py, aiwf_exec.py, aiwf_loop.py); this class holds the state they share."""

    def __init__(self, spec: Spec, run: str):
        self.spec = spec
        self.run = Path(run).resolve()
        self.run.mkdir(parents=True, exist_ok=True)
        self._terminated = False
        self._child: "subprocess.Popen | None" = None


# ---------------------------------------------------------------- command line

def _parse_range(text: str) -> range:
    m = re.fullmatch(r"(\d+):(\d+)", text)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise UsageError(f"--range must be A:B with 0 <= A <= B, not {text!r}")
    return range(int(m.group(1)), int(m.group(2)))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="aiwf_task.py", description="The aiwf task runtime (see the module doc).")
    sub = ap.add_subparsers(dest="cmd")
    sub.required = True  # (the keyword needs Python 3.7)

    def common(p):
        p.add_argument("--spec", required=True)
        p.add_argument("--run", required=True)
        p.add_argument("--project")
        p.add_argument("--iteration", type=int, default=0)

    p = sub.add_parser("items")
    common(p)
    p.add_argument("--phase", required=True)
    p = sub.add_parser("run")
    common(p)
    p.add_argument("--phase", required=True)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--index", type=int)
    g.add_argument("--range")
    p.add_argument("--force", action="store_true", help="re-run tasks recorded as done")
    p = sub.add_parser("loop")
    common(p)
    p.add_argument("--loop", required=True)
    p = sub.add_parser("summary")
    common(p)
    p.add_argument("--out")
    p = sub.add_parser("stop")
    common(p)
    p.add_argument("--loop", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--index", type=int, default=0)
    return ap


def main(argv: "list[str] | None" = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else 0
    try:
        if args.iteration < 0 or (getattr(args, "index", None) or 0) < 0:
            raise UsageError("--iteration and --index must be >= 0")
        spec = Spec(args.spec, args.project)
        rt = Runtime(spec, args.run)
        if args.cmd == "items":
            spec.phase(args.phase)
            print(len(rt.items(args.phase, args.iteration, refresh=True)))
            return 0
        if args.cmd == "run":
            ph = spec.phase(args.phase)
            if ph.get("loop") is None and args.iteration != 0:
                raise UsageError(f"phase `{args.phase}` is in no loop: its only iteration is 0")
            indices = _parse_range(args.range) if args.range else range(args.index or 0, (args.index or 0) + 1)
            if threading.current_thread() is threading.main_thread():  # main() may run in a worker thread
                signal.signal(signal.SIGTERM, rt.terminate)
                signal.signal(signal.SIGINT, rt.terminate)
            return rt.run_tasks(args.phase, args.iteration, indices, args.force)
        if args.cmd == "loop":
            print("continue" if rt.loop_step(args.loop, args.iteration) else "stop")
            return 0
        if args.cmd == "summary":
            doc = summary(rt)
            if args.out:
                write_json(Path(args.out), doc)
            else:
                print(json.dumps(doc, indent=2, sort_keys=True))
            return 0
        if args.cmd == "stop":
            print("true" if rt.stop_rule(args.loop, args.iteration, args.phase, args.index) is not None else "false")
            return 0
    except UsageError as e:
        print(f"aiwf_task: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TaskError as e:
        print(f"aiwf_task: {args.cmd}: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:  # stdout closed early (`... | head`): nothing left to say
        return 0
    except Exception as e:  # noqa: BLE001 - never a traceback for a user
        if os.environ.get("AIWF_DEBUG"):
            traceback.print_exc()
        print(f"aiwf_task: internal error: {type(e).__name__}: {e} (AIWF_DEBUG=1 shows where)", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
