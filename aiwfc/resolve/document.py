"""JSON and YAML documents of the IR (`.aiwf.json`, `.aiwf.yaml`).

Validated first against the IR's JSON Schema with jsonschema (errors carry the JSON
path and, for YAML, the line and column of the offending node), then built into the
pydantic models, which parse the expression, type and quantity strings.
"""

from __future__ import annotations

import functools
import importlib
import json

import yaml
from pydantic import ValidationError

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.source import SourceFile, Span

DOCUMENT_SUFFIXES = (".aiwf.json", ".aiwf.yaml", ".aiwf.yml", ".json", ".yaml", ".yml")


def is_document(path: str) -> bool:
    return path.endswith(DOCUMENT_SUFFIXES)


@functools.lru_cache(maxsize=1)
def program_schema() -> dict:
    """The JSON Schema of the IR (what `aiwfc schema` prints)."""
    schema = ir.Program.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://aiwf.dev/schema/aiwf-0.1.json"
    return schema


@functools.lru_cache(maxsize=1)
def _validator():
    """The jsonschema validator of program_schema(), made at the first document: importing
    jsonschema is about 55 ms that every command would pay at start-up, and only IR
    documents need it."""
    return importlib.import_module("jsonschema").Draft202012Validator(program_schema())


class _Positions:
    """JSON path -> (line, column) of a YAML or JSON node, for diagnostics."""

    def __init__(self, src: SourceFile):
        self.src = src
        self.map: dict[tuple, tuple[int, int, int, int]] = {}
        try:
            node = yaml.compose(src.text, Loader=yaml.SafeLoader)  # JSON is YAML too
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, ())

    def _walk(self, node, path: tuple) -> None:
        s, e = node.start_mark, node.end_mark
        self.map[path] = (s.line + 1, s.column + 1, e.line + 1, e.column + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                self.map[path + (k.value, "#key")] = (k.start_mark.line + 1, k.start_mark.column + 1,
                                                      k.end_mark.line + 1, k.end_mark.column + 1)
                self._walk(v, path + (k.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._walk(v, path + (i,))

    def span(self, path) -> Span:
        path = tuple(path)
        while path not in self.map and path:
            path = path[:-1]
        if path in self.map:
            l1, c1, l2, c2 = self.map[path]
            return Span(self.src.path, l1, c1, l2, max(c2, c1 + 1) if l1 == l2 else c2)
        return Span.point(self.src.path, 1, 1)


def _json_path(path) -> str:
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def load_document(src: SourceFile, sink: DiagnosticSink) -> ir.Program | None:
    """Reads, validates and builds one document; None when it has errors."""
    try:
        if src.path.endswith(".json"):
            data = json.loads(src.text)
        else:
            data = yaml.safe_load(src.text)
    except json.JSONDecodeError as e:
        sink.report(codes.UNREADABLE_DOCUMENT, Span.point(src.path, e.lineno, e.colno), detail=e.msg)
        return None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        sink.report(codes.UNREADABLE_DOCUMENT, Span.point(src.path, line, col),
                    detail=str(getattr(e, "problem", None) or e).strip())
        return None
    positions = _Positions(src)
    validator = _validator()
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    for err in errors[:50]:
        path = list(err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            span = positions.span(path + [extra[0], "#key"]) if extra else positions.span(path)
        else:
            span = positions.span(path)
        sink.report(codes.INVALID_DOCUMENT, span, path=_json_path(path), detail=err.message)
    if errors:
        return None
    try:
        prog = ir.Program.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            path = list(err["loc"])
            sink.report(codes.INVALID_DOCUMENT, positions.span(path), path=_json_path(path),
                        detail=err["msg"])
        return None
    _attach_spans(prog, positions)
    return prog


def _attach_spans(prog: ir.Program, pos: _Positions) -> None:
    """Gives every IR node the span of its mapping, and its fields' spans, from the document."""
    def visit(node, path):
        if isinstance(node, ir.IRNode):
            node.span = pos.span(path + ["name"]) if "name" in type(node).model_fields else pos.span(path)
            for fname, finfo in type(node).model_fields.items():
                key = finfo.alias or fname
                if (tuple(path) + (key,)) in pos.map:
                    node.spans[fname] = pos.span(path + [key])
                visit(getattr(node, fname), path + [key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, path + [i])
    visit(prog, [])
