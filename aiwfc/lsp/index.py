"""Names and where they are used: the index behind definition, references, rename,
hover and document symbols.

It is built from the ASTs of the root file and of every module it imports (the parse
the analysis already did), so it works on a half-typed file: whatever the recovering
parser kept is indexed. Name lookup follows `semantic.Scope` and `Typer.resolve`: a
workflow's own resources, images and datasets over the library's (imported modules,
the last definition winning), then inside a phase its foreach variable and ports
before params, datasets and phases; `phase.port` names an output of that phase.

A symbol is identified by its file and the position of its name, so the indexes of
two root files that import the same module agree on what a library name is: that is
how references are found across imports.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from aiwfc.ir import models as ir
from aiwfc.syntax import ast
from aiwfc.syntax.parser import MISSING
from aiwfc.source import Span

LIBRARY_KINDS = ("resource", "image", "dataset")
BUILTINS = ("index", "iteration", "project")


@dataclass(frozen=True)
class Symbol:
    """A definition: what kind of thing, its name, where the name and the whole are."""

    kind: str  # workflow param resource image dataset phase feedback port foreach site partition
    name: str
    span: Span  # the name
    extent: Span  # the whole definition
    owner: tuple[str, ...] = ()  # (workflow,) or (workflow, phase); () for library definitions
    detail: str = ""  # a phase's kind, a port's direction
    node: object = field(default=None, compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[str, int, int]:
        """Identity across indexes of different roots."""
        return (_norm(self.span.file), self.span.line, self.span.column)


@functools.lru_cache(maxsize=4096)
def _norm(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path


def contains(span: Span, line: int, column: int) -> bool:
    """Whether a 1-based position is inside `span` or just after its end (a cursor after a word)."""
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


@dataclass
class _WorkflowScope:
    params: dict[str, Symbol] = field(default_factory=dict)
    resources: dict[str, Symbol] = field(default_factory=dict)
    images: dict[str, Symbol] = field(default_factory=dict)
    datasets: dict[str, Symbol] = field(default_factory=dict)
    phases: dict[str, Symbol] = field(default_factory=dict)
    ports: dict[tuple[str, str, str], Symbol] = field(default_factory=dict)  # (phase, in|out, name)
    foreach: dict[str, Symbol] = field(default_factory=dict)  # phase -> its foreach variable


class Index:
    """Every definition and every use of a name in a root file and its imports."""

    def __init__(self, modules: dict[str, ast.Module]):
        self.modules = modules
        self.symbols: list[Symbol] = []
        self.occurrences: list[tuple[Span, Symbol]] = []
        self.library: dict[str, dict[str, Symbol]] = {k: {} for k in LIBRARY_KINDS + ("site",)}
        self.workflows: dict[str, _WorkflowScope] = {}
        for mod in modules.values():
            self._library(mod)
        for mod in modules.values():
            for block in mod.blocks:
                if block.kind.text == "workflow" and _named(block):
                    self._workflow(block)

    # ------------------------------------------------------------ queries
    def at(self, file: str, line: int, column: int) -> tuple[Span, Symbol] | None:
        """The name occurrence under a 1-based position in `file` (the narrowest one)."""
        want = _norm(file)
        best = None
        for span, sym in self.occurrences:
            if span.line <= line <= span.end_line and contains(span, line, column) and _norm(span.file) == want:
                if best is None or (span.end_column - span.column) < (best[0].end_column - best[0].column):
                    best = (span, sym)
        return best

    def uses(self, sym: Symbol, declaration: bool = True) -> list[Span]:
        """Where `sym` is named, its definition first when `declaration`."""
        out = [span for span, s in self.occurrences if s.key == sym.key and (declaration or span != s.span)]
        return sorted(set(out), key=lambda s: (s.file, s.line, s.column))

    def symbols_in(self, file: str) -> list[Symbol]:
        want = _norm(file)
        return [s for s in self.symbols if _norm(s.span.file) == want]

    def scope(self, workflow: str) -> _WorkflowScope | None:
        return self.workflows.get(workflow)

    # ------------------------------------------------------------ definitions
    def _define(self, kind: str, name: ast.Name, extent: Span, owner=(), detail="", node=None) -> Symbol:
        sym = Symbol(kind, name.text, name.span, extent, tuple(owner), detail, node)
        self.symbols.append(sym)
        self.occurrences.append((name.span, sym))
        return sym

    def _use(self, name: ast.Name, sym: Symbol | None) -> None:
        if sym is not None and name.text != MISSING:
            self.occurrences.append((name.span, sym))

    def _library(self, mod: ast.Module) -> None:
        for block in mod.blocks:
            kind = block.kind.text
            if not _named(block):
                continue
            if kind in LIBRARY_KINDS:
                self.library[kind][block.name.text] = self._define(kind, block.name, block.span, node=block)
            elif kind == "site":
                site = self._define("site", block.name, block.span, node=block)
                self.library["site"][block.name.text] = site
                for item in block.items:
                    if isinstance(item, ast.Block) and item.kind.text == "partition" and _named(item):
                        self._define("partition", item.name, item.span, (block.name.text,), node=item)

    def _workflow(self, block: ast.Block) -> None:
        wf = block.name.text
        self._define("workflow", block.name, block.span, node=block)
        sc = self.workflows.setdefault(wf, _WorkflowScope())
        sc.resources = dict(self.library["resource"])
        sc.images = dict(self.library["image"])
        sc.datasets = dict(self.library["dataset"])
        phases, feedbacks = [], []
        for item in block.items:
            if isinstance(item, ast.ParamStmt) and item.name.text != MISSING:
                sc.params[item.name.text] = self._define("param", item.name, item.span, (wf,), node=item)
            elif isinstance(item, ast.Block) and _named(item):
                kind = item.kind.text
                if kind in LIBRARY_KINDS:
                    table = {"resource": sc.resources, "image": sc.images, "dataset": sc.datasets}[kind]
                    table[item.name.text] = self._define(kind, item.name, item.span, (wf,), node=item)
                elif kind in ir.PHASE_KINDS:
                    sc.phases[item.name.text] = self._define("phase", item.name, item.span, (wf,), kind, item)
                    phases.append(item)
                elif kind == "feedback":
                    self._define("feedback", item.name, item.span, (wf,), node=item)
                    feedbacks.append(item)
        for ph in phases:
            for item in ph.items:
                if isinstance(item, ast.PortStmt) and item.name.text != MISSING:
                    sc.ports[(ph.name.text, item.direction, item.name.text)] = self._define(
                        "port", item.name, item.span, (wf, ph.name.text), item.direction, item)
                elif isinstance(item, ast.ForeachStmt) and item.var.text != MISSING:
                    sc.foreach.setdefault(ph.name.text, self._define(
                        "foreach", item.var, item.span, (wf, ph.name.text), node=item))
        for item in block.items:
            if isinstance(item, ast.ParamStmt) and item.default is not None:
                self._expr(item.default, sc, None)
        for ph in phases:
            self._phase(ph, sc)
        for fb in feedbacks:
            self._feedback(fb, sc)

    # ------------------------------------------------------------ uses
    def _phase(self, ph: ast.Block, sc: _WorkflowScope) -> None:
        name = ph.name.text
        for item in ph.items:
            if isinstance(item, ast.Attribute):
                key, value = item.key.text, item.value
                if key == "image":
                    self._named_value(value, sc.images)
                elif key == "resources":
                    self._named_value(value, sc.resources)
                elif key == "site":
                    self._named_value(value, self.library["site"])
                elif key == "uses":
                    for it in (value.items if isinstance(value, ast.ListExpr) else (value,)):
                        self._named_value(it, sc.phases)
                elif key in ("track", "when"):
                    self._expr(value, sc, name)
            elif isinstance(item, ast.PortStmt) and item.value is not None:
                self._expr(item.value, sc, name)
            elif isinstance(item, ast.ForeachStmt):
                self._expr(item.source, sc, None)
            elif isinstance(item, ast.RunStmt):
                self._expr(item.command, sc, name)

    def _feedback(self, fb: ast.Block, sc: _WorkflowScope) -> None:
        for item in fb.items:
            if isinstance(item, ast.Attribute):
                if item.key.text == "body":
                    v = item.value
                    for it in (v.items if isinstance(v, ast.ListExpr) else (v,)):
                        self._named_value(it, sc.phases)
                elif item.key.text in ("until", "while", "max_iterations"):
                    self._expr(item.value, sc, None)
            elif isinstance(item, ast.NextStmt):
                parts = item.target.parts
                self._use(parts[0], sc.phases.get(parts[0].text))
                if len(parts) > 1:
                    var = sc.foreach.get(parts[0].text)
                    if var is not None and var.name == parts[1].text:
                        self._use(parts[1], var)
                    else:
                        self._use(parts[1], sc.ports.get((parts[0].text, "in", parts[1].text)))
                self._expr(item.value, sc, None)
            elif isinstance(item, ast.StopStmt):
                self._use(item.phase, sc.phases.get(item.phase.text))
                self._expr(item.when, sc, None)

    def _named_value(self, e: ast.Expr, table: dict[str, Symbol]) -> None:
        if isinstance(e, ast.Ref) and len(e.parts) == 1:
            self._use(e.parts[0], table.get(e.parts[0].text))

    def _expr(self, e: ast.Expr, sc: _WorkflowScope, phase: str | None) -> None:
        for ref in refs(e):
            self._ref(ref, sc, phase)

    def _ref(self, ref: ast.Ref, sc: _WorkflowScope, phase: str | None) -> None:
        """Resolves a dotted reference part by part, as `Typer.resolve` does."""
        head = ref.parts[0]
        h = head.text
        if phase is not None:
            var = sc.foreach.get(phase)
            if var is not None and var.name == h:
                self._use(head, var)
                return
            for direction in ("in", "out"):
                port = sc.ports.get((phase, direction, h))
                if port is not None:
                    self._use(head, port)
                    return
            if h in BUILTINS:
                return
        if h in sc.params:
            self._use(head, sc.params[h])
        elif h in sc.datasets:
            self._use(head, sc.datasets[h])
        elif h in sc.phases:
            self._use(head, sc.phases[h])
            if len(ref.parts) > 1:
                self._use(ref.parts[1], sc.ports.get((h, "out", ref.parts[1].text)))


def _named(block: ast.Block) -> bool:
    return block.name is not None and block.name.text != MISSING


def refs(e) -> list[ast.Ref]:
    """Every reference inside an expression (interpolations and map values included) that
    names something: a placeholder the recovering parser put for a missing name is not."""
    return [r for r in ast.refs_in(e) if r.parts and r.parts[0].text != MISSING]
