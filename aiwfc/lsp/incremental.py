"""Incremental parsing for the language server: re-read only what an edit touched.

Parsing is most of the cost of analysing a file (about 80% for a 1,000-line file), and
an edit usually touches one block. So the text is cut, by a small lexical scan that
knows strings, comments and braces, into fragments: the pieces between top-level
blocks, and the items of each large top-level block (a workflow, a site) cut after
every nested block. Each fragment is parsed on its own (`parse_fragment`) and kept,
keyed by its text; the next parse re-uses every fragment whose text is unchanged,
moving its positions when lines were inserted or deleted above it.

The result is the AST `parse_module` would give, node for node (tests/lsp/
test_incremental.py holds the two equal over random edits). Whenever that cannot be
guaranteed, the whole file is parsed: when the braces do not balance, when a
fragment does not parse cleanly (its syntax errors and their recovery must be exactly
those of `aiwfc check`), or when a block head is not the simple `KIND [NAME] {`.
"""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict

from aiwfc.diagnostics import Diagnostic, DiagnosticSink
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast
from aiwfc.syntax.larkparse import parse_fragment
from aiwfc.syntax.parser import parse_module

BIG_BLOCK_LINES = 30  # a top-level block longer than this is parsed item by item
_INTERESTING = re.compile(r'"""|"|#|\{|\}')
_TRIPLE_END = re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S)
_STRING_END = re.compile(r'(?:[^"\\\n]|\\.)*"')
_HEAD_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|.', re.S)
_REST_OF_LINE = re.compile(r"[ \t\r]*(?:#[^\n]*)?(?:\n|\Z)")


@dataclasses.dataclass
class _Block:
    """A top-level block found by the scan: where its `{` and `}` are, and where its
    nested blocks end (offsets just after their `}`)."""

    open: int
    close: int  # offset of the closing `}`
    inner_ends: list[int]


def scan(text: str) -> list[_Block] | None:
    """The top-level blocks of `text`, or None when its braces or strings do not balance."""
    blocks: list[_Block] = []
    stack: list[bool] = []  # for each open `{`: does it open a block (not a map or type fields)?
    current: _Block | None = None
    pos = 0
    n = len(text)
    while True:
        m = _INTERESTING.search(text, pos)
        if m is None:
            break
        tok, i = m.group(), m.start()
        if tok == '"""':
            end = _TRIPLE_END.match(text, i + 3)
            if end is None:
                return None
            pos = end.end()
        elif tok == '"':
            end = _STRING_END.match(text, i + 1)
            if end is None:
                return None
            pos = end.end()
        elif tok == "#":
            eol = text.find("\n", i)
            pos = n if eol < 0 else eol
        elif tok == "{":
            is_block = not stack or _opens_block(text, i)
            if not stack:
                current = _Block(i, -1, [])
            stack.append(is_block)
            pos = i + 1
        else:
            if not stack:
                return None
            was_block = stack.pop()
            if not stack:
                current.close = i
                blocks.append(current)
            elif len(stack) == 1 and was_block:
                current.inner_ends.append(i + 1)
            pos = i + 1
    return None if stack else blocks


def _opens_block(text: str, brace: int) -> bool:
    """`KIND NAME {` opens a block; `= {` (a map) and `: metrics {` (type fields) do not.

    Looks at most 200 characters back: a name, blanks, then what stands before the name.
    (A backwards walk: a regular expression anchored at the end is tried at every
    position of the window, which made this most of the cost of a scan.)"""
    low = max(0, brace - 200)
    i = brace
    while i > low and text[i - 1].isspace():
        i -= 1
    j = i
    while j > low and text[j - 1].isascii() and (text[j - 1].isalnum() or text[j - 1] == "_"):
        j -= 1
    while j < i and text[j].isdigit():  # a name starts with a letter or `_`
        j += 1
    if j == i:
        return False
    k = j
    while k > low and text[k - 1].isspace():
        k -= 1
    return k == low or text[k - 1] not in ":<,=(["


def _line_end(text: str, pos: int) -> int:
    """`pos`, moved past the rest of its line when only blanks or a comment follow."""
    m = _REST_OF_LINE.match(text, pos)
    return m.end() if m else pos


