"""Facts several checks need (who reads a dataset or a port, where a phase runs) and
the one kind of fix they share: adding an attribute to a block.

No check lives here. The facts are computed once per workflow and cached in
`CheckContext.state`, so a workflow with thousands of phases is walked once, not once
per dataset or per port.
"""

from __future__ import annotations

from aiwfc.checks.framework import CheckContext
from aiwfc.diagnostics import Applicability, Fix, TextEdit
from aiwfc.ir import models as ir
from aiwfc.semantic import RefContext
from aiwfc.source import Span


def phase_exprs(ph: ir.Phase):
    """Every expression of a phase that is evaluated for it: bindings, scatter, guard, command."""
    for port in ph.inputs:
        if port.value is not None:
            yield port.value
    if ph.foreach is not None:
        yield ph.foreach.source
    if ph.when is not None:
        yield ph.when
    if ph.command is not None:
        yield ph.command


def dataset_readers(ctx: CheckContext) -> dict[str, list[ir.Phase]]:
    """Dataset name -> the phases whose expressions read it (in workflow order); the graph
    collects them while it resolves every phase's references."""
    return ctx.graph.dataset_reads


def loop_exprs(fb: ir.Feedback):
    """(expression, context phase) pairs of a loop: its conditions, bound, carries and stops."""
    for expr in (fb.until, fb.while_, fb.max_iterations):
        if expr is not None:
            yield expr, None
    for carry in fb.next:
        yield carry.value, carry.target.split(".")[0]
    for stop in fb.stop:
        yield stop.when, stop.phase


def loop_reads(ctx: CheckContext) -> set[tuple[str, str]]:
    """(phase, port) pairs that some loop condition, bound, carry or stop rule reads."""
    cached = ctx.state.get("loop_reads")
    if cached is not None:
        return cached
    typer = ctx.typer()
    out: set[tuple[str, str]] = set()
    for fb in ctx.workflow.feedbacks:
        for expr, phase_name in loop_exprs(fb):
            rc = RefContext(phase=ctx.scope.phases.get(phase_name) if phase_name else None, loop=fb)
            for ref in typer.refs(expr):
                r = typer.resolve(ref, rc, report=False)
                if r is not None and r.phase and r.port and r.kind in ("port", "output"):
                    out.add((r.phase, r.port))
    ctx.state["loop_reads"] = out
    return out


def effective_site(ctx: CheckContext, ph: ir.Phase) -> ir.SiteProfile | None:
    """The site a phase runs on: its own `site = NAME` if that site is known, else the bound one."""
    if ph.site is not None:
        return next((s for s in ctx.program.sites if s.name == ph.site), None)
    return ctx.site


def plural(n: int, word: str) -> str:
    """`1 GPU`, `4 GPUs`."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def add_attribute_fix(ctx: CheckContext, node: ir.IRNode, attr: str, text: str, description: str,
                      applicability: Applicability = Applicability.SAFE) -> Fix | None:
    """A fix that sets `attr` to `text` in the block of `node`.

    When the attribute is already written its value is replaced; otherwise `attr = text`
    goes before the block's closing brace: on a line of its own, indented like the line
    above, for a block spread over lines; after two spaces for a block on one line (the
    house style `{ cores = 1  memory = 1GiB }`). Only for `.aiwf` text: a JSON/YAML
    document has no brace to insert before, and then there is no fix.
    """
    if attr in node.spans and attr != "name":
        return Fix(description, (TextEdit(node.spans[attr], text),), applicability)
    span = node.span
    src = ctx.comp.sources.get(span.file) if span else None
    if src is None or not span.file.endswith(".aiwf"):
        return None
    close = src.offset(span.end_line, span.end_column) - 1
    if close < 0 or close >= len(src.text) or src.text[close] != "}":
        return None
    line_start = src.offset(span.end_line, 1)
    before = src.text[line_start:close]
    if span.line != span.end_line and not before.strip():
        indent = _inner_indent(src, span, before)
        at = Span(span.file, span.end_line, 1, span.end_line, 1)
        return Fix(description, (TextEdit(at, f"{indent}{attr} = {text}\n"),), applicability)
    ws = len(before) - len(before.rstrip())
    line, col = src.position(close - ws)
    at = Span(span.file, line, col, span.end_line, span.end_column - 1)
    return Fix(description, (TextEdit(at, f"  {attr} = {text} "),), applicability)


def _inner_indent(src, span: Span, closing: str) -> str:
    """The indentation of the last non-blank line inside a block, or the closing brace's plus two."""
    for line in range(span.end_line - 1, span.line, -1):
        text = src.line_text(line)
        if text.strip():
            return text[:len(text) - len(text.lstrip())]
    return closing + "  "
