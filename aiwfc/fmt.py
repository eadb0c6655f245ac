"""The canonical formatter behind `aiwfc fmt` and the language server's formatting.

It prints the AST again, never the text: whatever the input's layout, one program
has one written form, and the comments the grammar ignores are put back. The style:

* 2-space indentation, one item (attribute, statement, block) per line; a blank line
  after the header, after the imports, between top-level blocks and around every
  nested block that takes several lines (phases, feedback loops, partitions that do
  not fit on one line); a blank line the author left between two other items is kept
  (several become one); none just after `{` or before `}`.
* A `resource`, `partition`, `image` or `dataset` block that holds only attributes,
  at most four of them, no comment, and fits in 100 columns is written on one line:
  `resource cpu { cores = 1  memory = 1GiB }` (two spaces between attributes). Every
  other block is written one item per line.
* A list or map value that holds a comment, or whose line would pass 100 columns, is
  written one element per line (lists with a trailing comma).
* Strings and numbers are kept exactly as written (escapes, `\"\"\"` blocks, `1.5e3`);
  expressions get single spaces around operators and only the parentheses they need.
* A comment on its own line stays before the item that follows it; a comment after
  code stays at the end of that line, and such comments on consecutive lines are
  aligned one column apart from the longest line. A comment inside an item that is
  written on one line moves above that item.

Formatting is idempotent, and `format_source` checks its own output: the output must
parse to the same AST (positions aside) with the same comments, or it refuses.
Files with syntax errors are refused too: their meaning is not known.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from aiwfc.diagnostics import Diagnostic, DiagnosticSink, Severity
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast
from aiwfc.syntax.parser import parse_module

WIDTH = 100
INDENT = "  "
INLINE_KINDS = frozenset({"resource", "partition", "image", "dataset"})
MAX_INLINE_ATTRS = 4

Pos = tuple[int, int]


class FormatError(Exception):
    """The text cannot be formatted; `diagnostics` says why (syntax errors, as `check` reports them)."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


def format_text(text: str, path: str = "<text>") -> str:
    """The canonical form of `text` (see the module docstring); raises FormatError."""
    return format_source(SourceFile(path, text))


def format_source(src: SourceFile, verify: bool = True) -> str:
    """Formats one parsed file; with `verify`, proves the output means the same."""
    module, comments = _parse(src)
    out = _Printer(comments).module(module)
    if verify:
        again, again_comments = _parse(SourceFile(src.path, out))
        if strip_spans(again) != strip_spans(module) or \
                [c for _, c in again_comments] != [c.rstrip() for _, c in comments]:
            raise FormatError(f"{src.path}: internal error: the formatted text would not mean the same; "
                              "left unchanged (please report this input)")
    return out


def _parse(src: SourceFile) -> tuple[ast.Module, list[tuple[Span, str]]]:
    sink = DiagnosticSink()
    comments: list[tuple[Span, str]] = []
    module = parse_module(src, sink, comments)
    errors = [d for d in sink.sorted() if d.severity is Severity.ERROR]
    if errors or module.broken:
        raise FormatError(f"{src.path}: not formatted: it has syntax errors", errors)
    return module, comments


