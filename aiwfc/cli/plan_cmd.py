"""`aiwfc plan PATH`: the execution plan a backend would render, and what it costs.

Text (default): the plan, then the cost-model figures at -O0 and at the chosen level;
with `--explain`, every pass with its decisions, what it refused and a before/after
cost table. `--format json`: the same as data (`plan`, `cost`, and with --explain
`baseline_cost`, `passes`, `site_note`), plus `diagnostics`. The default level is
-O1, the same as `aiwfc compile`, so that the plan shown is the plan compiled.

Exit status: 0 planned (warnings allowed), 1 the input has errors or a job fits no
partition (AIWF903), 2 usage or I/O problem. Diagnostics go to stderr in text mode.
"""

from __future__ import annotations

import argparse
import json
import sys

from aiwfc.cli.common import add_input_options, emit_diagnostics, failed
from aiwfc.cli.plan_common import Loaded, add_plan_options, load_workflow, plan_workflow
from aiwfc.plan.explain import render_result
from aiwfc.render import render_json


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="show the execution plan and its cost (--explain: what each pass did)",
                       description="Plan a workflow for a site and show the jobs, dependencies, data "
                                   "movement and cost figures before and after optimisation.")
    add_input_options(p)
    add_plan_options(p, default_level=1)
    p.add_argument("--explain", action="store_true",
                   help="show each pass's decisions and a before/after cost table")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    p.add_argument("--strict", action="store_true", help="warnings count as errors")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_workflow(args, "json" if args.format == "json" else "text")
    if not isinstance(loaded, Loaded):
        return loaded
    result = plan_workflow(loaded, args)
    diags = loaded.diagnostics
    bad = failed(diags, args.strict)
    if args.format == "json":
        out = result.to_json(explain=args.explain)
        out["diagnostics"] = json.loads(render_json(diags))
        sys.stdout.write(json.dumps(out, indent=2, sort_keys=False) + "\n")
    else:
        emit_diagnostics(diags, loaded.comp.sources, "text", stream=sys.stderr)
        if not bad:
            sys.stdout.write(render_result(result, args.explain))
    return 1 if bad else 0
