"""Outputs nobody reads (AIWF302)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import loop_reads
from aiwfc.ir import models as ir


@register
class UnusedOutput(Check):
    """An output of a phase whose other outputs are consumed, but which nothing reads.

    A port counts as read when another phase binds it (an input, a `foreach`, a
    `when`, a command interpolation), when a feedback loop's condition, bound, `next`
    or `stop` rule reads it, or when its own phase tracks it (`track = [...]`).

    Outputs of a phase that nothing reads at all are *not* reported: such a phase is a
    sink of the graph, and its outputs are the workflow's products (the final model,
    the report). Only a phase that does feed others is held to account for each port:
    there an unread port is a forgotten edge or wasted work and storage.

    Anti-pattern::

        preprocess clean {
          out data: file = "clean.npz"
          out log: file = "clean.log"      # nobody reads it
          ...
        }
        training fit { in data: file = clean.data ... }

    Better::

        preprocess clean { out data: file = "clean.npz" ... }
        # or read it downstream, or `track = [log]` to keep it with the experiment
    """

    codes = (codes.UNUSED_OUTPUT,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        read: set[tuple[str, str]] = set(loop_reads(ctx))
        for e in ctx.graph.edges + ctx.graph.loop_edges:
            if e.via != "uses":  # a service's address is not one of its output ports
                read.add((e.producer, e.port))
        consumers = {p for p, _ in read}
        for ph in wf.phases:
            if ph.name not in consumers:
                continue  # a sink: its outputs are what the workflow produces
            tracked = {t.split(".")[0] for t in ph.track}
            used = [p.name for p in ph.outputs if (ph.name, p.name) in read or p.name in tracked]
            for port in ph.outputs:
                if port.name in used:
                    continue
                hint = ""
                if used:
                    names = [f"`{ph.name}.{u}`" for u in used]
                    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
                    hint = f" (only {shown} {'is' if len(used) == 1 else 'are'} read)"
                ctx.report(codes.UNUSED_OUTPUT, port.where("name") or port.span,
                           phase=ph.name, port=port.name, hint=hint)
