"""Keeping a plan's cross-references true after a pass moved phases between jobs.

Passes change what runs where (fusion merges jobs, staging moves data to scratch,
aggregation adds data jobs). What follows from that is recomputed here rather than
patched by each pass: which job produces each input, which outputs stay on node-local
scratch (every reader is a later step of the same job and neither the loop controller
nor experiment tracking reads it), each job's working directory and stage-out
operations, the jobs of loop regions and services, and the order of jobs (dependency
order, ties kept as they were) and dependencies.
"""

from __future__ import annotations

import heapq

from aiwfc.plan.facts import WorkflowFacts
from aiwfc.plan.lower import new_data_op
from aiwfc.plan.models import Plan, PlanJob


def relink(plan: Plan, facts: WorkflowFacts) -> None:
    """Recomputes every derived cross-reference of `plan` (see the module docstring)."""
    job_of = plan.job_of_phase()
    position = {s.phase: (j.id, i) for j in plan.jobs for i, s in enumerate(j.steps)}
    local: dict[tuple[str, str], bool] = {}

    def where(phase: str, port: str) -> str:
        key = (phase, port)
        if key not in local:
            local[key] = _local(facts, position, phase, port)
        return "scratch" if local[key] else "shared"

    for job in plan.jobs:
        for step in job.steps:
            for b in step.inputs:
                for src in b.sources:
                    # assign only on change: pydantic's __setattr__ dominates 10,000-job plans
                    owner = job_of.get(src.phase, src.job)
                    if src.job != owner:
                        src.job = owner
                    loc = where(src.phase, src.port)
                    if src.location != loc:
                        src.location = loc
            for out in step.outputs:
                loc = where(step.phase, out.port)
                if out.location != loc:
                    out.location = loc
    _stage_out(plan)
    for loop in plan.loops:
        loop.jobs = _unique(job_of[p] for p in loop.phases if p in job_of)
        for c in loop.carries:
            c.job = job_of.get(c.target.split(".")[0])
        for s in loop.stops:
            s.job = job_of.get(s.phase)
    for svc in plan.services:
        svc.job = job_of.get(svc.service, svc.job)
        svc.clients = _unique(job_of[p] for p in svc.client_phases if p in job_of)
    order_plan(plan)


def _local(facts: WorkflowFacts, position, phase: str, port: str) -> bool:
    readers = facts.consumers.get((phase, port))
    if not readers or (phase, port) in facts.controller_reads:
        return False
    if port in facts.scope.phases[phase].track:
        return False
    job, index = position[phase]
    return all(position.get(r, ("", -1))[0] == job and position[r][1] > index for r in readers)


def _stage_out(plan: Plan) -> None:
    """Scratch jobs stage their leaving outputs out; shared jobs write them in place."""
    plan.data_ops = [d for d in plan.data_ops if d.kind != "stage_out"]
    kept = {d.id: d for d in plan.data_ops}
    for job in plan.jobs:
        if job.data_ops:
            ids = [i for i in job.data_ops if i in kept]
            if len(ids) != len(job.data_ops):
                job.data_ops = ids
        local = any(o.location == "scratch" for s in job.steps for o in s.outputs)
        staged = any(kept[i].kind in ("stage_in", "unpack") for i in job.data_ops)
        workdir = "scratch" if (local or staged) and job.steps else "shared"
        if job.workdir != workdir:
            job.workdir = workdir
        if job.workdir != "scratch":
            continue
        for step in job.steps:
            leaving = [o for o in step.outputs if o.location == "shared"]
            if not leaving:
                continue
            new_data_op(plan, job, kind="stage_out", when="after", phase=step.phase,
                        ports=[o.port for o in leaving], source=f"scratch:{step.phase}",
                        target=f"shared:run/{step.phase}", bytes=sum(o.bytes for o in leaving),
                        files=sum(o.files for o in leaving))


def order_plan(plan: Plan) -> None:
    """Jobs in dependency order (ties: their current order), then dependencies and data ops."""
    index = {j.id: i for i, j in enumerate(plan.jobs)}
    succ: dict[str, list[str]] = {j.id: [] for j in plan.jobs}
    indeg = dict.fromkeys(index, 0)
    for d in plan.dependencies:
        if d.source in succ and d.target in indeg:
            succ[d.source].append(d.target)
            indeg[d.target] += 1
    ready = [index[j] for j, n in indeg.items() if n == 0]
    heapq.heapify(ready)
    order: list[PlanJob] = []
    while ready:
        job = plan.jobs[heapq.heappop(ready)]
        order.append(job)
        for t in succ[job.id]:
            indeg[t] -= 1
            if indeg[t] == 0:
                heapq.heappush(ready, index[t])
    if len(order) == len(plan.jobs):
        plan.jobs = order
    pos = {j.id: i for i, j in enumerate(plan.jobs)}
    plan.dependencies.sort(key=lambda d: (pos.get(d.source, -1), pos.get(d.target, -1), d.kind))
    kinds = {"aggregate": 0, "stage_in": 1, "unpack": 2, "stage_out": 3, "cleanup": 4}
    plan.data_ops.sort(key=lambda d: (pos.get(d.job, -1), kinds[d.kind], d.id))
    for job in plan.jobs:
        job.data_ops.sort(key=lambda i: (kinds[i.split(":", 1)[0]], i))
    for loop in plan.loops:
        loop.jobs.sort(key=lambda j: pos.get(j, -1))


def _unique(items) -> list:
    return list(dict.fromkeys(items))
