"""A phase iterates in at most one loop (AIWF606)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir


@register
class LoopMembership(Check):
    """A phase may belong to the body of one feedback loop only.

    Loops do not nest, so a phase in two bodies would have two iteration counts and
    two sets of loop-carried inputs. Merge the loops, or split the phase.

    Anti-pattern::

        feedback a { body = [md, fit] ... }
        feedback b { body = [fit, score] ... }

    Better::

        feedback a { body = [md, fit, score] ... }
    """

    codes = (codes.PHASE_IN_TWO_LOOPS,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        first: dict[str, tuple[ir.Feedback, int]] = {}
        for fb in wf.feedbacks:
            for i, name in enumerate(fb.body):
                if name not in ctx.scope.phases:
                    continue
                if name not in first:
                    first[name] = (fb, i)
                    continue
                other, j = first[name]
                if other is fb:
                    continue
                ctx.report(codes.PHASE_IN_TWO_LOOPS, fb.where(f"body[{i}]") or fb.where("body"),
                           phase=name, a=other.name, b=fb.name,
                           related=[Related(other.where(f"body[{j}]") or other.where("body"),
                                            f"`{name}` is in the body of `{other.name}` here")])
