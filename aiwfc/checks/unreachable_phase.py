"""Phases connected to nothing (AIWF303)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import loop_reads
from aiwfc.ir import models as ir


@register
class UnreachablePhase(Check):
    """In a workflow of several phases, every phase should be connected to another.

    A phase is connected when it reads another phase's output or feeds one (an input,
    a `foreach`, a `when`, an interpolation), uses a service or is used as one, or
    belongs to a feedback loop (its body, its conditions, its `next` and `stop` rules).
    A lone phase runs unordered with everything else, usually because an input binding
    was forgotten. A workflow with a single phase has nothing to connect to and is
    never reported.

    Anti-pattern::

        simulation md { foreach s in seeds  out traj: file = "t_${index}.npy" ... }
        analysis report { run "python report.py" }

    Better::

        analysis report { in trajs: list<file> = md.traj  run "python report.py ${trajs}" }
    """

    codes = (codes.UNREACHABLE_PHASE,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        if len(wf.phases) < 2:
            return
        connected: set[str] = set()
        for e in ctx.graph.edges + ctx.graph.loop_edges:
            connected.update((e.producer, e.consumer))
        for fb in wf.feedbacks:
            connected.update(fb.body)
            connected.update(c.target.split(".")[0] for c in fb.next)
            connected.update(s.phase for s in fb.stop)
        connected.update(p for p, _ in loop_reads(ctx))
        for ph in wf.phases:
            if ph.name not in connected:
                ctx.report(codes.UNREACHABLE_PHASE, ph.where("name") or ph.span,
                           phase=ph.name, workflow=wf.name)
