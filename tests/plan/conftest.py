"""Shared helpers of the planner tests: plan a workflow given as a path or as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiwfc.diagnostics import Severity
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*/*.aiwf") if p.name != "sites.aiwf")


def load_checked(path: Path, text: str | None = None, site: str | None = None):
    """The compilation and its one workflow; fails the test on any front-end error."""
    comp = analyse(str(path), text=text, site=site)
    errors = [f"{d.code} {d.span.line}:{d.span.column} {d.message}" for d in comp.sink.sorted()
              if d.severity is Severity.ERROR]
    assert errors == []
    assert len(comp.program.workflows) == 1
    return comp, comp.program.workflows[0]


@pytest.fixture
def plan_text(tmp_path):
    """plan_text(text, level=2, site=None, disabled=()) -> PlanResult of a workflow given as text."""

    def make(text: str, level: int = 2, site: str | None = None, disabled=()):
        path = tmp_path / "wf.aiwf"
        path.write_text(text, encoding="utf-8")
        comp, wf = load_checked(path, site=site)
        return build_plan(comp, wf, level=level, disabled=frozenset(disabled))

    return make
