"""The meaning of names and expressions in a workflow: scopes, references, types.

Shared by the checks (which report what does not resolve or fit) and by the planner
and backends (which need to know what `${trajs}` or `score.best` denotes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.ir import types as T
from aiwfc.ir.types import Type
from aiwfc.ir.units import split_quantity, unit_kind
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.syntax import ast
from aiwfc.syntax.parser import MISSING

# Built-in names: `index` (the item number inside a foreach), `iteration` (of the
# enclosing feedback loop, from 0), `project` (the directory of the root .aiwf file,
# where scripts and relative dataset paths live).
BUILTIN_VARS = {"index": T.INT, "iteration": T.INT, "project": T.DIR}
FUNCTIONS = ("len", "min", "max", "sum", "mean", "range", "abs", "round", "str", "int", "float")
_LITERAL_TYPES = {"int": T.INT, "float": T.FLOAT, "bool": T.BOOL}


@dataclass(unsafe_hash=True)
class Resolved:
    """What a reference denotes: its kind, its type and the phase/port it comes from."""

    kind: str  # param | dataset | port | input | output | foreach | builtin | address
    type: Type
    phase: str | None = None
    port: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(unsafe_hash=True)
class RefContext:
    """Where an expression stands: inside a phase (its own ports visible) and/or a loop."""

    phase: ir.Phase | None = None
    loop: ir.Feedback | None = None
    in_command: bool = False


class Scope:
    """The names visible in one workflow: its own definitions over the library's."""

    def __init__(self, program: ir.Program | None, wf: ir.Workflow):
        lib_res = program.resources if program else []
        lib_img = program.images if program else []
        lib_ds = program.datasets if program else []
        self.workflow = wf
        self.params = {p.name: p for p in wf.params}
        self.resources = {r.name: r for r in lib_res} | {r.name: r for r in wf.resources}
        self.images = {i.name: i for i in lib_img} | {i.name: i for i in wf.images}
        self.datasets = {d.name: d for d in lib_ds} | {d.name: d for d in wf.datasets}
        self.phases = {p.name: p for p in wf.phases}
        self.feedbacks = {f.name: f for f in wf.feedbacks}
        self.loop_of: dict[str, ir.Feedback] = {}
        # Per-analysis memo of successful resolutions, shared by every Typer over this scope
        # (the graph, the expression check and ~25 other checks resolve the same references):
        # by text for references that mean the same everywhere, by phase and text for the
        # others (see Typer.resolve).
        self.resolved_names: dict[object, Resolved] = {}
        self.resolved: dict[tuple[int, object], tuple] = {}
        self.item_types: dict[int, tuple] = {}
        self._ports: dict[int, tuple] = {}
        self._locals: dict[int, tuple] = {}
        for f in wf.feedbacks:
            for name in f.body:
                self.loop_of.setdefault(name, f)

    def own_ports(self, ph: ir.Phase) -> tuple[dict[str, ir.Port], dict[str, ir.Port]]:
        """A phase's inputs and outputs by name (the first of a duplicated name, as
        `Phase.input`/`output` find it), memoised per scope."""
        hit = self._ports.get(id(ph))
        if hit is not None and hit[0] is ph:
            return hit[1]
        ins: dict[str, ir.Port] = {}
        outs: dict[str, ir.Port] = {}
        for p in ph.inputs:
            ins.setdefault(p.name, p)
        for p in ph.outputs:
            outs.setdefault(p.name, p)
        self._ports[id(ph)] = (ph, (ins, outs))
        return ins, outs

    def local_names(self, ph: ir.Phase) -> dict[str, "Resolved | None"]:
        """The names that resolve differently inside `ph` than outside it (its ports, its
        foreach variable, `index`, its own name), memoised.  A plain port name maps to its
        resolution, which is final; the others map to None (resolved in full)."""
        hit = self._locals.get(id(ph))
        if hit is not None and hit[0] is ph:
            return hit[1]
        # assigned from the weakest meaning to the strongest, as Typer._resolve tries them
        # the other way round: foreach variable, input, output, builtin, ..., phase
        found: dict[str, Resolved | None] = {ph.name: None, "index": None}
        for p in reversed(ph.outputs):
            found[p.name] = Resolved("output", p.type, ph.name, p.name) if p.name != MISSING else None
        for p in reversed(ph.inputs):
            found[p.name] = Resolved("input", p.type, ph.name, p.name) if p.name != MISSING else None
        if ph.foreach is not None:
            found[ph.foreach.var] = None
        self._locals[id(ph)] = (ph, found)
        return found

    def resource_of(self, phase: ir.Phase) -> ir.ResourceClass | None:
        return self.resources.get(phase.resources) if phase.resources else None

    def image_of(self, phase: ir.Phase) -> ir.Image | None:
        return self.images.get(phase.image) if phase.image else None

    def value_names(self, ctx: RefContext) -> list[str]:
        """Every single name an expression could use here (for hints and completion)."""
        names = list(self.params) + list(self.datasets) + list(self.phases)
        if ctx.phase is not None:
            names += [p.name for p in ctx.phase.inputs + ctx.phase.outputs] + list(BUILTIN_VARS)
            if ctx.phase.foreach:
                names.append(ctx.phase.foreach.var)
        return names