class IncrementalParser:
    """A `parse(src, sink)` for `analyse(parse=...)`: one per open document.

    The document's own file is parsed fragment by fragment; other files (its imports)
    are kept whole, keyed by path and text, in a cache shared by all documents.
    """

    shared: "OrderedDict[tuple[str, str], tuple[ast.Module, list[Diagnostic]]]" = OrderedDict()
    SHARED_SIZE = 64

    def __init__(self, path: str):
        self.path = path
        self.cache: dict[tuple[bool, str], tuple[int, int, object, list[Diagnostic]]] = {}
        self.stats = {"reused": 0, "parsed": 0, "full": 0}

    def __call__(self, src: SourceFile, sink: DiagnosticSink) -> ast.Module:
        if src.path != self.path:
            return self._whole(src, sink)
        fresh: dict = {}
        module = self._incremental(src, sink, fresh)
        self.cache = fresh  # keep what this version used, drop the rest
        if module is None:
            self.stats["full"] += 1
            return parse_module(src, sink)
        return module

    def _whole(self, src: SourceFile, sink: DiagnosticSink) -> ast.Module:
        key = (src.path, src.text)
        hit = self.shared.get(key)
        if hit is None:
            local = DiagnosticSink()
            hit = (parse_module(src, local), local.items)
            self.shared[key] = hit
            if len(self.shared) > self.SHARED_SIZE:
                self.shared.popitem(last=False)
        else:
            self.shared.move_to_end(key)
        sink.extend(hit[1])
        module = hit[0]
        return ast.Module(module.path, module.header, list(module.imports), list(module.blocks), module.broken)

    # ------------------------------------------------------------ fragments
    def _incremental(self, src: SourceFile, sink: DiagnosticSink, fresh: dict) -> ast.Module | None:
        text = src.text
        blocks = scan(text)
        if blocks is None:
            return None
        module = ast.Module(src.path, None)
        diags: list[Diagnostic] = []
        ok = True
        start = 0
        for b in blocks:
            end = _line_end(text, b.close + 1)
            big = text.count("\n", b.open, b.close) > BIG_BLOCK_LINES
            if not big:
                ok &= self._top(src, start, end, module, diags, fresh)
            else:
                ok &= self._big(src, start, b, module, diags, fresh)
            start = end
        if start < len(text) and text[start:].strip():
            ok &= self._top(src, start, len(text), module, diags, fresh)
        if not ok:
            return None
        sink.extend(diags)
        return module

    def _top(self, src, start, end, module, diags, fresh) -> bool:
        part = self._fragment(src, start, end, False, fresh)
        if part is None:
            return False
        mod, found = part
        if mod.header is not None:
            if start != 0 and src.text[:start].strip():
                return False  # a header after other items: only a full parse says what that is
            module.header = mod.header
        module.imports += mod.imports
        module.blocks += mod.blocks
        diags += found
        return True

    def _big(self, src, start, b: _Block, module, diags, fresh) -> bool:
        text = src.text
        head = self._head(text, start, b.open)
        if head is None:
            return False
        kind_start, names = head
        if text[start:kind_start].strip() and not self._top(src, start, kind_start, module, diags, fresh):
            return False
        items: list = []
        cut = b.open + 1
        for inner_end in b.inner_ends + [b.close]:
            stop = inner_end if inner_end == b.close else min(_line_end(text, inner_end), b.close)
            if text[cut:stop].strip():
                part = self._fragment(src, cut, stop, True, fresh)
                if part is None:
                    return False
                items += part[0]
                diags += part[1]
            cut = stop
        kind = ast.Name(names[0][0], src.span(names[0][1], names[0][1] + len(names[0][0])))
        name = None
        if len(names) == 2:
            name = ast.Name(names[1][0], src.span(names[1][1], names[1][1] + len(names[1][0])))
        module.blocks.append(ast.Block(kind, name, tuple(items), src.span(kind_start, b.close + 1)))
        return True

    @staticmethod
    def _head(text: str, start: int, brace: int) -> tuple[int, list[tuple[str, int]]] | None:
        """Where `KIND [NAME] {` begins, after any header and imports before it."""
        tokens = [(m.group(), m.start()) for m in _HEAD_TOKEN.finditer(text, start, brace)
                  if not m.group().isspace() and not m.group().startswith("#")]
        i = 0
        if start == 0 and tokens and tokens[0][0] == "aiwf":
            i = 2
        while i < len(tokens) and tokens[i][0] == "import":
            i += 2
            if i < len(tokens) and tokens[i][0] == "as":
                i += 2
        names = tokens[i:]
        if not 1 <= len(names) <= 2 or not all(re.fullmatch(r"[A-Za-z_]\w*", t) for t, _ in names):
            return None
        if names[0][0] in ("import", "aiwf", "as"):
            return None
        return names[0][1], names

    def _fragment(self, src: SourceFile, start: int, end: int, body: bool, fresh: dict):
        """The parse of one fragment (items of a body, or a top-level module), re-used if
        its text was seen before; None when it does not parse cleanly."""
        text = src.text[start:end]
        key = (body, text)
        line, col = src.position(start)
        hit = self.cache.get(key) or fresh.get(key)
        if hit is not None and hit[1] == col:
            self.stats["reused"] += 1
            value, found = hit[2], hit[3]
            if hit[0] != line:
                value, found = shift(value, line - hit[0]), [shift(d, line - hit[0]) for d in found]
            fresh[key] = (line, col, value, found)
            return value, found
        self.stats["parsed"] += 1
        local = DiagnosticSink()
        mod = parse_fragment(src, start, end, local, body=body)
        if mod is None or mod.broken or (body and len(mod.blocks) != 1):
            return None
        value = tuple(mod.blocks[0].items) if body else mod
        fresh[key] = (line, col, value, local.items)
        return value, local.items


_FIELDS: dict[type, tuple[str, ...]] = {}


def shift(node, lines: int):
    """A copy of an AST (or diagnostic) whose every span is `lines` lines further down."""
    if isinstance(node, Span):
        return Span(node.file, node.line + lines, node.column, node.end_line + lines, node.end_column)
    if isinstance(node, tuple):
        return tuple(shift(x, lines) for x in node)
    if isinstance(node, list):
        return [shift(x, lines) for x in node]
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node)) if dataclasses.is_dataclass(node) else ()
        _FIELDS[cls] = names
    if not names:
        return node
    if cls is ast.Module:
        return ast.Module(node.path, shift(node.header, lines), shift(node.imports, lines),
                          shift(node.blocks, lines), node.broken)
    return cls(*(shift(getattr(node, n), lines) for n in names))
