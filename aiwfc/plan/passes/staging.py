"""Stage-in of read-many datasets to node-local scratch, and stage-out of results."""

from __future__ import annotations

from aiwfc.ir.units import format_size
from aiwfc.plan import estimates as E
from aiwfc.plan.lower import new_data_op
from aiwfc.plan.models import Plan
from aiwfc.plan.passes.base import Pass, PassContext
from aiwfc.plan.relink import relink

#: Tiers a dataset is staged from (data already on node-local storage stays where it is).
STAGEABLE_TIERS = ("shared", "object", "archive")


class Staging(Pass):
    """Copies a dataset read many times to node-local scratch once per task.

    Applies to a dataset a compute job reads whole (`${train}` in a command) when the
    dataset asks for it (`stage = scratch`) or is read many times (`access =
    read_many`, no `stage`), and lives on the shared file system, an object store or an
    archive: each task of the job copies it to its node's scratch before its steps and
    reads it there, once instead of once per pass (READ_MANY_PASSES in the cost model).
    A job that reads from scratch also works there: its outputs are staged out to the
    shared file system after its steps (stage-out of results).

    Leaves alone: datasets marked `stage = none` (too big for scratch, say) or
    `stage = aggregate` (the aggregation pass stages those as an archive), datasets
    read one file per item (`foreach f in ds`: each file is read once anyway),
    datasets already on `scratch` or `local` tiers, and services.
    """

    name = "staging"
    level = 2
    relinks_itself = True
    summary = "stage read-many datasets to node-local scratch and stage results out"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        decisions = []
        datasets = {d.name: d for d in plan.datasets}
        staged_jobs = []
        for job in plan.jobs:
            if job.role != "compute":
                continue
            done: set[str] = set()
            for step in job.steps:
                for use in step.datasets:
                    ds = datasets.get(use.dataset)
                    if ds is None or use.mode != "whole" or use.location != "shared" \
                            or ds.tier not in STAGEABLE_TIERS:
                        continue
                    if not (ds.stage == "scratch" or (ds.stage is None and ds.access == "read_many")):
                        continue
                    use.location = "scratch"
                    if ds.name in done:
                        continue
                    done.add(ds.name)
                    new_data_op(plan, job, kind="stage_in", when="before", dataset=ds.name,
                                source=f"{ds.tier}:{ds.path}", target=f"scratch:{ds.name}",
                                bytes=ds.size, files=ds.files or 1)
                    why = "`stage = scratch`" if ds.stage == "scratch" else \
                        f"read_many: read once instead of {E.READ_MANY_PASSES} times"
                    size = format_size(ds.size) if ds.size is not None else "size unknown"
                    decisions.append(f"staged dataset {ds.name} ({size}) into node-local scratch for each task "
                                     f"of {job.id} ({why})")
            if done:
                staged_jobs.append(job.id)
        if not decisions:
            return []
        relink(plan, ctx.facts)
        for op in plan.data_ops:
            if op.kind == "stage_out" and op.job in staged_jobs:
                decisions.append(f"{op.job} works in node-local scratch and stages out "
                                 f"{', '.join(f'{op.phase}.{p}' for p in op.ports)} after its steps")
        return decisions
