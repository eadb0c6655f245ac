"""Golden plans of the examples at -O0 and -O2 (tests/plan/golden/<example>.O<n>.json).

Regenerate after an intended change with `AIWF_UPDATE_GOLDEN=1 python -m pytest
tests/plan/test_golden.py` and review the diff; never edit them by hand. Planning twice
must give byte-identical JSON (backends rely on a deterministic plan).
"""

from __future__ import annotations

import os

import pytest

from aiwfc.plan import build_plan
from tests.plan.conftest import EXAMPLES, load_checked

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("level", [0, 2])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_golden_plan(path, level) -> None:
    comp, wf = load_checked(path)
    text = build_plan(comp, wf, level=level).plan.to_json()
    assert build_plan(comp, wf, level=level).plan.to_json() == text, "planning is not deterministic"
    assert "/work/" not in text and str(path.parent) not in text, "a plan must not hold absolute paths"
    golden = os.path.join(GOLDEN, f"{path.parent.name}.O{level}.json")
    if UPDATE:
        with open(golden, "w", encoding="utf-8") as f:
            f.write(text)
    if not os.path.exists(golden):
        pytest.fail(f"{golden} is missing: run with AIWF_UPDATE_GOLDEN=1 to create it")
    with open(golden, encoding="utf-8") as f:
        assert text == f.read(), f"plan differs from {golden} (AIWF_UPDATE_GOLDEN=1 regenerates it)"
