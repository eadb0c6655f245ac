"""The workflow's (and site's) `track = "..."` setting: which one wins, and `aiwfc run` obeying it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from aiwfc.tracking import parse_track, resolve_track
from tests.provenance.conftest import HPO, HPO_PARAMS


def test_parse_track_none():
    assert parse_track("none") == ("none", None)
    assert parse_track("mlflow:") == ("mlflow", None)
    assert parse_track("mlflow2") is None


@pytest.mark.parametrize("option, workflow, site, expected", [
    (None, None, None, None),
    (None, "mlflow", None, ("mlflow", None)),
    (None, None, "mlflow:http://site:5000", ("mlflow", "http://site:5000")),
    # the workflow asks for tracking, the site says where its server is
    (None, "mlflow", "mlflow:http://site:5000", ("mlflow", "http://site:5000")),
    (None, "mlflow:file:///w", "mlflow:http://site:5000", ("mlflow", "file:///w")),
    # `none` in the workflow opts out of the site's tracking; the command line beats both
    (None, "none", "mlflow:http://site:5000", None),
    (("mlflow", None), "none", None, ("mlflow", None)),
    (("mlflow", "file:///cli"), "mlflow:file:///w", None, ("mlflow", "file:///cli")),
    (("none", None), "mlflow", "mlflow", None),
    # an invalid text (reported as AIWF702 before anything runs) is skipped
    (None, "wandb", "mlflow:http://site:5000", ("mlflow", "http://site:5000")),
])
def test_resolve_track(option, workflow, site, expected):
    assert resolve_track(option, workflow, site) == expected


def test_track_and_no_track_exclude_each_other(capsys):
    from aiwfc.cli import main
    with pytest.raises(SystemExit) as e:
        main(["run", "x.aiwf", "--track", "mlflow", "--no-track"])
    assert e.value.code == 2
    assert "argument --no-track: not allowed with argument --track" in capsys.readouterr().err


def test_invalid_track_stops_the_run(tmp_path):
    src = tmp_path / "w.aiwf"
    src.write_text('aiwf 0.1\nworkflow w {\n  track = "mlfow"\n  task t { run "true" }\n}\n')
    proc = subprocess.run([sys.executable, "-m", "aiwfc", "run", str(src), "--run-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f'{src}:3:11: error[AIWF702]: workflow `w`: `track = "mlfow"` names no experiment tracker; ' \
           'expected "mlflow", "mlflow:URI" or "none"' in proc.stderr
    assert not (tmp_path / "run").exists()


def test_workflow_track_setting_logs_without_the_flag(tmp_path):
    """The example with `track = "mlflow:URI"`: `--no-track` logs nothing; the same command
    without it (the tasks now cached) logs the run to the workflow's store."""
    if importlib.util.find_spec("parsl") is None:
        pytest.skip("parsl is not installed: `aiwfc run` cannot run")
    mlflow_tracking = pytest.importorskip("mlflow.tracking", reason="mlflow is not installed")
    project = tmp_path / "project"
    shutil.copytree(HPO.parent, project, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    store = (tmp_path / "store").as_uri()
    path = project / HPO.name
    text = path.read_text()
    path.write_text(text.replace("workflow hpo {\n", f'workflow hpo {{\n  track = "mlflow:{store}"\n', 1))
    run_dir = tmp_path / "run"
    base = [sys.executable, "-m", "aiwfc", "run", str(path), *HPO_PARAMS, "--run-dir", str(run_dir),
            "--quiet", "--workers", "2"]
    first = subprocess.run(base + ["--no-track"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "MLflow" not in first.stdout and not (tmp_path / "store").exists() and not (run_dir / "mlruns").exists()
    second = subprocess.run(base, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr + second.stdout
    *_, logged, crate = second.stdout.splitlines()  # the program logs, then `aiwfc run` writes the crate
    assert logged.startswith("  MLflow: experiment hpo, run ") and logged.endswith(f" at {store}")
    assert crate == f"  RO-Crate: {run_dir / 'ro-crate-metadata.json'}"
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow_tracking.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("hpo")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["run", "select", "sweep[0]", "sweep[1]", "sweep[2]"]
    assert runs["sweep[1]"].data.params == {"epochs": "40", "lr": "0.1", "lrs": "[0.3, 0.1, 0.03]"}
    history = client.get_metric_history(runs["sweep[1]"].info.run_id, "metrics.loss")
    assert sorted(m.step for m in history) == [0, 1]
