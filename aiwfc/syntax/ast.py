"""The AST: what the text says, with 1-based spans, before any meaning is given to it.

The block structure is generic (kind, name, items); expressions are the small typed
expression language of DESIGN.md and are shared with the IR, which holds them as is.

Nodes are never changed once built, but they are not `frozen` dataclasses: a frozen
dataclass's `__init__` sets each field through `object.__setattr__`, three times the cost
of a plain one, and a 10,000-phase file builds hundreds of thousands of nodes.  They
are hashable (`unsafe_hash`) on their fields as frozen ones would be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from aiwfc.source import Span


@dataclass(unsafe_hash=True, slots=True)
class Name:
    """An identifier with its position."""

    text: str
    span: Span


# ---------------------------------------------------------------- expressions

@dataclass(unsafe_hash=True, slots=True)
class Literal:
    """A constant: int, float, bool, or a quantity kept with its unit (`16GiB`, `2h`)."""

    value: object
    kind: str  # "int" | "float" | "bool" | "quantity"
    span: Span
    text: str = ""


@dataclass(unsafe_hash=True, slots=True)
class Template:
    """A string literal; `parts` alternates text and interpolated expressions."""

    parts: tuple["str | Expr", ...]
    span: Span
    raw: str = ""

    @property
    def is_plain(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def text(self) -> str:
        """The text of a plain string (interpolations rendered back as `${...}`)."""
        return "".join(p if isinstance(p, str) else "${" + unparse(p) + "}" for p in self.parts)


@dataclass(unsafe_hash=True, slots=True)
class Ref:
    """A dotted reference: `target`, `md.traj`, `fit.metrics.loss`."""

    parts: tuple[Name, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(p.text for p in self.parts)


@dataclass(unsafe_hash=True, slots=True)
class BinOp:
    """`left OP right` for arithmetic, comparison and boolean operators."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class UnOp:
    """`not x` or `-x`."""

    op: str
    operand: "Expr"
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class Call:
    """A call of a built-in function: `len(x)`, `min(a, b)`, `range(n)`."""

    func: Name
    args: tuple["Expr", ...]
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class ListExpr:
    items: tuple["Expr", ...]
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class MapExpr:
    entries: tuple[tuple[Name, "Expr"], ...]
    span: Span


Expr = Union[Literal, Template, Ref, BinOp, UnOp, Call, ListExpr, MapExpr]


# ---------------------------------------------------------------- types

@dataclass(unsafe_hash=True, slots=True)
class TypeExpr:
    """`file`, `list<file>`, `metrics { loss: float }` as written."""

    name: Name
    arg: "TypeExpr | None"
    fields: tuple[tuple[Name, "TypeExpr"], ...] | None
    span: Span


# ---------------------------------------------------------------- structure

@dataclass(unsafe_hash=True, slots=True)
class Attribute:
    """`key = value`, or `key ~ value` for an estimate."""

    key: Name
    op: str
    value: Expr
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class ParamStmt:
    name: Name
    type: TypeExpr
    default: Expr | None
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class PortStmt:
    direction: str  # "in" | "out"
    name: Name
    type: TypeExpr
    value: Expr | None
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class ForeachStmt:
    var: Name
    source: Expr
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class RunStmt:
    command: Template
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class NextStmt:
    target: Ref
    value: Expr
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class StopStmt:
    phase: Name
    when: Expr
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class Block:
    """`kind [name] { items }`: workflows, phases, resources, sites, partitions..."""

    kind: Name
    name: Name | None
    items: tuple["Item", ...]
    span: Span


Item = Union[Attribute, Block, ParamStmt, PortStmt, ForeachStmt, RunStmt, NextStmt, StopStmt]


@dataclass(unsafe_hash=True, slots=True)
class Import:
    target: Template
    alias: Name | None
    span: Span


@dataclass(unsafe_hash=True, slots=True)
class Header:
    version: str
    span: Span


