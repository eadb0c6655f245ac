"""Optimisation preserves semantics: the -O1 and -O2 plans run every task of the -O0
plan exactly once per iteration, in an order consistent with the -O0 plan's dependencies.

Both plans are run by the topological executor of `simulate.py` under several random
legal schedules; the rules come from the -O0 plan (one job per phase, dependencies
straight from the workflow's graph), which is itself checked against the workflow's
data flow first. Inputs: every example, bench/gen.py's random workflows and the
random workflows of `randomwf.py`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from aiwfc.plan import build_plan
from aiwfc.plan.facts import collect_facts
from bench.gen import generate
from tests.plan.conftest import EXAMPLES, load_checked
from tests.plan.randomwf import random_workflow
from tests.plan.simulate import constraints, execute, violations

SCHEDULES = 4


def assert_preserved(comp, wf) -> tuple:
    """Plans at -O0 and -O2 and checks every claim of the module docstring."""
    o0 = build_plan(comp, wf, level=0).plan
    o1 = build_plan(comp, wf, level=1).plan
    o2 = build_plan(comp, wf, level=2).plan
    _baseline_follows_data_flow(comp, wf, o0)
    rules = constraints(o0)
    expected = None
    for seed in range(SCHEDULES):
        base = execute(o0, seed)
        if expected is None:
            expected = base.counts()
            assert set(expected.values()) == {1}, "the -O0 plan runs some entry twice"
        assert violations(base, rules) == []
        for optimised in (o1, o2):
            run = execute(optimised, seed)
            assert run.counts() == expected, _diff(run.counts(), expected)
            assert violations(run, rules) == []
    return o0, o2


def _baseline_follows_data_flow(comp, wf, o0) -> None:
    """Every read of another phase's output is an -O0 dependency (services excepted)."""
    facts = collect_facts(comp.program, wf)
    deps = {(d.source, d.target) for d in o0.dependencies}
    for consumer, reads in facts.reads.items():
        for r in reads:
            if facts.scope.phases[r.producer].kind == "service":
                continue
            assert (r.producer, consumer) in deps, f"{r.producer} -> {consumer} missing at -O0"


def _diff(got: Counter, want: Counter) -> str:
    extra = sorted((got - want).items())[:5]
    missing = sorted((want - got).items())[:5]
    return f"extra {extra}, missing {missing}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_keep_their_semantics(path) -> None:
    comp, wf = load_checked(path)
    o0, o2 = assert_preserved(comp, wf)
    assert o2.passes != []


@pytest.mark.parametrize("seed", range(60))
def test_random_workflows_keep_their_semantics(seed, tmp_path) -> None:
    path = tmp_path / "wf.aiwf"
    path.write_text(random_workflow(seed, n=4 + seed % 9), encoding="utf-8")
    comp, wf = load_checked(path)
    assert_preserved(comp, wf)


@pytest.mark.parametrize("seed", range(30))
def test_bench_random_workflows_keep_their_semantics(seed, tmp_path) -> None:
    path = tmp_path / "wf.aiwf"
    path.write_text(generate("random", 3 + seed % 8, seed), encoding="utf-8")
    comp, wf = load_checked(path)
    assert_preserved(comp, wf)


def test_the_random_corpus_exercises_every_pass(tmp_path) -> None:
    """The generated inputs are only a proof if the passes actually fire on them."""
    fired: Counter = Counter()
    for seed in range(60):
        path = tmp_path / f"wf{seed}.aiwf"
        path.write_text(random_workflow(seed, n=4 + seed % 9), encoding="utf-8")
        comp, wf = load_checked(path)
        fired.update(build_plan(comp, wf, level=2).plan.passes)
    assert sorted(fired) == ["aggregation", "clustering", "fusion", "job-arrays", "partition-choice",
                             "staging", "transitive-reduction"]


def test_the_oracle_catches_a_dropped_dependency_and_a_lost_task() -> None:
    """The executor is only a proof if it fails broken plans: drop md -> fit, lose fit."""
    comp, wf = load_checked(next(p for p in EXAMPLES if p.name == "steer_md.aiwf"))
    o0 = build_plan(comp, wf, level=0).plan
    rules = constraints(o0)
    broken = build_plan(comp, wf, level=2).plan
    broken.dependencies = [d for d in broken.dependencies if (d.source, d.target) != ("md", "fit")]
    found = [v for seed in range(SCHEDULES) for v in violations(execute(broken, seed), rules)]
    # grid -> fit went with it (transitive reduction had left it implied by md -> fit)
    assert {v.split(",")[0] for v in found} == {"('grid'", "('md'"}
    lost = build_plan(comp, wf, level=2).plan
    lost.job("fit").steps = []
    assert execute(lost, 0).counts() != execute(o0, 0).counts()
