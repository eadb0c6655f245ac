"""What `aiwfc plan` and `aiwfc graph` share: options, loading one checked workflow, planning.

Not a subcommand (the CLI loads only `<name>_cmd` modules). Exit statuses follow
DESIGN.md: 1 when the input has errors (diagnostics printed), 2 for usage and I/O
problems (a missing file, an unknown pass, a file with no or several workflows).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from aiwfc.cli.common import emit_diagnostics, failed, io_problem, parse_params
from aiwfc.diagnostics import Diagnostic
from aiwfc.ir import models as ir
from aiwfc.pipeline import analyse
from aiwfc.plan import PASS_NAMES, PlanResult, build_plan
from aiwfc.resolve.load import Compilation


def add_plan_options(p: argparse.ArgumentParser, default_level: int) -> None:
    """--workflow, -O LEVEL and --disable-pass NAME (the same meaning as for `compile`)."""
    p.add_argument("--workflow", metavar="NAME", help="the workflow to plan when the file defines several")
    p.add_argument("-O", dest="opt_level", type=int, choices=(0, 1, 2), default=default_level, metavar="LEVEL",
                   help=f"optimisation level: -O0 none, -O1 safe passes, -O2 all (default: -O{default_level})")
    p.add_argument("--disable-pass", action="append", default=[], metavar="NAME",
                   help=f"turn one pass off (repeatable): {', '.join(PASS_NAMES)}")


def usage_error(message: str) -> int:
    print(f"aiwfc: {message}", file=sys.stderr)
    return 2


@dataclass
class Loaded:
    """A checked compilation, its chosen workflow and the front end's diagnostics."""

    comp: Compilation
    workflow: ir.Workflow
    diagnostics: list[Diagnostic]


def load_workflow(args: argparse.Namespace, diag_format: str = "text") -> Loaded | int:
    """Analyses args.path and picks the workflow; an int is the exit status on failure
    (diagnostics already printed, to stderr so that stdout stays a plan or a graph)."""
    unknown = [n for n in getattr(args, "disable_pass", []) if n not in PASS_NAMES]
    if unknown:
        return usage_error(f"unknown pass `{unknown[0]}` (passes: {', '.join(PASS_NAMES)})")
    params = parse_params(args.param)
    if params is None:
        return 2
    comp = analyse(args.path, site=args.site, params=params, params_file=args.params)
    diags = comp.sink.sorted()
    io_error = io_problem([args.path], args.params, diags)  # reported as AIWF105/AIWF203; exit status 2
    if io_error or failed(diags, getattr(args, "strict", False)):
        emit_diagnostics(diags, comp.sources, diag_format, stream=sys.stderr)
        return 2 if io_error else 1
    workflows = comp.workflows
    if args.workflow:
        workflows = [w for w in workflows if w.name == args.workflow]
        if not workflows:
            names = ", ".join(w.name for w in comp.workflows) or "none"
            return usage_error(f"{args.path} defines no workflow `{args.workflow}` (it defines: {names})")
    if not workflows:
        return usage_error(f"{args.path} defines no workflow; nothing to plan")
    if len(workflows) > 1:
        return usage_error(f"{args.path} defines several workflows ({', '.join(w.name for w in workflows)}); "
                           "choose one with --workflow NAME")
    return Loaded(comp, workflows[0], diags)


def plan_workflow(loaded: Loaded, args: argparse.Namespace) -> PlanResult:
    """The plan at the requested level; its diagnostics (AIWF903) join the front end's."""
    result = build_plan(loaded.comp, loaded.workflow, level=args.opt_level,
                        disabled=frozenset(args.disable_pass))
    loaded.diagnostics = sorted(loaded.diagnostics + result.diagnostics,
                                key=lambda d: (d.span.file, d.span.line, d.span.column, d.code))
    return result
