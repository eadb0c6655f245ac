"""`aiwfc schema`: the JSON Schema of the IR (the contract of .aiwf.json/.aiwf.yaml)."""

from __future__ import annotations

import json
import sys

from aiwfc.resolve.document import program_schema


def schema_text() -> str:
    return json.dumps(program_schema(), indent=2, sort_keys=True) + "\n"


def add_parser(sub) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the IR")
    p.set_defaults(run=run)


def run(args) -> int:
    sys.stdout.write(schema_text())
    return 0
