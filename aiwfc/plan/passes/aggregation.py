"""Aggregation of many-small-file datasets into one archive before staging."""

from __future__ import annotations

from aiwfc.checks.small_files import AGGREGATED_FORMATS, MANY_FILES, SMALL_FILE
from aiwfc.ir.units import format_size
from aiwfc.plan import estimates as E
from aiwfc.plan.lower import new_data_op
from aiwfc.plan.models import JobResources, Plan, PlanDataset, PlanDependency, PlanJob
from aiwfc.plan.passes.base import Pass, PassContext
from aiwfc.plan.relink import relink
from aiwfc.plan.sizing import round_walltime
from aiwfc.plan.passes.staging import STAGEABLE_TIERS


class Aggregation(Pass):
    """Packs a dataset of many small files into one archive that readers stage and unpack.

    Applies to a dataset that some compute job reads whole and that asks for it
    (`stage = aggregate`) or, with no `stage`, holds more than 1,000 files averaging
    under 1 MiB in a format that is not already a container (the AIWF501 condition).
    A data job `aggregate.<dataset>` builds the archive on the shared file system once,
    before its first reader; every task of a reader copies the one archive to its
    node's scratch and unpacks it there (one metadata operation instead of one per
    file); a clean-up job `cleanup.<dataset>` deletes the archive after all readers
    have ended, however they ended (`after_any`).

    Leaves alone: datasets marked `stage = none` or `stage = scratch` (an explicit
    choice), container formats (HDF5, ADIOS2, tar, zarr, ...), datasets on scratch or
    local tiers, and datasets read one file per item.
    """

    name = "aggregation"
    level = 2
    relinks_itself = True
    summary = "pack many-small-file datasets into one archive, staged and unpacked on scratch"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        decisions = []
        for ds in plan.datasets:
            why = _eligible(ds)
            if why is None:
                continue
            readers = [j for j in plan.jobs if j.role == "compute" and any(
                u.dataset == ds.name and u.mode == "whole" and u.location == "shared"
                for s in j.steps for u in s.datasets)]
            if not readers:
                continue
            self._aggregate(plan, ds, readers)
            avg = format_size(ds.size / ds.files) if ds.size and ds.files else "unknown size"
            count = f"{ds.files:,}" if ds.files else "an unknown number of"
            decisions.append(f"aggregated dataset {ds.name} ({count} files, "
                             f"about {avg} each; {why}) into one archive for {', '.join(j.id for j in readers)}; "
                             f"it is removed after its readers end (after-any)")
        if decisions:
            relink(plan, ctx.facts)
        return decisions

    @staticmethod
    def _aggregate(plan: Plan, ds: PlanDataset, readers: list[PlanJob]) -> None:
        seconds = (ds.size or 0) / E.ARCHIVE_BYTES_PER_S + (ds.files or 0) * E.ARCHIVE_S_PER_FILE
        maker = PlanJob(id=f"aggregate.{ds.name}", role="data",
                        resources=JobResources(walltime=max(E.ARCHIVE_MIN_WALLTIME_S,
                                                            round_walltime(seconds * E.WALLTIME_MARGIN))))
        cleaner = PlanJob(id=f"cleanup.{ds.name}", role="cleanup",
                          resources=JobResources(walltime=E.CLEANUP_WALLTIME_S))
        archive = f"archive:{ds.name}.tar"
        new_data_op(plan, maker, op_id=f"aggregate:{ds.name}", kind="aggregate", when="before",
                    dataset=ds.name, source=f"{ds.tier}:{ds.path}", target=archive, bytes=ds.size,
                    files=ds.files, per="job")
        new_data_op(plan, cleaner, op_id=f"cleanup:{ds.name}", kind="cleanup", when="before",
                    dataset=ds.name, source=archive, target="none", files=1, per="job")
        for job in readers:
            new_data_op(plan, job, kind="stage_in", when="before", dataset=ds.name, source=archive,
                        target=f"scratch:{ds.name}.tar", bytes=ds.size, files=1)
            new_data_op(plan, job, kind="unpack", when="before", dataset=ds.name,
                        source=f"scratch:{ds.name}.tar", target=f"scratch:{ds.name}", bytes=ds.size,
                        files=ds.files)
            for step in job.steps:
                for use in step.datasets:
                    if use.dataset == ds.name and use.mode == "whole":
                        use.location, use.via_archive = "scratch", True
            port = [f"dataset {ds.name} (archive)"]
            plan.dependencies.append(PlanDependency(kind="all_of", source=maker.id, target=job.id, ports=port))
            plan.dependencies.append(PlanDependency(kind="after_any", source=job.id, target=cleaner.id,
                                                    ports=port))
        first = min(plan.jobs.index(j) for j in readers)
        plan.jobs.insert(first, maker)
        plan.jobs.append(cleaner)


def _eligible(ds: PlanDataset) -> str | None:
    """Why the dataset is aggregated, or None when it is not."""
    if ds.tier not in STAGEABLE_TIERS:
        return None
    if ds.stage == "aggregate":
        return "`stage = aggregate`"
    if ds.stage is not None or not ds.files or ds.size is None:
        return None
    if ds.files > MANY_FILES and ds.size / ds.files < SMALL_FILE \
            and (ds.format or "").lower() not in AGGREGATED_FORMATS:
        return f"more than {MANY_FILES:,} files under {format_size(SMALL_FILE)}"
    return None
