"""Fusion of consecutive phases into one job, intermediates kept on node-local scratch."""

from __future__ import annotations

from aiwfc.plan.lower import declared_walltime
from aiwfc.plan.models import Plan, PlanDependency, PlanJob
from aiwfc.plan.passes.base import Pass, PassContext, max_walltime
from aiwfc.plan.relink import relink
from aiwfc.plan.sizing import job_walltime


class Fusion(Pass):
    """Runs a chain of phases in one job so their intermediates never touch the shared FS.

    Applies to a dependency A -> B when it is A's only outgoing and B's only incoming
    dependency (a straight segment of the graph), both are compute jobs in the same
    loop region (or none) on the same site, every step uses the same resource class,
    the data flow is one to one (both run once, or both scatter over the same items
    with the same chunk and an element-wise dependency), no `stop` rule targets either,
    and the fused walltime still fits the site's longest partition. The fused job runs
    B's steps after A's inside each task; an output whose only readers are later steps
    of the job stays on node-local scratch, the others are staged out after the job.
    Chains fuse repeatedly (a 50-stage pipeline on one resource class becomes one job).

    Leaves alone: gathers and scatters (many-to-one flow), services, phases on
    different resource classes (a CPU phase never holds a GPU job's allocation),
    branches and joins (fusing would serialise independent work), and outputs that a
    loop condition, a loop-carried value, a `stop` rule or experiment tracking reads.
    """

    name = "fusion"
    level = 2
    relinks_itself = True
    summary = "fuse straight chains of one-to-one phases on one resource class"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        stopped = ctx.stopped_phases()
        outs: dict[str, list[PlanDependency]] = {j.id: [] for j in plan.jobs}
        ins: dict[str, list[PlanDependency]] = {j.id: [] for j in plan.jobs}
        for d in plan.dependencies:
            outs[d.source].append(d)
            ins[d.target].append(d)
        jobs = {j.id: j for j in plan.jobs}
        merged: list[tuple[list[str], str, str]] = []  # (phases, resource class, flow)
        removed: set[str] = set()
        for job in list(plan.jobs):
            if job.id in removed:
                continue
            while len(outs[job.id]) == 1:
                dep = outs[job.id][0]
                nxt = jobs[dep.target]
                if len(ins[nxt.id]) != 1:
                    break
                why = self._refusal(job, nxt, dep, ctx, stopped)
                if why:
                    if why != "-":
                        ctx.note(f"kept {job.phases[-1]} -> {nxt.phases[0]} apart: {why}")
                    break
                self._merge(plan, job, nxt, dep, outs, ins, ctx)
                removed.add(nxt.id)
            if len(job.steps) > 1:
                flow = "element-wise" if job.array is not None else "one value"
                merged.append((job.phases, job.steps[0].resource_class or "default", flow))
        if not merged:
            return []
        plan.jobs = [j for j in plan.jobs if j.id not in removed]
        self._rename(plan)
        plan.dependencies = [d for d in plan.dependencies if d.source != d.target]
        relink(plan, ctx.facts)
        decisions = []
        job_of = plan.job_of_phase()
        by_id = {j.id: j for j in plan.jobs}
        for phases, res, flow in merged:
            job = by_id[job_of[phases[0]]]
            kept = [f"{s.phase}.{o.port}" for s in job.steps for o in s.outputs if o.location == "scratch"]
            local = f"; {', '.join(kept)} stay{'s' if len(kept) == 1 else ''} on node-local scratch" if kept else ""
            decisions.append(f"fused {' -> '.join(phases)} into job {job.id}: same resource class "
                             f"`{res}`, {flow} data flow{local}")
        return decisions

    @staticmethod
    def _refusal(a: PlanJob, b: PlanJob, dep: PlanDependency, ctx: PassContext, stopped: set[str]) -> str:
        """Why a -> b may not fuse ('' when it may; '-' for reasons not worth a decision)."""
        if a.role != "compute" or b.role != "compute" or dep.kind == "after_any":
            return "-"
        if a.loop != b.loop:
            return "different loop regions"
        if a.site != b.site:
            return "different sites"
        classes = {s.resource_class for s in a.steps + b.steps}
        if len(classes) != 1:
            return "resource classes differ (" + ", ".join(sorted(c or "default" for c in classes)) + ")"
        if (a.array is None) != (b.array is None):
            return "many-to-one data flow (gather)" if a.array is not None else "one-to-many data flow (scatter)"
        if a.array is not None and dep.kind != "elementwise":
            return "not element-wise"
        hit = sorted(stopped & set(a.phases + b.phases))
        if hit:
            return f"a `stop` rule ends {hit[0]} while it runs"
        limit = max_walltime(ctx.site_of(a))
        if limit is not None:
            trial = a.model_copy(update={"steps": a.steps + b.steps})
            if job_walltime(trial, declared_walltime(trial, ctx.facts.scope)) > limit:
                return "the fused walltime would exceed the longest partition's"
        return ""

    @staticmethod
    def _merge(plan: Plan, a: PlanJob, b: PlanJob, dep: PlanDependency, outs, ins, ctx: PassContext) -> None:
        a.steps = a.steps + b.steps
        a.retries = max(a.retries, b.retries)
        a.resources.walltime = job_walltime(a, declared_walltime(a, ctx.facts.scope))
        dep.target = dep.source  # a self-dependency, dropped after the sweep (list.remove is O(n))
        outs[a.id] = []
        for d in outs[b.id]:
            d.source = a.id
            outs[a.id].append(d)
        outs[b.id] = []
        ins[b.id] = []

    @staticmethod
    def _rename(plan: Plan) -> None:
        """Fused jobs are named after their first and last phases (`md+post`, `s1..s50`)."""
        renames = {}
        for job in plan.jobs:
            names = job.phases
            new = job.id if len(names) == 1 else "+".join(names) if len(names) == 2 else f"{names[0]}..{names[-1]}"
            if new != job.id:
                renames[job.id] = new
                job.id = new
        for d in plan.dependencies:  # assign only on change: pydantic's __setattr__ is slow
            if d.source in renames:
                d.source = renames[d.source]
            if d.target in renames:
                d.target = renames[d.target]
