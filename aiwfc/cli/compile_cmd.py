"""`aiwfc compile PATH --target T -o DIR`: check, plan, emit every target, write atomically.

1. The front end and checks (`aiwfc.pipeline.analyse`); errors, or warnings with
   `--strict`, stop here: diagnostics printed, exit 1, nothing written.
2. For each target (one, or every discovered backend with `--target all`): the plan
   when the backend needs one, `report_capabilities` (AIWF901/902), then `emit`.
   Diagnostics raised there count like the others (exit 1, nothing written).
3. `aiwfc.output.write_artefacts`: with `--target X` the files go directly under DIR,
   with `--target all` under DIR/<target>/, and the provenance manifest
   (`aiwfc.manifest`, DIR/aiwfc-manifest.json) with them. Existing files are not
   overwritten without `--force` (exit 2, nothing written). For the slurm target the
   workflow's own source files are copied too, under DIR/source/ (beside the manifest):
   submit.sh copies both into the run, whose RO-Crate then carries the sources it names.

`--track mlflow[:URI]` / `--no-track` override the workflow's and the site's `track`
setting (aiwfc.tracking.resolve_track, as for `aiwfc run`); the backends read the choice
from `EmitContext.options["track"]` (a Slurm run of a tracked workflow ends with a job
that logs it to MLflow).

Exit status: 0 written, 1 the input has errors, 2 usage or I/O problem (including a
target that is not installed or cannot run yet).
"""

from __future__ import annotations

import argparse
import sys

from aiwfc.backend import Artefacts, EmitContext, discover_backends, report_capabilities
from aiwfc.cli.common import (add_input_options, add_report_options, add_track_options, emit_diagnostics, failed,
                               io_problem, parse_params, track_choice)
from aiwfc.manifest import MANIFEST_NAME, manifest, manifest_text, project_sources
from aiwfc.output import OutputConflict, write_artefacts
from aiwfc.pipeline import analyse
from aiwfc.provenance import SOURCE_DIR

# The planner (aiwfc/plan/) is built alongside the backends; until it exists, targets
# whose backend needs a plan are reported as unavailable (exit 2).
try:
    from aiwfc import plan as planner
except ModuleNotFoundError as e:  # only its absence; a bug inside it must surface
    if e.name != "aiwfc.plan":
        raise
    planner = None

KNOWN_TARGETS = ("cwl", "slurm", "parsl", "apptainer")
# targets whose runs record a crate from the compiled tree (submit.sh copies DIR/source into the run)
CARRY_SOURCES = frozenset({"slurm"})


def add_parser(sub) -> None:
    p = sub.add_parser("compile", help="compile a workflow for an engine (cwl, slurm, parsl, apptainer)",
                       description="Check a workflow, plan it and write the artefacts for one or all targets.")
    add_input_options(p)
    p.add_argument("--target", required=True, metavar="TARGET",
                   help="cwl, slurm, parsl, apptainer (or another installed backend), or all")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    p.add_argument("--workflow", metavar="NAME", help="the workflow to compile when the file defines several")
    p.add_argument("-O", dest="opt_level", type=int, choices=(0, 1, 2), default=1, metavar="LEVEL",
                   help="plan optimisation level: -O0, -O1 (default), -O2")
    p.add_argument("--disable-pass", action="append", default=[], metavar="NAME",
                   help="turn one optimisation pass off (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite existing files in DIR")
    p.add_argument("--cwl-gpu", choices=("hint", "requirement"), default="hint",
                   help="CWL: put cwltool:CUDARequirement under hints (default) or requirements")
    p.add_argument("--cwl-loop", choices=("ext", "native"), default="ext",
                   help="CWL: feedback loops as cwltool:Loop (default; cwltool --enable-ext) or as the "
                        "v1.3.0-dev1 native loop (cwltool --enable-dev)")
    add_track_options(p, "from the run's last job (slurm)")
    add_report_options(p)
    p.set_defaults(run=run)


