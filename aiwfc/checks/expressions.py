"""Every expression resolves and is well typed (AIWF101, AIWF202, AIWF204).

This is the only check that types expressions with reporting on, so each problem in
an expression is reported once; other checks type silently.
"""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir
from aiwfc.ir import types as T
from aiwfc.semantic import RefContext
from aiwfc.syntax import ast


@register
class Expressions(Check):
    """Interpolations, conditions, port bindings and param defaults must resolve and type-check.

    Anti-pattern::

        until = fit.metrics.loss + "x"

    Better::

        until = fit.metrics.loss < 0.01
    """

    codes = (codes.UNDEFINED_NAME, codes.EXPRESSION_TYPE, codes.PARAM_DEFAULT)
    visits = frozenset({"param", "phase", "feedback"})

    def visit_param(self, ctx: CheckContext, p: ir.Param) -> None:
        if p.default is None:
            return
        t = ctx.typer(report=True).type_of(p.default, RefContext())
        if not T.assignable(t, p.type) and not (p.type.name in ("size", "duration") and t == p.type):
            ctx.report(codes.PARAM_DEFAULT, p.where("default"), name=p.name, actual=str(t), expected=str(p.type))

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        typer = ctx.typer(report=True)
        loop = ctx.scope.loop_of.get(ph.name)
        outer = RefContext(loop=loop)
        inner = RefContext(phase=ph, loop=loop, in_command=True)
        if ph.foreach is not None:
            t = typer.type_of(ph.foreach.source, outer)
            if t.name not in ("list", "dir", "error", "any"):
                ctx.report(codes.EXPRESSION_TYPE, ph.foreach.where("source"),
                           detail=f"`foreach` iterates a list or a dataset, not {t}")
        for port in ph.inputs:
            if port.value is not None:
                typer.type_of(port.value, inner if _reads_own(port, ph) else outer)
        for port in ph.outputs:
            if port.value is not None:
                t = typer.type_of(port.value, inner)
                if t.name not in ("string", "file", "dir", "error", "any"):
                    ctx.report(codes.EXPRESSION_TYPE, port.where("value"),
                               detail=f"output `{port.name}` names a path; got {t}")
        if ph.command is not None:
            typer.type_of(ph.command, inner)
        if ph.when is not None:
            t = typer.type_of(ph.when, outer)
            if t.name not in ("bool", "error", "any"):
                ctx.report(codes.EXPRESSION_TYPE, ph.where("when"), detail=f"`when` needs a bool, not {t}")

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        typer = ctx.typer(report=True)
        rc = RefContext(loop=fb)
        for attr, expr in (("until", fb.until), ("while", fb.while_)):
            if expr is not None:
                t = typer.type_of(expr, rc)
                if t.name not in ("bool", "error", "any"):
                    # the text form keys the span `while`, a JSON/YAML document `while_`
                    where = fb.spans.get(attr) or fb.where("while_" if attr == "while" else attr)
                    ctx.report(codes.EXPRESSION_TYPE, where, detail=f"`{attr}` needs a bool, not {t}")
        if fb.max_iterations is not None:
            t = typer.type_of(fb.max_iterations, rc)
            if t.name not in ("int", "error", "any"):
                ctx.report(codes.EXPRESSION_TYPE, fb.where("max_iterations"),
                           detail=f"`max_iterations` needs an int, not {t}")
        # carried values are seen from the loop; a stop condition from the stopped phase's
        # tasks (AIWF604/AIWF605 judge whether they fit; here only names and operators)
        for carry in fb.next:
            typer.type_of(carry.value, rc)
        for rule in fb.stop:
            ph = ctx.scope.phases.get(rule.phase)
            if ph is not None:
                typer.type_of(rule.when, RefContext(phase=ph, loop=fb))


def _reads_own(port: ir.Port, ph: ir.Phase) -> bool:
    """An input bound to the phase's own foreach variable (`in s: file = seed`)."""
    v = port.value
    return isinstance(v, ast.Ref) and ph.foreach is not None and v.parts[0].text == ph.foreach.var
