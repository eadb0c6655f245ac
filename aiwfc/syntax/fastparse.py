"""The fast path of the parser: a one-regex tokenizer and a recursive-descent parser for
well-formed text, giving the AST the lark parser gives, node for node and span for span.

Why: lark's pure-Python LALR parser, its parse-tree building with position propagation
and the Transformer cost about 25 us per token, which is seconds for a workflow of
thousands of phases; this path costs a few microseconds per token.

What it deliberately does not do: report or recover from anything. grammar/aiwf.lark
stays the definition of the syntax. At the first thing this parser does not expect (a
syntax error, a character outside the grammar, a rare form such as `list<int>=x` that
lark's contextual lexer splits differently, nesting too deep) it raises `Fallback` and
the caller parses the whole text again with lark, whose result and diagnostics are then
the answer. It is conservative on purpose: where lark's contextual lexer would read a
word as a keyword in a merged LALR state, the word makes this path give up instead of
guessing. tests/test_fastparse.py checks, on the corpus and on thousands of hypothesis-
mutated texts, that whenever this path succeeds lark succeeds with an equal AST and
equal diagnostics.
"""

from __future__ import annotations

import re
from typing import Callable

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast
from aiwfc.syntax.strings import parse_template


class Fallback(Exception):
    """This text needs the lark parser (a syntax error, or a form this path leaves to lark)."""


# The terminals of grammar/aiwf.lark in lark's matching order (priority, then width):
# QUANTITY (3), FLOAT (2), then INT, NAME, STRING, COMMENT and the punctuation, each
# with the whitespace before it: `findall` gives (whitespace, token) pairs, built in C,
# and a token's kind follows from its first character (see `tokenize`).  A character
# outside the grammar is skipped by `findall`; the lengths then do not add up to the
# text's, which `tokenize` checks at the end: Fallback.
_TOKEN = re.compile(r"""([ \t\f\r\n]*)(
   [A-Za-z_][A-Za-z0-9_]*
  |(?s:\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")|"(?:[^"\\\n]|\\.)*"
  |\d+(?:\.\d+)?(?:KiB|MiB|GiB|TiB|PiB|KB|MB|GB|TB|PB|B|ms|s|min|m|h|d|w)(?![A-Za-z0-9_])
  |\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+
  |\d+
  |\#[^\n]*
  |==|!=|<=|>=|[-+*/%<>=~{}\[\]().,:])""", re.X)
# a token's kind by its first character; punctuation is its own kind
_KIND = dict.fromkeys("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", "name")
_KIND.update(dict.fromkeys("0123456789", "number"), **{'"': "string", "#": "comment"})

# A one-line string literal without escapes whose `$` only start `${NAME(.NAME)*}`; the
# interpolations of such a string, one at a time.
_SIMPLE_STRING = re.compile(r'"(?:[^"\\$\n]|\$\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\})*"')
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")

_CMP = frozenset(("==", "!=", "<=", ">=", "<", ">"))
_ADD = frozenset(("+", "-"))
_MUL = frozenset(("*", "/", "%"))
# tokens after which an expression continues (binary operators); `and`/`or` are words
_BINARY = _CMP | _ADD | _MUL
# Words lark's contextual lexer may read as keywords after an expression or a type (the
# statements that can start a body item, merged into the lookahead of LALR states):
# where this parser would take one of them as a name there, it gives up instead.
_AFTER_VALUE_KEYWORDS = frozenset(("param", "foreach", "run", "next", "stop", "in", "out", "and", "or"))
_ATOM_START = frozenset(("name", "int", "float", "quantity", "string", "[", "{", "(", "-"))
_OPERANDS = frozenset(("int", "float", "quantity", "string"))  # literal tokens that are a whole operand

Name = ast.Name

# a token: (kind, text, start offset, line, column, end line, end column)
Token = tuple


