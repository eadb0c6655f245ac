"""What the text just before the cursor is: the lexical context completion needs.

The file being typed is often not parseable, so this is a small scan of the text up to
the cursor (strings, comments, braces), never the parser: it tells which blocks
enclose the cursor, whether it is inside a string or a `${...}` interpolation, and
what the current statement says so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEAD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:[ \t]+([A-Za-z_][A-Za-z0-9_]*))?[ \t]*\Z")
_OPERATOR_END = re.compile(r"(?:[=~,+\-*/<>]|\band|\bor|\bnot)[ \t]*\Z")
_TOKEN = re.compile(r'"""|"|#|\$\{|\{|\}|\n')


@dataclass
class Cursor:
    """The context of one cursor position."""

    blocks: list[tuple[str, str | None]] = field(default_factory=list)  # (kind, name), outermost first
    statement: str = ""  # the current statement's text before the cursor (after `{`, `}` or a newline)
    in_string: bool = False
    interpolation: str | None = None  # the text after `${` when the cursor is inside one
    string_text: str = ""  # the string's text before the cursor, when in a string

    @property
    def block(self) -> str | None:
        """The kind of the innermost enclosing block (None at top level or in a map)."""
        return self.blocks[-1][0] if self.blocks else None

    def enclosing(self, kinds) -> tuple[str, str | None] | None:
        return next((b for b in reversed(self.blocks) if b[0] in kinds), None)


def cursor_at(text: str, offset: int) -> Cursor:
    """Scans `text[:offset]` and returns the cursor's context."""
    stack: list[tuple[str, str | None] | None] = []  # None: a `{` of a map or type fields
    pos, stmt_start = 0, 0
    string_start = None
    triple = False
    interp_start = None
    end = offset
    while pos < end:
        if string_start is not None:
            if interp_start is not None:
                close = text.find("}", pos, end)
                if close < 0:
                    break
                interp_start, pos = None, close + 1
                continue
            m = re.compile(r'\\.|\$\{|"""' if triple else r'\\.|\$\{|"|\n').search(text, pos, end)
            if m is None:
                break
            tok = m.group()
            pos = m.end()
            if tok == "${":
                interp_start = pos
            elif tok in ('"', '"""', "\n"):
                string_start = None
                triple = False
            continue
        m = _TOKEN.search(text, pos, end)
        if m is None:
            break
        tok, i = m.group(), m.start()
        pos = m.end()
        if tok in ('"', '"""'):
            string_start, triple = i, tok == '"""'
        elif tok == "#":
            eol = text.find("\n", i, end)
            if eol < 0:
                return Cursor([b for b in stack if b])  # in a comment: nothing to complete
            pos = eol
        elif tok == "{":
            stack.append(_head(text, stmt_start, i))
            stmt_start = pos
        elif tok == "}":
            if stack:
                stack.pop()
            stmt_start = pos
        elif tok == "\n":
            if not _continues(text, stmt_start, i):
                stmt_start = pos
    cur = Cursor([b for b in stack if b is not None])
    if stack and stack[-1] is None:
        cur.blocks.append(("{", None))  # inside a map or type fields
    cur.statement = text[stmt_start:offset]
    if string_start is not None:
        cur.in_string = True
        cur.string_text = text[string_start:offset]
        if interp_start is not None:
            cur.interpolation = text[interp_start:offset]
    return cur


def _head(text: str, start: int, brace: int) -> tuple[str, str | None] | None:
    """`KIND [NAME] {` -> (KIND, NAME); None for the `{` of a map or of type fields."""
    before = text[start:brace]
    m = _HEAD.search(before)
    if m is None:
        return None
    prev = before[:m.start()].rstrip()
    if prev.endswith((":", "<", ",", "=", "(", "[", "~")) or m.group(1) in ("metrics",):
        return None
    return m.group(1), m.group(2)


def _continues(text: str, start: int, newline: int) -> bool:
    """Whether a statement goes on past a newline: inside brackets, or after an operator."""
    part = text[start:newline]
    depth = part.count("[") - part.count("]") + part.count("(") - part.count(")")
    return depth > 0 or _OPERATOR_END.search(part) is not None


def word_before(statement: str) -> str:
    """The dotted name being typed at the end of `statement` ('' when none)."""
    m = re.search(r"[A-Za-z_][A-Za-z0-9_.]*\Z|\Z", statement)
    return m.group() if m else ""
