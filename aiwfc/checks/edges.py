"""Port types agree on every edge (AIWF201), pointing at both ends."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Fix, Related, TextEdit
from aiwfc.ir import models as ir
from aiwfc.ir import types as T
from aiwfc.semantic import RefContext
from aiwfc.syntax import ast


@register
class EdgeTypes(Check):
    """An input port must accept what its binding delivers.

    A `foreach` phase's output seen from outside is a list (one item per task), so a
    consumer of all of them declares `list<T>`.

    Anti-pattern::

        simulation md { foreach s in seeds  out traj: file = "t_${index}.npy" ... }
        training fit { in traj: file = md.traj ... }

    Better::

        training fit { in trajs: list<file> = md.traj ... }
    """

    codes = (codes.PORT_TYPE_MISMATCH,)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        typer = ctx.typer()
        loop = ctx.scope.loop_of.get(ph.name)
        for port in ph.inputs:
            if port.value is None:
                continue
            own = isinstance(port.value, ast.Ref) and ph.foreach is not None \
                and port.value.parts[0].text == ph.foreach.var
            rc = RefContext(phase=ph if own else None, loop=loop)
            actual = typer.type_of(port.value, rc, report=False)
            if T.assignable(actual, port.type):
                continue
            related = []
            if isinstance(port.value, ast.Ref):
                r = typer.resolve(port.value, rc, report=False)
                if r is not None and r.phase and r.port:
                    src_phase = ctx.scope.phases.get(r.phase)
                    src_port = src_phase.output(r.port) if src_phase else None
                    if src_port is not None:
                        why = " (one per task of its foreach)" if src_phase.foreach else ""
                        related.append(Related(src_port.where("name") or src_port.span,
                                               f"`{r.phase}.{r.port}` is declared here{why}"))
            fix = None
            if port.where("type") is not None and actual.name not in ("error", "any"):
                fix = Fix(f"declare `{port.name}: {actual}`",
                          (TextEdit(port.where("type"), str(actual)),))
            ctx.report(codes.PORT_TYPE_MISMATCH, port.where("value"), port=f"{ph.name}.{port.name}",
                       expected=str(port.type), source=ast.unparse(port.value), actual=str(actual),
                       related=related, fix=fix)
