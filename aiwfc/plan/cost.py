"""The cost model: what a plan costs a cluster, from the plan alone.

Figures (everything in a loop region counts `max_iterations` times: the worst case):

* submissions — scheduler submissions (`sbatch` calls): one per single job, one per
  task of a `per_task` job, one per array of at most `max_array_size` tasks;
* array_tasks — tasks of job arrays; scheduler_tasks — every task the scheduler runs
  (array tasks, separate jobs, single jobs);
* shared_fs_bytes — bytes read from or written to the shared file system: dataset reads
  not staged (a `read_many` dataset `READ_MANY_PASSES` times per reading item, a
  per-item dataset one file per item), reads of other jobs' outputs (one value, the
  item's own, or every item's for a gather), outputs that leave their job, stage-in
  copies (once per scheduler task) and archive builds (read + write);
* metadata_ops — files opened or created on the shared file system: the same reads and
  writes counted in files, plus `LOG_FILES_PER_TASK` per scheduler task;
* core_hours, gpu_hours — per item: runtime estimate x cores (x tasks per node x
  nodes) or GPUs (x nodes); a service holds its request while its clients run;
* gpu_hours_cpu_phases — GPU-hours a job holds while it runs a phase whose own
  resource class asks for no GPU (what fusing across resource classes would cost);
* critical_path_s — the longest chain of jobs, each taking waves x (dispatch latency +
  items per task x runtimes), waves = ceil(tasks / tasks allowed to run at once);
  a loop region takes max_iterations x its longest chain; services are off the path.

Data movement time is not in the critical path; it is what the bytes figure is for.
Counts known only at run time use their `estimate` and set `estimated`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from aiwfc.plan import estimates as E
from aiwfc.plan.models import Plan, PlanJob
from aiwfc.plan.sizing import items_per_task, task_seconds


@dataclass
class Cost:
    """The cost-model figures of one plan (see the module docstring)."""

    submissions: int = 0
    array_tasks: int = 0
    scheduler_tasks: int = 0
    shared_fs_bytes: int = 0
    metadata_ops: int = 0
    core_hours: float = 0.0
    gpu_hours: float = 0.0
    gpu_hours_cpu_phases: float = 0.0
    critical_path_s: float = 0.0
    estimated: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("core_hours", "gpu_hours", "gpu_hours_cpu_phases", "critical_path_s"):
            d[k] = round(d[k], 3)
        return d


#: The figures compared before/after each pass, with their column titles.
FIGURES = (("submissions", "submissions"), ("array_tasks", "array tasks"),
           ("shared_fs_bytes", "shared-FS bytes"), ("metadata_ops", "metadata ops"),
           ("core_hours", "core-h"), ("gpu_hours", "GPU-h"), ("gpu_hours_cpu_phases", "GPU-h CPU phases"),
           ("critical_path_s", "critical path"))


def iterations(plan: Plan) -> dict[str, int]:
    """Job id -> how many times it runs (its loop's bound, else once)."""
    bound = {loop.name: loop.max_iterations for loop in plan.loops}
    return {j.id: bound.get(j.loop, 1) if j.loop else 1 for j in plan.jobs}


def plan_cost(plan: Plan) -> Cost:
    """Every figure of the cost model for `plan`."""
    c = Cost()
    times = iterations(plan)
    datasets = {d.name: d for d in plan.datasets}
    outputs = {(s.phase, o.port): (s, o) for j in plan.jobs for s in j.steps for o in s.outputs}
    ops = {d.id: d for d in plan.data_ops}
    for job in plan.jobs:
        m = times[job.id]
        tasks = job.tasks
        c.submissions += job.submissions * m
        c.scheduler_tasks += tasks * m
        if job.kind == "array":
            c.array_tasks += tasks * m
        if job.array is not None and (job.array.count is None or _carried(job)):
            c.estimated = True
        c.metadata_ops += E.LOG_FILES_PER_TASK * tasks * m
        for step in job.steps:
            n = step.items.estimate if step.items is not None else 1
            b, f = _step_io(step, n, datasets, outputs)
            c.shared_fs_bytes += b * m
            c.metadata_ops += f * m
            if job.role == "service":
                continue
            hours = n * step.runtime / 3600 * m
            r = job.resources
            c.core_hours += hours * r.cores * r.tasks_per_node * r.nodes
            c.gpu_hours += hours * r.gpus * r.nodes
            if r.gpus and not step.gpus:
                c.gpu_hours_cpu_phases += hours * r.gpus * r.nodes
        for op_id in job.data_ops:
            op = ops[op_id]
            k = (tasks if op.per == "task" else 1) * m
            if op.kind == "stage_in":
                c.shared_fs_bytes += (op.bytes or 0) * k
                c.metadata_ops += (op.files or 0) * k
            elif op.kind == "aggregate":
                c.shared_fs_bytes += 2 * (op.bytes or 0) * k
                c.metadata_ops += ((op.files or 0) + 1) * k
            elif op.kind == "cleanup":
                c.metadata_ops += 1 * k
    path, spans = _critical_path(plan, times)
    c.critical_path_s = path
    for svc in plan.services:
        job = plan.job(svc.job)
        if job is None:
            continue
        span = spans.get(svc.job) or sum(s.runtime for s in job.steps)
        r = job.resources
        c.core_hours += span / 3600 * r.cores * r.tasks_per_node * r.nodes
        c.gpu_hours += span / 3600 * r.gpus * r.nodes
    return c


def _carried(job: PlanJob) -> bool:
    return any(s.items is not None and s.items.carried_from for s in job.steps)


def _step_io(step, n: int, datasets, outputs) -> tuple[int, int]:
    """Shared-FS bytes and metadata operations of `n` items of one step (no data ops)."""
    nbytes = files = 0
    for use in step.datasets:
        ds = datasets.get(use.dataset)
        if ds is None or use.location == "scratch":
            continue
        size, count = ds.size or 0, ds.files or 1
        if use.mode == "per_item":
            per = ds.files or n
            nbytes += n * size // max(1, per)
            files += n
        else:
            passes = E.READ_MANY_PASSES if ds.access == "read_many" else 1
            nbytes += n * size * passes
            files += n * count * passes
    seen = set()
    for binding in step.inputs:
        for src in binding.sources:
            key = (src.phase, src.port, src.mode)
            if key in seen or src.location == "scratch" or (src.phase, src.port) not in outputs:
                continue
            seen.add(key)
            producer, out = outputs[(src.phase, src.port)]
            reads = producer.items.estimate if src.mode == "gather" and producer.items is not None else 1
            nbytes += n * reads * out.bytes
            files += n * reads * out.files
    for out in step.outputs:
        if out.location == "shared":
            nbytes += n * out.bytes
            files += n * out.files
    return nbytes, files


def job_seconds(plan: Plan, job: PlanJob) -> float:
    """One run of a job on an idle cluster: waves x (dispatch latency + one task's time)."""
    if job.role == "service":
        return 0.0
    if not job.steps:
        seconds = 0.0
        ops = {d.id: d for d in plan.data_ops if d.job == job.id}
        for op_id in job.data_ops:
            op = ops.get(op_id)
            if op is not None and op.kind == "aggregate":
                seconds += (op.bytes or 0) / E.ARCHIVE_BYTES_PER_S + (op.files or 0) * E.ARCHIVE_S_PER_FILE
        return E.DISPATCH_LATENCY_S + seconds
    tasks = job.tasks
    if job.kind == "array":
        per_array = job.array.throttle or min(tasks, job.array.max_array_size)
        running = min(tasks, per_array * job.array.submissions)
    elif job.kind == "per_task":
        running = min(tasks, plan.max_jobs or tasks)
    else:
        running = 1
    waves = math.ceil(tasks / max(1, running)) if tasks else 0
    return waves * (E.DISPATCH_LATENCY_S + task_seconds(job))


def _critical_path(plan: Plan, times: dict[str, int]) -> tuple[float, dict[str, float]]:
    """Length of the longest chain, and each service's client span (for its hours).

    Each loop region is condensed into one node that takes max_iterations x the longest
    chain of one iteration; the condensed graph is then walked in dependency order.
    """
    loop_of = {j.id: j.loop for j in plan.jobs}
    dur = {j.id: job_seconds(plan, j) for j in plan.jobs}
    node = {j: (f"loop:{loop_of[j]}" if loop_of[j] else j) for j in dur}
    into: dict[str, list[str]] = {}
    for d in plan.dependencies:
        if d.source in dur and d.target in dur:
            into.setdefault(d.target, []).append(d.source)
    length: dict[str, float] = {}
    for loop in plan.loops:
        members = set(loop.jobs)
        finish: dict[str, float] = {}
        for j in plan.jobs:  # plan.jobs is in dependency order
            if j.id in members:
                begin = max((finish.get(s, 0.0) for s in into.get(j.id, ()) if s in members), default=0.0)
                finish[j.id] = begin + dur[j.id]
        length[f"loop:{loop.name}"] = max(finish.values(), default=0.0) * loop.max_iterations
    preds: dict[str, set[str]] = {}
    for j in plan.jobs:
        n = node[j.id]
        preds.setdefault(n, set()).update(node[s] for s in into.get(j.id, ()) if node[s] != n)
        length.setdefault(n, dur[j.id])
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    for n in _topo(preds):
        start[n] = max((finish[p] for p in preds[n] if p in finish), default=0.0)
        finish[n] = start[n] + length[n]
    spans = {}
    for svc in plan.services:
        ends = [(start[node[c]], finish[node[c]]) for c in svc.clients if node.get(c) in finish]
        if ends:
            spans[svc.job] = max(e for _, e in ends) - min(s for s, _ in ends)
    return max(finish.values(), default=0.0), spans


def _topo(preds: dict[str, set[str]]) -> list[str]:
    """Nodes in dependency order (insertion order among equals; a cycle's nodes last)."""
    succ: dict[str, list[str]] = {n: [] for n in preds}
    indeg = {n: 0 for n in preds}
    for n, ps in preds.items():
        for p in ps:
            if p in succ:
                succ[p].append(n)
                indeg[n] += 1
    ready = [n for n in preds if indeg[n] == 0]
    out = []
    while ready:
        n = ready.pop()
        out.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    done = set(out)
    return out + [n for n in preds if n not in done]
