"""`aiwfc graph PATH [--plan] [--format dot|mermaid]`: the workflow, or its plan, as a picture.

Without `--plan`: phases, data flow, datasets, loops and services. With `--plan`: the
jobs after optimisation at `-O LEVEL` (default -O1, as for `compile` and `plan`),
with arrays, data movement, dependency kinds, loops and services
(aiwfc.plan.diagram). The text goes to stdout: `aiwfc graph wf.aiwf | dot -Tsvg`.

Exit status: 0 drawn, 1 the input has errors, 2 usage or I/O problem.
"""

from __future__ import annotations

import argparse
import sys

from aiwfc.cli.common import add_input_options, emit_diagnostics, failed
from aiwfc.cli.plan_common import Loaded, add_plan_options, load_workflow, plan_workflow
from aiwfc.plan.diagram import plan_diagram, to_dot, to_mermaid, workflow_diagram


def add_parser(sub) -> None:
    p = sub.add_parser("graph", help="draw the workflow or its plan (DOT or Mermaid)",
                       description="Render the workflow, or with --plan its execution plan, as Graphviz DOT "
                                   "or a Mermaid flowchart.")
    add_input_options(p)
    add_plan_options(p, default_level=1)
    p.add_argument("--plan", action="store_true", help="draw the optimised plan instead of the workflow")
    p.add_argument("--format", choices=["dot", "mermaid"], default="dot", help="output format (default: dot)")
    p.add_argument("--strict", action="store_true", help="warnings count as errors")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_workflow(args)
    if not isinstance(loaded, Loaded):
        return loaded
    if not args.plan:
        args.opt_level, args.disable_pass = 0, []
    result = plan_workflow(loaded, args)
    emit_diagnostics(loaded.diagnostics, loaded.comp.sources, "text", stream=sys.stderr)
    if failed(loaded.diagnostics, args.strict):
        return 1
    diagram = plan_diagram(result.plan) if args.plan else workflow_diagram(result.baseline)
    sys.stdout.write(to_dot(diagram) if args.format == "dot" else to_mermaid(diagram))
    return 0
