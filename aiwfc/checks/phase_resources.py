"""Each phase on the right kind of hardware (AIWF403, AIWF404)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir

CPU_KINDS = ("preprocess", "analysis")


@register
class PhaseResources(Check):
    """Map each phase to the right resource class: no GPUs for preprocessing and
    analysis, and GPUs for training.

    A `preprocess` or `analysis` phase holding a GPU leaves it idle and billed; a
    `training` phase without one is usually orders of magnitude slower. A training
    phase without any `resources` runs with the default (one core, no GPU) and is
    reported too. Silence the warning with `# !training-without-accelerator` on the
    phase's line when CPU training is intended (a tiny model, a local try-out).

    Anti-pattern::

        preprocess clean { resources = gpu_task ... }
        training fit { resources = cpu_task ... }

    Better::

        preprocess clean { resources = cpu_task ... }
        training fit { resources = gpu_task ... }
    """

    codes = (codes.GPU_FOR_CPU_PHASE, codes.TRAINING_WITHOUT_ACCELERATOR)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        res = ctx.scope.resource_of(ph)
        if ph.resources is not None and res is None:
            return  # an undefined resource is AIWF101's business
        if ph.kind in CPU_KINDS and res is not None and res.gpus > 0:
            ctx.report(codes.GPU_FOR_CPU_PHASE, ph.where("resources"), kind=ph.kind, phase=ph.name,
                       gpus=res.gpus, resource=res.name,
                       related=[Related(res.where("gpus"), f"`{res.name}` asks for GPUs here")])
        if ph.kind == "training" and (res is None or res.gpus == 0):
            related = [Related(res.where("name"), f"`{res.name}` has no `gpus`")] if res is not None else []
            ctx.report(codes.TRAINING_WITHOUT_ACCELERATOR, ph.where("resources") if res else ph.where("name"),
                       phase=ph.name, related=related)
