"""`build_plan`: the planner's entry point for the CLI, the backends and the tests."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from functools import lru_cache

from aiwfc.diagnostics import Diagnostic, DiagnosticSink
from aiwfc.graph import graph_of
from aiwfc.ir import models as ir
from aiwfc.plan.cost import Cost, plan_cost
from aiwfc.plan.facts import WorkflowFacts, collect_facts
from aiwfc.plan.lower import clone, lower
from aiwfc.plan.models import Plan
from aiwfc.plan.passes import LEVELS, PASS_NAMES, PassContext, PassStep, run_passes
from aiwfc.resolve.imports import stdlib_root
from aiwfc.resolve.load import Compilation, load

#: The site assumed when none is bound: the stdlib's generic Slurm cluster.
DEFAULT_SITE = "generic-slurm"


@lru_cache(maxsize=1)
def _default_site_text() -> str:
    return (stdlib_root() / "sites" / f"{DEFAULT_SITE}.aiwf").read_text(encoding="utf-8")


def default_site() -> ir.SiteProfile:
    """The stdlib's generic-slurm profile (a fresh copy each time: passes never share it)."""
    path = str(stdlib_root() / "sites" / f"{DEFAULT_SITE}.aiwf")
    comp = load(path, text=_default_site_text())
    return comp.program.sites[0]


@dataclass
class PlanResult:
    """A plan, the naive plan it was optimised from, and what each pass did."""

    plan: Plan
    baseline: Plan
    steps: list[PassStep]
    cost: Cost
    baseline_cost: Cost
    diagnostics: list[Diagnostic] = field(default_factory=list)
    facts: WorkflowFacts | None = None
    seconds: float = 0.0

    @property
    def site_note(self) -> str | None:
        """Said when no site was given and generic-slurm limits were assumed."""
        if not self.plan.site_defaulted:
            return None
        return (f"no site given: planned with the limits of `{DEFAULT_SITE}` "
                f"(max_array_size {self.plan.max_array_size}, cluster_target {self.plan.cluster_target}s); "
                "pass --site to plan for your machine")

    def to_json(self, explain: bool = True) -> dict:
        out = {"plan": self.plan.model_dump(mode="json"), "cost": self.cost.to_json()}
        if explain:
            out["baseline_cost"] = self.baseline_cost.to_json()
            out["passes"] = [s.to_json() for s in self.steps]
            out["site_note"] = self.site_note
        return out


def build_plan(comp: Compilation, workflow: ir.Workflow, *, level: int = 2,
               disabled: frozenset[str] = frozenset(), sink: DiagnosticSink | None = None,
               measure: bool = True) -> PlanResult:
    """Lowers `workflow` of a checked compilation to its -O0 plan and optimises a copy.

    `level` 0, 1 or 2 selects the passes (aiwfc.plan.passes), `disabled` removes some
    by name; `comp.site` is the site (when None, generic-slurm's limits are assumed and
    `Plan.site_defaulted` says so). Diagnostics (AIWF903) go to `sink` when given and
    are also returned. Call it only for a workflow without errors: the planner trusts
    the checks (a dependency cycle, say, would give a meaningless plan). `measure=False`
    skips the before/after cost of each pass (the planning-time benchmark).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level}")
    unknown = set(disabled) - set(PASS_NAMES)
    if unknown:
        raise ValueError(f"unknown pass(es) {', '.join(sorted(unknown))}; passes: {', '.join(PASS_NAMES)}")
    collecting = gc.isenabled()
    gc.disable()  # the planner builds many small acyclic objects: the cyclic GC only costs time
    try:
        return _build(comp, workflow, level, frozenset(disabled), sink, measure)
    finally:
        if collecting:
            gc.enable()


def _build(comp: Compilation, workflow: ir.Workflow, level: int, disabled: frozenset[str],
           sink: DiagnosticSink | None, measure: bool) -> PlanResult:
    started = time.perf_counter()
    site, defaulted = (comp.site, False) if comp.site is not None else (default_site(), True)
    sites = {s.name: s for s in (comp.program.sites if comp.program else [])}
    facts = collect_facts(comp.program, workflow, graph_of(comp, workflow))
    baseline = lower(facts, site, site_defaulted=defaulted, source=comp.path)
    plan = clone(baseline)  # the same plan as a second lowering, without validating it again
    local = DiagnosticSink()
    ctx = PassContext(facts=facts, site=site, sink=local, sites=sites)
    baseline_cost = plan_cost(baseline)
    steps = run_passes(plan, ctx, level, frozenset(disabled), measure=measure, initial=baseline_cost)
    diagnostics = local.sorted()
    if sink is not None:
        sink.extend(diagnostics)
    result = PlanResult(plan, baseline, steps, plan_cost(plan), baseline_cost, diagnostics, facts)
    result.seconds = time.perf_counter() - started
    return result