def tokenize(text: str, start: int = 0, end: int | None = None, line: int = 1, line_start: int = 0,
             comments: list | None = None) -> list[Token]:
    """The tokens of text[start:end] with 1-based positions; the last is ("eof", ...).

    `line`/`line_start` are the line number and line-start offset of `start`.
    Comments are left out (appended to `comments` as (start, end) when it is a list)."""
    end = len(text) if end is None else end
    toks: list[Token] = []
    append = toks.append
    kind_of = _KIND.get
    pos = start
    for ws, v in _TOKEN.findall(text, start, end):
        s = pos + len(ws)
        if "\n" in ws:
            line += ws.count("\n")
            line_start = pos + ws.rfind("\n") + 1
        e = pos = s + len(v)
        kind = kind_of(v[0])
        if kind is None:  # punctuation
            append((v, v, s, line, s - line_start + 1, line, e - line_start + 1))
        elif kind == "name":
            append(("name", v, s, line, s - line_start + 1, line, e - line_start + 1))
        elif kind == "number":
            # a quantity ends with its unit, a float with a digit (`1.5`, `1e5`)
            kind = "int" if v.isdigit() else "quantity" if v[-1].isalpha() else "float"
            append((kind, v, s, line, s - line_start + 1, line, e - line_start + 1))
        elif kind == "string":
            if "\n" in v:  # a string spanning lines
                l0, c0 = line, s - line_start + 1
                line += v.count("\n")
                line_start = s + v.rfind("\n") + 1
                append((kind, v, s, l0, c0, line, e - line_start + 1))
            else:
                append((kind, v, s, line, s - line_start + 1, line, e - line_start + 1))
        elif comments is not None:
            comments.append((s, e))
    # what follows the last token must be whitespace; anything else is a character the
    # pattern skipped (a gap before it shifts every later offset, so it also ends here)
    rest = text[pos:end]
    if rest.strip(" \t\f\r\n"):
        raise Fallback
    if "\n" in rest:
        line += rest.count("\n")
        line_start = pos + rest.rfind("\n") + 1
    append(("eof", "", end, line, end - line_start + 1, line, end - line_start + 1))
    return toks


