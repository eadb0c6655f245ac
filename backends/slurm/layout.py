"""How the plan's jobs become Slurm submissions: units, regions, and what each waits for.

The plan says which jobs exist and which depend on which; Slurm adds three constraints
that decide the shape of `submit.sh`:

* A dependency names a job id, so a job is submitted after everything it waits for,
  and an array's size is fixed at submission. A job whose item count is known only at
  run time (`foreach x in other.list`, or a loop-carried list) is therefore submitted as
  an *expander* (a tiny job that waits for the job's producers, counts the items with
  `aiwf_task.py items`, and submits the real array) plus a *sentinel* (a no-op job that
  the job's dependents wait for; the expander points its dependency at the array it
  submitted, with `scontrol update`, before it ends).
* A feedback loop's later iterations do not exist when `submit.sh` runs: a *controller*
  job after each iteration decides (`aiwf_task.py loop`) and submits the next one; the
  loop's *tail* sentinel, which jobs after the loop wait for, is pointed at the newest
  controller. Failure anywhere cancels what waits (`--kill-on-invalid-dep=yes`).
* A service and its clients in one allocation (`same_allocation`, `same_node`) are one
  *co-scheduled* job; the plan's service job absorbs its clients.

`Layout` computes this once: `units` (submission units: a plan job, or a co-scheduled
group named after its service job), `top` (the order `submit.sh` submits units and
loops in), and `waits` (per unit, what it waits for, already mapped to units, loop tails
and the kind of Slurm dependency).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiwfc.plan.models import LoopRegion, Plan, PlanJob, ServiceBinding

__all__ = ["Unit", "Wait", "Layout", "build_layout", "safe_name"]


def safe_name(job_id: str) -> str:
    """A plan job id as a file-name and shell-function-name part (`aggregate.many` -> `aggregate_many`)."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in job_id)


@dataclass
class Unit:
    """One submission: a plan job, or a service with the clients that share its allocation."""

    id: str
    job: PlanJob
    clients: list[PlanJob] = field(default_factory=list)
    service: ServiceBinding | None = None

    @property
    def loop(self) -> str | None:
        return self.job.loop

    @property
    def dynamic(self) -> bool:
        """The item count is known only at run time (or changes per iteration)."""
        a = self.job.array
        if a is None or self.clients:
            return False
        items = next((s.items for s in self.job.steps if s.items is not None), None)
        return a.count is None or (items is not None and items.carried_from is not None)

    @property
    def items_phase(self) -> str | None:
        return next((s.phase for s in self.job.steps if s.items is not None), None)

    @property
    def is_array(self) -> bool:
        return self.job.array is not None and self.job.kind == "array" and not self.clients

    @property
    def per_task(self) -> bool:
        return self.job.array is not None and self.job.kind == "per_task" and not self.clients

    @property
    def single_submission_array(self) -> bool:
        return self.is_array and not self.dynamic and self.job.array.submissions == 1


@dataclass(frozen=True)
class Wait:
    """`target` waits for `source` (a unit id, or `loop:NAME` for a loop's tail).

    `slurm` is the dependency type: afterok, aftercorr (task t after task t) or afterany;
    `outside` marks a wait from inside a loop on something before it (iteration 0 only).
    """

    source: str
    slurm: str
    outside: bool = False


@dataclass
class Layout:
    plan: Plan
    units: dict[str, Unit]
    unit_of: dict[str, str]
    waits: dict[str, list[Wait]]
    top: list[tuple[str, str]]          # ("unit", id) | ("loop", name), in submission order
    loop_units: dict[str, list[str]]    # loop name -> its units in submission order

    def loop(self, name: str) -> LoopRegion:
        return next(lp for lp in self.plan.loops if lp.name == name)


def _groups(plan: Plan) -> tuple[dict[str, Unit], dict[str, str]]:
    """Units, with clients merged into their service's allocation when the plan says so
    and the clients are single jobs outside loops (anything else keeps its own job)."""
    units: dict[str, Unit] = {j.id: Unit(j.id, j) for j in plan.jobs}
    unit_of = {j.id: j.id for j in plan.jobs}
    for svc in plan.services:
        sjob = plan.job(svc.job)
        if sjob is None or svc.placement == "separate" or sjob.loop is not None:
            continue
        clients = [plan.job(c) for c in svc.clients]
        if not clients or any(c is None or c.array is not None or c.loop is not None or c.distributed
                              or unit_of.get(c.id) != c.id for c in clients):
            continue
        unit = units[sjob.id]
        unit.service = svc
        unit.clients = clients
        for c in clients:
            unit_of[c.id] = sjob.id
            del units[c.id]
    for j in plan.jobs:  # a separate service still knows it is one (for its stop job)
        for svc in plan.services:
            if svc.job == j.id and j.id in units and units[j.id].service is None:
                units[j.id].service = svc
    return units, unit_of


def build_layout(plan: Plan) -> Layout:
    """The submission layout of a plan (see the module docstring)."""
    units, unit_of = _groups(plan)
    loop_of_unit = {u.id: u.loop for u in units.values()}
    waits: dict[str, list[Wait]] = {u: [] for u in units}
    for dep in plan.dependencies:
        s, t = unit_of.get(dep.source), unit_of.get(dep.target)
        if s is None or t is None or s == t:
            continue
        sl, tl = loop_of_unit[s], loop_of_unit[t]
        kind = {"all_of": "afterok", "after_any": "afterany", "elementwise": "aftercorr"}[dep.kind]
        if kind == "aftercorr" and not (units[s].single_submission_array and units[t].single_submission_array
                                        and units[s].job.array.tasks == units[t].job.array.tasks):
            kind = "afterok"  # Slurm pairs tasks only between two arrays of one submission each
        if sl is not None and sl != tl:
            source = f"loop:{sl}"   # after the loop's last iteration
            kind = "afterany" if kind == "afterany" else "afterok"
        else:
            source = s
        wait = Wait(source, kind, outside=tl is not None and sl != tl)
        if wait not in waits[t]:
            waits[t].append(wait)
    # submission order: units and loops as nodes, plan order breaks ties
    order = [unit_of[j.id] for j in plan.jobs]
    seen_units: list[str] = []
    for u in order:
        if u not in seen_units:
            seen_units.append(u)
    node_of = {u: (f"loop:{loop_of_unit[u]}" if loop_of_unit[u] else u) for u in seen_units}
    nodes: list[str] = []
    for u in seen_units:
        if node_of[u] not in nodes:
            nodes.append(node_of[u])
    preds: dict[str, set[str]] = {n: set() for n in nodes}
    for t, ws in waits.items():
        for w in ws:
            src = w.source if w.source.startswith("loop:") else node_of[w.source]
            if src != node_of[t]:
                preds[node_of[t]].add(src)
    top: list[tuple[str, str]] = []
    done: set[str] = set()
    while len(done) < len(nodes):
        ready = next((n for n in nodes if n not in done and preds[n] <= done), None)
        if ready is None:  # a cycle cannot come out of the planner; keep plan order
            ready = next(n for n in nodes if n not in done)
        done.add(ready)
        top.append(("loop", ready[5:]) if ready.startswith("loop:") else ("unit", ready))
    loop_units = {lp.name: [u for u in seen_units if loop_of_unit[u] == lp.name] for lp in plan.loops}
    return Layout(plan, units, unit_of, waits, top, loop_units)
