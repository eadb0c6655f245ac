"""Stop rules end work the loop started, on a boolean condition (AIWF605)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.semantic import RefContext


@register
class LoopStop(Check):
    """`stop PHASE when CONDITION` needs PHASE in the loop's body and a bool CONDITION.

    The condition is typed with the stopped phase's outputs visible one task at a
    time: in `stop md when md.progress < 0.1`, `md.progress` is the progress of the
    run being considered, not the list of all of them.

    Anti-pattern::

        stop report when report.progress < 0.1   # report is not in the body
        stop md when md.progress                 # a float, not a decision

    Better::

        stop md when md.progress < 0.1
    """

    codes = (codes.BAD_STOP,)
    visits = frozenset({"feedback"})

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        for rule in fb.stop:
            ph = ctx.scope.phases.get(rule.phase)
            if ph is None or rule.phase not in fb.body:
                why = "is not defined" if ph is None else f"is not in the body of feedback loop `{fb.name}`"
                ctx.report(codes.BAD_STOP, rule.where("phase"),
                           detail=f"`stop {rule.phase}`: phase `{rule.phase}` {why}"
                                  + did_you_mean(rule.phase, fb.body))
                continue
            t = ctx.typer().type_of(rule.when, RefContext(phase=ph, loop=fb), report=False)
            if t.name not in ("bool", "error", "any"):
                ctx.report(codes.BAD_STOP, rule.where("when"),
                           detail=f"the condition of `stop {rule.phase}` needs a bool, not {t}")