def _error(message: str) -> int:
    print(f"aiwfc: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    if params is None:
        return 2
    pass_names = getattr(planner, "PASS_NAMES", None)
    unknown_passes = [n for n in args.disable_pass if pass_names is not None and n not in pass_names]
    if unknown_passes:
        return _error(f"unknown pass `{unknown_passes[0]}` (passes: {', '.join(pass_names)})")
    problems: list[str] = []
    backends = discover_backends(problems)
    for p in problems:
        print(f"aiwfc: warning: {p}", file=sys.stderr)
    if args.target == "all":
        targets = sorted(backends)
        if not targets:
            return _error("no backend is installed (entry-point group aiwfc.backends)")
    elif args.target in backends:
        targets = [args.target]
    else:
        known = sorted(set(KNOWN_TARGETS) | set(backends))
        if args.target in KNOWN_TARGETS:
            return _error(f"target `{args.target}` is not available: its backend is not installed yet "
                          f"(installed: {', '.join(sorted(backends)) or 'none'})")
        return _error(f"unknown target `{args.target}` (choose from {', '.join(known)}, all)")

    comp = analyse(args.path, site=args.site, params=params, params_file=args.params)
    diags = comp.sink.sorted()
    io_error = io_problem([args.path], args.params, diags)  # reported as AIWF105/AIWF203; exit status 2
    if io_error or failed(diags, args.strict):
        emit_diagnostics(diags, comp.sources, args.format)
        return 2 if io_error else 1
    workflows = comp.workflows
    if args.workflow:
        workflows = [w for w in workflows if w.name == args.workflow]
        if not workflows:
            emit_diagnostics(diags, comp.sources, args.format)
            names = ", ".join(w.name for w in comp.workflows) or "none"
            return _error(f"{args.path} defines no workflow `{args.workflow}` (it defines: {names})")
    if len(workflows) != 1:
        emit_diagnostics(diags, comp.sources, args.format)
        if not workflows:
            return _error(f"{args.path} defines no workflow; nothing to compile")
        return _error(f"{args.path} defines several workflows ({', '.join(w.name for w in workflows)}); "
                      "choose one with --workflow NAME")
    wf = workflows[0]

    build_plan = getattr(planner, "build_plan", None)  # None while aiwfc/plan/ is half-built
    unavailable = [t for t in targets if backends[t].needs_plan and build_plan is None]
    if unavailable:
        emit_diagnostics(diags, comp.sources, args.format)
        return _error(f"target(s) {', '.join(unavailable)} need the planner (aiwfc.plan), "
                      "which is not available in this build")

    # track: --no-track / --track, as aiwfc.tracking.resolve_track takes it (None: the sources decide)
    options = {"cwl_gpu": args.cwl_gpu, "cwl_loop": args.cwl_loop, "track": track_choice(args)}
    emitted: list[tuple[str, Artefacts]] = []
    plan = None
    for target in targets:
        backend = backends[target]
        if backend.needs_plan and plan is None:
            # measure=False: the backends never read the per-pass before/after costs
            plan = build_plan(comp, wf, level=args.opt_level, disabled=frozenset(args.disable_pass),
                              sink=comp.sink, measure=False)
            if comp.sink.has_errors:
                break
        ctx = EmitContext(comp, wf, plan if backend.needs_plan else None, dict(options), comp.sink)
        report_capabilities(backend, ctx)
        try:
            artefacts = backend.emit(ctx)
        except Exception as e:  # noqa: BLE001 - a backend bug: say which, write nothing
            emit_diagnostics(comp.sink.sorted(), comp.sources, args.format)
            return _error(f"internal error in the {target} backend: {type(e).__name__}: {e}\n"
                          "This is a bug in aiwfc; nothing was written. Please report it with the input.")
        emitted.append((target, artefacts))

    diags = comp.sink.sorted()
    emit_diagnostics(diags, comp.sources, args.format)
    if failed(diags, args.strict):
        return 1

    tree = Artefacts()
    for target, artefacts in emitted:
        tree.update(artefacts.prefixed(target) if args.target == "all" else artefacts)
    if MANIFEST_NAME in tree:
        return _error(f"a backend produced {MANIFEST_NAME}, the name of the compile manifest; nothing was written")
    tree.add(MANIFEST_NAME, manifest_text(manifest(
        comp, wf, targets=[t for t, _ in emitted], level=args.opt_level, disabled=list(args.disable_pass),
        plan_result=plan, artefacts=tree, params_file=args.params)))
    if any(t in CARRY_SOURCES for t, _ in emitted):
        for name, text in project_sources(comp).items():
            if f"{SOURCE_DIR}/{name}" in tree:
                return _error(f"a backend produced {SOURCE_DIR}/{name}, where the source is copied; nothing was written")
            tree.add(f"{SOURCE_DIR}/{name}", text)
    try:
        write_artefacts(tree, args.output, force=args.force)
    except OutputConflict as e:
        return _error(f"{e.path}: {e.reason}; nothing was written")
    summary = sys.stdout if args.format == "text" else sys.stderr
    for target, artefacts in emitted:
        where = f"{args.output.rstrip('/')}/{target}" if args.target == "all" else args.output
        n = len(artefacts)
        print(f"{target}: {n} file{'s' if n != 1 else ''} -> {where}", file=summary)
    return 0
