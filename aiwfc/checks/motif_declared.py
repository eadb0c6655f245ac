"""The declared motif agrees with the graph (AIWF711)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir
from aiwfc.motifs import infer_motifs


@register
class DeclaredMotif(Check):
    """A workflow's `motif = ...` must be recognisable in its graph.

    The motif rules of `aiwfc/motifs.py` look for the structure each motif is about:
    an AI phase that spawns or stops simulation runs in a loop (dynamic orchestration),
    an AI stage between pipeline stages (multistage pipeline), a model whose output
    becomes the next simulation's input (inverse design), a service beside a running
    simulation (digital replica), phases on several sites (distributed models),
    simulations producing the data a model is retrained or swept on (adaptive
    training). The warning says what the declared motif would need; the note names
    what the graph does look like (`aiwfc check --motifs` shows the full inference).

    Anti-pattern::

        workflow w { motif = digital_replica ... }   # but no service runs beside a simulation

    Better::

        workflow w { motif = multistage_pipeline ... }
    """

    codes = (codes.MOTIF_CONTRADICTED,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        if wf.motif is None:
            return
        report = infer_motifs(ctx.comp, wf, ctx.graph)
        detail = report.contradiction
        if detail is None:
            return
        notes = (f"the graph looks like {', '.join(m.motif for m in report.motifs[:2])}",) if report.motifs else ()
        ctx.report(codes.MOTIF_CONTRADICTED, wf.where("motif"), workflow=wf.name, motif=wf.motif,
                   detail=detail, notes=notes)
