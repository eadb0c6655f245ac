"""`aiwfc check PATH...`: diagnostics for each file, and optionally its motifs."""

from __future__ import annotations

import argparse
import sys

from aiwfc.cli.common import (add_input_options, add_report_options, emit_diagnostics, failed,
                              parse_params)
from aiwfc.pipeline import analyse


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="check workflows and report diagnostics",
                       description="Parse, resolve and check workflows; exit 1 when any has errors.")
    add_input_options(p, many=True)
    add_report_options(p)
    p.add_argument("--motifs", action="store_true",
                   help="also report each workflow's inferred execution motif(s) and coupling")
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
            from aiwfc.motifs import infer_motifs, format_motifs  # optional stage, loaded on demand
            reports += [(path, infer_motifs(comp, wf)) for wf in comp.program.workflows]
    io_error = any(d.code == "AIWF105" and d.span.file == "<command line>" for d in all_diags)
    emit_diagnostics(all_diags, sources, args.format)
    if reports:
        if args.format == "text":
            for path, rep in reports:
                sys.stdout.write(format_motifs(rep))
        else:
            import json
            print(json.dumps([rep.to_json() for _, rep in reports], indent=2), file=sys.stderr)
    if io_error:
        return 2
    return 1 if failed(all_diags, args.strict) else 0
