"""Text to AST: the entry points every stage uses.

parse_module tries the fast path first (aiwfc/syntax/fastparse.py: the same AST for
well-formed text in a fraction of the time, giving up on anything else); lark
(aiwfc/syntax/larkparse.py, with error recovery and the "expected ..." messages) then
parses the text.  The lark module is imported at the first text that needs it, not at
start-up: most runs of `aiwfc` never need it, and its import is about 45 ms.
"""

from __future__ import annotations

import importlib

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast, fastparse

MAX_SYNTAX_ERRORS = 50
MISSING = "<missing>"  # the name of the placeholder put where a value was left out


def _lark_parser():
    """aiwfc.syntax.larkparse, imported on first use (start-up cost; it imports this module)."""
    return importlib.import_module("aiwfc.syntax.larkparse")


def parse_module(src: SourceFile, sink: DiagnosticSink,
                 comments: list[tuple[Span, str]] | None = None) -> ast.Module:
    """Parses one file; syntax errors go to `sink` and the best-effort AST is returned.

    When `comments` is a list, every `# ...` comment of the file is appended to it as
    (span, text) in source order: the grammar ignores them, the formatter must not.

    Well-formed text takes the fast path (aiwfc/syntax/fastparse.py: same AST, a tenth
    of the time); anything else, and every syntax error, is parsed here with lark.
    """
    try:
        local = DiagnosticSink()
        found: list | None = [] if comments is not None else None
        module = fastparse.parse_module_fast(src, local, found)
    except fastparse.Fallback:
        pass
    else:
        sink.extend(local.items)
        if comments is not None:
            comments.extend(found)
        return module
    return _lark_parser().parse_module_lark(src, sink, comments)


def parse_expression_at(src: SourceFile, start: int, end: int, sink: DiagnosticSink) -> ast.Expr | None:
    """Parses src.text[start:end] as one expression (an interpolation, a JSON/YAML field)."""
    return fastparse.parse_interpolation(src, start, end, sink)


def _parse_expression_lark(src: SourceFile, start: int, end: int, sink: DiagnosticSink) -> ast.Expr | None:
    return _lark_parser().parse_expression_lark(src, start, end, sink)


def parse_expression_text(text: str, sink: DiagnosticSink, file: str = "<expr>",
                          origin: Span | None = None) -> ast.Expr | None:
    """Parses a free-standing expression (JSON/YAML documents, `-p` values)."""
    src = SourceFile(file, text)
    local = DiagnosticSink()
    expr = parse_expression_at(src, 0, len(text), local)
    for d in local.items:
        sink.items.append(d if origin is None else
                          type(d)(d.code, d.name, d.severity, d.message, origin, d.related, d.notes, d.fix))
    return expr


fastparse.SLOW_EXPRESSION.append(_parse_expression_lark)
