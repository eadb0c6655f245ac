"""Data read over and over from the shared file system (AIWF502)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import add_attribute_fix, dataset_readers
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir


@register
class ReadManyOnShared(Check):
    """Design for data gravity: a dataset read many times belongs on node-local scratch.

    Reported for a dataset with `access = read_many` (training epochs, repeated
    lookups) on the `shared` tier that is not staged (`stage = scratch` or
    `aggregate`) and that some phase reads. An explicit `stage = none` (say, the data
    is larger than any node's scratch) records the decision and is respected. The fix
    sets `stage = scratch`.

    Anti-pattern::

        dataset train { path = "data/train"  access = read_many }

    Better::

        dataset train { path = "data/train"  access = read_many  stage = scratch }
    """

    codes = (codes.READ_MANY_ON_SHARED,)
    visits = frozenset({"dataset"})

    def visit_dataset(self, ctx: CheckContext, ds: ir.Dataset) -> None:
        if ds.access != "read_many" or ds.tier != "shared" or ds.stage is not None:
            return
        readers = dataset_readers(ctx).get(ds.name)
        if not readers:
            return
        fix = add_attribute_fix(ctx, ds, "stage", "scratch", "stage it to node-local scratch: `stage = scratch`")
        ctx.report(codes.READ_MANY_ON_SHARED, ds.where("access"), dataset=ds.name, fix=fix,
                   related=[Related(ph.where("name"), f"read by {ph.kind} `{ph.name}`") for ph in readers[:3]])
