"""Sizes of jobs: resources from resource classes, walltimes from runtime estimates,
and how a scatter's tasks become submissions (array size limit, throttle).

Shared by lowering and by every pass that changes what a job runs, so that a job's
walltime and array figures always follow from the same rules:

* walltime = max(declared resource walltime, ceil_to_minute(sum over steps of
  runtime x items per task x margin)); the margin applies only to declared runtime
  estimates (a walltime used as the estimate is already an upper bound);
* tasks = ceil(items / chunk); an array job needs ceil(tasks / max_array_size)
  submissions, a per-task job one per task;
* throttle: the site's `max_jobs` (else `max_array_size`) shared evenly by the job's
  submissions, recorded only when it actually limits a submission.
"""

from __future__ import annotations

import math

from aiwfc.ir import models as ir
from aiwfc.plan import estimates as E
from aiwfc.plan.models import ArraySpec, JobResources, JobStep, PlanJob


def resources_of(res: ir.ResourceClass | None, walltime: int) -> JobResources:
    """A job's request from its resource class (no class: one core)."""
    if res is None:
        return JobResources(walltime=walltime)
    return JobResources(nodes=res.nodes, tasks_per_node=res.tasks_per_node, cores=res.cores,
                        memory=res.memory, gpus=res.gpus, gpu_model=res.gpu_model if res.gpus else None,
                        walltime=walltime, launcher=res.launcher, exclusive=res.exclusive)


def items_per_task(job: PlanJob) -> int:
    """Items each scheduler task runs in sequence (per step)."""
    if job.array is None:
        return 1
    return max(1, min(job.array.chunk, job.array.estimate)) if job.array.estimate else job.array.chunk


def step_seconds(step: JobStep, items: int, margin: bool = True) -> float:
    """Estimated seconds of one step over `items` items, with the margin when asked."""
    factor = E.WALLTIME_MARGIN if margin and step.runtime_source == "declared" else 1.0
    return step.runtime * items * factor


def task_seconds(job: PlanJob) -> float:
    """Estimated seconds of one scheduler task of the job, without margin."""
    n = items_per_task(job)
    return sum(step_seconds(s, n, margin=False) for s in job.steps)


def round_walltime(seconds: float) -> int:
    q = E.WALLTIME_QUANTUM_S
    return max(q, int(math.ceil(seconds / q)) * q)


def job_walltime(job: PlanJob, declared: int | None) -> int:
    """Walltime of one scheduler task of `job` (see the module docstring)."""
    n = items_per_task(job)
    est = sum(step_seconds(s, n) for s in job.steps)
    return max(declared or 0, round_walltime(est))


def array_spec(count: int | None, estimate: int, chunk: int, per_task: bool, site: ir.SiteProfile,
               user_batch: bool) -> ArraySpec:
    """Tasks, submissions and throttle of a scatter of `estimate` items in chunks of `chunk`."""
    chunk = max(1, chunk)
    tasks = max(1, math.ceil(estimate / chunk)) if estimate else 0
    limit = site.max_array_size
    if per_task:
        submissions, throttle = tasks, None
    else:
        submissions = max(1, math.ceil(tasks / limit)) if tasks else 1
        largest = min(tasks, limit)
        running = site.max_jobs or limit
        throttle = max(1, running // submissions)
        throttle = throttle if throttle < largest else None
    return ArraySpec(count=count, estimate=estimate, chunk=chunk, tasks=tasks, throttle=throttle,
                     max_array_size=limit, submissions=submissions, user_batch=user_batch)


def resize_array(job: PlanJob, site: ir.SiteProfile, *, chunk: int | None = None,
                 per_task: bool | None = None) -> None:
    """Recomputes a scattering job's array figures after its chunk or submission mode changed."""
    a = job.array
    if a is None:
        return
    per = (job.kind == "per_task") if per_task is None else per_task
    job.array = array_spec(a.count, a.estimate, a.chunk if chunk is None else chunk, per, site, a.user_batch)
    job.kind = "per_task" if per else "array"
