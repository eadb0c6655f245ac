"""No dependency cycles outside feedback loops (AIWF301)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir


@register
class Cycles(Check):
    """Phases may not depend on each other in a circle; iteration is a `feedback` loop.

    Anti-pattern::

        training fit { in d: file = score.out ... }
        inference score { in m: file = fit.model ... }

    Better::

        feedback loop { body = [fit, score]  max_iterations = 5  until = score.best > 0.9
                        next fit.d = score.out }
    """

    codes = (codes.DEPENDENCY_CYCLE,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        cycle = ctx.graph.find_cycle()
        if not cycle:
            return
        edges = {(e.producer, e.consumer): e for e in ctx.graph.edges}
        first = edges.get((cycle[0], cycle[1]))
        related = []
        for a, b in zip(cycle[1:], cycle[2:]):
            e = edges.get((a, b))
            if e is not None and e.span is not None:
                related.append(Related(e.span, f"`{b}` reads `{a}.{e.port}` here"))
        span = first.span if first and first.span else ctx.scope.phases[cycle[0]].where("name")
        ctx.report(codes.DEPENDENCY_CYCLE, span, cycle=" -> ".join(cycle), related=related,
                   notes=("to iterate, declare a `feedback` loop with a bound and carry values with `next`",))
