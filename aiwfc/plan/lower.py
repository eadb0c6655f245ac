"""Lowering: a checked workflow to its -O0 plan, what a naive tool would submit.

One scheduler job per phase; a scattering phase is one `per_task` job (one submission
per task, a task being one item, or `batch` items when the workflow says so) kept as
a single `PlanJob` however many items it has, so that a 100,000-item sweep lowers in
constant space while the cost model still counts 100,000 submissions. No staging:
every task reads its datasets and inputs from, and writes its outputs to, the shared
file system. Dependencies come straight from the graph: one per (producer job,
consumer job) pair, `elementwise` when the consumer scatters one to one over the
producer's items in the same loop with the same chunk, `all_of` otherwise; service
addresses are not dependencies but `services` entries. No partition is chosen.
"""

from __future__ import annotations

from pathlib import Path

from aiwfc.ir import models as ir
from aiwfc.ir.construct import construct
from aiwfc.plan.facts import WorkflowFacts
from aiwfc.plan.models import (DataOp, ItemSpace, JobStep, LoopCarryPlan, LoopRegion, Plan, PlanDataset,
                               PlanDependency, PlanJob, PlanModel, PortBinding, PortSource, ServiceBinding,
                               StopPlan)
from aiwfc.plan.sizing import array_spec, job_walltime, resources_of
from aiwfc.semantic import Scope, const_value

PLACEMENT = {"tight": "same_node", "semi": "same_allocation", "loose": "separate"}


def declared_walltime(job: PlanJob, scope: Scope) -> int | None:
    """The largest walltime the resource classes of a job's steps declare."""
    values = [scope.resources[s.resource_class].walltime for s in job.steps
              if s.resource_class in scope.resources and scope.resources[s.resource_class].walltime]
    return max(values) if values else None


def lower(facts: WorkflowFacts, site: ir.SiteProfile, *, site_defaulted: bool, source: str) -> Plan:
    """The -O0 plan of `facts.workflow` on `site` (see the module docstring)."""
    wf = facts.workflow
    scope = facts.scope
    jobs = [_job(facts, name, site) for name in facts.order]
    plan = Plan(workflow=wf.name, motif=wf.motif, source_file=Path(source).name, site=site.name,
                site_defaulted=site_defaulted, scheduler=site.scheduler, max_array_size=site.max_array_size,
                cluster_target=site.cluster_target, max_jobs=site.max_jobs, level=0,
                params=dict(facts.params), jobs=jobs)
    used = {u.dataset for name in facts.order for u in facts.datasets[name]}
    plan.datasets = [PlanDataset(**ds.model_dump(exclude={"span", "spans"}))
                     for name, ds in sorted(scope.datasets.items()) if name in used]
    plan.dependencies = _dependencies(facts, plan)
    plan.loops = [_loop(fb, scope) for fb in wf.feedbacks]
    plan.services = [_service(facts, name) for name in facts.order if scope.phases[name].kind == "service"]
    return plan


def _step(facts: WorkflowFacts, ph: ir.Phase) -> JobStep:
    runtime, source = facts.runtime[ph.name]
    res = facts.scope.resource_of(ph)
    bindings: dict[str, PortBinding] = {}
    for r in facts.reads[ph.name]:
        if r.port == "address" and facts.scope.phases[r.producer].kind == "service":
            continue
        b = bindings.get(r.via)
        if b is None:
            b = bindings[r.via] = construct(PortBinding, input=r.via.split(":", 1)[-1], expr=r.expr)
        b.sources.append(construct(PortSource, phase=r.producer, port=r.port, job=r.producer,
                                   mode=_mode(facts, r.producer, ph.name, r.via)))
    line = ph.span.line if ph.span is not None else None
    return JobStep(phase=ph.name, kind=ph.kind, line=line, items=facts.items[ph.name], command=ph.command,
                   image=ph.image, resource_class=ph.resources, env=dict(ph.env), when=ph.when,
                   uses=list(ph.uses), inputs=list(bindings.values()),
                   datasets=clone(facts.datasets[ph.name]), outputs=clone(facts.outputs[ph.name]),
                   track=list(ph.track),
                   gpus=res.gpus if res is not None else 0, runtime=runtime, runtime_source=source,
                   retries=ph.retries)


def _mode(facts: WorkflowFacts, producer: str, consumer: str, via: str) -> str:
    """How a consumer's task reads a producer's output: one value, its own item's, or all."""
    ps, cs = facts.items.get(producer), facts.items.get(consumer)
    if ps is None:
        return "single"
    if via == "foreach" and cs is not None and cs.root == ps.root:
        return "elementwise"
    return "gather"


