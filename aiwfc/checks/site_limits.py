"""Resource classes against the partitions of the site they run on (AIWF401, AIWF402, AIWF406)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import effective_site, plural
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir
from aiwfc.ir.units import format_duration, format_size


@dataclass(frozen=True)
class Dimension:
    """One thing a resource class asks of a node (cores, memory...) and how a partition limits it.

    `limit` returns the partition's limit, None for "unlimited"; `text` renders a
    quantity as the message shows it ("4 GPUs per node").
    """

    attr: str
    ask: int
    limit: Callable[[ir.Partition], int | None]
    text: Callable[[int], str]
    ask_text: Callable[[int], str]
    local: bool = True  # whether it matters on a local (laptop) site

    def fits(self, p: ir.Partition) -> bool:
        lim = self.limit(p)
        return lim is None or self.ask <= lim


def dimensions(res: ir.ResourceClass) -> list[Dimension]:
    """What `res` asks for, in the order the messages list it."""
    per_node = res.cores * res.tasks_per_node
    dims = [
        Dimension("nodes", res.nodes, lambda p: p.nodes, lambda n: plural(n, "node"),
                  lambda n: plural(n, "node")),
        Dimension("cores" if "cores" in res.spans or "tasks_per_node" not in res.spans else "tasks_per_node",
                  per_node, lambda p: p.cores, lambda n: plural(n, "core") + " per node",
                  lambda n: plural(n, "core") + " per node"),
    ]
    if res.memory is not None:
        dims.append(Dimension("memory", res.memory, lambda p: p.memory,
                              lambda n: f"{format_size(n)} of memory per node",
                              lambda n: f"{format_size(n)} of memory per node"))
    if res.gpus > 0:
        dims.append(Dimension("gpus", res.gpus, lambda p: p.gpus, lambda n: plural(n, "GPU") + " per node",
                              lambda n: plural(n, "GPU") + " per node"))
    if res.walltime is not None:
        dims.append(Dimension("walltime", res.walltime, lambda p: p.max_walltime, format_duration,
                              lambda n: f"a walltime of {format_duration(n)}", local=False))
    return dims


def _model_ok(res: ir.ResourceClass, p: ir.Partition) -> bool:
    return not (res.gpus > 0 and res.gpu_model) or (p.gpu_model or "").lower() == res.gpu_model.lower()


@register
class SiteLimits(Check):
    """A resource class must fit some partition of the site it runs on.

    Checked only when a site is bound (`--site`, the one imported site, or a phase's
    own `site = NAME`) and only for resource classes some phase uses. For a Slurm site
    each request (nodes, cores x tasks per node, memory, GPUs, walltime) is compared
    with the largest offer of any partition, and then all of them together with each
    partition; a `gpu_model` must exist on the site. On a `local` site nothing is
    refused: a request larger than the machine is only noted (it runs oversubscribed).

    Anti-pattern::

        resource big { gpus = 8 }   # site generic-slurm: its GPU nodes have 4

    Better::

        resource big { nodes = 2  gpus = 4  launcher = torchrun }
    """

    codes = (codes.EXCEEDS_SITE, codes.GPU_MODEL_UNAVAILABLE, codes.OVERSUBSCRIBED_LOCAL)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        users: dict[tuple[str, str], tuple[ir.ResourceClass, ir.SiteProfile, list[ir.Phase]]] = {}
        for ph in wf.phases:
            res = ctx.scope.resource_of(ph)
            site = effective_site(ctx, ph)
            if res is None or site is None or not site.partitions:
                continue
            users.setdefault((res.name, site.name), (res, site, []))[2].append(ph)
        for res, site, phases in users.values():
            if site.scheduler == "local":
                self._local(ctx, res, site, phases)
            else:
                self._slurm(ctx, res, site, phases)

    def _slurm(self, ctx, res: ir.ResourceClass, site: ir.SiteProfile, phases: list[ir.Phase]) -> None:
        parts = site.partitions
        dims = dimensions(res)
        failed = False
        for d in dims:
            if any(d.fits(p) for p in parts):
                continue
            failed = True
            best = max(parts, key=lambda p: d.limit(p))
            ctx.report(codes.EXCEEDS_SITE, res.where(d.attr), resource=res.name, site=site.name,
                       ask=d.ask_text(d.ask), best=f"at most {d.text(d.limit(best))}, on partition `{best.name}`",
                       related=_users(phases))
        if res.gpus > 0 and res.gpu_model and not any(_model_ok(res, p) for p in parts):
            failed = True
            models = sorted({p.gpu_model for p in parts if p.gpu_model and p.gpus > 0})
            ctx.report(codes.GPU_MODEL_UNAVAILABLE, res.where("gpu_model"), resource=res.name,
                       model=res.gpu_model, site=site.name,
                       models=", ".join(f"`{m}`" for m in models) if models else "no GPU models",
                       related=_users(phases))
        if failed or any(all(d.fits(p) for d in dims) and _model_ok(res, p) for p in parts):
            return
        # each request fits somewhere, but no partition offers all of them at once
        asked = [d for d in dims if d.attr != "nodes" or d.ask > 1]
        ask = _join([d.ask_text(d.ask) for d in asked]) + (" together" if len(asked) > 1 else "")
        if res.gpus > 0 and res.gpu_model:
            ask += f" on `{res.gpu_model}` GPUs"
        # fewest unmet requests; among equals, one with the GPUs asked for (the scarce part)
        closest = min(parts, key=lambda p: (sum(not d.fits(p) for d in dims) + (not _model_ok(res, p)),
                                            res.gpus > 0 and p.gpus < res.gpus, parts.index(p)))
        lacks = [d.text(d.limit(closest)) for d in dims if not d.fits(closest)]
        if not _model_ok(res, closest):
            lacks.append(f"GPU model `{closest.gpu_model or 'none'}`")
        ctx.report(codes.EXCEEDS_SITE, res.where("name"), resource=res.name, site=site.name, ask=ask,
                   best=f"closest: partition `{closest.name}` with {_join(lacks)}", related=_users(phases))

    def _local(self, ctx, res: ir.ResourceClass, site: ir.SiteProfile, phases: list[ir.Phase]) -> None:
        for d in dimensions(res):
            if not d.local or any(d.fits(p) for p in site.partitions):
                continue
            have = max(d.limit(p) for p in site.partitions)
            ctx.report(codes.OVERSUBSCRIBED_LOCAL, res.where(d.attr), resource=res.name, site=site.name,
                       ask=d.ask_text(d.ask), have=d.text(have), related=_users(phases))


def _users(phases: list[ir.Phase]) -> list[Related]:
    """The phases that use a resource class, as a diagnostic's related locations (built
    when a diagnostic is reported, not for every class checked: thousands of phases may
    share one)."""
    return [Related(ph.where("resources"), f"used by {ph.kind} `{ph.name}`") for ph in phases]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
