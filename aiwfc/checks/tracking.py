"""Training phases record their experiment (AIWF701)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir


@register
class TrackedTraining(Check):
    """Track experiments as first-class outputs: a training phase's `track` names at
    least one hyper-parameter and at least one metrics output.

    A hyper-parameter is a workflow `param` or a scalar input port of the phase (an
    input carrying `lr` from a sweep). Metrics are an output of type `metrics {...}`
    (or one of its fields, `metrics.loss`) or a numeric output. Without both, a trained model cannot be
    compared with or reproduced from its siblings.

    Anti-pattern::

        training fit { out model: file = "m.npz"  out metrics: metrics { loss: float } ... }

    Better::

        training fit { out model: file = "m.npz"  out metrics: metrics { loss: float }
                       track = [lr, metrics] ... }
    """

    codes = (codes.UNTRACKED_TRAINING,)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        if ph.kind != "training":
            return
        params = metrics = False
        for item in ph.track:
            head, _, rest = item.partition(".")
            port = ph.input(head)
            out = ph.output(head)
            if (head in ctx.scope.params and not rest and port is None and out is None) or \
                    (port is not None and not port.type.is_path and port.type.name != "metrics"):
                params = True
            if out is not None and (out.type.name == "metrics" or out.type.is_numeric):
                metrics = True
        if params and metrics:
            return
        missing = "no params" if metrics else "no metrics" if params else "neither params nor metrics"
        ctx.report(codes.UNTRACKED_TRAINING, ph.where("track") if ph.track else ph.where("name"),
                   phase=ph.name, missing=missing)