Report = Callable[..., None]


class Typer:
    """Resolves references and types expressions; reports problems through `sink` when given."""

    def __init__(self, scope: Scope, sink: DiagnosticSink | None = None):
        self.scope = scope
        self.sink = sink

    def _report(self, code, span, **args) -> None:
        if self.sink is not None:
            self.sink.report(code, span, **args)

    # ------------------------------------------------------------ references
    def resolve(self, ref: ast.Ref, ctx: RefContext, report: bool = True) -> Resolved | None:
        """What `ref` denotes in `ctx`.  Only `ctx.phase` matters, and a successful resolution
        reports nothing, so successes are memoised on the scope; failures are recomputed so
        that a reporting typer still reports them."""
        ph = ctx.phase
        sc = self.scope
        parts = ref.parts
        # Only a few names mean something different inside a phase (its ports, its foreach
        # variable, `index`, its own name); any other reference resolves the same from every
        # phase and from none, so it is memoised by its text alone: the 10,000 `${project}`
        # of 10,000 commands are resolved once (the graph resolves a binding from its phase,
        # the expression and edge checks from outside it).  A local one is memoised by its
        # text and phase (the entry keeps the phase alive, so its id is not reused).
        head = parts[0].text
        n = len(parts)
        text = head if n == 1 else (head, parts[1].text) if n == 2 else tuple([p.text for p in parts])
        if ph is not None and head in (local := sc.local_names(ph)):
            if n == 1 and (res := local[head]) is not None:
                return res  # the phase's own port
            hit = sc.resolved.get((id(ph), text))
            if hit is not None and hit[0] is ph:
                return hit[1]
            res = self._resolve(ref, ctx, report)
            if res is not None:
                sc.resolved[(id(ph), text)] = (ph, res)
            return res
        res = sc.resolved_names.get(text)
        if res is None:
            res = self._resolve(ref, ctx, report)
            if res is not None:
                sc.resolved_names[text] = res
        return res

    def _resolve(self, ref: ast.Ref, ctx: RefContext, report: bool) -> Resolved | None:
        head = ref.parts[0].text
        if head == MISSING:
            return None
        sc = self.scope
        res: Resolved | None = None
        rest = [p.text for p in ref.parts[1:]] if len(ref.parts) > 1 else []
        ph = ctx.phase
        own = sc.own_ports(ph) if ph is not None else None
        if ph is not None and ph.foreach and head == ph.foreach.var:
            res = Resolved("foreach", self.foreach_item_type(ph), ph.name)
        elif own is not None and (port := own[0].get(head)) is not None:
            res = Resolved("input", port.type, ph.name, head)
        elif own is not None and (port := own[1].get(head)) is not None:
            res = Resolved("output", port.type, ph.name, head)
        elif head in BUILTIN_VARS and (ph is not None or head != "index"):
            res = Resolved("builtin", BUILTIN_VARS[head])
        elif head in sc.params:
            res = Resolved("param", sc.params[head].type)
        elif head in sc.datasets:
            res = Resolved("dataset", T.DIR)
        elif head in sc.phases:
            other = sc.phases[head]
            if not rest:
                self._fail(report, ref.parts[0], "phase", head,
                           f"; `{head}` is a phase: name one of its outputs, e.g. `{head}."
                           f"{other.outputs[0].name if other.outputs else 'out'}`", ctx)
                return None
            port_name = rest[0]
            rest = rest[1:]
            if other.kind == "service" and port_name == "address":
                return Resolved("address", T.STRING, head, "address")
            port = sc.own_ports(other)[1].get(port_name)
            if port is None:
                known = [p.name for p in other.outputs] + (["address"] if other.kind == "service" else [])
                self._report(codes.UNDEFINED_NAME, ref.parts[1].span, kind=f"output of `{head}`",
                             name=port_name, hint=did_you_mean(port_name, known)) if report else None
                return None
            t = port.type
            if other.foreach is not None and (ph is None or ph.name != head):
                res = Resolved("port", t, head, port_name)
                res = self._fields(res, rest, ref, report)
                if res is None:
                    return None
                return Resolved(res.kind, T.list_of(res.type), head, port_name, res.fields)
            res = Resolved("port", t, head, port_name)
            return self._fields(res, rest, ref, report)
        else:
            self._fail(report, ref.parts[0], "name", head, None, ctx)
            return None
        return self._fields(res, rest, ref, report)

    def _fields(self, res: Resolved, rest: list[str], ref: ast.Ref, report: bool) -> Resolved | None:
        if not rest:
            return res  # nothing to follow (the common case); Resolved is immutable
        t = res.type
        done = list(res.fields)
        offset = len(ref.parts) - len(rest)
        for i, f in enumerate(rest):
            if t.name == "metrics" and t.field(f) is not None:
                t = t.field(f)
                done.append(f)
                continue
            if t.name == "list" and t.item.name == "metrics" and t.item.field(f) is not None:
                t = T.list_of(t.item.field(f))
                done.append(f)
                continue
            if report:
                known = [k for k, _ in (t.fields or (t.item.fields if t.item else None) or ())]
                self._report(codes.UNDEFINED_NAME, ref.parts[offset + i].span, kind=f"field of `{t}`",
                             name=f, hint=did_you_mean(f, known))
            return None
        return Resolved(res.kind, t, res.phase, res.port, tuple(done))

    def _fail(self, report: bool, name: ast.Name, kind: str, text: str, hint: str | None, ctx: RefContext):
        if not report:
            return
        if hint is None:
            hint = did_you_mean(text, self.scope.value_names(ctx))
        self._report(codes.UNDEFINED_NAME, name.span, kind=kind, name=text, hint=hint)

    def foreach_item_type(self, ph: ir.Phase) -> Type:
        """The type of a foreach variable: the element type of what it iterates (memoised
        per scope: it is typed silently, so it has no side effect to repeat)."""
        hit = self.scope.item_types.get(id(ph))
        if hit is not None and hit[0] is ph:
            return hit[1]
        t = self._foreach_item_type(ph)
        self.scope.item_types[id(ph)] = (ph, t)
        return t

    def _foreach_item_type(self, ph: ir.Phase) -> Type:
        src = self.type_of(ph.foreach.source, RefContext(loop=self.scope.loop_of.get(ph.name)), report=False)
        if src.name == "list":
            return src.item
        if src.name == "dir":
            return T.FILE
        return T.ANY if src.name in ("any", "error") else T.ERROR

    # ------------------------------------------------------------ expressions
    def type_of(self, e: ast.Expr, ctx: RefContext, report: bool = True) -> Type:
        """The type of an expression; ill-typed parts are reported once and typed `error`."""
        kind = type(e)
        if kind is ast.Ref:
            r = self.resolve(e, ctx, report)
            return r.type if r else T.ERROR
        if kind is ast.Template:
            for p in e.parts:
                if type(p) is not str:
                    t = self.type_of(p, ctx, report)
                    if t.name == "metrics" and report and not self._own_output(p, ctx):
                        self._report(codes.EXPRESSION_TYPE, p.span,
                                     detail=f"a `{t}` value cannot be put into text; name one of its fields")
            return T.STRING
        if kind is ast.Literal:
            if e.kind == "quantity":
                q = split_quantity(e.value)
                return T.SIZE if q and unit_kind(q[1]) == "size" else T.DURATION
            return _LITERAL_TYPES[e.kind]
        if kind is ast.BinOp:
            return self._binop(e, ctx, report)
        if kind is ast.ListExpr:
            items = [self.type_of(i, ctx, report) for i in e.items]
            known = [t for t in items if t.name not in ("error", "any")]
            if not known:
                return T.list_of(T.ANY)
            first = known[0]
            if any(t.is_numeric for t in known) and all(t.is_numeric for t in known):
                first = T.FLOAT if any(t.name == "float" for t in known) else T.INT
            elif any(not T.assignable(t, first) for t in known):
                self._type_error(report, e.span, f"list mixes {', '.join(sorted({str(t) for t in known}))}")
            return T.list_of(first)
        if kind is ast.MapExpr:
            self._type_error(report, e.span, "a map is not a value in expressions")
            return T.ERROR
        if kind is ast.UnOp:
            t = self.type_of(e.operand, ctx, report)
            if e.op == "not":
                self._expect(report, e.operand, t, "bool", "`not` needs a bool")
                return T.BOOL
            if t.name in ("error", "any"):
                return t
            if not (t.is_numeric or t.name in ("size", "duration")):
                self._type_error(report, e.span, f"cannot negate a {t}")
                return T.ERROR
            return t
        if kind is ast.Call:
            return self._call(e, ctx, report)
        return T.ERROR

    def _own_output(self, e: ast.Expr, ctx: RefContext) -> bool:
        """`${metrics}` naming the phase's own output in its command: that expands to the
        path of the JSON file the command writes, not to the value, so any type may be used."""
        if not (ctx.in_command and isinstance(e, ast.Ref) and len(e.parts) == 1):
            return False
        r = self.resolve(e, ctx, report=False)
        return r is not None and r.kind == "output"

    def _expect(self, report, e, t: Type, name: str, msg: str) -> None:
        if t.name not in ("error", "any", name):
            self._type_error(report, e.span, f"{msg}, not {t}")

    def _type_error(self, report: bool, span, detail: str) -> None:
        if report:
            self._report(codes.EXPRESSION_TYPE, span, detail=detail)

    def _binop(self, e: ast.BinOp, ctx: RefContext, report: bool) -> Type:
        lt = self.type_of(e.left, ctx, report)
        rt = self.type_of(e.right, ctx, report)
        op = e.op
        if op in ("and", "or"):
            self._expect(report, e.left, lt, "bool", f"`{op}` needs bools")
            self._expect(report, e.right, rt, "bool", f"`{op}` needs bools")
            return T.BOOL
        if "error" in (lt.name, rt.name) or "any" in (lt.name, rt.name):
            return T.BOOL if op in ("==", "!=", "<", "<=", ">", ">=") else \
                (lt if rt.name in ("error", "any") else rt)
        if op in ("==", "!="):
            if not (T.assignable(lt, rt) or T.assignable(rt, lt)):
                self._type_error(report, e.span, f"cannot compare {lt} with {rt}")
            return T.BOOL
        if op in ("<", "<=", ">", ">="):
            ok = (lt.is_numeric and rt.is_numeric) or (lt == rt and lt.name in ("size", "duration", "string"))
            if not ok:
                self._type_error(report, e.span, f"cannot order {lt} against {rt} with `{op}`")
            return T.BOOL
        # arithmetic
        if lt.is_numeric and rt.is_numeric:
            if op == "/":
                return T.FLOAT
            return T.FLOAT if T.FLOAT in (lt, rt) else T.INT
        if lt.name in ("size", "duration"):
            if op in ("+", "-") and rt == lt:
                return lt
            if op in ("*", "/") and rt.is_numeric:
                return lt
        if op == "*" and rt.name in ("size", "duration") and lt.is_numeric:
            return rt
        if op == "+" and lt.name == "string" and rt.name in ("string", "int", "float", "file"):
            return T.STRING
        if op == "+" and lt.name == "list" and rt.name == "list" and T.assignable(rt.item, lt.item):
            return lt
        self._type_error(report, e.span, f"`{op}` does not apply to {lt} and {rt}")
        return T.ERROR

    def _call(self, e: ast.Call, ctx: RefContext, report: bool) -> Type:
        fn = e.func.text
        args = [self.type_of(a, ctx, report) for a in e.args]
        if fn not in FUNCTIONS:
            if report:
                self._report(codes.UNDEFINED_NAME, e.func.span, kind="function", name=fn,
                             hint=did_you_mean(fn, FUNCTIONS))
            return T.ERROR
        if any(a.name in ("error",) for a in args):
            return T.ERROR
        n = len(args)

        def arity(ok: bool, want: str) -> bool:
            if not ok:
                self._type_error(report, e.span, f"`{fn}` takes {want}, got {n} argument(s)")
            return ok

        if fn == "len":
            if arity(n == 1, "one argument"):
                if args[0].name not in ("list", "string", "any"):
                    self._type_error(report, e.args[0].span, f"`len` needs a list or string, not {args[0]}")
            return T.INT
        if fn in ("min", "max", "sum", "mean"):
            if n == 1 and args[0].name == "list":
                item = args[0].item
                if not (item.is_numeric or item.name in ("any", "size", "duration")):
                    self._type_error(report, e.args[0].span, f"`{fn}` needs numbers, not {args[0]}")
                    return T.ERROR
                return T.FLOAT if fn == "mean" else (item if item.name != "any" else T.FLOAT)
            if fn in ("min", "max") and n >= 2:
                if all(a.is_numeric or a.name == "any" for a in args):
                    return T.FLOAT if any(a.name == "float" for a in args) else T.INT
                self._type_error(report, e.span, f"`{fn}` needs numbers")
                return T.ERROR
            arity(False, "a list" + (" or several numbers" if fn in ("min", "max") else ""))
            return T.ERROR
        if fn == "range":
            if arity(1 <= n <= 2, "one or two ints"):
                for a, t in zip(e.args, args):
                    self._expect(report, a, t, "int", "`range` needs ints")
            return T.list_of(T.INT)
        if fn in ("abs",):
            arity(n == 1, "one argument")
            return args[0] if n == 1 else T.ERROR
        if fn in ("round", "int"):
            arity(n == 1, "one argument")
            return T.INT
        if fn == "float":
            arity(n == 1, "one argument")
            return T.FLOAT
        if fn == "str":
            arity(n == 1, "one argument")
            return T.STRING
        return T.ERROR

    # ------------------------------------------------------------ helpers
    def refs(self, e: ast.Expr) -> list[ast.Ref]:
        """Every reference inside an expression, in order (ast.refs_in)."""
        return ast.refs_in(e)


