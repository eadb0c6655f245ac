"""JavaScript for the CWL documents: the helper library and reference rendering.

Every document carries `EXPRESSION_LIB` in its InlineJavascriptRequirement. The
helpers give aiwf's meaning to values: `aiwf_words` is how `${x}` expands in a command
(each item of a list one shell word, every word quoted, files by path, booleans as
`true`/`false`), `aiwf_text` how it expands in other text (output paths), `aiwf_get`
reads a field of a value or of every item of a list (`sweep.metrics.loss`), and
`aiwf_files` lists a dataset directory's files in name order (`foreach x in dataset`).

Expressions themselves are compiled by `aiwfc.exprcompile.to_javascript`; this module
only says what a reference becomes: `ValueRef` classifies it once (a param, a dataset,
another phase's output, a phase's own port, a built-in), and each context (a tool's
command, a step's `valueFrom`, a helper ExpressionTool) renders it from its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiwfc.exprcompile import to_javascript
from aiwfc.semantic import RefContext, Typer
from aiwfc.syntax import ast

__all__ = ["EXPRESSION_LIB", "ValueRef", "classify", "with_fields", "compile_expr", "ref_input"]

EXPRESSION_LIB = [
    'function aiwf_q(s) { s = String(s); if (/^[A-Za-z0-9_@%+=:,.\\/-]+$/.test(s)) return s; '
    'return "\'" + s.replace(/\'/g, "\'\\"\'\\"\'") + "\'"; }',
    'function aiwf_word(v) { if (v === null || v === undefined) return ""; '
    'if (typeof v === "boolean") return v ? "true" : "false"; '
    'if (typeof v === "object" && (v["class"] === "File" || v["class"] === "Directory")) return v.path; '
    'if (typeof v === "object") return JSON.stringify(v); return String(v); }',
    'function aiwf_words(v) { if (Array.isArray(v)) return v.map(function (x) { return aiwf_q(aiwf_word(x)); })'
    '.join(" "); return aiwf_q(aiwf_word(v)); }',
    'function aiwf_text(v) { if (Array.isArray(v)) return v.map(aiwf_word).join(" "); return aiwf_word(v); }',
    'function aiwf_get(v, f) { if (Array.isArray(v)) return v.map(function (x) { return aiwf_get(x, f); }); '
    'return (v === null || v === undefined) ? null : v[f]; }',
    'function aiwf_files(d) { return (d.listing || []).filter(function (x) { return x["class"] === "File"; })'
    '.sort(function (a, b) { return a.basename < b.basename ? -1 : (a.basename > b.basename ? 1 : 0); }); }',
    'function aiwf_range(n) { var out = []; for (var i = 0; i < n; i++) out.push(i); return out; }',
]


@dataclass(frozen=True)
class ValueRef:
    """What a reference denotes, in the backend's terms.

    kind: `param`, `dataset`, `port` (another phase's output: `phase`, `port`), `input`,
    `output` (the phase's own ports), `foreach` (its foreach variable), `builtin`
    (`project`, `index`, `iteration`) or `address` (a service's address).
    `fields` are the metric fields read after the value (`metrics.loss`)."""

    kind: str
    name: str
    phase: str | None = None
    port: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The identifier of the value in a workflow: `param`, `dataset`, `phase__port`."""
        if self.kind == "port":
            return f"{self.phase}__{self.port}"
        return self.name


def classify(typer: Typer, ref: ast.Ref, ctx: RefContext) -> ValueRef:
    """The ValueRef of a reference that the checks already resolved (else ValueError)."""
    res = typer.resolve(ref, ctx, report=False)
    if res is None:
        raise ValueError(f"unresolved reference `{ast.unparse(ref)}`")
    return ValueRef(res.kind, ref.parts[0].text, res.phase, res.port, tuple(res.fields))


def with_fields(js: str, fields: tuple[str, ...]) -> str:
    """`js` followed by reading each metric field (of the value or of each item)."""
    for f in fields:
        js = f'aiwf_get({js}, "{f}")'
    return js


def ref_input(v: ValueRef) -> str:
    """The name of the hidden step input (or helper-tool input) that carries a value."""
    return f"ref__{v.key}"


def compile_expr(e: ast.Expr, render) -> str:
    """JavaScript for `e`, each reference rendered by `render(ref) -> js`."""
    return to_javascript(e, render)
