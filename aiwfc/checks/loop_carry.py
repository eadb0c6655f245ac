"""Loop-carried values land on something that can receive them (AIWF604)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir
from aiwfc.ir import types as T
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.semantic import RefContext
from aiwfc.syntax import ast


@register
class LoopCarry(Check):
    """`next PHASE.NAME = VALUE` must name an input port or the `foreach` variable of
    a phase in the loop's body, and VALUE must fit it.

    An input port receives a value of its own type. A `foreach` variable receives the
    items of the next round, so VALUE must be a *list* of the variable's type: that is
    how a model spawns the next ensemble. VALUE is typed from the loop's point of view
    (a `foreach` phase's output is a list there).

    Anti-pattern::

        next md.sed = score.next_seeds      # no such variable
        next md.seed = score.best           # one float, not the next seeds

    Better::

        next md.seed = score.next_seeds     # list<int> for `foreach seed in ...`
    """

    codes = (codes.BAD_NEXT,)
    visits = frozenset({"feedback"})

    def visit_feedback(self, ctx: CheckContext, fb: ir.Feedback) -> None:
        for carry in fb.next:
            self._carry(ctx, fb, carry)

    def _carry(self, ctx: CheckContext, fb: ir.Feedback, carry: ir.LoopCarry) -> None:
        where = carry.where("target")
        parts = carry.target.split(".")
        if len(parts) != 2:
            ctx.report(codes.BAD_NEXT, where,
                       detail=f"`next` target `{carry.target}` must be PHASE.NAME: an input port or the "
                              "`foreach` variable of a phase in the loop's body")
            return
        phase_name, name = parts
        ph = ctx.scope.phases.get(phase_name)
        if ph is None or phase_name not in fb.body:
            why = "is not defined" if ph is None else f"is not in the body of feedback loop `{fb.name}`"
            ctx.report(codes.BAD_NEXT, where,
                       detail=f"`next` target `{carry.target}`: phase `{phase_name}` {why}"
                              + did_you_mean(phase_name, fb.body))
            return
        port = ph.input(name)
        is_var = ph.foreach is not None and ph.foreach.var == name
        if port is None and not is_var:
            names = [p.name for p in ph.inputs] + ([ph.foreach.var] if ph.foreach else [])
            ctx.report(codes.BAD_NEXT, where,
                       detail=f"`next` target `{carry.target}` is neither an input port nor the `foreach` "
                              f"variable of `{phase_name}`" + did_you_mean(name, names))
            return
        typer = ctx.typer()
        actual = typer.type_of(carry.value, RefContext(loop=fb), report=False)
        if actual.name in ("error", "any"):
            return
        if is_var:
            item = typer.foreach_item_type(ph)
            if item.name in ("error", "any"):
                return
            wanted, why = T.list_of(item), " (the items of the next round)"
            decl = Related(ph.foreach.where("var"), f"`{name}` iterates {item} items here")
        else:
            wanted, why = port.type, ""
            decl = Related(port.where("name") or port.span, f"`{carry.target}` is declared here")
        if not T.assignable(actual, wanted):
            ctx.report(codes.BAD_NEXT, carry.where("value"),
                       detail=f"`next {carry.target}` needs `{wanted}`{why}, but "
                              f"`{ast.unparse(carry.value)}` gives `{actual}`",
                       related=[decl])