def const_value(e: ast.Expr, params: dict[str, ir.Param] | None = None, depth: int = 0):
    """The value of a constant expression (literals, params with defaults, arithmetic), or None."""
    if depth > 20:
        return None
    if isinstance(e, ast.Literal):
        return e.value if e.kind != "quantity" else None
    if isinstance(e, ast.Template):
        return e.text if e.is_plain else None
    if isinstance(e, ast.Ref) and len(e.parts) == 1 and params and e.parts[0].text in params:
        p = params[e.parts[0].text]
        return const_value(p.default, params, depth + 1) if p.default is not None else None
    if isinstance(e, ast.ListExpr):
        vals = [const_value(i, params, depth + 1) for i in e.items]
        return None if any(v is None for v in vals) else vals
    if isinstance(e, ast.UnOp):
        v = const_value(e.operand, params, depth + 1)
        if v is None:
            return None
        return (not v) if e.op == "not" else (-v if isinstance(v, (int, float)) else None)
    if isinstance(e, ast.BinOp):
        a, b = const_value(e.left, params, depth + 1), const_value(e.right, params, depth + 1)
        if a is None or b is None:
            return None
        if e.op in ("+", "-", "*", "/", "%") and not (
                isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return None  # only numbers fold: `"x" * 10**9` must not be built at check time
        try:
            return _OPS[e.op](a, b)
        except Exception:  # noqa: BLE001 - a constant that does not fold is simply not constant
            return None
    if isinstance(e, ast.Call):
        vals = [const_value(a, params, depth + 1) for a in e.args]
        if any(v is None for v in vals):
            return None
        fn = e.func.text
        try:
            if fn == "range":
                n = vals[-1] - (vals[0] if len(vals) == 2 else 0)
                if n > 10_000_000:
                    return None
                return list(range(*vals))
            if fn in ("len", "min", "max", "sum", "abs", "round", "str", "int", "float"):
                return {"len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
                        "str": str, "int": int, "float": float}[fn](*vals)
            if fn == "mean":
                return sum(vals[0]) / len(vals[0])
        except Exception:  # noqa: BLE001
            return None
    return None


_OPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "%": lambda a, b: a % b,
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "and": lambda a, b: a and b, "or": lambda a, b: a or b,
}
