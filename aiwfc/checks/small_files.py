"""Many small files read straight from the file system (AIWF501)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import add_attribute_fix, dataset_readers
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir
from aiwfc.ir.units import format_size

MANY_FILES = 1000
SMALL_FILE = 2**20  # 1 MiB
# Formats that are already one container of many records: nothing left to aggregate.
AGGREGATED_FORMATS = frozenset({"hdf5", "h5", "adios2", "bp", "tar", "zarr", "netcdf", "nc", "tfrecord",
                                "webdataset", "parquet", "zip", "lmdb"})


@register
class SmallFiles(Check):
    """A dataset of many small files that a phase reads without aggregation.

    More than 1,000 files averaging under 1 MiB (from its `files` and `size`) make
    metadata operations, not bytes, the bottleneck of a parallel file system. The
    dataset is reported when a phase reads it, it is not staged as one archive
    (`stage = aggregate`), and its `format` is not already a container (HDF5, ADIOS2,
    tar, zarr, ...). An explicit `stage = none` records a decision and is respected.
    The fix sets `stage = aggregate`.

    Anti-pattern::

        dataset frames { path = "data/frames"  files = 100000  size = 2GiB }

    Better::

        dataset frames { path = "data/frames"  files = 100000  size = 2GiB  stage = aggregate }
    """

    codes = (codes.SMALL_FILES,)
    visits = frozenset({"dataset"})

    def visit_dataset(self, ctx: CheckContext, ds: ir.Dataset) -> None:
        if not ds.files or ds.files <= MANY_FILES or ds.size is None:
            return
        avg = ds.size / ds.files
        if avg >= SMALL_FILE or ds.stage in ("aggregate", "none"):
            return
        if (ds.format or "").lower() in AGGREGATED_FORMATS:
            return
        readers = dataset_readers(ctx).get(ds.name)
        if not readers:
            return
        fix = add_attribute_fix(ctx, ds, "stage", "aggregate", "stage it as one archive: `stage = aggregate`")
        ctx.report(codes.SMALL_FILES, ds.where("name"), dataset=ds.name, files=f"{ds.files:,}",
                   avg=format_size(avg), fix=fix,
                   related=[Related(ph.where("name"), f"read by {ph.kind} `{ph.name}`") for ph in readers[:3]])
