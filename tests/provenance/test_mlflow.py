"""`aiwfc run --track mlflow`: params and per-iteration metrics, read back through MLflow's client API."""

from __future__ import annotations

import pytest

from aiwfc.tracking import parse_track
from tests.provenance.conftest import assert_hpo_logged

pytest.importorskip("mlflow.tracking", reason="mlflow is not installed (pip install 'aiwfc[track]')")


def test_track_option():
    assert parse_track("mlflow") == ("mlflow", None)
    assert parse_track("mlflow:file:///tmp/x") == ("mlflow", "file:///tmp/x")
    assert parse_track("wandb") is None


def test_hpo_runs_logged_to_the_file_store(hpo_run):
    run_dir, proc = hpo_run
    uri = (run_dir / "mlruns").as_uri()
    # the program logs the run when it ends (run.py's TRACK), then `aiwfc run` writes the crate
    *_, logged, crate = proc.stdout.splitlines()
    assert logged.startswith("  MLflow: experiment hpo, run ") and logged.endswith(f" at {uri}")
    assert crate == f"  RO-Crate: {run_dir / 'ro-crate-metadata.json'}"
    assert_hpo_logged(uri, run_dir)


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
