"""Partition choice per job from the site profile."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.ir import models as ir
from aiwfc.ir.units import format_duration, format_size
from aiwfc.plan import estimates as E
from aiwfc.plan.models import JobResources, Plan, PlanJob
from aiwfc.plan.passes.base import Pass, PassContext
from aiwfc.plan.sizing import items_per_task
from aiwfc.source import Span

_INF = float("inf")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class PartitionChoice(Pass):
    """Puts each job on the smallest partition of its site that fits it.

    A partition fits a job when it has enough nodes, cores per node (cores x tasks per
    node), memory per node, GPUs per node of the requested model, and a maximum
    walltime at least the job's walltime, which is computed from runtime estimates x
    items per task x margin, so it reflects bundling and fusion. Among those that fit,
    the smallest is chosen: fewest GPUs, then fewest cores, least memory, shortest
    walltime limit, fewest nodes (a CPU job never lands on a GPU partition while a CPU
    partition fits). When none fits, AIWF903 (no-fitting-partition) is reported at the
    job's first phase, saying which request no partition meets.

    Leaves alone: local sites (a laptop runs everything, oversubscribed), sites that
    declare no partitions (the scheduler's default applies), and the requests
    themselves (it never shrinks a job to make it fit).
    """

    name = "partition-choice"
    level = 1
    moves_work = False
    summary = "the smallest partition of the site that fits each job"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        decisions = []
        chosen_for: dict[tuple, ir.Partition | None] = {}  # many jobs ask for the same thing
        for job in plan.jobs:
            site = ctx.site_of(job)
            parts = site.partitions
            if not parts:
                continue
            if site.scheduler == "local":
                chosen = next((p for p in parts if p.default), parts[0])
                job.resources.partition = chosen.name
                continue
            r = job.resources
            key = (site.name, r.nodes, r.cores * r.tasks_per_node, r.memory, r.gpus, r.gpu_model, r.walltime)
            if key not in chosen_for:
                fitting = [(i, p) for i, p in enumerate(parts) if not _misses(r, p)]
                chosen_for[key] = min(fitting, key=lambda ip: (ip[1].gpus, ip[1].cores, ip[1].memory or _INF,
                                                               ip[1].max_walltime or _INF, ip[1].nodes,
                                                               ip[0]))[1] if fitting else None
            best = chosen_for[key]
            if best is None:
                self._report(job, site, ctx)
                continue
            r.partition = best.name
            decisions.append(f"{job.id}: partition {best.name} ({_ask(r)})")
        return decisions

    def _report(self, job: PlanJob, site: ir.SiteProfile, ctx: PassContext) -> None:
        r = job.resources
        parts = site.partitions
        dims = [d for d in _DIMENSIONS if d.asked(r)]
        alone = [d for d in dims if not any(d.fits(r, p) for p in parts)]
        if alone:
            detail = "; ".join(d.explain(r, job, parts) for d in alone)
        else:
            closest = min(parts, key=lambda p: (len(_misses(r, p)), parts.index(p)))
            detail = (f"no partition offers {_ask(r)} together (closest: `{closest.name}`, which lacks "
                      f"{' and '.join(_misses(r, closest))})")
        ctx.sink.report(codes.NO_FITTING_PARTITION, _span(job, ctx), job=job.id, site=site.name, detail=detail)


class _Dimension:
    """One request of a job and the partition limit it must stay under."""

    def __init__(self, name, ask, limit, text):
        self.name, self.ask, self.limit, self.text = name, ask, limit, text

    def asked(self, r: JobResources) -> bool:
        return self.ask(r) is not None

    def fits(self, r: JobResources, p: ir.Partition) -> bool:
        lim = self.limit(p, r)
        return lim is None or self.ask(r) <= lim

    def explain(self, r: JobResources, job: PlanJob, parts: list[ir.Partition]) -> str:
        best = max(parts, key=lambda p: (self.limit(p, r) or 0, -parts.index(p)))
        text = f"it needs {self.text(self.ask(r))}, at most {self.text(self.limit(best, r) or 0)} on `{best.name}`"
        if self.name == "walltime":
            text = f"its walltime {format_duration(r.walltime)} ({_walltime_reason(job)}) exceeds every " \
                   f"partition's limit (longest: {format_duration(self.limit(best, r))} on `{best.name}`)"
        return text


def _model_limit(p: ir.Partition, r: JobResources):
    if r.gpu_model and (p.gpu_model or "").lower() != r.gpu_model.lower():
        return 0
    return p.gpus


_DIMENSIONS = [
    _Dimension("nodes", lambda r: r.nodes if r.nodes > 1 else None, lambda p, r: p.nodes,
               lambda n: _plural(n, "node")),
    _Dimension("cores", lambda r: r.cores * r.tasks_per_node, lambda p, r: p.cores,
               lambda n: _plural(n, "core") + " per node"),
    _Dimension("memory", lambda r: r.memory, lambda p, r: p.memory,
               lambda n: f"{format_size(n)} of memory per node"),
    _Dimension("gpus", lambda r: r.gpus or None, _model_limit,
               lambda n: _plural(n, "GPU") + " per node"),
    _Dimension("walltime", lambda r: r.walltime, lambda p, r: p.max_walltime, format_duration),
]


def _misses(r: JobResources, p: ir.Partition) -> list[str]:
    """What partition `p` lacks for request `r` (empty when it fits)."""
    out = []
    for d in _DIMENSIONS:
        if d.asked(r) and not d.fits(r, p):
            lim = d.limit(p, r)
            if d.name == "gpus" and r.gpu_model and lim == 0 and p.gpus:
                out.append(f"`{r.gpu_model}` GPUs")
            else:
                out.append(f"{d.name} (has {d.text(lim or 0)})")
    return out


def _ask(r: JobResources) -> str:
    parts = []
    if r.nodes > 1:
        parts.append(_plural(r.nodes, "node"))
    parts.append(_plural(r.cores * r.tasks_per_node, "core"))
    if r.memory:
        parts.append(format_size(r.memory))
    if r.gpus:
        parts.append(_plural(r.gpus, "GPU") + (f" ({r.gpu_model})" if r.gpu_model else ""))
    parts.append(format_duration(r.walltime))
    return ", ".join(parts)


def _walltime_reason(job: PlanJob) -> str:
    if not job.steps:
        return "data movement"
    n = items_per_task(job)
    per_item = sum(s.runtime for s in job.steps)
    margin = f" x {E.WALLTIME_MARGIN:g} margin" if any(s.runtime_source == "declared" for s in job.steps) else ""
    items = f"{n} items per task x " if n > 1 else ""
    phases = f" for {len(job.steps)} phases" if len(job.steps) > 1 else ""
    return f"{items}{format_duration(per_item)}{phases}{margin}"


def _span(job: PlanJob, ctx: PassContext) -> Span:
    scope = ctx.facts.scope
    if job.steps:
        ph = scope.phases.get(job.steps[0].phase)
        if ph is not None and ph.where("name") is not None:
            return ph.where("name")
    for name, ds in scope.datasets.items():
        if job.id.endswith("." + name) and ds.where("name") is not None:
            return ds.where("name")
    return ctx.facts.workflow.where("name") or Span.point("<plan>", 1, 1)
