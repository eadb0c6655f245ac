"""A topological executor for plans, the oracle of the semantics-preservation tests.

A plan is run as a set of *units*: (job, iteration, scheduler task). A unit becomes
ready when every dependency of its job holds (all-of / after-any: every task of the
source in the matching iteration; element-wise: the source's task with the same index)
and, inside a loop region, when the whole previous iteration of that loop has ended.
The units ready at one moment run in a random (seeded) order, so repeated runs explore
different legal schedules. Running a unit records what it runs, in order: for each step, each
item of its chunk, as the *entry* (phase, item, iteration) — item None for a phase
that does not scatter. Loops run `max_iterations` times (the worst case), run-time
lists their estimated size: the same conventions as the cost model.

`constraints(plan)` turns a plan's dependencies and loops into "all entries of A before
any entry of B" pairs at entry level; the tests derive them from the -O0 plan (the one
a naive tool would submit, one job per phase, straight from the graph) and check that
every schedule of the optimised plan meets them and runs every entry exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from aiwfc.plan.models import Plan, PlanJob

Entry = tuple[str, "int | None", int]   # (phase, item, iteration)
Unit = tuple[str, int, int]             # (job, iteration, task)


def _iterations(plan: Plan) -> dict[str, int]:
    bound = {loop.name: loop.max_iterations for loop in plan.loops}
    return {j.id: bound[j.loop] if j.loop else 1 for j in plan.jobs}


def unit_entries(job: PlanJob, iteration: int, task: int) -> list[Entry]:
    """What scheduler task `task` of `job` runs in `iteration`, in order (see module doc)."""
    out: list[Entry] = []
    chunk = job.array.chunk if job.array is not None else 1
    for step in job.steps:
        if step.items is None:
            out.append((step.phase, None, iteration))
            continue
        count = step.items.estimate
        for item in range(task * chunk, min((task + 1) * chunk, count)):
            out.append((step.phase, item, iteration))
    return out


def units(plan: Plan) -> list[Unit]:
    times = _iterations(plan)
    return [(j.id, k, t) for j in plan.jobs for k in range(times[j.id]) for t in range(j.tasks)]


def _source_iteration(plan: Plan, source: PlanJob, target: PlanJob, k: int) -> int:
    """Which run of `source` a run `k` of `target` waits for (module doc of models.py)."""
    if source.loop is not None and source.loop == target.loop:
        return k
    if source.loop is not None:
        return _iterations(plan)[source.id] - 1
    return 0


@dataclass
class Schedule:
    """One run of a plan: the entries in the order they ran."""

    order: list[Entry]

    def counts(self) -> Counter:
        return Counter(self.order)


def execute(plan: Plan, seed: int) -> Schedule:
    """Runs `plan` once, choosing among ready units at random with `seed`."""
    rng = random.Random(seed)
    jobs = {j.id: j for j in plan.jobs}
    times = _iterations(plan)
    deps_in: dict[str, list] = {j.id: [] for j in plan.jobs}
    for d in plan.dependencies:
        deps_in[d.target].append(d)
    loop_jobs = {loop.name: loop.jobs for loop in plan.loops}
    done: set[Unit] = set()
    pending = set(units(plan))
    order: list[Entry] = []

    def run_done(job_id: str, k: int) -> bool:
        return all((job_id, k, t) in done for t in range(jobs[job_id].tasks))

    def ready(u: Unit) -> bool:
        job_id, k, t = u
        job = jobs[job_id]
        for d in deps_in[job_id]:
            src = jobs[d.source]
            ks = _source_iteration(plan, src, job, k)
            if d.kind == "elementwise" and src.tasks == job.tasks:
                if (src.id, ks, t) not in done:
                    return False
            elif not run_done(src.id, ks):
                return False
        if job.loop is not None and k > 0:
            return all(run_done(other, k - 1) for other in loop_jobs[job.loop])
        return True

    while pending:
        # every unit ready now stays ready while the others run, so running all of them in
        # a random order is one legal schedule (and keeps the executor linear in rounds)
        wave = sorted(u for u in pending if ready(u))
        if not wave:
            raise AssertionError(f"plan deadlocks with {len(pending)} units left, e.g. {sorted(pending)[:3]}")
        rng.shuffle(wave)
        for u in wave:
            pending.remove(u)
            done.add(u)
            order.extend(unit_entries(jobs[u[0]], u[1], u[2]))
    assert len(done) == len(units(plan)) and times is not None
    return Schedule(order)


def constraints(plan: Plan) -> list[tuple[list[Entry], list[Entry]]]:
    """(before, after) entry groups: every entry of `before` must precede all of `after`."""
    jobs = {j.id: j for j in plan.jobs}
    times = _iterations(plan)
    out = []
    for d in plan.dependencies:
        src, dst = jobs[d.source], jobs[d.target]
        for k in range(times[dst.id]):
            ks = _source_iteration(plan, src, dst, k)
            if d.kind == "elementwise" and src.tasks == dst.tasks:
                for t in range(dst.tasks):
                    out.append((unit_entries(src, ks, t), unit_entries(dst, k, t)))
            else:
                before = [e for t in range(src.tasks) for e in unit_entries(src, ks, t)]
                after = [e for t in range(dst.tasks) for e in unit_entries(dst, k, t)]
                out.append((before, after))
    for loop in plan.loops:
        for k in range(1, loop.max_iterations):
            group = [(jobs[j], t) for j in loop.jobs for t in range(jobs[j].tasks)]
            out.append(([e for j, t in group for e in unit_entries(j, k - 1, t)],
                        [e for j, t in group for e in unit_entries(j, k, t)]))
    return [(b, a) for b, a in out if b and a]


def violations(schedule: Schedule, rules: list[tuple[list[Entry], list[Entry]]]) -> list[str]:
    """Which rules a schedule breaks (empty: it respects every dependency)."""
    pos = {e: i for i, e in enumerate(schedule.order)}
    bad = []
    for before, after in rules:
        last = max(pos[e] for e in before)
        first = min(pos[e] for e in after)
        if last > first:
            late = max(before, key=pos.__getitem__)
            early = min(after, key=pos.__getitem__)
            bad.append(f"{late} ran after {early}")
    return bad
