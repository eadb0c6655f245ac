"""Golden `run.py` of every example (the part of the Parsl program particular to a
workflow), and what the backend adds beside it. Golden copies live in tests/golden/parsl/;
regenerate (never edit) with

    AIWF_UPDATE_GOLDEN=1 python -m pytest -q tests/parsl/test_parsl_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aiwfc.backend import FEATURES, EmitContext, discover_backends
from aiwfc.diagnostics import Severity
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan
from aiwfc_backends.parsl import ENGINE_FILE, LAUNCH_FILE, PROGRAM_FILE, ParslBackend, engine_source
from aiwfc_backends.runtime import RUNTIME_MODULES, runtime_source

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "parsl"
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*/*.aiwf") if p.name != "sites.aiwf")


def emit(path: Path, site: str | None = None):
    comp = analyse(str(path), site=site)
    assert not [d for d in comp.sink.items if d.severity is Severity.ERROR]
    wf = comp.program.workflows[0]
    return ParslBackend().emit(EmitContext(comp, wf, build_plan(comp, wf, level=1)))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_golden_program(path):
    produced = emit(path).text(PROGRAM_FILE)
    golden = GOLDEN / f"{path.parent.name}.run.py"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced)
    assert produced == golden.read_text(), f"{golden} differs (regenerate with AIWF_UPDATE_GOLDEN=1)"


def test_artefacts_beside_the_program_are_the_engine_and_the_shared_runtime():
    out = emit(ROOT / "examples" / "dynamic_orchestration" / "steer_md.aiwf")
    assert list(out) == [PROGRAM_FILE, ENGINE_FILE, LAUNCH_FILE, "aiwf_task.py", "aiwf_base.py", "aiwf_values.py",
                         "aiwf_records.py", "aiwf_exec.py", "aiwf_loop.py", "workflow.json"]
    assert out[PROGRAM_FILE][1] is True and out[ENGINE_FILE][1] is False
    assert out.text(ENGINE_FILE) == engine_source() and out.text("aiwf_task.py") == runtime_source()
    assert all(out.text(name) == runtime_source(name) for name in RUNTIME_MODULES)
    assert out.text(LAUNCH_FILE) == engine_source(LAUNCH_FILE)
    program = out.text(PROGRAM_FILE)
    # one executor per resource class, sized from the site's partitions: the gpu partition's
    # nodes have 32 cores and 4 GPUs, a task asks for 8 cores and 1 GPU -> 4 workers a block
    assert ("    'steering_training': {'partition': 'gpu', 'cores': 8, 'memory': 34359738368, 'gpus': 1, "
            "'gpu_model': None, 'walltime': 7200, 'workers': 4, 'block_memory': 137438953472, 'block_gpus': 4},"
            ) in program
    assert "SITE = {'name': 'generic_slurm', 'scheduler': 'slurm', " in program


def test_the_backend_is_registered_and_declares_every_feature():
    backend = discover_backends()["parsl"]
    assert isinstance(backend, ParslBackend) and backend.needs_plan
    assert sorted(backend.capabilities) == sorted(FEATURES)
    assert all(backend.notes.get(f) for f, c in backend.capabilities.items() if c.value != "native")