def strip_spans(node):
    """The AST without positions, for comparing two texts' meaning."""
    if isinstance(node, Span):
        return None
    if isinstance(node, (list, tuple)):
        return tuple(strip_spans(x) for x in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            strip_spans(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name != "span")
    return node


# ---------------------------------------------------------------- layout

@dataclass
class _Line:
    """One output line: code at an indentation level, and maybe a trailing comment."""

    indent: int
    code: str
    comment: str | None = None

    @property
    def blank(self) -> bool:
        return not self.code and self.comment is None


def _start(span: Span) -> Pos:
    return (span.line, span.column)


def _end(span: Span) -> Pos:
    return (span.end_line, span.end_column)


def type_text(t: ast.TypeExpr) -> str:
    """A type as written canonically: `list<file>`, `metrics { loss: float, acc: float }`."""
    text = t.name.text
    if t.arg is not None:
        text += f"<{type_text(t.arg)}>"
    if t.fields is not None:
        inner = ", ".join(f"{k.text}: {type_text(v)}" for k, v in t.fields)
        text += f" {{ {inner} }}" if inner else " {}"
    return text


def _first(items) -> Pos | None:
    return _start(items[0].span) if items else None


def expr_text(e: ast.Expr) -> str:
    return ast.unparse(e, raw_strings=True)


def _head(item) -> tuple[str, ast.Expr | None]:
    """An item as the text before its value and the value (None when it has none or
    when the whole item is the text)."""
    if isinstance(item, ast.Attribute):
        return f"{item.key.text} {item.op} ", item.value
    if isinstance(item, ast.ParamStmt):
        head = f"param {item.name.text}: {type_text(item.type)}"
        return (head + " = ", item.default) if item.default is not None else (head, None)
    if isinstance(item, ast.PortStmt):
        head = f"{item.direction} {item.name.text}: {type_text(item.type)}"
        return (head + " = ", item.value) if item.value is not None else (head, None)
    if isinstance(item, ast.ForeachStmt):
        return f"foreach {item.var.text} in ", item.source
    if isinstance(item, ast.RunStmt):
        return f"run {expr_text(item.command)}", None
    if isinstance(item, ast.NextStmt):
        return f"next {item.target.dotted} = ", item.value
    if isinstance(item, ast.StopStmt):
        return f"stop {item.phase.text} when ", item.when
    raise TypeError(type(item))


class _Printer:
    """Walks the AST once, emitting lines and taking comments in source order."""

    def __init__(self, comments: list[tuple[Span, str]]):
        self.comments = [(_start(s), s.line, text.rstrip()) for s, text in comments]
        self.next = 0
        self.lines: list[_Line] = []
        self.force_blank = False
        self.block_start = True  # just after `{` (or at the start of the file): no blank line
        self.last_line: int | None = None  # source line of what was emitted last

    # ------------------------------------------------------------ comments
    def _has_comment(self, start: Pos, end: Pos) -> bool:
        i = self.next
        while i < len(self.comments) and self.comments[i][0] < start:
            i += 1
        return i < len(self.comments) and self.comments[i][0] < end

    def _leading(self, before: Pos, indent: int) -> None:
        """Every comment not yet placed that starts before `before`, each on its own line."""
        while self.next < len(self.comments) and self.comments[self.next][0] < before:
            _, line, text = self.comments[self.next]
            self.next += 1
            self._unit(line)
            self.lines.append(_Line(indent, "", text))
            self.last_line = line

    def _trailing(self, line: int, after: Pos, following: Pos | None = None) -> None:
        """The comment after code on source line `line`, put at the end of the last output line;
        not when the `following` item starts between the code and the comment (it is that one's)."""
        if self.next < len(self.comments):
            pos, cline, text = self.comments[self.next]
            if cline == line and pos >= after and (following is None or following > pos):
                self.next += 1
                last = self.lines[-1]
                if last.comment is None:
                    last.comment = text
                else:  # cannot happen with well-formed input; keep the comment anyway
                    self.lines.append(_Line(last.indent, "", text))

    def _unit(self, src_line: int) -> None:
        """Before emitting something that starts on `src_line`: the blank line rules."""
        gap = self.last_line is not None and src_line - self.last_line > 1
        if not self.block_start and self.lines and (self.force_blank or gap):
            self.lines.append(_Line(0, ""))
        self.force_blank = False
        self.block_start = False

    # ------------------------------------------------------------ structure
    def module(self, mod: ast.Module) -> str:
        if mod.header is not None:
            self._leading(_start(mod.header.span), 0)
            self._unit(mod.header.span.line)
            self.lines.append(_Line(0, f"aiwf {mod.header.version}"))
            self._done(mod.header.span, _first(mod.imports or mod.blocks))
            self.force_blank = True
        for i, imp in enumerate(mod.imports):
            self._leading(_start(imp.span), 0)
            self._unit(imp.span.line)
            alias = f" as {imp.alias.text}" if imp.alias else ""
            self.lines.append(_Line(0, f"import {expr_text(imp.target)}{alias}"))
            self._done(imp.span, _first(mod.imports[i + 1:] or mod.blocks))
        if mod.imports:
            self.force_blank = True
        for i, block in enumerate(mod.blocks):
            if i:
                self.force_blank = True
            self._block(block, 0, _first(mod.blocks[i + 1:]))
        self._leading((1 << 30, 0), 0)
        return _render(self.lines)

    def _done(self, span: Span, following: Pos | None = None) -> None:
        self.last_line = span.end_line
        self._trailing(span.end_line, _end(span), following)

    def _block(self, b: ast.Block, indent: int, following: Pos | None = None) -> None:
        self._leading(_start(b.span), indent)
        self._unit(b.span.line)
        head = b.kind.text + (f" {b.name.text}" if b.name else "")
        inner_start = _end((b.name or b.kind).span)
        if not self._has_comment(inner_start, _end(b.span)):
            one = self._one_line(b, head, indent)
            if one is not None:
                self.lines.append(_Line(indent, one))
                self._done(b.span, following)
                return
        self.lines.append(_Line(indent, head + " {"))
        self.last_line = (b.name or b.kind).span.end_line
        first = _start(b.items[0].span) if b.items else _end(b.span)
        if self.next < len(self.comments) and self.comments[self.next][0] < first \
                and self.comments[self.next][1] == self.last_line:
            self._trailing(self.last_line, inner_start)
        self.block_start = True
        prev_multi = None
        for i, item in enumerate(b.items):
            multi = self._multiline(item)
            if prev_multi is not None and (prev_multi or multi):
                self.force_blank = True
            self._item(item, indent + 1, _first(b.items[i + 1:]))
            prev_multi = multi
        self._leading((b.span.end_line, b.span.end_column - 1), indent + 1)
        self.block_start = False
        self.force_blank = False
        self.lines.append(_Line(indent, "}"))
        self._done(b.span, following)

    def _multiline(self, item) -> bool:
        """Whether an item is a block written over several lines (it gets blank lines around);
        asked before the item is printed, while its comments are still to be placed."""
        if not isinstance(item, ast.Block):
            return False
        head = item.kind.text + (f" {item.name.text}" if item.name else "")
        inner_start = _end((item.name or item.kind).span)
        return self._has_comment(inner_start, _end(item.span)) or self._one_line(item, head, 0) is None

    def _one_line(self, b: ast.Block, head: str, indent: int) -> str | None:
        if not b.items:
            return head + " {}"
        if b.kind.text not in INLINE_KINDS or len(b.items) > MAX_INLINE_ATTRS \
                or not all(isinstance(i, ast.Attribute) for i in b.items):
            return None
        parts = []
        for item in b.items:
            lead, value = _head(item)
            text = lead + expr_text(value)
            if "\n" in text:
                return None
            parts.append(text)
        line = f"{head} {{ " + "  ".join(parts) + " }"
        return line if len(INDENT) * indent + len(line) <= WIDTH else None

    def _item(self, item, indent: int, following: Pos | None) -> None:
        if isinstance(item, ast.Block):
            self._block(item, indent, following)
            return
        lead, value = _head(item)
        flat = lead + (expr_text(value) if value is not None else "")
        too_long = len(INDENT) * indent + len(flat.split("\n", 1)[0]) > WIDTH
        if isinstance(value, (ast.ListExpr, ast.MapExpr)) and (value.items if isinstance(value, ast.ListExpr)
                                                               else value.entries) \
                and (too_long or self._has_comment(_start(value.span), _end(value.span))):
            self._leading(_start(value.span), indent)  # comments before the value: above the item
            self._unit(item.span.line)
            self._exploded(lead, value, indent)
            self._done(item.span, following)
            return
        self._leading(_end(item.span), indent)  # comments inside a one-line item move above it
        self._unit(item.span.line)
        self.lines.append(_Line(indent, flat))
        self._done(item.span, following)

    def _exploded(self, lead: str, value, indent: int) -> None:
        """A list or map value one element per line, comments kept beside their elements."""
        is_list = isinstance(value, ast.ListExpr)
        self.lines.append(_Line(indent, lead + ("[" if is_list else "{")))
        self.last_line = value.span.line
        elements = value.items if is_list else value.entries
        first = _start(elements[0].span if is_list else elements[0][0].span)
        if self.next < len(self.comments) and self.comments[self.next][0] < first \
                and self.comments[self.next][1] == self.last_line:
            self._trailing(self.last_line, _start(value.span))
        self.block_start = True
        for i, el in enumerate(elements):
            nxt = elements[i + 1] if i + 1 < len(elements) else None
            following = None if nxt is None else _start(nxt.span if is_list else nxt[0].span)
            if is_list:
                start, end, text = el.span, el.span, expr_text(el) + ","
            else:
                key, v = el
                start, end, text = key.span, v.span, f"{ast._map_key(key.text)} = {expr_text(v)}"
            self._leading(_end(end), indent + 1)
            self._unit(start.line)
            self.lines.append(_Line(indent + 1, text))
            self.last_line = end.end_line
            self._trailing(end.end_line, _end(end), following)
        self._leading((value.span.end_line, value.span.end_column - 1), indent + 1)
        self.block_start = False
        self.force_blank = False
        self.lines.append(_Line(indent, "]" if is_list else "}"))


def _render(lines: list[_Line]) -> str:
    """Joins the lines, aligning trailing comments of consecutive lines one column apart."""
    widths = [len(INDENT) * ln.indent + len(ln.code) for ln in lines]
    out = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.comment is not None and ln.code and "\n" not in ln.code:
            j = i
            while j < len(lines) and lines[j].comment is not None and lines[j].code \
                    and "\n" not in lines[j].code and lines[j].indent == ln.indent:
                j += 1
            col = max(widths[i:j]) + 2
            for k in range(i, j):
                code = INDENT * lines[k].indent + lines[k].code
                out.append(code + " " * (col - len(code)) + lines[k].comment)
            i = j
            continue
        if ln.blank:
            out.append("")
        elif not ln.code:
            out.append(INDENT * ln.indent + ln.comment)
        else:
            code = INDENT * ln.indent + ln.code
            out.append(code + ("  " + ln.comment if ln.comment is not None else ""))
        i += 1
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""
