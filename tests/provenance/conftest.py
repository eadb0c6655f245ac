"""One real `aiwfc run` of examples/adaptive_training (Parsl, local), shared by the provenance tests,
and what its MLflow runs must hold whichever backend ran it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def assert_hpo_logged(uri: str, values: Path, artifacts: bool = True) -> dict[str, Any]:
    """Asserts, through MLflow's client API, the runs a tracked hpo run (HPO_PARAMS) logged to
    the store at `uri`: the parent's params, each sweep item's params and per-iteration loss
    (the iteration as the step), select's best loss, and with `artifacts` the last
    iteration's model files. The expected numbers are the ones the scripts wrote in the run
    directory `values` (tasks/<phase>/i<K>/<I>/), the same for every backend. Returns the
    runs by name. mlflow must be importable (the callers skip without it)."""
    from mlflow.tracking import MlflowClient  # optional (aiwfc[track]): this module loads without it

    def loaded(rel: str) -> Any:
        return json.loads((values / "tasks" / rel).read_text())

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("hpo")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["run", "select", "sweep[0]", "sweep[1]", "sweep[2]"]
    parent = runs["run"]
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"epochs": "40", "lrs": "[0.3, 0.1, 0.03]", "max_rounds": "2",
                                  "samples_per_sim": "12", "sims_per_round": "2", "target_loss": "0.004"}
    for i, lr in enumerate(["0.3", "0.1", "0.03"]):
        sweep = runs[f"sweep[{i}]"]
        assert sweep.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert sweep.data.params == {"epochs": "40", "lr": lr, "lrs": "[0.3, 0.1, 0.03]"}
        history = client.get_metric_history(sweep.info.run_id, "metrics.loss")
        assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
            (k, loaded(f"sweep/i{k}/{i}/metrics.json")["loss"]) for k in (0, 1)]
        if artifacts:
            assert [a.path for a in client.list_artifacts(sweep.info.run_id, "i1")] == [f"i1/model_{i}.npz"]
    best = client.get_metric_history(runs["select"].info.run_id, "best_loss")
    assert [(m.step, m.value) for m in sorted(best, key=lambda m: m.step)] == [
        (k, loaded(f"select/i{k}/0/best_loss.json")) for k in (0, 1)]
    if artifacts:
        assert [a.path for a in client.list_artifacts(runs["select"].info.run_id, "i1")] == ["i1/best.npz"]
    return runs
