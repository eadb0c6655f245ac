"""A loop's condition: exactly one, over what the body produces (AIWF602, AIWF603)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir
from aiwfc.semantic import RefContext


def while_span(fb: ir.Feedback):
    """Where `while` was written (the text form keys it `while`, a document `while_`)."""
    return fb.spans.get("while") or fb.where("while_")


@register
class LoopCondition(Check):
    """A loop has a non-empty body and exactly one of `until` or `while`, and that
    condition reads at least one output of a body phase.

    A condition over params and constants only (`until = target > 0.5`) has the same
    value in every iteration: the loop runs once or to its bound, never because of
    what the model or the simulation found. `iteration` alone does not count either;
    `max_iterations` already says how many times to run.

    Anti-pattern::

        feedback steer { body = [md, fit]  until = target > 0.5  max_iterations = 5 }

    Better::

        feedback steer { body = [md, fit]  until = fit.metrics.loss < target  max_iterations = 5 }
    """

    codes = (codes.CONDITION_READS_NOTHING, codes.LOOP_CONDITION)
    visits = frozenset({"feedback"})

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        if not fb.body and "body" in fb.spans:
            ctx.report(codes.LOOP_CONDITION, fb.where("body"), loop=fb.name, detail="has an empty body")
        if fb.until is None and fb.while_ is None:
            ctx.report(codes.LOOP_CONDITION, fb.where("name"), loop=fb.name,
                       detail="has neither `until` nor `while`")
            return
        if fb.until is not None and fb.while_ is not None:
            ctx.report(codes.LOOP_CONDITION, while_span(fb), loop=fb.name,
                       detail="has both `until` and `while`; keep one")
            return
        if not fb.body:
            return  # nothing to read: the empty body is the problem
        cond = fb.until if fb.until is not None else fb.while_
        span = fb.where("until") if fb.until is not None else while_span(fb)
        typer = ctx.typer()
        rc = RefContext(loop=fb)
        body = set(fb.body)
        reads_body = False
        for ref in typer.refs(cond):
            r = typer.resolve(ref, rc, report=False)
            if r is None:
                return  # an undefined name is reported as AIWF101; say nothing more
            if r.kind == "port" and r.phase in body:
                reads_body = True
        if not reads_body:
            outputs = [f"`{name}.{port.name}`" for name in fb.body if name in ctx.scope.phases
                       for port in ctx.scope.phases[name].outputs]
            notes = (f"the body produces {', '.join(outputs[:4])}{', ...' if len(outputs) > 4 else ''}",) \
                if outputs else ()
            ctx.report(codes.CONDITION_READS_NOTHING, span, loop=fb.name, notes=notes)
