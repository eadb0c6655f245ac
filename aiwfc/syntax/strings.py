"""String literals: escapes and `${...}` interpolation.

An interpolation's expression is parsed from the original text (not the unescaped
one), so every position inside it is exact in the file.
"""

from __future__ import annotations

import re
from typing import Callable

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast

_SPECIAL = re.compile(r"[\\$]")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "$": "$", "r": "\r"}


def parse_template(src: SourceFile, start: int, raw: str, sink: DiagnosticSink,
                   parse_expr: Callable, span: Span | None = None) -> ast.Template:
    """Splits a STRING token (quotes included) at offset `start` into text and expressions.

    `span` is the token's span when the caller knows it (saves two position look-ups)."""
    q = 3 if raw.startswith('"""') else 1
    body_start, body_end = start + q, start + len(raw) - q
    text = src.text
    parts: list = []
    buf: list[str] = []
    i = body_start
    special = _SPECIAL.search
    while i < body_end:
        # plain text up to the next backslash or `$` is taken in one piece
        m = special(text, i, body_end)
        if m is None:
            buf.append(text[i:body_end])
            break
        j = m.start()
        if j > i:
            buf.append(text[i:j])
            i = j
        ch = text[i]
        if ch == "\\" and i + 1 < body_end:
            buf.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        if ch == "$" and i + 1 < body_end and text[i + 1] == "{":
            close = _matching_brace(text, i + 2, body_end)
            if close < 0:
                sink.report(codes.BAD_INTERPOLATION, src.span(i, body_end),
                            detail="`${` is not closed by `}`")
                buf.append(text[i:body_end])
                break
            inner = text[i + 2:close]
            if not inner.strip():
                sink.report(codes.BAD_INTERPOLATION, src.span(i, close + 1),
                            detail="`${}` holds no expression")
            else:
                expr = parse_expr(src, i + 2, close, sink)
                if expr is not None:
                    if buf:
                        parts.append("".join(buf))
                        buf = []
                    parts.append(expr)
            i = close + 1
            continue
        buf.append(ch)
        i += 1
    if buf or not parts:
        parts.append("".join(buf))
    return ast.Template(tuple(parts), span or src.span(start, start + len(raw)), raw)


def _matching_brace(text: str, i: int, end: int) -> int:
    depth = 0
    while i < end:
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i
            depth -= 1
        elif ch == "\n":
            return -1
        i += 1
    return -1
