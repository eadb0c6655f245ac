"""The lark LALR parser for grammar/aiwf.lark, with error recovery: the parser of every
text the fast path (fastparse.py) gives up on, of the language server's fragments, and
the reference the fast path is tested against.

Recovery is panic mode: at an unexpected token the error is recorded and tokens are
skipped until one fits; further errors on the same line are suppressed as likely
consequences of the first.  A file therefore reports its independent syntax errors,
one per line at most, instead of stopping at the first.

Imported only when needed (aiwfc.syntax.parser loads it at the first text that needs
it): importing lark is about 45 ms of every command's start-up, and well-formed inputs,
the usual case, never need it.
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast
from aiwfc.syntax.parser import MAX_SYNTAX_ERRORS, MISSING, parse_expression_at
from aiwfc.syntax.strings import parse_template



# The comment list of the parse_module call in progress that asked for comments (the
# formatter keeps them); None otherwise, and then the lexer callback does nothing.
_COMMENTS: ContextVar[list | None] = ContextVar("aiwf_comments", default=None)


def _collect_comment(tok: Token) -> Token:
    """Lexer callback for the ignored COMMENT terminal (lark's documented way to keep comments)."""
    found = _COMMENTS.get()
    if found is not None:
        found.append(tok)
    return tok


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    text = (resources.files("aiwfc_grammar") / "aiwf.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", start=["start", "expr"], propagate_positions=True,
                maybe_placeholders=True, cache=False, lexer_callbacks={"COMMENT": _collect_comment})


def grammar_terminals() -> dict[str, str]:
    """Readable names of the grammar's terminals, for 'expected ...' messages."""
    return dict(_readable_terminals())


@functools.lru_cache(maxsize=1)
def _readable_terminals() -> tuple[tuple[str, str], ...]:
    named = {
        "NAME": "a name", "STRING": "a string", "INT": "an integer", "FLOAT": "a number",
        "QUANTITY": "a quantity", "COMP_OP": "a comparison", "ADD_OP": "`+` or `-`",
        "MUL_OP": "`*`, `/` or `%`", "ATTR_OP": "`=`", "PORT_DIR": "`in` or `out`",
        "$END": "end of file",
    }
    out = {}
    for t in _lark().terminals:
        if t.name in named:
            out[t.name] = named[t.name]
        elif t.pattern.type == "str":
            out[t.name] = f"`{t.pattern.value}`"
        else:
            out[t.name] = t.name.lower()
    out.update({k: v for k, v in named.items() if k not in out})
    return tuple(out.items())


_VALUE_STARTS = {"NAME", "INT", "FLOAT", "STRING", "QUANTITY"}


def describe_expected(expected: set[str]) -> str:
    """Condenses lark's expected-terminal set into words a person reads."""
    names = dict(_readable_terminals())
    exp = set(expected)
    words = []
    if _VALUE_STARTS <= exp:
        words.append("a value")
        exp -= _VALUE_STARTS | {"LSQB", "LBRACE", "LPAR", "MINUS", "NOT", "TRUE", "FALSE"}
    if {"PARAM", "FOREACH", "RUN", "PORT_DIR"} <= exp:
        words.append("an attribute, block or statement")
        exp -= {"PARAM", "FOREACH", "RUN", "PORT_DIR", "NEXT", "STOP", "NAME"}
    rest = sorted(names.get(t, t) for t in exp)
    if len(rest) > 6:
        rest = rest[:6] + ["..."]
    words += rest
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    text = str(tok)
    if len(text) > 20:
        text = text[:17] + "..."
    text = text.replace("\n", "\\n")
    if tok.type in ("NAME", "INT", "FLOAT", "QUANTITY", "STRING"):
        return f"{tok.type.lower()} `{text}`"
    return f"`{text}`"


class _Recovery:
    """The on_error callback: records one diagnostic per line and decides what to skip."""

    def __init__(self, src: SourceFile, sink: DiagnosticSink, base: int):
        self.src, self.sink, self.base = src, sink, base
        self.last_line = -1
        self.count = 0

    def _span(self, start: int, end: int) -> Span:
        return self.src.span(self.base + start, self.base + max(end, start + 1))

    def __call__(self, e: UnexpectedInput) -> bool:
        if self.count >= MAX_SYNTAX_ERRORS:
            return False
        if isinstance(e, UnexpectedCharacters):
            return self._bad_char(e)
        tok = e.token
        ip = e.interactive_parser
        if tok.type == "$END":
            self._report_token(e, tok, self.src.end_span())
            return self._close_blocks(ip, tok)
        start = tok.start_pos if tok.start_pos is not None else 0
        end = tok.end_pos if tok.end_pos is not None else start + 1
        self._report_token(e, tok, self._span(start, end))
        # A value left out (`cores = }` or `cores =` at the end of a line): put a
        # placeholder in its place so the block structure around it survives.
        if tok.type == "RBRACE" or self._starts_new_line(ip, tok):
            trial = ip.copy()
            try:
                trial.feed_token(Token.new_borrow_pos("NAME", MISSING, tok))
                if tok.type in trial.accepts():
                    ip.feed_token(Token.new_borrow_pos("NAME", MISSING, tok))
                    ip.feed_token(tok)
            except UnexpectedInput:
                pass
        return True

    @staticmethod
    def _starts_new_line(ip, tok: Token) -> bool:
        stack = ip.parser_state.value_stack
        if not stack or tok.line is None:
            return False
        top = stack[-1]
        end_line = getattr(top, "end_line", None)
        if end_line is None:
            meta = getattr(top, "meta", None)
            end_line = getattr(meta, "end_line", None) if meta and not getattr(meta, "empty", True) else None
        return end_line is not None and tok.line > end_line

    @staticmethod
    def _close_blocks(ip, end: Token) -> bool:
        """At an early end of file, closes the open blocks so what was parsed is kept."""
        trial = ip.copy()
        for _ in range(200):
            if "$END" in trial.accepts():
                break
            if "RBRACE" not in trial.accepts():
                return False
            trial.feed_token(Token.new_borrow_pos("RBRACE", "}", end))
        else:
            return False
        for _ in range(200):
            if "$END" in ip.accepts():
                return True
            ip.feed_token(Token.new_borrow_pos("RBRACE", "}", end))
        return False

    def _report_token(self, e: UnexpectedToken, tok: Token, span: Span) -> None:
        if span.line == self.last_line:
            return
        self.last_line = span.line
        self.count += 1
        expected = set(e.accepts or e.expected) if isinstance(e, UnexpectedToken) else set()
        self.sink.report(codes.UNEXPECTED_TOKEN, span, found=describe_token(tok),
                         expected=describe_expected(expected))

    def _bad_char(self, e: UnexpectedCharacters) -> bool:
        text = self.src.text[self.base:] if self.base else self.src.text
        pos = e.pos_in_stream
        span = self._span(pos, pos + 1)
        state = e.interactive_parser.lexer_thread.state
        if text[pos] == '"':
            eol = text.find("\n", pos)
            eol = len(text) if eol < 0 else eol
            if span.line != self.last_line:
                self.sink.report(codes.UNTERMINATED_STRING, self._span(pos, eol))
            ip = e.interactive_parser
            if "STRING" in ip.accepts():
                # take the rest of the line as the string, so the statement survives
                ip.feed_token(Token("STRING", '"' + text[pos + 1:eol].replace("${", "$ {") + '"',
                                    start_pos=pos, end_pos=eol, line=span.line, column=span.column,
                                    end_line=span.line, end_column=span.column + eol - pos))
            state.line_ctr.feed(text[pos:eol])
        elif span.line != self.last_line:
            self.sink.report(codes.UNEXPECTED_CHARACTER, span, char=repr(text[pos]))
        self.last_line = span.line
        self.count += 1
        return True


@v_args(meta=True)
class _Builder(Transformer):
    """Parse tree to AST; every node gets a span in the original file."""

    def __init__(self, src: SourceFile, sink: DiagnosticSink, base: int = 0):
        super().__init__()
        self.src, self.sink, self.base = src, sink, base
        self.path = src.path

    # -- helpers
    def _span(self, meta) -> Span:
        if getattr(meta, "empty", False) or getattr(meta, "start_pos", None) is None \
                or getattr(meta, "end_pos", None) is None:
            return self.src.span(self.base, self.base)
        if self.base == 0:  # lark's own 1-based line/column, end exclusive: no lookup needed
            return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)
        return self.src.span(self.base + meta.start_pos, self.base + meta.end_pos)

    def _tok_span(self, tok: Token) -> Span:
        if tok.start_pos is None or tok.end_pos is None:
            return self.src.end_span()
        if self.base == 0 and tok.end_line is not None:
            return Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)
        return self.src.span(self.base + tok.start_pos, self.base + tok.end_pos)

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    # -- structure
    def start(self, meta, children):
        module = ast.Module(self.src.path, None)
        for c in children:
            if isinstance(c, ast.Header):
                module.header = c
            elif isinstance(c, ast.Import):
                module.imports.append(c)
            elif isinstance(c, ast.Block):
                module.blocks.append(c)
        return module

    def header(self, meta, children):
        return ast.Header(str(children[0]), self._span(meta))

    def import_stmt(self, meta, children):
        target = self._string(children[0])
        alias = self._name(children[1]) if len(children) > 1 and children[1] is not None else None
        return ast.Import(target, alias, self._span(meta))

    def block(self, meta, children):
        kind = self._name(children[0])
        rest = children[1:]
        name = None
        if rest and isinstance(rest[0], Token):
            name = self._name(rest[0])
            rest = rest[1:]
        elif rest and rest[0] is None:
            rest = rest[1:]
        return ast.Block(kind, name, tuple(r for r in rest if r is not None), self._span(meta))

    def attribute(self, meta, children):
        key, op, value = children
        return ast.Attribute(self._name(key), str(op), value, self._span(meta))

    def param_stmt(self, meta, children):
        name, typ, default = (list(children) + [None])[:3]
        return ast.ParamStmt(self._name(name), typ, default, self._span(meta))

    def port_stmt(self, meta, children):
        direction, name, typ, value = (list(children) + [None])[:4]
        return ast.PortStmt(str(direction), self._name(name), typ, value, self._span(meta))

    def foreach_stmt(self, meta, children):
        var, source = children
        return ast.ForeachStmt(self._name(var), source, self._span(meta))

    def run_stmt(self, meta, children):
        return ast.RunStmt(self._string(children[0]), self._span(meta))

    def next_stmt(self, meta, children):
        target, value = children
        return ast.NextStmt(target, value, self._span(meta))

    def stop_stmt(self, meta, children):
        phase, when = children
        return ast.StopStmt(self._name(phase), when, self._span(meta))

    # -- types
    def type(self, meta, children):
        name = self._name(children[0])
        arg = next((c for c in children[1:] if isinstance(c, ast.TypeExpr)), None)
        fields = next((c for c in children[1:] if isinstance(c, tuple)), None)
        return ast.TypeExpr(name, arg, fields, self._span(meta))

    def type_fields(self, meta, children):
        return tuple(children)

    def type_field(self, meta, children):
        return (self._name(children[0]), children[1])

    # -- expressions
    def or_op(self, meta, children):
        return ast.BinOp("or", children[0], children[1], self._span(meta))

    def and_op(self, meta, children):
        return ast.BinOp("and", children[0], children[1], self._span(meta))

    def not_op(self, meta, children):
        return ast.UnOp("not", children[0], self._span(meta))

    def neg(self, meta, children):
        return ast.UnOp("-", children[0], self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.BinOp(str(op), left, right, self._span(meta))

    arith = compare

    def ref(self, meta, children):
        return ast.Ref(tuple(self._name(c) for c in children), self._span(meta))

    def call(self, meta, children):
        args = tuple(c for c in children[1:] if c is not None)
        return ast.Call(self._name(children[0]), args, self._span(meta))

    def list(self, meta, children):
        return ast.ListExpr(tuple(c for c in children if c is not None), self._span(meta))

    def map(self, meta, children):
        return ast.MapExpr(tuple(children), self._span(meta))

    def map_entry(self, meta, children):
        key, value = children
        if key.type == "STRING":
            tmpl = self._string(key)
            key = ast.Name(tmpl.text, tmpl.span)
        else:
            key = self._name(key)
        return (key, value)

    def int_lit(self, meta, children):
        tok = children[0]
        return ast.Literal(int(tok), "int", self._tok_span(tok), str(tok))

    def float_lit(self, meta, children):
        tok = children[0]
        return ast.Literal(float(tok), "float", self._tok_span(tok), str(tok))

    def quantity_lit(self, meta, children):
        tok = children[0]
        return ast.Literal(str(tok), "quantity", self._tok_span(tok), str(tok))

    def string_lit(self, meta, children):
        return self._string(children[0])

    def true_lit(self, meta, children):
        return ast.Literal(True, "bool", self._span(meta), "true")

    def false_lit(self, meta, children):
        return ast.Literal(False, "bool", self._span(meta), "false")

    def _string(self, tok: Token) -> ast.Template:
        start = self.base + tok.start_pos
        if self.src.text[start:start + len(tok)] != str(tok):
            # the rest of a line taken as an unterminated string by the recovery: plain text
            return ast.Template((str(tok)[1:-1],), self.src.span(start, self.base + tok.end_pos), str(tok))
        return parse_template(self.src, self.base + tok.start_pos, str(tok), self.sink,
                              _TEMPLATE_EXPRESSIONS.get() or parse_expression_at)


# How the lark Builder parses interpolations: the fast-path-first parse_expression_at,
# or (parse_module_lark(..., pure=True) in the differential tests) lark alone.
_TEMPLATE_EXPRESSIONS: ContextVar = ContextVar("aiwf_template_expressions", default=None)


def parse_module_lark(src: SourceFile, sink: DiagnosticSink,
                      comments: list[tuple[Span, str]] | None = None, pure: bool = False) -> ast.Module:
    """parse_module with lark: the parser of every text with a syntax error (recovery,
    'expected ...' messages), and with `pure` (interpolations parsed by lark too) the
    reference the fast path is tested against."""
    token = _TEMPLATE_EXPRESSIONS.set(parse_expression_lark if pure else None)
    try:
        return _parse_module_lark(src, sink, comments)
    finally:
        _TEMPLATE_EXPRESSIONS.reset(token)


def _parse_module_lark(src: SourceFile, sink: DiagnosticSink,
                       comments: list[tuple[Span, str]] | None) -> ast.Module:
    recovery = _Recovery(src, sink, 0)
    found: list[Token] = []
    token = _COMMENTS.set(found if comments is not None else None)
    try:
        tree = _lark().parse(src.text, start="start", on_error=recovery)
    except (UnexpectedEOF, UnexpectedToken, UnexpectedCharacters) as e:
        if not sink.has_errors:
            recovery.last_line = -1
            recovery(e)
        return ast.Module(src.path, None, broken=True)
    except RecursionError:
        sink.report(codes.UNEXPECTED_TOKEN, Span.point(src.path, 1, 1),
                    found="nesting deeper than the parser supports", expected="a flatter structure")
        return ast.Module(src.path, None, broken=True)
    finally:
        _COMMENTS.reset(token)
        if comments is not None:
            comments.extend((src.span(t.start_pos, t.end_pos), str(t)) for t in found)
    try:
        return _Builder(src, sink).transform(tree)
    except RecursionError:
        sink.report(codes.UNEXPECTED_TOKEN, Span.point(src.path, 1, 1),
                    found="nesting deeper than the parser supports", expected="a flatter structure")
        return ast.Module(src.path, None, broken=True)


def parse_fragment(src: SourceFile, start: int, end: int, sink: DiagnosticSink,
                   body: bool = False) -> ast.Module | None:
    """Parses src.text[start:end] on its own, with spans in the whole file: as top-level
    items, or (`body`) as the items of a block body, returned as the items of one block.

    For the language server, which re-reads only the part of a large file that changed
    and keeps the rest. There is no recovery here: None when the fragment does not parse
    cleanly, and the caller parses the whole file (whose diagnostics are then exact).
    """
    prefix = ("_ {" if start == 2 else "_{") if body else ""  # base 0 would mean "positions from lark"
    try:
        tree = _lark().parse(prefix + src.text[start:end] + ("}" if body else ""), start="start")
        return _Builder(src, sink, start - len(prefix)).transform(tree)
    except (UnexpectedInput, RecursionError):
        return None


_SIMPLE_REF = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$")
_KEYWORDS = frozenset({"true", "false", "and", "or", "not"})  # the only keywords inside expressions


def parse_expression_lark(src: SourceFile, start: int, end: int, sink: DiagnosticSink) -> ast.Expr | None:
    """parse_expression_at with lark only (the fast path's fallback and reference)."""
    text = src.text[start:end]
    m = _SIMPLE_REF.match(text)
    if m and not _KEYWORDS.intersection(m.group(1).split(".")):
        # The common `${name}` / `${phase.port}`: built directly, without a parser run.
        names, pos = [], start + m.start(1)
        for part in m.group(1).split("."):
            names.append(ast.Name(part, src.span(pos, pos + len(part))))
            pos += len(part) + 1
        return ast.Ref(tuple(names), names[0].span.merge(names[-1].span))
    errors = DiagnosticSink()
    try:
        tree = _lark().parse(text, start="expr")
    except UnexpectedInput as e:
        pos = getattr(e, "pos_in_stream", None)
        if isinstance(e, UnexpectedToken) and e.token.start_pos is not None:
            pos = e.token.start_pos
        pos = start + (pos if pos is not None else 0)
        sink.report(codes.BAD_INTERPOLATION, src.span(pos, min(pos + 1, max(end, pos + 1))),
                    detail=f"`{text.strip()}` is not an expression")
        return None
    except RecursionError:
        sink.report(codes.BAD_INTERPOLATION, src.span(start, end), detail="expression nested too deeply")
        return None
    result = _Builder(src, errors, base=start).transform(tree)
    sink.extend(errors.items)
    return result
