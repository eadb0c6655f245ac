"""One real `aiwfc run` of examples/adaptive_training (Parsl, local), shared by the provenance tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HPO = ROOT / "examples" / "adaptive_training" / "hpo.aiwf"
# small enough for CI: 2 loop iterations, 2 simulations, 3 learning rates, 40 epochs
HPO_PARAMS = ["-p", "epochs=40", "-p", "max_rounds=2", "-p", "sims_per_round=2", "-p", "samples_per_sim=12"]


def run_hpo(run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiwfc", "run", str(HPO), *HPO_PARAMS, "--run-dir", str(run_dir),
                           "--quiet", "--workers", "2", *extra], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def hpo_run(tmp_path_factory):
    if importlib.util.find_spec("parsl") is None:
        pytest.skip("parsl is not installed: `aiwfc run` cannot run")
    run_dir = tmp_path_factory.mktemp("hpo") / "run"
    proc = run_hpo(run_dir, "--track", "mlflow")  # into the default store RUN/mlruns
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return run_dir, proc
