"""The stages in order, for the CLI, the language server and the tests.

`analyse` = load (parse, resolve, imports, params, site) + checks + suppressions.
It never raises for bad input: whatever goes wrong becomes diagnostics.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager

from aiwfc import codes
from aiwfc.checks.framework import run_checks
from aiwfc.diagnostics import DiagnosticSink, Severity
from aiwfc.resolve.builder import BuildMemo
from aiwfc.resolve.load import Compilation, load
from aiwfc.source import Span

_SUPPRESS = re.compile(r"#\s*(?:aiwf:\s*ignore\[([A-Za-z0-9_,\- ]+)\]|!([A-Za-z0-9_\-]+))")


def analyse(path: str, *, text: str | None = None, site: str | None = None,
            params: dict[str, str] | None = None, params_file: str | None = None,
            parse=None, memo: BuildMemo | None = None) -> Compilation:
    """Front end and checks for one root file; the result carries the sorted diagnostics.

    `parse` replaces `parse_module` (the language server passes its incremental parser) and
    `memo` keeps the IR of unchanged blocks between analyses (the server keeps one per document)."""
    with _collector_paused():
        return _analyse(path, text, site, params, params_file, parse, memo)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused during one analysis.

    The front end allocates hundreds of thousands of small objects (tokens, AST, IR,
    spans) that live until the analysis ends and form almost no cycles; with the
    collector running, each full collection re-walks all of them, which made a
    10,000-phase check twice as slow and its time grow faster than the input.

    Re-enabled as it was, the collector's first allocation after the analysis would walk
    every object the analysis made (they are all still in the youngest generation: ~0.3 s
    at 10,000 phases).  So they are moved to the permanent generation first (gc.freeze):
    they are still freed by reference counting when dropped, and an analysis leaves no
    garbage cycles (a dropped 10,000-phase Compilation: gc.collect() finds 0).  The
    previous freeze is undone when the next analysis starts, so nothing stays out of the
    collector's sight for longer than one analysis."""
    enabled = gc.isenabled()
    gc.disable()
    if enabled:
        gc.unfreeze()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _analyse(path, text, site, params, params_file, parse, memo) -> Compilation:
    sink = DiagnosticSink()
    comp = load(path, text=text, site=site, params=params, params_file=params_file, sink=sink,
                parse=parse, memo=memo)
    if comp.program is not None and not _fatal(sink):
        try:
            run_checks(comp)
        except RecursionError:
            sink.report(codes.UNEXPECTED_TOKEN, Span.point(path, 1, 1),
                        found="nesting deeper than the checker supports", expected="a flatter structure")
    _apply_suppressions(comp)
    return comp


def _fatal(sink: DiagnosticSink) -> bool:
    """Syntax errors make name and graph checks noise; everything else still checks."""
    return any(d.code < "AIWF100" and d.severity is Severity.ERROR for d in sink.items)


def _apply_suppressions(comp: Compilation) -> None:
    """Drops warnings silenced by `# aiwf: ignore[CODE]` or `# !CODE` on their line."""
    kept = []
    for d in comp.sink.items:
        src = comp.sources.get(d.span.file)
        if src is not None and d.severity is not Severity.ERROR:
            m = _SUPPRESS.search(src.line_text(d.span.line))
            if m:
                names = {x.strip().lower() for x in (m.group(1) or m.group(2)).split(",")}
                if d.code.lower() in names or d.name in names or "all" in names:
                    continue
        kept.append(d)
    comp.sink.items = kept