class _Parser:
    """Recursive descent over the tokens, following grammar/aiwf.lark rule by rule."""

    def __init__(self, src: SourceFile, toks: list[Token], sink: DiagnosticSink):
        self.src, self.toks, self.sink, self.path = src, toks, sink, src.path

    # -- helpers
    def span(self, a: int, b: int) -> Span:
        ta, tb = self.toks[a], self.toks[b]
        return Span(self.path, ta[3], ta[4], tb[5], tb[6])

    def name(self, i: int) -> ast.Name:
        t = self.toks[i]
        if t[0] != "name":
            raise Fallback
        return Name(t[1], Span(self.path, t[3], t[4], t[5], t[6]))

    def expect(self, i: int, kind: str) -> None:
        if self.toks[i][0] != kind:
            raise Fallback

    def template(self, i: int) -> ast.Template:
        t = self.toks[i]
        if t[0] != "string":
            raise Fallback
        v = t[1]
        span = Span(self.path, t[3], t[4], t[5], t[6])
        if t[3] == t[5]:
            if "$" not in v and "\\" not in v and v[1] != '"':
                # one line, no escapes, no interpolations: the text is the one part
                return ast.Template((v[1:-1],), span, v)
            if _SIMPLE_STRING.fullmatch(v):
                simple = self.simple_template(t, span)
                if simple is not None:
                    return simple
        if t[3] != t[5] or "${" not in v:
            return parse_template(self.src, t[2], v, self.sink, parse_interpolation, span)
        # one line: an interpolation's column follows from the token's, without a look-up
        line, line_start = t[3], t[2] - t[4] + 1

        def expr(src, start, end, sink):
            return parse_interpolation(src, start, end, sink, (line, start - line_start + 1))
        return parse_template(self.src, t[2], v, self.sink, expr, span)

    def simple_template(self, t: Token, span: Span) -> ast.Template | None:
        """A one-line string without escapes whose interpolations are all `${name}` or
        `${a.b}` (most commands and paths): split with one regex, each reference built
        where it stands, as parse_template and parse_interpolation would build it.
        None when an interpolation starts with a word that is not a reference."""
        text, line, col0, path = t[1], t[3], t[4], self.path
        parts: list = []
        add = parts.append
        pos, last = 1, len(text) - 1
        for m in _INTERPOLATION.finditer(text, 1, last):
            s0, e0 = m.span()
            inner = text[s0 + 2:e0 - 1]
            if s0 > pos:
                add(text[pos:s0])
            c = col0 + s0 + 2
            if "." not in inner:  # `${name}`: the reference and its one name share a span
                if inner in _EXPR_KEYWORDS:
                    return None
                sp = Span(path, line, c, line, c + len(inner))
                add(ast.Ref((Name(inner, sp),), sp))
            else:
                segments = inner.split(".")
                if segments[0] in _EXPR_KEYWORDS:
                    return None
                names = []
                start = c
                for seg in segments:
                    names.append(Name(seg, Span(path, line, c, line, c + len(seg))))
                    c += len(seg) + 1
                add(ast.Ref(tuple(names), Span(path, line, start, line, start + len(inner))))
            pos = e0
        if pos < last or not parts:
            add(text[pos:last])
        return ast.Template(tuple(parts), span, text)

    # -- structure
    def module(self) -> ast.Module:
        toks = self.toks
        mod = ast.Module(self.path, None)
        i = 0
        if toks[0][0] == "name" and toks[0][1] == "aiwf":
            if toks[1][0] not in ("int", "float"):
                raise Fallback
            mod.header = ast.Header(toks[1][1], self.span(0, 1))
            i = 2
        while True:
            t = toks[i]
            kind = t[0]
            if kind == "eof":
                return mod
            if kind != "name":
                raise Fallback
            if t[1] == "import":
                target = self.template(i + 1)
                j = i + 1
                alias = None
                if toks[j + 1][0] == "name" and toks[j + 1][1] == "as":
                    alias = self.name(j + 2)
                    j += 2
                mod.imports.append(ast.Import(target, alias, self.span(i, j)))
                i = j + 1
            else:
                block, i = self.block(i)
                mod.blocks.append(block)

    def block(self, i: int) -> tuple[ast.Block, int]:
        toks = self.toks
        kind = self.name(i)
        j = i + 1
        name = None
        if toks[j][0] == "name":
            name = self.name(j)
            j += 1
        self.expect(j, "{")
        j += 1
        items = []
        add = items.append
        while True:
            t = toks[j]
            k = t[0]
            if k == "}":
                return ast.Block(kind, name, tuple(items), self.span(i, j)), j + 1
            if k != "name":
                raise Fallback
            w = t[1]
            if w == "param" or w == "in" or w == "out":
                item, j = self.param_or_port(j)
            elif w == "run":
                add(ast.RunStmt(self.template(j + 1), self.span(j, j + 1)))
                j += 2
                continue
            elif w == "foreach":
                var = self.name(j + 1)
                if toks[j + 2][0] != "name" or toks[j + 2][1] != "in":
                    raise Fallback
                source, _, e = self.expr(j + 3)
                item, j = ast.ForeachStmt(var, source, self.span(j, e)), e + 1
            elif w == "next":
                target, e = self.ref(j + 1)
                self.expect(e + 1, "=")
                value, _, e = self.expr(e + 2)
                item, j = ast.NextStmt(target, value, self.span(j, e)), e + 1
            elif w == "stop":
                phase = self.name(j + 1)
                if toks[j + 2][0] != "name" or toks[j + 2][1] != "when":
                    raise Fallback
                when, _, e = self.expr(j + 3)
                item, j = ast.StopStmt(phase, when, self.span(j, e)), e + 1
            else:
                op = toks[j + 1][0]
                if op == "=" or op == "~":
                    value, _, e = self.expr(j + 2)
                    item = ast.Attribute(self.name(j), op, value, self.span(j, e))
                    j = e + 1
                elif op == "name" or op == "{":
                    item, j = self.block(j)
                else:
                    raise Fallback
            add(item)

    def param_or_port(self, i: int) -> tuple[object, int]:
        toks = self.toks
        name = self.name(i + 1)
        self.expect(i + 2, ":")
        typ, e = self.type(i + 3)
        value = None
        if toks[e + 1][0] == "=":
            value, _, e = self.expr(e + 2)
        w = toks[i][1]
        if w == "param":
            return ast.ParamStmt(name, typ, value, self.span(i, e)), e + 1
        return ast.PortStmt(w, name, typ, value, self.span(i, e)), e + 1

    def type(self, i: int) -> tuple[ast.TypeExpr, int]:
        """type: NAME ("<" type ">")? type_fields?  ->  (node, index of its last token)"""
        toks = self.toks
        name = self.name(i)
        j = i + 1
        arg = fields = None
        if toks[j][0] == "<":
            arg, e = self.type(j + 1)
            self.expect(e + 1, ">")
            j = e + 2
        if toks[j][0] == "{":
            j += 1
            out = []
            after_value = False
            while toks[j][0] != "}":
                if after_value and toks[j][1] in _AFTER_VALUE_KEYWORDS:
                    raise Fallback
                fname = self.name(j)
                self.expect(j + 1, ":")
                ftype, e = self.type(j + 2)
                out.append((fname, ftype))
                j = e + 1
                after_value = True
                if toks[j][0] == ",":
                    j += 1
                    after_value = False
            fields = tuple(out)
            j += 1
        # a bare type name (`file`) spans what its name spans: one Span object for both
        return ast.TypeExpr(name, arg, fields, name.span if j == i + 1 else self.span(i, j - 1)), j - 1

    def ref(self, i: int) -> tuple[ast.Ref, int]:
        toks = self.toks
        parts = [self.name(i)]
        j = i
        while toks[j + 1][0] == ".":
            parts.append(self.name(j + 2))
            j += 2
        return ast.Ref(tuple(parts), self.span(i, j)), j

    # -- expressions: each returns (node, first token, last token), the token range
    # counting enclosing parentheses as lark's positions do (`(a) + b` starts at `(`)
    def expr(self, i: int):
        # The common cases, an operand not followed by an operator (`x`, `md.out`, `4`,
        # `30m`, `"out.dat"`), are built here: the precedence chain below would return
        # the same node after seven calls that each find no operator.
        toks = self.toks
        t = toks[i]
        k0 = t[0]
        if k0 == "name":
            if t[1] in ("not", "true", "false"):
                return self.or_expr(i)
            j = i
            while toks[j + 1][0] == "." and toks[j + 2][0] == "name":
                j += 2
        elif k0 in _OPERANDS:
            j = i
        else:
            return self.or_expr(i)
        nxt = toks[j + 1]
        k = nxt[0]
        if k == "(" or k == "." or k in _BINARY or (k == "name" and nxt[1] in ("and", "or")):
            return self.or_expr(i)
        if k0 != "name":
            return self.atom(i)
        if j == i:
            sp = Span(self.path, t[3], t[4], t[5], t[6])
            return ast.Ref((ast.Name(t[1], sp),), sp), i, i
        node, b = self.ref(i)
        return node, i, b

    def or_expr(self, i: int):
        node, a, b = self.and_expr(i)
        toks = self.toks
        while toks[b + 1][0] == "name" and toks[b + 1][1] == "or":
            right, _, b = self.and_expr(b + 2)
            node = ast.BinOp("or", node, right, self.span(a, b))
        return node, a, b

    def and_expr(self, i: int):
        node, a, b = self.not_expr(i)
        toks = self.toks
        while toks[b + 1][0] == "name" and toks[b + 1][1] == "and":
            right, _, b = self.not_expr(b + 2)
            node = ast.BinOp("and", node, right, self.span(a, b))
        return node, a, b

    def not_expr(self, i: int):
        t = self.toks[i]
        if t[0] == "name" and t[1] == "not":
            operand, _, b = self.not_expr(i + 1)
            return ast.UnOp("not", operand, self.span(i, b)), i, b
        node, a, b = self.sum(i)
        op = self.toks[b + 1][0]
        if op in _CMP:
            right, _, b = self.sum(b + 2)
            node = ast.BinOp(op, node, right, self.span(a, b))
        return node, a, b

    def sum(self, i: int):
        node, a, b = self.product(i)
        toks = self.toks
        while toks[b + 1][0] in _ADD:
            op = toks[b + 1][0]
            right, _, b = self.product(b + 2)
            node = ast.BinOp(op, node, right, self.span(a, b))
        return node, a, b

    def product(self, i: int):
        node, a, b = self.unary(i)
        toks = self.toks
        while toks[b + 1][0] in _MUL:
            op = toks[b + 1][0]
            right, _, b = self.unary(b + 2)
            node = ast.BinOp(op, node, right, self.span(a, b))
        return node, a, b

    def unary(self, i: int):
        if self.toks[i][0] == "-":
            operand, _, b = self.unary(i + 1)
            return ast.UnOp("-", operand, self.span(i, b)), i, b
        return self.atom(i)

    def atom(self, i: int):
        toks = self.toks
        t = toks[i]
        k = t[0]
        if k == "name":
            w = t[1]
            if w == "true" or w == "false":
                return ast.Literal(w == "true", "bool", self.span(i, i), w), i, i
            if toks[i + 1][0] == "(":
                return self.call(i)
            node, b = self.ref(i)
            return node, i, b
        if k == "int":
            return ast.Literal(int(t[1]), "int", self.span(i, i), t[1]), i, i
        if k == "string":
            return self.template(i), i, i
        if k == "quantity":
            return ast.Literal(t[1], "quantity", self.span(i, i), t[1]), i, i
        if k == "float":
            return ast.Literal(float(t[1]), "float", self.span(i, i), t[1]), i, i
        if k == "(":
            node, _, b = self.or_expr(i + 1)
            self.expect(b + 1, ")")
            return node, i, b + 1
        if k == "[":
            items = []
            j = i + 1
            while toks[j][0] != "]":
                item, _, b = self.or_expr(j)
                items.append(item)
                j = b + 1
                if toks[j][0] == ",":
                    j += 1
                elif toks[j][0] != "]":
                    raise Fallback
            return ast.ListExpr(tuple(items), self.span(i, j)), i, j
        if k == "{":
            return self.map(i)
        raise Fallback

    def call(self, i: int):
        toks = self.toks
        func = self.name(i)
        args = []
        j = i + 2
        if toks[j][0] != ")":
            while True:
                arg, _, b = self.or_expr(j)
                args.append(arg)
                j = b + 1
                if toks[j][0] == ")":
                    break
                self.expect(j, ",")
                j += 1
        return ast.Call(func, tuple(args), self.span(i, j)), i, j

    def map(self, i: int):
        toks = self.toks
        entries = []
        j = i + 1
        after_value = False
        while toks[j][0] != "}":
            t = toks[j]
            if t[0] == "string":
                tmpl = self.template(j)
                key = ast.Name(tmpl.text, tmpl.span)
            else:
                if after_value and t[1] in _AFTER_VALUE_KEYWORDS:
                    raise Fallback
                key = self.name(j)
            self.expect(j + 1, "=")
            value, _, b = self.or_expr(j + 2)
            entries.append((key, value))
            j = b + 1
            after_value = True
            if toks[j][0] == ",":
                j += 1
                after_value = False
        return ast.MapExpr(tuple(entries), self.span(i, j)), i, j


