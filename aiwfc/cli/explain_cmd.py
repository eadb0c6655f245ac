"""`aiwfc explain CODE`: the documentation of one diagnostic code."""

from __future__ import annotations

import sys

from aiwfc.codes import all_codes, lookup


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="explain a diagnostic code (AIWF101 or undefined-name)")
    p.add_argument("code", nargs="?", help="code or name; omit to list all")
    p.set_defaults(run=run)


def run(args) -> int:
    if not args.code:
        for c in all_codes():
            print(f"{c.id}  {c.name:<30} {c.severity.value:<8} {c.summary}")
        return 0
    code = lookup(args.code)
    if code is None:
        print(f"aiwfc: unknown code `{args.code}` (see `aiwfc explain` for the list)", file=sys.stderr)
        return 2
    sys.stdout.write(code.explain())
    return 0
