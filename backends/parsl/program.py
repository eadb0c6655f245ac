"""`run.py`: the part of the Parsl program that is particular to one workflow.

It holds data, not logic: the phases with the phases they wait for, their chunk (items per
app: a bundle), their throttle and executor; one executor per resource class with what
its Slurm blocks ask for; the site profile's scheduler settings. `aiwf_parsl.main` does
the rest. Writing the data as Python literals through the emitter keeps the program
readable, deterministic (no clock, fixed order) and commented with the source line each
phase comes from.
"""

from __future__ import annotations

from aiwfc.backend import EmitContext
from aiwfc.emitter import Emitter, python_literal
from aiwfc.graph import graph_of
from aiwfc.plan.models import Plan, PlanJob
from aiwfc.tracking import resolve_track

__all__ = ["emit_program", "executor_label"]

DEFAULT_EXECUTOR = "default"


def executor_label(job: PlanJob | None) -> str:
    """The executor a job's apps run on: its resource class (one executor per class)."""
    if job is None:
        return DEFAULT_EXECUTOR
    return next((s.resource_class for s in job.steps if s.resource_class), None) or DEFAULT_EXECUTOR


def _executors(ctx: EmitContext, plan: Plan) -> dict[str, dict]:
    """Per resource class: the largest request of its jobs (a block must fit every task
    that runs on it) and how many workers one node holds."""
    site = ctx.site
    out: dict[str, dict] = {}
    for job in plan.jobs:
        if job.role != "compute" and job.role != "service":
            continue
        label = executor_label(job)
        r = job.resources
        cur = out.setdefault(label, {"partition": r.partition, "cores": r.cores, "memory": r.memory,
                                     "gpus": r.gpus, "gpu_model": r.gpu_model, "walltime": r.walltime})
        cur["cores"] = max(cur["cores"], r.cores)
        cur["memory"] = max(cur["memory"] or 0, r.memory or 0) or None
        cur["gpus"] = max(cur["gpus"], r.gpus)
        cur["walltime"] = max(cur["walltime"], r.walltime)
    for label, cur in out.items():
        part = site.partition(cur["partition"]) if site is not None and cur["partition"] else None
        node_cores = part.cores if part is not None else cur["cores"]
        workers = max(1, node_cores // max(1, cur["cores"]))
        if cur["gpus"] and part is not None and part.gpus:
            workers = min(workers, max(1, part.gpus // cur["gpus"]))
        if cur["memory"] and part is not None and part.memory:
            workers = min(workers, max(1, int(part.memory) // cur["memory"]))
        if part is not None and part.max_walltime:
            cur["walltime"] = min(cur["walltime"], int(part.max_walltime))
        cur["workers"] = workers
        # a block (one Slurm job on one node) holds `workers` tasks: it asks for all of them
        cur["block_memory"] = cur["memory"] * workers if cur["memory"] else None
        cur["block_gpus"] = cur["gpus"] * workers
    return dict(sorted(out.items()))


def phase_dependencies(plan: Plan, graph, phase: str) -> list[str]:
    """The phases `phase` waits for, from the plan's dependencies between jobs (the sources'
    phases) and the earlier steps of its own job (a fused job runs them first). The plan's
    `elementwise` dependencies are waited for whole: Parsl wires futures phase by phase. A
    phase the plan puts in no job keeps the graph's edges."""
    job_of = plan.job_of_phase()
    job = plan.job(job_of.get(phase, ""))
    if job is None:
        return sorted(graph.preds(phase))
    after = set(job.phases[:job.phases.index(phase)])
    for dep in plan.dependencies:
        source = plan.job(dep.source)
        if dep.target == job.id and source is not None:
            after.update(source.phases)
    return sorted(after)


def emit_program(ctx: EmitContext, spec: dict) -> str:
    """The text of run.py for `ctx.workflow` (spec: the runtime spec, for the phase order)."""
    plan: Plan = ctx.plan.plan
    wf = ctx.workflow
    scope = ctx.scope
    graph = graph_of(ctx.comp, wf)
    job_of = plan.job_of_phase()
    e = Emitter(comment_prefix="#", indent_unit="    ", names=ctx.source_name)
    e.line("#!/usr/bin/env python3")
    e.header(f"Parsl program of workflow `{wf.name}`", ctx.source,
             extra=("Run: python3 run.py [--config local|slurm] [--run-dir DIR]  (needs parsl; see aiwf_parsl.py)",))
    e.line('"""The workflow as data; aiwf_parsl.py runs it with Parsl, aiwf_task.py runs each task."""')
    e.line()
    e.line("import sys")
    e.line("from pathlib import Path")
    e.line()
    e.line("sys.path.insert(0, str(Path(__file__).resolve().parent))")
    e.line("import aiwf_parsl  # noqa: E402")
    e.line()
    e.line(f"WORKFLOW = {python_literal(wf.name)}")
    e.line(f"SOURCE = {python_literal(ctx.source)}")
    e.line(f"PLAN_LEVEL = {plan.level}")
    # experiment tracking as compiled (compile's --track/--no-track, the workflow's `track`,
    # else its site's); run.py --track/--no-track overrides it
    track = resolve_track(ctx.options.get("track"), wf.track, ctx.site.track if ctx.site else None)
    e.line(f"TRACK = {python_literal(None if track is None else ':'.join(filter(None, track)))}")
    e.line()
    e.comment("Phase -> what its apps need: the phases it waits for (the plan's dependencies), items")
    e.comment("per app (a bundle), how many of its apps may run at once, the executor (its resource class).")
    e.line("PHASES = {")
    with e.indent():
        for name in spec["order"]:
            ph = scope.phases[name]
            job = plan.job(job_of.get(name, name))
            sp = spec["phases"][name]
            throttle = job.array.throttle if job is not None and job.array is not None else None
            entry = {"kind": ph.kind, "after": phase_dependencies(plan, graph, name), "chunk": sp["chunk"],
                     "throttle": throttle,
                     "loop": sp["loop"], "service": ph.kind == "service", "uses": list(ph.uses),
                     "executor": executor_label(job)}
            e.source(ph.where("name") or ph.span, f"{ph.kind} {name}")
            e.line(f"{python_literal(name)}: {python_literal(entry)},")
    e.line("}")
    e.line()
    e.comment("Resource class -> one executor; with --config slurm each is a SlurmProvider whose blocks")
    e.comment("ask for this per task (memory in bytes, walltime in seconds), and per block for `workers` tasks.")
    e.line("EXECUTORS = {")
    with e.indent():
        for label, res in _executors(ctx, plan).items():
            rc = scope.resources.get(label)
            if rc is not None:
                e.source(rc.where("name") or rc.span, f"resource {label}")
            e.line(f"{python_literal(label)}: {python_literal(res)},")
    e.line("}")
    e.line()
    site = ctx.site
    site_doc = {"name": site.name if site else plan.site, "scheduler": site.scheduler if site else "slurm",
                "account": site.account if site else None, "qos": site.qos if site else None,
                "modules": list(site.modules) if site else [], "gpu_request": site.gpu_request if site else "gres",
                "container_runtime": site.container_runtime if site else "apptainer"}
    if site is not None and site.span is not None:
        e.source(site.span, f"site {site.name}")
    e.line(f"SITE = {python_literal(site_doc)}")
    e.line()
    e.line('if __name__ == "__main__":')
    with e.indent():
        e.line("sys.exit(aiwf_parsl.main(sys.argv[1:], globals()))")
    return e.text()
