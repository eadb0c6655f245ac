"""Param overrides from the command line (`-p NAME=VALUE`) and params files (JSON/YAML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.ir import units
from aiwfc.ir.types import Type
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.source import Span
from aiwfc.syntax import ast

CLI = Span("<command line>", 1, 1, 1, 2)


def read_params_file(path: str, sink: DiagnosticSink) -> dict[str, Any]:
    """A params file: a JSON or YAML mapping of param names to values."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        sink.report(codes.PARAM_OVERRIDE, Span.point(path, 1, 1), detail=f"cannot read params file: {e}")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        sink.report(codes.PARAM_OVERRIDE, Span.point(path, 1, 1),
                    detail="a params file must be a mapping of param names to values")
        return {}
    return data


def parse_cli_value(text: str, t: Type) -> Any:
    """The value of `-p NAME=TEXT` for a param of type `t`; raises ValueError."""
    if t.name in ("string", "file", "dir"):
        return text
    if t.name == "int":
        return int(text.strip())
    if t.name == "float":
        return float(text.strip())
    if t.name == "bool":
        low = text.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(f"`{text}` is not true or false")
    if t.name in ("size", "duration"):
        return text.strip()
    return json.loads(text)


def check_value(value: Any, t: Type) -> Any:
    """Checks a JSON-ish value against a param type; returns it normalised or raises ValueError."""
    n = t.name
    if n in ("string", "file", "dir"):
        if isinstance(value, str):
            return value
    elif n == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif n == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif n == "bool":
        if isinstance(value, bool):
            return value
    elif n == "size":
        return units.parse_size(str(value)) if isinstance(value, str) else int(value)
    elif n == "duration":
        return units.parse_duration(str(value)) if isinstance(value, str) else int(value)
    elif n == "list":
        if isinstance(value, list):
            return [check_value(v, t.item) for v in value]
    elif n == "any":
        return value
    raise ValueError(f"{json.dumps(value)} is not of type {t}")


def value_to_expr(value: Any, span: Span) -> ast.Expr:
    """A literal expression for an override value, so it replaces the param's default."""
    if isinstance(value, bool):
        return ast.Literal(value, "bool", span, "true" if value else "false")
    if isinstance(value, int):
        return ast.Literal(value, "int", span, str(value))
    if isinstance(value, float):
        return ast.Literal(value, "float", span, repr(value))
    if isinstance(value, list):
        return ast.ListExpr(tuple(value_to_expr(v, span) for v in value), span)
    return ast.Template((str(value),), span, json.dumps(str(value)))


def apply_overrides(wf: ir.Workflow, cli: dict[str, str], from_file: dict[str, Any],
                    sink: DiagnosticSink, file_span: Span | None = None) -> None:
    """Replaces param defaults with overrides, checking each against the declared type."""
    declared = {p.name: p for p in wf.params}
    for source, items, span in (("params file", from_file, file_span or CLI), ("-p", cli, CLI)):
        for name, raw in items.items():
            p = declared.get(name)
            if p is None:
                sink.report(codes.PARAM_OVERRIDE, span,
                            detail=f"{source} sets `{name}`, which workflow `{wf.name}` does not declare"
                                   + did_you_mean(name, declared))
                continue
            try:
                value = parse_cli_value(raw, p.type) if source == "-p" else raw
                value = check_value(value, p.type)
            except (ValueError, TypeError) as e:
                sink.report(codes.PARAM_OVERRIDE, span,
                            detail=f"{source} value for `{name}` (type {p.type}) is invalid: {e}")
                continue
            if p.type.name in ("size", "duration"):
                text = raw if isinstance(raw, str) else str(raw)
                p.default = ast.Literal(text, "quantity", span, text)
            else:
                p.default = value_to_expr(value, span)
