"""The check driver: checks register with a decorator, declare what they visit, and
the driver walks each workflow's IR once, dispatching every node to the checks that
asked for it (miniwdl's Walker.Multi, sqlfluff's crawlers).

A check module holds one check: a `Check` subclass with a docstring for people, the
codes it may report, the node kinds it visits (`visits`), and `visit_<kind>` methods.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from dataclasses import dataclass, field
from typing import ClassVar

from aiwfc.codes import Code
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.graph import WorkflowGraph, graph_of
from aiwfc.ir import models as ir
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import Scope, Typer

NODE_KINDS = ("workflow", "param", "resource", "image", "dataset", "phase", "feedback", "site", "end_workflow")


@dataclass
class CheckContext:
    """What a check sees: the compilation, the workflow, its graph and scope, and the sink."""

    comp: Compilation
    workflow: ir.Workflow
    graph: WorkflowGraph
    sink: DiagnosticSink
    state: dict = field(default_factory=dict)

    @property
    def program(self) -> ir.Program:
        return self.comp.program

    @property
    def scope(self) -> Scope:
        return self.graph.scope

    @property
    def site(self) -> ir.SiteProfile | None:
        return self.comp.site

    def typer(self, report: bool = False) -> Typer:
        """A typer that reports into the sink (only the expression check should) or is silent."""
        return Typer(self.scope, self.sink if report else None)

    def report(self, code: Code, span, **kw):
        return self.sink.report(code, span, **kw)


class Check:
    """Base class of checks; see the module docstring."""

    codes: ClassVar[tuple[Code, ...]] = ()
    visits: ClassVar[frozenset[str]] = frozenset()


REGISTRY: list[type[Check]] = []


def register(cls: type[Check]) -> type[Check]:
    """Registers a check class (explicit, so a module's checks are visible where defined)."""
    bad = set(cls.visits) - set(NODE_KINDS)
    if bad:
        raise ValueError(f"{cls.__name__} visits unknown node kinds {bad}")
    for kind in cls.visits:
        if not hasattr(cls, f"visit_{kind}"):
            raise ValueError(f"{cls.__name__} visits {kind} but has no visit_{kind}")
    REGISTRY.append(cls)
    return cls


def load_checks() -> list[type[Check]]:
    """Imports every module of aiwfc.checks once, so their @register decorators run."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name != "framework":
            importlib.import_module(f"aiwfc.checks.{info.name}")
    return REGISTRY


def run_checks(comp: Compilation) -> None:
    """Runs every registered check over every workflow of the compilation, in one walk each."""
    if comp.program is None:
        return
    classes = load_checks()
    for wf in comp.program.workflows:
        graph = graph_of(comp, wf)
        ctx = CheckContext(comp, wf, graph, comp.sink)
        checks = [cls() for cls in classes]
        table = {k: [getattr(c, f"visit_{k}") for c in checks if k in c.visits] for k in NODE_KINDS}

        def emit(kind: str, node) -> None:
            for fn in table[kind]:
                fn(ctx, node)

        emit("workflow", wf)
        if comp.site is not None:
            emit("site", comp.site)
        for p in wf.params:
            emit("param", p)
        for r in ctx.scope.resources.values():
            emit("resource", r)
        for i in ctx.scope.images.values():
            emit("image", i)
        for d in ctx.scope.datasets.values():
            emit("dataset", d)
        for ph in wf.phases:
            emit("phase", ph)
        for fb in wf.feedbacks:
            emit("feedback", fb)
        emit("end_workflow", wf)
