"""Scatters too large for a scheduler without batching (AIWF503)."""

from __future__ import annotations

import math

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.diagnostics import Applicability, Fix, TextEdit
from aiwfc.ir import models as ir
from aiwfc.semantic import const_value
from aiwfc.source import Span
from aiwfc.syntax import ast

HUGE = 10_000
TASKS_PER_ARRAY = 1000  # what the fix aims for: about this many array tasks


@register
class HugeForeach(Check):
    """Batch very large task counts deliberately.

    A `foreach` whose item count is known at check time (a constant list, `range` of
    constants and param defaults, or a dataset's `files`) and exceeds 10,000, without
    `batch = N`, would submit one scheduler task per item. The fix adds a `batch` that
    brings the count to about 1,000 array tasks (unsafe: the right batch depends on
    how long one item takes).

    Anti-pattern::

        simulation md { foreach i in range(100000) ... }

    Better::

        simulation md { foreach i in range(100000)  batch = 100 ... }
    """

    codes = (codes.HUGE_FOREACH,)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        fe = ph.foreach
        if fe is None or fe.batch is not None:
            return
        count = self._count(ctx, fe.source)
        if count is None or count <= HUGE:
            return
        batch = math.ceil(count / TASKS_PER_ARRAY)
        fix = None
        src = ctx.comp.sources.get(fe.span.file) if fe.span else None
        if src is not None and fe.span.file.endswith(".aiwf"):
            line = src.line_text(fe.span.line)
            indent = line[:len(line) - len(line.lstrip())]
            rest = src.line_text(fe.span.end_line)[fe.span.end_column - 1:]
            # on a line of its own below the foreach, or after it when more follows on its line
            text = f"  batch = {batch}" if rest.strip() and not rest.lstrip().startswith("#") \
                else f"\n{indent}batch = {batch}"
            at = Span(fe.span.file, fe.span.end_line, fe.span.end_column, fe.span.end_line, fe.span.end_column)
            fix = Fix(f"batch the items: `batch = {batch}`", (TextEdit(at, text),), Applicability.UNSAFE)
        ctx.report(codes.HUGE_FOREACH, fe.where("source"), phase=ph.name, count=f"{count:,}", fix=fix)

    @staticmethod
    def _count(ctx: CheckContext, source) -> int | None:
        if isinstance(source, ast.Ref) and len(source.parts) == 1:
            ds = ctx.scope.datasets.get(source.parts[0].text)
            if ds is not None and source.parts[0].text not in ctx.scope.params:
                return ds.files
        if isinstance(source, ast.Call) and source.func.text == "range" and 1 <= len(source.args) <= 2:
            bounds = [const_value(a, ctx.scope.params) for a in source.args]
            if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
                return len(range(*bounds))  # counted without building the list
            return None
        value = const_value(source, ctx.scope.params)
        return len(value) if isinstance(value, list) else None
