"""The registry of codes, the rule fixtures and the checks keep each other honest.

* every code has tests/rules/<CODE>.yaml with a case that reports it and one that does not;
* a code whose stage is not built yet is listed in PENDING, and leaves PENDING the moment
  its fixture exists (a PENDING code with a fixture fails too);
* every check module holds one registered check, documented with an anti-pattern and
  the better way, reporting only registered codes;
* spec/diagnostics.md is exactly what `python -m aiwfc.docs` generates
  (AIWF_UPDATE_GOLDEN=1 pytest tests/test_codes_meta.py rewrites it).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pytest
import yaml

import aiwfc.checks
from aiwfc.checks.framework import REGISTRY as CHECKS, load_checks
from aiwfc.codes import REGISTRY, all_codes
from aiwfc.docs import diagnostics_markdown

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "tests" / "rules"
SPEC = ROOT / "spec" / "diagnostics.md"

# Codes of stages that are not built yet; each owner removes a code when its fixture lands.
PENDING: set[str] = {
    "AIWF901", "AIWF902", "AIWF903",  # backend capability and planning: the planner/backends engineer
}


def _fixture(code: str) -> dict | None:
    path = RULES / f"{code}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None


@pytest.mark.parametrize("code", [c.id for c in all_codes() if not c.retired])
def test_every_code_has_a_failing_and_a_passing_fixture(code: str) -> None:
    doc = _fixture(code)
    if code in PENDING:
        assert doc is None, f"{code} has a fixture now: remove it from PENDING in {Path(__file__).name}"
        return
    assert doc is not None, f"tests/rules/{code}.yaml is missing"
    assert doc.get("code") == code
    cases = doc.get("cases") or []
    assert any(c.get("expect") for c in cases), f"{code}: no case reports it"
    assert any(c.get("expect") == [] for c in cases), f"{code}: no case shows it is not reported"


def test_pending_codes_exist() -> None:
    assert PENDING <= set(REGISTRY), f"PENDING names unknown codes: {sorted(PENDING - set(REGISTRY))}"


def test_fixture_files_are_well_formed() -> None:
    for path in sorted(RULES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.stem in REGISTRY, f"{path.name}: no such code"
        assert doc.get("code") == path.stem, f"{path.name}: `code:` must be {path.stem}"
        names = [c.get("name") for c in doc.get("cases") or []]
        assert all(names) and len(names) == len(set(names)), f"{path.name}: cases need distinct names"
        for case in doc["cases"]:
            assert isinstance(case.get("source"), str), f"{path.name}/{case['name']}: no source"
            assert isinstance(case.get("expect"), list), f"{path.name}/{case['name']}: no expect list"
            for e in case["expect"]:
                assert {"line", "column", "message"} <= set(e), f"{path.name}/{case['name']}: {e}"
                assert "code" in e or not case.get("all"), f"{path.name}/{case['name']}: `all` needs codes"


def test_one_documented_check_per_module() -> None:
    load_checks()
    by_module: dict[str, list[str]] = {}
    for cls in CHECKS:
        by_module.setdefault(cls.__module__, []).append(cls.__name__)
        doc = cls.__doc__ or ""
        assert "Anti-pattern::" in doc and "Better::" in doc, f"{cls.__name__}: document both"
        assert cls.codes, f"{cls.__name__} declares no codes"
        assert all(c.id in REGISTRY for c in cls.codes)
    assert {m: n for m, n in by_module.items() if len(n) > 1} == {}
    # every module of the package either registers one check or registers none (helpers)
    for info in pkgutil.iter_modules(aiwfc.checks.__path__):
        importlib.import_module(f"aiwfc.checks.{info.name}")


def test_checks_cover_their_families() -> None:
    """Codes of the graph, resources, data, feedback and practices families are reported by checks."""
    load_checks()
    declared = {c.id for cls in CHECKS for c in cls.codes}
    for code in all_codes():
        if code.id[4] in "34567" and not code.retired:
            assert code.id in declared, f"{code.id} is reported by no check"


def test_diagnostics_reference_is_generated() -> None:
    text = diagnostics_markdown()
    if os.environ.get("AIWF_UPDATE_GOLDEN") == "1":
        SPEC.parent.mkdir(exist_ok=True)
        SPEC.write_text(text, encoding="utf-8")
    assert SPEC.read_text(encoding="utf-8") == text, \
        "spec/diagnostics.md is stale: python -m aiwfc.docs > spec/diagnostics.md"
