"""AST blocks to IR models, one block kind at a time, against the table in specs.py.

Everything wrong with the *shape* of a block (unknown attributes, values of the wrong
kind, duplicates inside one block) is reported here; whether names refer to anything
is the checks' business, once the whole program is known.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.ir import units
from aiwfc.ir.construct import construct
from aiwfc.ir.fields import _EXPR_TYPES  # what an Expression field accepts unchanged
from aiwfc.ir.types import SCALARS, Type, list_of
from aiwfc.resolve.specs import SPECS, TOP_LEVEL, BlockSpec
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.source import Span
from aiwfc.syntax import ast
from aiwfc.syntax.parser import MISSING

_STATEMENT_NAMES = {
    ast.ParamStmt: "param", ast.ForeachStmt: "foreach", ast.RunStmt: "run",
    ast.NextStmt: "next", ast.StopStmt: "stop",
}
_IR_CLASS = {
    "resource": ir.ResourceClass, "image": ir.Image, "dataset": ir.Dataset, "partition": ir.Partition,
}


_EXPR_CLASSES = frozenset(_EXPR_TYPES)  # AST nodes have no subclasses: a class test is exact


class _Invalid(Exception):
    """A value already reported; the attribute is left out."""


def type_from_ast(t: ast.TypeExpr, sink: DiagnosticSink) -> Type:
    """Builds a `Type` from its syntax, reporting unknown type names."""
    name = t.name.text
    if name == MISSING:
        return Type("error")
    if name == "list":
        if t.arg is None:
            sink.report(codes.INVALID_VALUE, t.span, detail="`list` needs an element type: list<T>")
            return Type("error")
        return list_of(type_from_ast(t.arg, sink))
    if name == "metrics":
        return Type("metrics", fields=tuple((k.text, type_from_ast(v, sink)) for k, v in t.fields or ()))
    if name not in SCALARS:
        sink.report(codes.INVALID_VALUE, t.name.span,
                    detail=f"unknown type `{name}`{did_you_mean(name, SCALARS + ('list', 'metrics'))}")
        return Type("error")
    if t.arg is not None or t.fields:
        sink.report(codes.INVALID_VALUE, t.span, detail=f"type `{name}` takes no parameters")
    return _SCALAR_TYPES[name]


# one (never changed) Type per scalar name, shared by every port and param of that type
_SCALAR_TYPES = {name: Type(name) for name in SCALARS}


class BuildMemo:
    """The IR of AST blocks built by earlier analyses of the same document.

    The language server's incremental parser hands back the very same AST block objects
    for the parts of a file an edit did not touch, and a block's IR depends on nothing but
    the block (names are resolved later, by the checks), so the IR node and the
    diagnostics its building reported can be re-used as they are: an edit in one phase of
    a 1,000-line file then builds one phase, not 160.  Keyed by the block's identity (the
    entry keeps the block alive, so an id is not reused while it is here); `rotate` after
    each analysis keeps only what that analysis used.  Workflow blocks are never kept:
    their node is rebuilt from its items each time and is where param overrides are
    applied."""

    def __init__(self):
        self._old: dict[int, tuple] = {}
        self._new: dict[int, tuple] = {}

    def get(self, block: ast.Block):
        hit = self._new.get(id(block)) or self._old.get(id(block))
        if hit is None or hit[0] is not block:
            return None
        self._new[id(block)] = hit
        return hit

    def put(self, block: ast.Block, node, diagnostics: list) -> None:
        self._new[id(block)] = (block, node, diagnostics)

    def rotate(self) -> None:
        self._old, self._new = self._new, {}


class Builder:
    """Builds the IR of one module; diagnostics go to the shared sink."""

    def __init__(self, sink: DiagnosticSink, memo: BuildMemo | None = None):
        self.sink = sink
        self.memo = memo

    # ------------------------------------------------------------ module
    def module(self, mod: ast.Module) -> ir.Program:
        prog = ir.Program(aiwf=mod.header.version if mod.header else "0.1",
                          imports=[i.target.text for i in mod.imports])
        for block in mod.blocks:
            kind = block.kind.text
            if kind not in TOP_LEVEL:
                self._unknown(block.kind, "block", "a file", TOP_LEVEL)
                continue
            node = self.block(block)
            if node is None:
                continue
            target = {"workflow": prog.workflows, "site": prog.sites, "resource": prog.resources,
                      "image": prog.images, "dataset": prog.datasets}[kind]
            target.append(node)
        return prog

    def block(self, block: ast.Block) -> ir.IRNode | None:
        kind = block.kind.text
        spec = SPECS[kind]
        if spec.named and block.name is None:
            self.sink.report(codes.MISSING_ATTRIBUTE, block.kind.span, context=f"`{kind}` block",
                             what="a name (`" + kind + " NAME { ... }`)")
            return None
        method = getattr(self, "_" + ("phase" if kind in ir.PHASE_KINDS else kind))
        if self.memo is None or kind == "workflow":
            return method(block, spec)
        hit = self.memo.get(block)
        if hit is not None:
            self.sink.extend(hit[2])
            return hit[1]
        outer, self.sink = self.sink, DiagnosticSink()
        try:
            node = method(block, spec)
        finally:
            found, self.sink = self.sink.items, outer
        outer.extend(found)
        self.memo.put(block, node, found)
        return node

    # ------------------------------------------------------------ generic
    def _attrs(self, block: ast.Block, spec: BlockSpec, context: str,
               ignore: tuple[type, ...] = ()) -> tuple[dict[str, Any], dict[str, Span], list]:
        """Converts a block's attributes; returns values, their spans and the other items."""
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        rest = []
        attrs = spec.attrs
        for item in block.items:
            kind = type(item)
            if kind is ast.Attribute:
                key = item.key.text
                if key not in attrs:
                    self._unknown(item.key, "attribute", context, attrs)
                    continue
                if key in values:
                    self.sink.report(codes.DUPLICATE_NAME, item.key.span, kind="attribute", name=key)
                    continue
                value = item.value
                try:
                    values[key] = self.value(value, attrs[key], key)
                except _Invalid:
                    continue
                spans[key] = value.span
                if type(value) is ast.ListExpr:
                    for i, it in enumerate(value.items):
                        spans[f"{key}[{i}]"] = it.span
                elif type(value) is ast.MapExpr:  # `where("env.NAME")`: one entry's value
                    for name, it in value.entries:
                        spans[f"{key}.{name.text}"] = it.span
            elif kind is ast.Block:
                if item.kind.text not in spec.blocks:
                    self._unknown(item.kind, "block", context, spec.blocks)
                    continue
                rest.append(item)
            else:
                word = item.direction if kind is ast.PortStmt else _STATEMENT_NAMES[kind]
                if word not in spec.statements:
                    self.sink.report(codes.UNKNOWN_ATTRIBUTE, item.span, what="statement", name=word,
                                     context=context, hint="")
                    continue
                rest.append(item)
        for req in spec.required:
            if req not in values:
                self.sink.report(codes.MISSING_ATTRIBUTE, block.kind.span.merge(block.name.span if block.name else None),
                                 context=context, what=f"`{req} = ...`")
        return values, spans, rest

    def _unknown(self, name: ast.Name, what: str, context: str, known) -> None:
        if name.text == MISSING:
            return
        self.sink.report(codes.UNKNOWN_ATTRIBUTE, name.span, what=what, name=name.text,
                         context=context, hint=did_you_mean(name.text, known))

    def _make(self, cls, data: dict, span: Span, spans: dict[str, Span]):
        """Validates through pydantic; constraint violations become AIWF107 at the value."""
        try:
            node = cls.model_validate(data)
        except ValidationError as e:
            for err in e.errors():
                if err["type"] == "missing":
                    continue  # a required attribute left out is reported by _attrs (AIWF104)
                loc = [str(x) for x in err["loc"]]
                where = spans.get(loc[0], span) if loc else span
                self.sink.report(codes.INVALID_VALUE, where,
                                 detail=f"`{'.'.join(loc)}`: {err['msg'].lower()}")
            return None
        node.span = span
        node.spans = spans
        return node

    def _port(self, item: ast.PortStmt):
        """A port statement's IR node.  Its values are already what the fields hold (a name,
        a `Type` from type_from_ast, an expression node or None), so pydantic validation could
        only accept them unchanged: the node is built without it (a phase has several ports,
        and they were two thirds of the builder's validations).  Anything else goes through
        `_make`, which reports exactly as before."""
        t = type_from_ast(item.type, self.sink)
        name, value = item.name.text, item.value
        spans = {"name": item.name.span, "type": item.type.span}
        if value is not None:
            spans["value"] = value.span
        if type(name) is str and type(t) is Type and (value is None or type(value) in _EXPR_CLASSES):
            return construct(ir.Port, span=item.span, spans=spans, name=name, type=t, value=value)
        return self._make(ir.Port, {"name": name, "type": t, "value": value}, item.span, spans)

    def value(self, e: ast.Expr, kind: str, key: str) -> Any:
        """Converts one attribute value to what the IR field holds, or reports and raises."""
        if type(e) is ast.Ref and e.parts[0].text == MISSING:
            raise _Invalid
        if kind == "expr":
            return e
        if kind == "int":
            if isinstance(e, ast.Literal) and e.kind == "int":
                return e.value
            if isinstance(e, ast.UnOp) and e.op == "-" and isinstance(e.operand, ast.Literal) \
                    and e.operand.kind == "int":
                return -e.operand.value
            return self._bad(e, f"`{key}` must be a whole number")
        if kind == "bool":
            if isinstance(e, ast.Literal) and e.kind == "bool":
                return e.value
            return self._bad(e, f"`{key}` must be `true` or `false`")
        if kind == "str":
            if isinstance(e, ast.Template):
                if not e.is_plain:
                    return self._bad(e, f"`{key}` cannot hold `${{...}}` interpolations")
                return e.text
            if isinstance(e, ast.Ref) and len(e.parts) == 1:
                return e.parts[0].text
            if isinstance(e, ast.Literal) and e.kind in ("int", "float"):
                return e.text
            return self._bad(e, f"`{key}` must be text")
        if kind in ("size", "duration"):
            if isinstance(e, ast.Literal) and e.kind == "quantity":
                try:
                    return units.parse_size(e.value) if kind == "size" else units.parse_duration(e.value)
                except ValueError as err:
                    return self._bad(e, f"`{key}`: {err}")
            example = "16GiB" if kind == "size" else "90m"
            return self._bad(e, f"`{key}` must be a {kind} such as {example}")
        if kind == "name":
            if isinstance(e, ast.Ref) and len(e.parts) == 1:
                return e.parts[0].text
            if isinstance(e, ast.Template) and e.is_plain:
                return e.text
            return self._bad(e, f"`{key}` must name something (a bare name)")
        if kind.startswith("choice:"):
            options = kind[7:].split("|")
            text = e.parts[0].text if isinstance(e, ast.Ref) and len(e.parts) == 1 else \
                e.text if isinstance(e, ast.Template) and e.is_plain else None
            if text in options:
                return text
            shown = text if text is not None else ast.unparse(e)
            return self._bad(e, f"`{key}` must be one of {', '.join(options)}, not `{shown}`"
                             + did_you_mean(shown, options))
        if kind in ("strs", "names", "refs"):
            items = e.items if isinstance(e, ast.ListExpr) else (e,)
            if kind == "strs" and not isinstance(e, ast.ListExpr):
                return self._bad(e, f"`{key}` must be a list of strings: [\"...\"]")
            out = []
            for it in items:
                if kind == "strs":
                    out.append(self.value(it, "str", key))
                elif kind == "names":
                    out.append(self.value(it, "name", key))
                elif isinstance(it, ast.Ref):
                    out.append(it.dotted)
                else:
                    self._bad(it, f"`{key}` lists references such as `lr` or `fit.metrics`")
            return out
        if kind == "map":
            if not isinstance(e, ast.MapExpr):
                return self._bad(e, f"`{key}` must be a map: {{ KEY = \"value\" }}")
            return {k.text: self.value(v, "str", f"{key}.{k.text}") for k, v in e.entries}
        raise AssertionError(kind)

    def _bad(self, e: ast.Expr, detail: str):
        self.sink.report(codes.INVALID_VALUE, e.span, detail=detail)
        raise _Invalid

    # ------------------------------------------------------------ kinds
    def _simple(self, block: ast.Block, spec: BlockSpec):
        kind = block.kind.text
        values, spans, _ = self._attrs(block, spec, f"{kind} `{block.name.text}`")
        values["name"] = block.name.text
        spans["name"] = block.name.span
        return self._make(_IR_CLASS[kind], values, block.span, spans)

    _resource = _image = _dataset = _partition = _simple

    def _site(self, block: ast.Block, spec: BlockSpec):
        values, spans, rest = self._attrs(block, spec, f"site `{block.name.text}`")
        values["name"] = block.name.text
        spans["name"] = block.name.span
        values["partitions"] = [p for p in (self.block(b) for b in rest) if p is not None]
        return self._make(ir.SiteProfile, values, block.span, spans)

    def _workflow(self, block: ast.Block, spec: BlockSpec):
        values, spans, rest = self._attrs(block, spec, f"workflow `{block.name.text}`")
        values["name"] = block.name.text
        spans["name"] = block.name.span
        lists = {"params": [], "resources": [], "images": [], "datasets": [], "phases": [], "feedbacks": []}
        for item in rest:
            if isinstance(item, ast.ParamStmt):
                p = self._make(ir.Param, {"name": item.name.text, "type": type_from_ast(item.type, self.sink),
                                          "default": item.default}, item.span,
                               {"name": item.name.span, "type": item.type.span,
                                **({"default": item.default.span} if item.default else {})})
                if p is not None and not (isinstance(item.default, ast.Ref)
                                          and item.default.parts[0].text == MISSING):
                    lists["params"].append(p)
                continue
            node = self.block(item)
            if node is None:
                continue
            kind = item.kind.text
            key = "phases" if kind in ir.PHASE_KINDS else {"resource": "resources", "image": "images",
                                                          "dataset": "datasets", "feedback": "feedbacks"}[kind]
            lists[key].append(node)
        values.update(lists)
        return self._make(ir.Workflow, values, block.span, spans)

    def _phase(self, block: ast.Block, spec: BlockSpec):
        kind = block.kind.text
        context = f"{kind} `{block.name.text}`"
        values, spans, rest = self._attrs(block, spec, context)
        values["name"] = block.name.text
        values["kind"] = kind
        spans["name"] = block.name.span
        batch = values.pop("batch", None)
        inputs, outputs = [], []
        for item in rest:
            if isinstance(item, ast.PortStmt):
                port = self._port(item)
                if port is not None:
                    (inputs if item.direction == "in" else outputs).append(port)
            elif isinstance(item, ast.ForeachStmt):
                if "foreach" in values:
                    self.sink.report(codes.DUPLICATE_NAME, item.span, kind="statement", name="foreach")
                    continue
                values["foreach"] = self._make(ir.Foreach, {"var": item.var.text, "source": item.source,
                                                            "batch": batch}, item.span,
                                               {"var": item.var.span, "source": item.source.span})
                spans["foreach"] = item.span
            elif isinstance(item, ast.RunStmt):
                if "command" in values:
                    self.sink.report(codes.DUPLICATE_NAME, item.span, kind="statement", name="run")
                    continue
                values["command"] = item.command
                spans["command"] = item.command.span
        if batch is not None and "foreach" not in values:
            self.sink.report(codes.INVALID_VALUE, spans["batch"], detail="`batch` needs a `foreach`")
        if values.get("foreach") is None:
            values.pop("foreach", None)
        values["inputs"], values["outputs"] = inputs, outputs
        # fresh empty containers: pydantic deep-copies a mutable default on every validation
        for key, empty in (("track", list), ("uses", list), ("env", dict)):
            if key not in values:
                values[key] = empty()
        return self._make(ir.Phase, values, block.span, spans)

    def _feedback(self, block: ast.Block, spec: BlockSpec):
        values, spans, rest = self._attrs(block, spec, f"feedback `{block.name.text}`")
        values["name"] = block.name.text
        spans["name"] = block.name.span
        values.setdefault("body", [])
        carries, stops = [], []
        for item in rest:
            if isinstance(item, ast.NextStmt):
                c = self._make(ir.LoopCarry, {"target": item.target.dotted, "value": item.value}, item.span,
                               {"target": item.target.span, "value": item.value.span})
                if c is not None:
                    carries.append(c)
            elif isinstance(item, ast.StopStmt):
                s = self._make(ir.StopRule, {"phase": item.phase.text, "when": item.when}, item.span,
                               {"phase": item.phase.span, "when": item.when.span})
                if s is not None:
                    stops.append(s)
        values["next"], values["stop"] = carries, stops
        return self._make(ir.Feedback, values, block.span, spans)