@dataclass
class Module:
    """One parsed file."""

    path: str
    header: Header | None
    imports: list[Import] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    broken: bool = False  # the parser gave up: nothing past the first error is known


# ---------------------------------------------------------------- printing

_PREC = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
         "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "neg": 7}


def refs_in(e: Expr) -> list[Ref]:
    """Every reference inside an expression, in source order: interpolations, operands,
    call arguments, list items and map values (the checks, the graph, the language
    server's index and the backends' run spec all walk expressions this one way)."""
    out: list[Ref] = []
    _collect_refs(e, out)
    return out


def _collect_refs(e: Expr, out: list[Ref]) -> None:
    # plain recursion into one list: expressions of every phase are walked several times
    # per analysis, and nested generators cost several times more per reference
    t = type(e)
    if t is Ref:
        out.append(e)
    elif t is Template:
        for p in e.parts:
            if type(p) is Ref:
                out.append(p)
            elif type(p) is not str:
                _collect_refs(p, out)
    elif t is BinOp:
        _collect_refs(e.left, out)
        _collect_refs(e.right, out)
    elif t is UnOp:
        _collect_refs(e.operand, out)
    elif t is Call:
        for a in e.args:
            _collect_refs(a, out)
    elif t is ListExpr:
        for a in e.items:
            _collect_refs(a, out)
    elif t is MapExpr:
        for _, v in e.entries:
            _collect_refs(v, out)


def quote_string(text: str) -> str:
    """An aiwf string literal for `text` (escapes quotes, backslashes and newlines)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + body + '"'


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _map_key(key: str) -> str:
    """A map key as written: bare when it is a name, else a string (`"PYTHON-PATH"`)."""
    return key if _IDENTIFIER.fullmatch(key) else quote_string(key)


def unparse(e: Expr, parent: int = 0, *, raw_strings: bool = False) -> str:
    """Canonical aiwf text of an expression: used by the formatter, the JSON form and messages.

    With `raw_strings`, string literals are kept exactly as written (quotes, escapes,
    `\"\"\"` blocks): the formatter must not turn a multi-line command into one line.
    """
    if raw_strings and isinstance(e, Template) and e.raw:
        return e.raw
    if isinstance(e, Literal):
        if e.kind == "bool":
            return "true" if e.value else "false"
        if e.kind == "quantity":
            return e.text
        return e.text or repr(e.value)
    if isinstance(e, Template):
        out = []
        for p in e.parts:
            if isinstance(p, str):
                out.append(quote_string(p)[1:-1].replace("${", "\\${"))
            else:
                out.append("${" + unparse(p, raw_strings=raw_strings) + "}")
        return '"' + "".join(out) + '"'
    if isinstance(e, Ref):
        return e.dotted
    if isinstance(e, Call):
        return e.func.text + "(" + ", ".join(unparse(a, raw_strings=raw_strings) for a in e.args) + ")"
    if isinstance(e, ListExpr):
        return "[" + ", ".join(unparse(a, raw_strings=raw_strings) for a in e.items) + "]"
    if isinstance(e, MapExpr):
        if not e.entries:
            return "{}"
        return "{ " + "  ".join(f"{_map_key(k.text)} = {unparse(v, raw_strings=raw_strings)}"
                                for k, v in e.entries) + " }"
    if isinstance(e, UnOp):
        prec = _PREC["not" if e.op == "not" else "neg"]
        inner = unparse(e.operand, prec, raw_strings=raw_strings)
        text = f"not {inner}" if e.op == "not" else f"-{inner}"
    elif isinstance(e, BinOp):
        prec = _PREC[e.op]
        right_prec = prec + 1
        left_prec = prec + 1 if prec == 4 else prec
        text = f"{unparse(e.left, left_prec, raw_strings=raw_strings)} {e.op} " \
               f"{unparse(e.right, right_prec, raw_strings=raw_strings)}"
    else:
        raise TypeError(type(e))
    return f"({text})" if prec < parent else text
