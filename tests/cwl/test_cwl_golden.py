"""Golden CWL artefacts: every example's documents, byte for byte.

The job file names the example directory by absolute URI, the run spec (workflow.json) by
absolute path; both are stored with `@ROOT@` in place of the checkout's location. The runtime
modules a tracked tool carries (RECORD_MODULES, verbatim) are stored as `@RUNTIME <module>@`:
their text is the runtime's (test_tools_carry_the_runtime_modules_verbatim), so that a change
of the runtime does not rewrite every tracked tool's golden copy. Regenerate (never edit by hand) with

    AIWF_UPDATE_GOLDEN=1 python -m pytest -q tests/cwl/test_cwl_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from aiwfc_backends.cwl.tool import RECORD_MODULES
from aiwfc_backends.runtime import runtime_source
from tests.cwl.conftest import EXAMPLES, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"


def normalised(path: Path) -> str:
    # the job file names it by URI, the run spec (workflow.json) by path
    text = path.read_text().replace(ROOT.as_uri(), "@ROOT@").replace(str(ROOT), "@ROOT@")
    for name in RECORD_MODULES:  # a literal block under requirements.InitialWorkDirRequirement.listing[n].entry
        block = "\n".join(" " * 8 + line if line else "" for line in runtime_source(name)[:-1].split("\n"))
        text = text.replace(f"      entry: |\n{block}\n", f"      entry: '@RUNTIME {name}@'\n")
    return text


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


@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_tools_carry_the_runtime_modules_verbatim(folder, compiled):
    """Every tool with a task record carries RECORD_MODULES, each the runtime's text as it is."""
    tools = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((compiled[folder].out / "tools").glob("*.cwl"))}
    tracked = [name for name, doc in tools.items() if "aiwf_record" in doc["outputs"]]
    assert tracked
    for name in tracked:
        listing = tools[name]["requirements"]["InitialWorkDirRequirement"]["listing"]
        shipped = {e["entryname"]: e["entry"] for e in listing if e["entryname"] in RECORD_MODULES}
        assert shipped == {m: runtime_source(m) for m in RECORD_MODULES}, name
    for name, doc in tools.items():
        if name not in tracked:
            listing = doc["requirements"].get("InitialWorkDirRequirement", {}).get("listing", [])
            assert not [e for e in listing if e["entryname"] in RECORD_MODULES], name
