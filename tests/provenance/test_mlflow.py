"""`aiwfc run --track mlflow`: params and per-iteration metrics, read back through MLflow's client API."""

from __future__ import annotations

import json
import os

import pytest

from aiwfc.tracking import parse_track

mlflow_tracking = pytest.importorskip("mlflow.tracking", reason="mlflow is not installed (pip install 'aiwfc[track]')")


def test_track_option():
    assert parse_track("mlflow") == ("mlflow", None)
    assert parse_track("mlflow:file:///tmp/x") == ("mlflow", "file:///tmp/x")
    assert parse_track("wandb") is None


def test_hpo_runs_logged_to_the_file_store(hpo_run):
    run_dir, proc = hpo_run
    uri = (run_dir / "mlruns").as_uri()
    assert "  MLflow: experiment hpo, run " in proc.stdout and proc.stdout.rstrip().endswith(f" at {uri}")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
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
            (k, json.loads((run_dir / f"tasks/sweep/i{k}/{i}/metrics.json").read_text())["loss"]) for k in (0, 1)]
        assert [a.path for a in client.list_artifacts(sweep.info.run_id, "i1")] == [f"i1/model_{i}.npz"]
    select = runs["select"]
    best = [(m.step, m.value) for m in sorted(client.get_metric_history(select.info.run_id, "best_loss"),
                                               key=lambda m: m.step)]
    assert best == [(k, json.loads((run_dir / f"tasks/select/i{k}/0/best_loss.json").read_text())) for k in (0, 1)]
    assert [a.path for a in client.list_artifacts(select.info.run_id, "i1")] == ["i1/best.npz"]


def test_without_mlflow_a_notice_and_the_records_remain(tmp_path, monkeypatch):
    import sys

    from aiwfc.tracking import track_run
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    assert track_run(tmp_path) == ("no MLflow tracking: mlflow is not installed (pip install 'aiwfc[track]'); "
                                   "the task records remain")
    assert list(tmp_path.iterdir()) == []


def test_bad_track_option_is_a_usage_error(capsys):
    from aiwfc.cli import main
    with pytest.raises(SystemExit) as e:
        main(["run", "x.aiwf", "--track", "wandb"])
    assert e.value.code == 2
    assert "argument --track: expected mlflow, mlflow:URI or none, got `wandb`" in capsys.readouterr().err