def _job(facts: WorkflowFacts, name: str, site: ir.SiteProfile) -> PlanJob:
    ph = facts.scope.phases[name]
    step = _step(facts, ph)
    res = facts.scope.resource_of(ph)
    job = PlanJob(id=name, role="service" if ph.kind == "service" else "compute", kind="single",
                  distributed=bool(res and res.nodes > 1), steps=[step], resources=resources_of(res, 0),
                  retries=ph.retries, loop=facts.loop_of(name), site=ph.site)
    space = step.items
    if space is not None:
        batch = ph.foreach.batch
        job.kind = "per_task"
        job.array = array_spec(space.count, space.estimate, batch or 1, True, site, batch is not None)
    job.resources.walltime = job_walltime(job, declared_walltime(job, facts.scope))
    return job


def _dependencies(facts: WorkflowFacts, plan: Plan) -> list[PlanDependency]:
    jobs = {j.id: j for j in plan.jobs}
    found: dict[tuple[str, str], PlanDependency] = {}
    for job in plan.jobs:
        for step in job.steps:
            for b in step.inputs:
                for s in b.sources:
                    key = (s.job, job.id)
                    if s.job == job.id:
                        continue
                    dep = found.get(key)
                    if dep is None:
                        dep = found[key] = construct(PlanDependency, kind="elementwise", source=s.job, target=job.id)
                    dep.ports.append(f"{s.phase}.{s.port} -> {step.phase}.{b.input}")
                    if not (s.mode == "elementwise" and same_shape(jobs[s.job], job)):
                        dep.kind = "all_of"
    order = {j.id: i for i, j in enumerate(plan.jobs)}
    out = sorted(found.values(), key=lambda d: (order[d.source], order[d.target]))
    for d in out:
        d.ports = sorted(set(d.ports))
    return out


def same_shape(a: PlanJob, b: PlanJob) -> bool:
    """Whether task t of `b` can wait for task t of `a` alone (Slurm's `aftercorr`)."""
    if a.array is None or b.array is None or a.loop != b.loop:
        return False
    ra = a.steps[0].items.root if a.steps and a.steps[0].items else None
    rb = b.steps[0].items.root if b.steps and b.steps[0].items else None
    return ra is not None and ra == rb and a.array.chunk == b.array.chunk \
        and a.array.estimate == b.array.estimate


def _loop(fb: ir.Feedback, scope: Scope) -> LoopRegion:
    bound = const_value(fb.max_iterations, scope.params) if fb.max_iterations is not None else None
    if not isinstance(bound, int) or isinstance(bound, bool) or bound < 1:
        bound = 1
    cond, kind = (fb.until, "until") if fb.until is not None else \
        (fb.while_, "while") if fb.while_ is not None else (None, "none")
    body = [n for n in fb.body if n in scope.phases]
    return LoopRegion(name=fb.name, jobs=list(body), phases=body, condition=cond, condition_kind=kind,
                      max_iterations=bound, max_iterations_expr=fb.max_iterations,
                      carries=[LoopCarryPlan(target=c.target, value=c.value, job=c.target.split(".")[0])
                               for c in fb.next],
                      stops=[StopPlan(phase=s.phase, job=s.phase, when=s.when) for s in fb.stop])


def _service(facts: WorkflowFacts, name: str) -> ServiceBinding:
    coupling = facts.scope.phases[name].coupling or "semi"
    clients = facts.clients.get(name, [])
    return ServiceBinding(service=name, job=name, clients=list(clients), client_phases=list(clients),
                          coupling=coupling, placement=PLACEMENT[coupling])


_new = object.__new__
_set = object.__setattr__
_LEAVES = frozenset({str, int, float, bool, type(None)})


def clone(value):
    """A copy of a plan (or any part of one) that passes may change without touching the original.

    `build_plan` lowers once and optimises a clone, keeping the original as the -O0
    baseline: lowering validates every model, which on a 10,000-phase workflow costs
    more than all the passes, while the lowered values are valid already. Models are
    rebuilt the way `model_construct` does without validating, lists and dicts copied;
    what lowering shares rather than copies is shared here too (item spaces, the IR's
    expression objects and other leaves), so the clone is the plan a second lowering
    would give.
    """
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is list:
        return [v if type(v) in _LEAVES else clone(v) for v in value]
    if kind is dict:
        return {k: v if type(v) in _LEAVES else clone(v) for k, v in value.items()}
    if isinstance(value, PlanModel) and kind is not ItemSpace:
        new = _new(kind)
        _set(new, "__dict__", {k: v if type(v) in _LEAVES else clone(v) for k, v in value.__dict__.items()})
        _set(new, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        _set(new, "__pydantic_extra__", None)
        _set(new, "__pydantic_private__", None)
        return new
    return value


def new_data_op(plan: Plan, job: PlanJob, op_id: str | None = None, **fields) -> DataOp:
    """Adds a data operation performed by `job`, with an id that says what it is
    (`stage_in:fit:train` = kind:job:subject unless given), and returns it."""
    subject = fields.get("dataset") or fields.get("phase") or ""
    op = DataOp(id=op_id or f"{fields['kind']}:{job.id}:{subject}", job=job.id, **fields)
    plan.data_ops.append(op)
    job.data_ops.append(op.id)
    return op
