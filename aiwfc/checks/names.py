"""Undefined and duplicate names (AIWF101, AIWF102)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir
from aiwfc.resolve.suggest import did_you_mean


@register
class Names(Check):
    """Every name used must be defined once.

    Anti-pattern::

        simulation md { resources = cpu_tsak }

    Better::

        simulation md { resources = cpu_task }
    """

    codes = (codes.UNDEFINED_NAME, codes.DUPLICATE_NAME)
    visits = frozenset({"workflow", "phase", "feedback"})

    def visit_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        groups = [("param", wf.params), ("resource", wf.resources), ("image", wf.images),
                  ("dataset", wf.datasets), ("phase", wf.phases), ("feedback loop", wf.feedbacks)]
        for kind, items in groups:
            self._duplicates(ctx, kind, items)
        for kind, items in (("site", ctx.program.sites),):
            self._duplicates(ctx, kind, items)
        # a phase and a param or dataset of the same name would make `x` ambiguous in expressions
        values = {p.name: p for p in wf.params} | {d.name: d for d in wf.datasets}
        for ph in wf.phases:
            other = values.get(ph.name)
            if other is not None:
                ctx.report(codes.DUPLICATE_NAME, ph.where("name"), kind="name", name=ph.name,
                           related=[Related(other.where("name"), "also defined here")])

    def _duplicates(self, ctx: CheckContext, kind: str, items) -> None:
        seen = {}
        for it in items:
            if it.name in seen:
                first = seen[it.name]
                rel = [Related(first.where("name"), "first defined here")] if first.where("name") else []
                ctx.report(codes.DUPLICATE_NAME, it.where("name") or it.span, kind=kind, name=it.name,
                           related=rel)
            else:
                seen[it.name] = it

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        sc = ctx.scope
        if ph.resources is not None and ph.resources not in sc.resources:
            ctx.report(codes.UNDEFINED_NAME, ph.where("resources"), kind="resource", name=ph.resources,
                       hint=did_you_mean(ph.resources, sc.resources))
        if ph.image is not None and ph.image not in sc.images:
            ctx.report(codes.UNDEFINED_NAME, ph.where("image"), kind="image", name=ph.image,
                       hint=did_you_mean(ph.image, sc.images))
        for i, svc in enumerate(ph.uses):
            target = sc.phases.get(svc)
            if target is None or target.kind != "service":
                services = [p.name for p in ctx.workflow.phases if p.kind == "service"]
                ctx.report(codes.UNDEFINED_NAME, ph.where(f"uses[{i}]") or ph.where("uses"), kind="service", name=svc,
                           hint=did_you_mean(svc, services))
        if ph.site is not None and not any(s.name == ph.site for s in ctx.program.sites):
            ctx.report(codes.UNDEFINED_NAME, ph.where("site"), kind="site", name=ph.site,
                       hint=did_you_mean(ph.site, [s.name for s in ctx.program.sites]))
        for i, t in enumerate(ph.track):
            head, _, rest = t.partition(".")
            own = ph.output(head) is not None or ph.input(head) is not None \
                or (ph.foreach is not None and head == ph.foreach.var and not rest)  # a swept value, e.g. `lr`
            ok = (head in sc.params and not rest) or own
            if not ok:
                ctx.report(codes.UNDEFINED_NAME, ph.where(f"track[{i}]") or ph.where("track"), kind="tracked value", name=t,
                           hint=did_you_mean(head, list(sc.params) + [p.name for p in ph.outputs]))
        ports = {}
        for port in ph.inputs + ph.outputs:
            if port.name in ports:
                ctx.report(codes.DUPLICATE_NAME, port.where("name"), kind=f"port of `{ph.name}`",
                           name=port.name, related=[Related(ports[port.name].where("name"), "first defined here")])
            ports[port.name] = port

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        sc = ctx.scope
        for i, name in enumerate(fb.body):
            if name not in sc.phases:
                ctx.report(codes.UNDEFINED_NAME, fb.where(f"body[{i}]") or fb.where("body"), kind="phase", name=name,
                           hint=did_you_mean(name, sc.phases))
