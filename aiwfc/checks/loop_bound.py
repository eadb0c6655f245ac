"""Every feedback loop has a bound (AIWF601)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import add_attribute_fix
from aiwfc.ir import models as ir

DEFAULT_BOUND = 10


@register
class LoopBound(Check):
    """A `feedback` loop needs `max_iterations`.

    A model that never reaches its target would otherwise burn the allocation
    forever; the bound is what makes a loop safe to submit. The fix adds
    `max_iterations = 10`.

    Anti-pattern::

        feedback steer { body = [md, fit]  until = fit.metrics.loss < 0.01 }

    Better::

        feedback steer { body = [md, fit]  until = fit.metrics.loss < 0.01  max_iterations = 10 }
    """

    codes = (codes.UNBOUNDED_LOOP,)
    visits = frozenset({"feedback"})

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        if fb.max_iterations is not None:
            return
        fix = add_attribute_fix(ctx, fb, "max_iterations", str(DEFAULT_BOUND),
                                f"add `max_iterations = {DEFAULT_BOUND}`")
        ctx.report(codes.UNBOUNDED_LOOP, fb.where("name"), loop=fb.name, fix=fix)
