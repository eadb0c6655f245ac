"""Multi-node resource classes name how to start on every node (AIWF405)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.support import add_attribute_fix
from aiwfc.diagnostics import Applicability
from aiwfc.ir import models as ir


@register
class MultinodeLauncher(Check):
    """A resource class spanning several nodes needs a distributed launcher.

    Without `launcher = srun|mpirun|torchrun|deepspeed` the command starts on the
    first node of the allocation only and the other nodes idle. Checked for every
    resource class the workflow defines and every library class a phase uses. An
    explicit `launcher = none` records that the command starts its own processes on
    every node and is not reported. The fix adds `launcher = srun` (unsafe: torchrun
    or deepspeed may be what the program needs).

    Anti-pattern::

        resource dist { nodes = 4  gpus = 4 }

    Better::

        resource dist { nodes = 4  gpus = 4  launcher = torchrun }
    """

    codes = (codes.MULTINODE_WITHOUT_LAUNCHER,)
    visits = frozenset({"workflow"})

    def visit_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        checked = {r.name: r for r in wf.resources}
        for ph in wf.phases:
            res = ctx.scope.resource_of(ph)
            if res is not None:
                checked.setdefault(res.name, res)
        for res in checked.values():
            if res.nodes > 1 and res.launcher == "none" and "launcher" not in res.spans:
                fix = add_attribute_fix(ctx, res, "launcher", "srun", "add `launcher = srun`",
                                        Applicability.UNSAFE)
                ctx.report(codes.MULTINODE_WITHOUT_LAUNCHER, res.where("nodes"), resource=res.name,
                           nodes=res.nodes, fix=fix)
