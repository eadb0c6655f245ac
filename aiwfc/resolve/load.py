"""The front end's entry point: a path (or text) to a resolved `Program` and its site."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.resolve.imports import ModuleLoader, locate, stdlib_root
from aiwfc.resolve.params import CLI, apply_overrides, read_params_file
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.source import SourceFile, Span


@dataclass
class Compilation:
    """One root input, resolved: the program, every source read, and the chosen site."""

    path: str
    program: ir.Program | None
    sources: dict[str, SourceFile] = field(default_factory=dict)
    site: ir.SiteProfile | None = None
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    # the graph of each workflow, built once (aiwfc.graph.graph_of) and shared by the
    # checks, the motif inference, the planner and the backends
    graphs: dict[int, Any] = field(default_factory=dict)

    @property
    def workflows(self) -> list[ir.Workflow]:
        return self.program.workflows if self.program else []


def stdlib_sites() -> list[str]:
    return sorted(p.stem for p in (stdlib_root() / "sites").glob("*.aiwf"))


def _norm(name: str) -> str:
    return name.replace("-", "_").lower()


def load(path: str, *, text: str | None = None, site: str | None = None,
         params: dict[str, str] | None = None, params_file: str | None = None,
         sink: DiagnosticSink | None = None, parse=None, memo: BuildMemo | None = None) -> Compilation:
    """Reads `path` (or `text` given for it) with its imports, merges library definitions,
    applies param overrides and binds the site. Never raises for bad input.

    `parse(src, sink) -> ast.Module` replaces `parse_module` (same result, less work);
    `memo` re-uses the IR of blocks an earlier analysis built (see BuildMemo)."""
    sink = sink if sink is not None else DiagnosticSink()
    loader = ModuleLoader(sink, parse, memo)
    root = loader.load(Path(path), text=text)
    comp = Compilation(path, None, loader.loaded.sources, None, sink)
    if root is None:
        return comp
    # Library definitions of imported modules become visible to the root's workflows.
    merged = root.model_copy(deep=False)
    merged.sites, merged.resources, merged.images, merged.datasets = [], [], [], []
    for key in loader.loaded.order:
        mod = loader.loaded.programs[key]
        merged.sites += mod.sites
        merged.resources += mod.resources
        merged.images += mod.images
        merged.datasets += mod.datasets
    if site is not None:
        found = _find_site(merged.sites, site)
        if found is None:
            target = locate(f"std/sites/{site}", None) or locate(f"std/sites/{site.replace('_', '-')}", None)
            if target is None and Path(site).is_file():
                target = Path(site)
            if target is not None:
                mod = loader.load(target, CLI)
                if mod is not None:
                    merged.sites += mod.sites
                    found = _find_site(mod.sites, site) or (mod.sites[0] if len(mod.sites) == 1 else None)
        if found is None:
            known = stdlib_sites() + [s.name for s in merged.sites]
            sink.report(codes.UNKNOWN_SITE, CLI, name=site, hint=did_you_mean(site, known))
        comp.site = found
    elif len(merged.sites) == 1:
        comp.site = merged.sites[0]
    file_values: dict[str, Any] = read_params_file(params_file, sink) if params_file else {}
    for wf in merged.workflows:
        apply_overrides(wf, params or {}, file_values,
                        sink, Span.point(params_file, 1, 1) if params_file else None)
    if not merged.workflows and not sink.has_errors and not path.startswith("std/"):
        src = comp.sources.get(path)
        if src is not None and src.text.strip():
            sink.report(codes.NO_WORKFLOW, Span.point(path, 1, 1), file=Path(path).name)
    comp.program = merged
    comp.sources = loader.loaded.sources
    return comp


def _find_site(sites: list[ir.SiteProfile], name: str) -> ir.SiteProfile | None:
    for s in sites:
        if _norm(s.name) == _norm(name):
            return s
    return None
