"""aiwf types as CWL types, and how a tool's outputs are collected.

The port conventions (spec/language.md, and the LocalHarness in tests/test_examples.py
that executes them) say: a `file`/`dir` output is a path relative to the task
directory; any other output is the JSON file `<port>.json` that the command writes.
CWL collects the first with a `glob`, the second with `glob` + `loadContents` and an
`outputEval` that parses the JSON. A `list<file>` value output holds paths relative to
the task directory, which `outputEval` turns into File objects; a `metrics { ... }`
output becomes a CWL record of exactly its declared fields (a script may write more).
"""

from __future__ import annotations

from typing import Any

from aiwfc.ir.types import Type

__all__ = ["cwl_type", "optional", "value_output_eval", "is_value_type"]

_SCALARS = {"file": "File", "dir": "Directory", "string": "string", "int": "int", "float": "float",
            "bool": "boolean", "size": "long", "duration": "long"}


def cwl_type(t: Type | None) -> Any:
    """The CWL type of an aiwf type (`Any` when the type is unknown)."""
    if t is None or t.name in ("any", "error"):
        return "Any"
    if t.name in _SCALARS:
        return _SCALARS[t.name]
    if t.name == "list":
        return {"type": "array", "items": cwl_type(t.item)}
    if t.name == "metrics":
        if not t.fields:
            return "Any"
        return {"type": "record", "fields": [{"name": k, "type": cwl_type(v)} for k, v in t.fields]}
    return "Any"


def optional(cwl: Any) -> Any:
    """`T?` for a CWL type (`Any` already admits nothing but values, so it becomes `Any?`)."""
    if isinstance(cwl, str):
        return cwl if cwl.endswith("?") else cwl + "?"
    return ["null", cwl]


def is_value_type(t: Type) -> bool:
    """A port whose value travels as `<port>.json` (everything but file and dir)."""
    return not t.is_path


def value_output_eval(t: Type) -> str:
    """The `outputEval` that turns the loaded `<port>.json` into the port's CWL value."""
    parsed = "JSON.parse(self[0].contents)"
    if t.name == "list" and t.item is not None and t.item.is_path:
        cls = "File" if t.item.name == "file" else "Directory"
        return (f'$({parsed}.map(function (p) {{ return {{"class": "{cls}", '
                f'"path": p.charAt(0) === "/" ? p : runtime.outdir + "/" + p}}; }}))')
    if t.name == "metrics" and t.fields:
        picks = ", ".join(f'"{k}": v["{k}"]' for k, _ in t.fields)
        return f"$((function (v) {{ return {{{picks}}}; }})({parsed}))"
    return f"$({parsed})"
