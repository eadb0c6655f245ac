"""The outline of a document (LSP document symbols), from its AST.

The AST, not the IR: a block the resolver rejected (an unknown attribute inside, a
half-typed phase) still shows in the outline while it is being written.
"""

from __future__ import annotations

from typing import Callable

from lsprotocol import types as lsp

from aiwfc.ir import models as ir
from aiwfc.syntax import ast
from aiwfc.syntax.parser import MISSING
from aiwfc.source import Span

S = lsp.SymbolKind
KINDS = {"workflow": S.Module, "site": S.Namespace, "partition": S.Struct, "resource": S.Struct,
         "image": S.Package, "dataset": S.File, "feedback": S.Event, **{k: S.Function for k in ir.PHASE_KINDS}}

ToRange = Callable[[Span], lsp.Range]


def document_symbols(module: ast.Module, to_range: ToRange) -> list[lsp.DocumentSymbol]:
    return [s for s in (_block(b, to_range) for b in module.blocks) if s is not None]


def _block(b: ast.Block, to_range: ToRange) -> lsp.DocumentSymbol | None:
    name = b.name if b.name is not None and b.name.text != MISSING else None
    children = []
    for item in b.items:
        if isinstance(item, ast.Block):
            child = _block(item, to_range)
            if child is not None:
                children.append(child)
        elif isinstance(item, ast.ParamStmt) and item.name.text != MISSING:
            children.append(_leaf(item.name, item.span, S.Variable, "param", to_range))
        elif isinstance(item, ast.PortStmt) and item.name.text != MISSING:
            children.append(_leaf(item.name, item.span, S.Field, item.direction, to_range))
        elif isinstance(item, ast.ForeachStmt) and item.var.text != MISSING:
            children.append(_leaf(item.var, item.span, S.Variable, "foreach", to_range))
    label = name.text if name else b.kind.text
    return lsp.DocumentSymbol(
        name=label, kind=KINDS.get(b.kind.text, S.Object), detail=b.kind.text if name else None,
        range=to_range(b.span), selection_range=to_range((name or b.kind).span), children=children or None)


def _leaf(name: ast.Name, span: Span, kind, detail: str, to_range: ToRange) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(name=name.text, kind=kind, detail=detail, range=to_range(span),
                              selection_range=to_range(name.span))