def parse_module_fast(src: SourceFile, sink: DiagnosticSink, comments: list | None = None) -> ast.Module:
    """The AST of a well-formed file, or Fallback. Interpolation diagnostics go to `sink`
    (give a scratch sink: on Fallback the lark parse reports them again)."""
    found: list | None = [] if comments is not None else None
    toks = tokenize(src.text, comments=found)
    try:
        mod = _Parser(src, toks, sink).module()
    except (IndexError, RecursionError):
        raise Fallback from None
    if comments is not None:
        comments.extend((src.span(s, e), src.text[s:e]) for s, e in found)
    return mod


_DOTTED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_EXPR_KEYWORDS = frozenset(("true", "false", "not"))  # words that are not a ref at the start

# The lark-based parse of one interpolation (parser.parse_expression_at), used when the
# fast path gives up on one; set by aiwfc.syntax.parser, which imports this module.
SLOW_EXPRESSION: list[Callable] = []


def parse_interpolation(src: SourceFile, start: int, end: int, sink: DiagnosticSink,
                        position: tuple[int, int] | None = None) -> ast.Expr | None:
    """parse_expression_at, fast: src.text[start:end] as one expression (single line);
    `position` is the (line, column) of `start` when the caller knows it."""
    m = _DOTTED.fullmatch(src.text, start, end)
    if m is not None and m.group(1) not in _EXPR_KEYWORDS:
        # the common `${name}` / `${phase.port}`, built without tokens
        line, col = position or src.position(start)
        names, pos, path = [], start, src.path
        for part in m.group().split("."):
            c = col + pos - start
            names.append(ast.Name(part, Span(path, line, c, line, c + len(part))))
            pos += len(part) + 1
        if len(names) == 1:
            return ast.Ref((names[0],), names[0].span)
        return ast.Ref(tuple(names), Span(path, line, col, line, col + end - start))
    try:
        line, col = position or src.position(start)
        toks = tokenize(src.text, start, end, line, start - col + 1)
        if toks[0][0] == "eof":
            raise Fallback
        local = DiagnosticSink()
        node, _, b = _Parser(src, toks, local).or_expr(0)
        if toks[b + 1][0] != "eof":
            raise Fallback
        sink.extend(local.items)
        return node
    except (Fallback, IndexError, RecursionError):
        return SLOW_EXPRESSION[0](src, start, end, sink)
