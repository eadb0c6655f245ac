"""`aiwfc run PATH`: check, plan, compile with the Parsl backend and run it here.

This is how a person tries a workflow before going to the cluster: the same program that
`aiwfc compile --target parsl` writes is written into the run directory
(`RUN/program/`), then started as a subprocess of the same Python, so what runs locally
is exactly what would run elsewhere. Re-running the same command re-uses the run
directory: tasks already done with unchanged inputs and command are reported `cached`
and not run again, so an interrupted run resumes where it stopped. Without `--site`, a local
run is planned for the stdlib's `local` site (this machine), a `--config slurm` run for
the site the workflow imports. When the run ends, the program logs it to MLflow if
`--track`, the workflow's `track` or the site's says so (`--no-track` overrides them all;
aiwfc.tracking.resolve_track; compiled into run.py as TRACK, as `aiwfc compile --target
parsl` does), and this command writes the run's RO-Crate.

Exit status: the program's (0 every task succeeded, 1 a task failed, 130 interrupted),
1 when the input has errors, 2 for usage or I/O problems (no parsl, bad -p).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from aiwfc.backend import EmitContext, discover_backends, report_capabilities
from aiwfc.cli import warm as warm_interpreter
from aiwfc.cli.common import (add_input_options, add_track_options, emit_diagnostics, failed, io_problem,
                               parse_params, track_choice)
from aiwfc.manifest import MANIFEST_NAME, manifest, manifest_text, project_sources
from aiwfc.output import write_artefacts
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan
from aiwfc.provenance import SOURCE_DIR, write_crate

DEFAULT_SITE = "local"
PROGRAM_DIR = "program"
TIMELINE = os.environ.get("AIWF_TIMELINE")  # bench/run_bench.py: where start-up milestones go


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a workflow on this machine (with Parsl)",
                       description="Check a workflow, compile it for Parsl into the run directory and run it "
                                   "here. Re-running the same command resumes: completed tasks are skipped.")
    add_input_options(p)
    p.add_argument("--run-dir", metavar="DIR", help="run directory (default: runs/<workflow>)")
    p.add_argument("--workflow", metavar="NAME", help="the workflow to run when the file defines several")
    p.add_argument("-O", dest="opt_level", type=int, choices=(0, 1, 2), default=1, metavar="LEVEL",
                   help="plan optimisation level: -O0, -O1 (default), -O2")
    p.add_argument("--config", choices=("local", "slurm"), default="local",
                   help="Parsl configuration: local (default) or slurm (the site's partitions)")
    p.add_argument("--workers", type=int, metavar="N", help="local workers (default: the machine's cores)")
    p.add_argument("--max-parallel", type=int, metavar="N", help="at most N tasks of one phase at once")
    p.add_argument("--bundle", default="auto", metavar="auto|off|N",
                   help="items per Parsl app: auto (default: large scatters become ~4 apps per worker), off, or N")
    p.add_argument("--force", action="store_true", help="re-run every task, even those recorded as done")
    p.add_argument("--quiet", action="store_true", help="only the summary, no progress lines")
    p.add_argument("--strict", action="store_true", help="warnings count as errors")
    p.add_argument("--no-crate", action="store_true",
                   help="do not write the Workflow Run RO-Crate (ro-crate-metadata.json) when the run ends")
    add_track_options(p, "when the run ends (default store: a local file store RUN/mlruns)")
    p.set_defaults(run=run)


def _mark(label: str) -> None:
    """`<epoch seconds> <label>` appended to $AIWF_TIMELINE when set (the start-up breakdown
    of bench/run_bench.py; the program adds its own milestones to the same file)."""
    if TIMELINE:
        with open(TIMELINE, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.6f} {label}\n")


def _error(message: str) -> int:
    print(f"aiwfc: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    _mark("aiwfc: run")
    warm = warm_interpreter.take()  # importing parsl since the command line was read (see there)
    try:
        return _compile_and_run(args, warm)
    finally:
        if warm.stdin is not None and not warm.stdin.closed:  # not used: let it end
            warm.stdin.close()
            warm.wait()


def _compile_and_run(args: argparse.Namespace, warm: subprocess.Popen) -> int:
    params = parse_params(args.param)
    if params is None:
        return 2
    if importlib.util.find_spec("parsl") is None:
        return _error("`aiwfc run` needs parsl: pip install 'aiwfc[parsl]'")
    backend = discover_backends().get("parsl")
    if backend is None:
        return _error("the parsl backend is not installed (entry point aiwfc.backends: parsl)")
    # locally the `local` site describes the machine; on Slurm the workflow's own site (or --site)
    site = args.site or (DEFAULT_SITE if args.config == "local" else None)
    comp = analyse(args.path, site=site, params=params, params_file=args.params)
    diags = comp.sink.sorted()
    io_error = io_problem([args.path], args.params, diags)  # reported as AIWF105/AIWF203; exit status 2
    if io_error or failed(diags, args.strict):
        emit_diagnostics(diags, comp.sources, "text", stream=sys.stderr)
        return 2 if io_error else 1
    workflows = [w for w in comp.workflows if not args.workflow or w.name == args.workflow]
    if len(workflows) != 1:
        names = ", ".join(w.name for w in comp.workflows) or "none"
        return _error(f"{args.path}: choose one workflow with --workflow NAME (it defines: {names})")
    wf = workflows[0]
    plan = build_plan(comp, wf, level=args.opt_level)
    ctx = EmitContext(comp, wf, plan, {"track": track_choice(args)}, comp.sink)
    report_capabilities(backend, ctx)
    artefacts = backend.emit(ctx)
    diags = comp.sink.sorted()
    shown = [d for d in diags if d.severity.value in ("error", "warning")]
    if shown:
        emit_diagnostics(shown, comp.sources, "text", stream=sys.stderr)
    if failed(diags, args.strict):
        return 1
    run_dir = Path(args.run_dir or Path("runs") / wf.name).resolve()
    program = run_dir / PROGRAM_DIR
    # provenance beside the program: the compile manifest and the workflow's own sources (for the crate)
    artefacts.add(MANIFEST_NAME, manifest_text(manifest(
        comp, wf, targets=["parsl"], level=args.opt_level, disabled=[], plan_result=plan, artefacts=artefacts,
        params_file=args.params)))
    for name, text in project_sources(comp).items():
        artefacts.add(f"{SOURCE_DIR}/{name}", text)
    _mark("aiwfc: compiled")
    write_artefacts(artefacts, str(program), force=True)
    argv = [sys.executable, str(program / "run.py"), "--run-dir", str(run_dir), "--config", args.config,
            "--bundle", args.bundle]
    for flag, value in (("--workers", args.workers), ("--max-parallel", args.max_parallel)):
        if value is not None:
            argv += [flag, str(value)]
    argv += ["--force"] * args.force + ["--quiet"] * args.quiet
    if not args.no_crate:  # the crate's library loads while the program runs, not after it (~0.2 s)
        threading.Thread(target=_preload, args=("rocrate.rocrate",), name="aiwfc-preload", daemon=True).start()
    status = _run_program(argv, warm)
    _mark("aiwfc: program ended")
    if not args.no_crate and (run_dir / "run.json").is_file():
        print(f"  {write_crate(run_dir, program)}", flush=True)
    _mark("aiwfc: end")
    return status


def _preload(module: str) -> None:
    """Imports an optional module ahead of its use (in a thread: its absence is reported
    where it is used)."""
    try:
        importlib.import_module(module)
    except ImportError:
        pass


def _run_program(argv: list[str], warm: subprocess.Popen) -> int:
    """Runs the program in the `warm` interpreter (a new one when that has gone),
    forwarding SIGINT/SIGTERM to it (it then cancels its work)."""
    proc = warm
    try:
        warm.stdin.write(json.dumps(argv[1:]).encode() + b"\n")
        warm.stdin.close()
    except OSError:  # pragma: no cover - it ended early: start the program afresh
        warm.wait()
        proc = subprocess.Popen(argv)

    def forward(signum, _frame):
        if proc.poll() is None:
            proc.send_signal(signum)
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # pragma: no cover - the handler above normally gets it
                forward(signal.SIGINT, None)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
