"""Golden CWL artefacts: every example's documents, byte for byte.

The job file names the example directory by absolute URI, the run spec (workflow.json) by
absolute path; both are stored with `@ROOT@` in place of the checkout's location. Regenerate (never edit by hand) with

    AIWF_UPDATE_GOLDEN=1 python -m pytest -q tests/cwl/test_cwl_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.cwl.conftest import EXAMPLES, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"


def normalised(path: Path) -> str:
    # the job file names it by URI, the run spec (workflow.json) by path
    return path.read_text().replace(ROOT.as_uri(), "@ROOT@").replace(str(ROOT), "@ROOT@")


@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_golden_artefacts(folder, compiled):
    c = compiled[folder]
    assert c.status == 0
    golden = GOLDEN / folder
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        for rel in c.files():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(normalised(c.out / rel))
    expected = sorted(p.relative_to(golden).as_posix() for p in golden.rglob("*") if p.is_file())
    assert c.files() == expected, "regenerate with AIWF_UPDATE_GOLDEN=1"
    for rel in expected:
        assert normalised(c.out / rel) == (golden / rel).read_text(), f"{folder}/{rel} differs from the golden copy"
