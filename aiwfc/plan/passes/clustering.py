"""Horizontal clustering of short tasks into bundles (as Pegasus clusters jobs)."""

from __future__ import annotations

import math

from aiwfc.ir.units import format_duration
from aiwfc.plan import estimates as E
from aiwfc.plan.lower import declared_walltime
from aiwfc.plan.models import Plan, PlanJob
from aiwfc.plan.passes.base import Pass, PassContext, max_walltime
from aiwfc.plan.sizing import job_walltime, resize_array


class Clustering(Pass):
    """Bundles the items of a short-task scatter so each scheduler task runs long enough.

    Applies to a scattering compute job whose phases all declare a runtime estimate
    (`runtime ~ 30s`) below the site's `cluster_target` (the minimum sensible runtime
    of one scheduler job): each task then runs ceil(cluster_target / runtime) items in
    sequence, so a 100,000-item sweep of 30 s items on a 10-minute target becomes 5,000
    tasks of 20 items instead of 100,000 jobs that each wait in the queue longer than
    they run. Jobs linked by element-wise dependencies are bundled alike (they keep
    one-to-one task dependencies). A bundle is never larger than the scatter, nor so
    large that its walltime exceeds the site's longest partition.

    Leaves alone: phases without a runtime estimate (a guess would risk walltime
    kills), a `batch` the workflow sets (an explicit choice), phases a `stop` rule may
    end while they run (stopping one item would stop its whole bundle), services,
    single-task jobs, and sites whose `cluster_target` is 0 (local runs, test clusters).
    """

    name = "clustering"
    level = 2
    moves_work = False
    summary = "bundle short tasks so each scheduler task runs at least the site's cluster_target"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        target = plan.cluster_target
        if target <= 0:
            return []
        stopped = ctx.stopped_phases()
        jobs = {j.id: j for j in plan.jobs}
        groups = _elementwise_groups(plan)
        decisions = []
        for group in groups:
            members = [jobs[i] for i in group]
            why = self._refusal(members, stopped, target)
            if why is not None:
                if why:
                    ctx.note(f"left {', '.join(group)} unbundled: {why}")
                continue
            per_item = min(_per_item(j) for j in members)
            chunk = math.ceil(target / per_item)
            chunk = min(chunk, min(j.array.estimate for j in members) or 1)
            limit = max_walltime(ctx.site_of(members[0]))
            if limit is not None:
                worst = max(_per_item(j) for j in members) * E.WALLTIME_MARGIN
                chunk = min(chunk, max(1, int(limit // worst)))
            if chunk <= max(j.array.chunk for j in members):
                continue
            for job in members:
                tasks = job.array.tasks
                resize_array(job, ctx.site_of(job), chunk=chunk)
                job.resources.walltime = job_walltime(job, declared_walltime(job, ctx.facts.scope))
                unit = "jobs" if job.kind == "per_task" else "array tasks"
                decisions.append(f"bundled {tasks:,} tasks of {job.id} into {job.array.tasks:,} {unit} of "
                                 f"{chunk} items because runtime {format_duration(_per_item(job))} < "
                                 f"cluster_target {format_duration(target)}")
        return decisions

    @staticmethod
    def _refusal(members: list[PlanJob], stopped: set[str], target: int) -> str | None:
        """None when the group may be bundled; else why not ('' when not worth a decision)."""
        for job in members:
            if job.role != "compute" or job.array is None:
                return ""
            if job.array.user_batch:
                return f"`batch` of {job.id} is set by the workflow"
            if any(s.runtime_source != "declared" for s in job.steps):
                return ""
            if stopped & set(job.phases):
                return f"a `stop` rule may end {sorted(stopped & set(job.phases))[0]} while it runs"
            if _per_item(job) >= target:
                return ""
        return None


def _per_item(job: PlanJob) -> int:
    return sum(s.runtime for s in job.steps)


def _elementwise_groups(plan: Plan) -> list[list[str]]:
    """Scattering jobs, grouped when element-wise dependencies link them (plan order)."""
    parent = {j.id: j.id for j in plan.jobs if j.array is not None}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in plan.dependencies:
        if d.kind == "elementwise" and d.source in parent and d.target in parent:
            parent[find(d.source)] = find(d.target)
    groups: dict[str, list[str]] = {}
    for j in plan.jobs:
        if j.id in parent:
            groups.setdefault(find(j.id), []).append(j.id)
    return list(groups.values())
