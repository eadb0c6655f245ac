"""Compiling aiwf expressions to the backends' languages: Python and JavaScript.

The Parsl program and the Slurm loop controller evaluate conditions in Python; CWL
evaluates them as JavaScript expressions (`$(...)`). The meaning is the same in both:
`/` is true division, `min`/`max` of one argument take a list, `mean` is the
arithmetic mean, `round` rounds halves away from zero (Python's own `round` would not),
quantities are numbers (bytes, seconds).  How a *reference* is
rendered is the backend's business (a JSON file it loaded, a CWL input), so the caller
passes `render_ref`, which gets the reference and returns target code for its value.
"""

from __future__ import annotations

import json
from typing import Callable

from aiwfc.ir import units
from aiwfc.syntax import ast

RefRenderer = Callable[[ast.Ref], str]

_PY_OPS = {"and": "and", "or": "or", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
           "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}
_JS_OPS = dict(_PY_OPS, **{"and": "&&", "or": "||", "==": "===", "!=": "!=="})


def quantity_value(text: str) -> int:
    """A quantity literal as the number the backends compute with (bytes or seconds)."""
    q = units.split_quantity(text)
    if q and units.unit_kind(q[1]) == "size":
        return units.parse_size(text)
    return units.parse_duration(text)


def to_python(e: ast.Expr, render_ref: RefRenderer) -> str:
    """Python source for `e`; fully parenthesised so precedence never depends on the host."""
    r = lambda x: to_python(x, render_ref)  # noqa: E731
    if isinstance(e, ast.Literal):
        if e.kind == "quantity":
            return str(quantity_value(e.value))
        return repr(e.value)
    if isinstance(e, ast.Template):
        parts = [repr(p) if isinstance(p, str) else f"_aiwf_str({r(p)})" for p in e.parts]
        return "(" + " + ".join(parts) + ")" if parts else "''"
    if isinstance(e, ast.Ref):
        return render_ref(e)
    if isinstance(e, ast.ListExpr):
        return "[" + ", ".join(r(i) for i in e.items) + "]"
    if isinstance(e, ast.UnOp):
        return f"(not {r(e.operand)})" if e.op == "not" else f"(-{r(e.operand)})"
    if isinstance(e, ast.BinOp):
        return f"({r(e.left)} {_PY_OPS[e.op]} {r(e.right)})"
    if isinstance(e, ast.Call):
        args = [r(a) for a in e.args]
        fn = e.func.text
        if fn in ("min", "max", "sum", "abs", "len", "int", "float"):
            return f"{fn}({', '.join(args)})"
        if fn == "round":
            return f"_aiwf_round({args[0]})"
        if fn == "str":
            return f"_aiwf_str({args[0]})"
        if fn == "mean":
            return f"(lambda _v: sum(_v) / len(_v))({args[0]})"
        if fn == "range":
            return f"list(range({', '.join(args)}))"
    raise ValueError(f"cannot compile {ast.unparse(e)} to Python")


# Needed by to_python's output: text of a value as aiwf prints it (lists joined by spaces).
PYTHON_PRELUDE = '''def _aiwf_round(x):
    # half away from zero, as JavaScript's Math.round for positives and as people expect
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _aiwf_str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return " ".join(_aiwf_str(x) for x in v)
    return str(v)
'''


def to_javascript(e: ast.Expr, render_ref: RefRenderer) -> str:
    """A JavaScript expression for `e` (ES5.1, as CWL's expression engines run)."""
    r = lambda x: to_javascript(x, render_ref)  # noqa: E731
    if isinstance(e, ast.Literal):
        if e.kind == "quantity":
            return str(quantity_value(e.value))
        if e.kind == "bool":
            return "true" if e.value else "false"
        return json.dumps(e.value)
    if isinstance(e, ast.Template):
        parts = [json.dumps(p) if isinstance(p, str) else f"String({r(p)})" for p in e.parts]
        return "(" + " + ".join(parts) + ")" if parts else '""'
    if isinstance(e, ast.Ref):
        return render_ref(e)
    if isinstance(e, ast.ListExpr):
        return "[" + ", ".join(r(i) for i in e.items) + "]"
    if isinstance(e, ast.UnOp):
        return f"(!{r(e.operand)})" if e.op == "not" else f"(-{r(e.operand)})"
    if isinstance(e, ast.BinOp):
        return f"({r(e.left)} {_JS_OPS[e.op]} {r(e.right)})"
    if isinstance(e, ast.Call):
        args = [r(a) for a in e.args]
        fn = e.func.text
        if fn in ("min", "max"):
            return f"Math.{fn}.apply(null, {args[0]})" if len(args) == 1 else f"Math.{fn}({', '.join(args)})"
        if fn == "len":
            return f"({args[0]}).length"
        if fn == "sum":
            return f"({args[0]}).reduce(function (a, b) {{ return a + b; }}, 0)"
        if fn == "mean":
            return f"(function (v) {{ return v.reduce(function (a, b) {{ return a + b; }}, 0) / v.length; }})({args[0]})"
        if fn == "range":
            lo, hi = (args[0], args[1]) if len(args) == 2 else ("0", args[0])
            return (f"(function (lo, hi) {{ var out = []; for (var i = lo; i < hi; i++) out.push(i); "
                    f"return out; }})({lo}, {hi})")
        if fn == "abs":
            return f"Math.abs({args[0]})"
        if fn == "round":
            return f"(function (x) {{ return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5); }})({args[0]})"
        if fn == "int":
            return f"Math.trunc({args[0]})"
        if fn == "float":
            return f"Number({args[0]})"
        if fn == "str":
            return f"String({args[0]})"
    raise ValueError(f"cannot compile {ast.unparse(e)} to JavaScript")
