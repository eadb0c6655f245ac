"""Pydantic field types for the IR's non-JSON values: expressions, types, quantities.

In Python the IR holds parsed objects (expression trees, `Type`s, bytes, seconds); in
JSON/YAML and in the JSON Schema they are the aiwf text (`"score.best >= target"`,
`"list<file>"`, `"16GiB"`), so a document author writes what a `.aiwf` author writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import units
from aiwfc.ir.types import Type, parse_type
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast
from aiwfc.syntax.parser import parse_expression_at
from aiwfc.syntax.strings import parse_template

_EXPR_TYPES = (ast.Literal, ast.Template, ast.Ref, ast.BinOp, ast.UnOp, ast.Call, ast.ListExpr, ast.MapExpr)


def _to_expr(v: Any) -> ast.Expr:
    if isinstance(v, _EXPR_TYPES):
        return v
    if isinstance(v, bool):
        return ast.Literal(v, "bool", _NOWHERE, "true" if v else "false")
    if isinstance(v, int):
        return ast.Literal(v, "int", _NOWHERE, str(v))
    if isinstance(v, float):
        return ast.Literal(v, "float", _NOWHERE, repr(v))
    if isinstance(v, str):
        sink = DiagnosticSink()
        expr = parse_expression_at(SourceFile("<expr>", v), 0, len(v), sink)
        if expr is None or sink.has_errors:
            raise ValueError(f"`{v}` is not an aiwf expression")
        return expr
    raise ValueError(f"expected an expression (text), got {type(v).__name__}")


def _to_template(v: Any) -> ast.Template:
    if isinstance(v, ast.Template):
        return v
    if isinstance(v, str):
        raw = '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\${", "\\${") + '"'
        sink = DiagnosticSink()
        src = SourceFile("<template>", raw)
        t = parse_template(src, 0, raw, sink, parse_expression_at)
        if sink.has_errors:
            raise ValueError(sink.items[0].message)
        return t
    raise ValueError(f"expected text, got {type(v).__name__}")


def _to_type(v: Any) -> Type:
    if isinstance(v, Type):
        return v
    if isinstance(v, str):
        return parse_type(v)
    raise ValueError(f"expected a type (text), got {type(v).__name__}")


def _to_size(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected a size")
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, str):
        return units.parse_size(v)
    raise ValueError("expected a size like 16GiB")


def _to_duration(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected a duration")
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, str):
        return units.parse_duration(v)
    raise ValueError("expected a duration like 90m")


_NOWHERE = Span("<ir>", 1, 1, 1, 1)

Expression = Annotated[
    Any,
    PlainValidator(_to_expr),
    PlainSerializer(lambda e: ast.unparse(e), return_type=str),
    WithJsonSchema({"type": ["string", "number", "boolean"],
                    "description": "an aiwf expression, e.g. `score.best >= target`"}),
]
TemplateText = Annotated[
    Any,
    PlainValidator(_to_template),
    PlainSerializer(lambda t: t.text, return_type=str),
    WithJsonSchema({"type": "string", "description": "text with `${...}` interpolations"}),
]
TypeText = Annotated[
    Any,
    PlainValidator(_to_type),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "an aiwf type: file, int, list<file>, metrics{loss: float}"}),
]
Size = Annotated[
    int,
    PlainValidator(_to_size),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0},
                              {"type": "string", "pattern": units.SIZE_PATTERN}],
                    "description": "bytes, or a size such as 16GiB"}),
]
Duration = Annotated[
    int,
    PlainValidator(_to_duration),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0},
                              {"type": "string", "pattern": units.DURATION_PATTERN}],
                    "description": "seconds, or a duration such as 90m"}),
]
