"""`aiwfc check PATH...`: diagnostics for each file, and optionally its motifs."""

from __future__ import annotations

import argparse
import json
import sys

from aiwfc.cli.common import (add_input_options, add_report_options, emit_diagnostics, failed, io_problem,
                              parse_params)
from aiwfc.motifs import format_motifs, infer_motifs
from aiwfc.pipeline import analyse
from aiwfc.render import render_json, render_sarif

MOTIFS_HELP = """\
also report each workflow's inferred execution motif(s), coupling mode and
characteristics. With --format text they follow the diagnostics; with --format json
the output becomes one object {"diagnostics": [...], "motifs": [...]} instead of the
plain list of diagnostics; with --format sarif they go into runs[0].properties.motifs."""


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="check workflows and report diagnostics",
                       description="Parse, resolve and check workflows; exit 1 when any has errors "
                                   "(or warnings, with --strict), 2 on a usage or I/O problem.")
    add_input_options(p, many=True)
    add_report_options(p)
    p.add_argument("--motifs", action="store_true", help=MOTIFS_HELP)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    if params is None:
        return 2
    all_diags, sources, reports = [], {}, []
    for path in args.paths:
        comp = analyse(path, site=args.site, params=params, params_file=args.params)
        all_diags += comp.sink.sorted()
        sources.update(comp.sources)
        if args.motifs and comp.program is not None:
            reports += [infer_motifs(comp, wf) for wf in comp.program.workflows]
    io_error = io_problem(args.paths, args.params, all_diags)  # reported as AIWF105/AIWF203; exit status 2
    if not args.motifs:
        emit_diagnostics(all_diags, sources, args.format)
    elif args.format == "json":
        doc = {"diagnostics": json.loads(render_json(all_diags)), "motifs": [r.to_json() for r in reports]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "sarif":
        doc = json.loads(render_sarif(all_diags))
        doc["runs"][0]["properties"] = {"motifs": [r.to_json() for r in reports]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        emit_diagnostics(all_diags, sources, args.format)
        for rep in reports:
            sys.stdout.write(format_motifs(rep))
    if io_error:
        return 2
    return 1 if failed(all_diags, args.strict) else 0
