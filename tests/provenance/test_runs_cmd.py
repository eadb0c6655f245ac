"""`aiwfc runs`: listing and comparing run directories (exact table and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiwfc.cli import main


def _run_json(path: Path, *, started: float, params: dict, loss: list[float], best: float, state="done") -> None:
    path.mkdir(parents=True)
    tracked = []
    for k, l in enumerate(loss):
        tracked.append({"phase": "sweep", "iteration": k, "index": 0, "values": {"lr": 0.3, "metrics": {"loss": l}}})
    tracked.append({"phase": "select", "iteration": len(loss) - 1, "index": 0,
                    "values": {"best_loss": best, "best_model": "/x/best.npz"}})
    doc = {"format": "aiwf-run/1", "workflow": "hpo", "state": state, "params": params, "started": started,
           "seconds": 2.5, "loops": {"more_data": [{}] * len(loss)}, "tracked": tracked}
    (path / "run.json").write_text(json.dumps(doc))


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run_json(tmp_path / "runs" / "b", started=1795433363.0, params={"epochs": 50, "lrs": [0.3]}, loss=[0.5, 0.25],
              best=0.25)
    _run_json(tmp_path / "runs" / "a", started=1795433400.0, params={"epochs": 100, "lrs": [0.3]}, loss=[0.125],
              best=0.125)
    (tmp_path / "runs" / "empty").mkdir()
    return tmp_path


def test_text_table_oldest_first_differences_marked(runs_dir, capsys):
    assert main(["runs"]) == 0
    assert capsys.readouterr().out == (
        "  run                        runs/b                runs/a\n"
        "  workflow                   hpo                   hpo\n"
        "  state                      done                  done\n"
        "* started                    2026-11-23 11:29:23Z  2026-11-23 11:30:00Z\n"
        "  seconds                    2.5                   2.5\n"
        "* iterations                 2                     1\n"
        "* param epochs               50                    100\n"
        "  param lrs                  [0.3]                 [0.3]\n"
        "* metric select.best_loss    0.25                  0.125\n"
        "  metric sweep.lr            0.3                   0.3\n"
        "* metric sweep.metrics.loss  0.25                  0.125\n")


def test_differ_only_and_json(runs_dir, capsys):
    assert main(["runs", "--differ", "runs/a", "runs/b"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "* started                    2026-11-23 11:29:23Z  2026-11-23 11:30:00Z",
        "* iterations                 2                     1",
        "* param epochs               50                    100",
        "* metric select.best_loss    0.25                  0.125",
        "* metric sweep.metrics.loss  0.25                  0.125"]
    assert main(["runs", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "aiwfc-runs/1"
    assert [r["dir"] for r in doc["runs"]] == ["runs/b", "runs/a"]
    assert doc["runs"][0]["metrics"] == {"select.best_loss": 0.25, "sweep.lr": 0.3, "sweep.metrics.loss": 0.25}
    assert doc["runs"][1]["params"] == {"epochs": 100, "lrs": [0.3]}
    assert doc["differ"] == ["params.epochs", "metrics.select.best_loss", "metrics.sweep.metrics.loss"]


def test_run_without_run_json_is_read_from_task_records(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for i, loss in enumerate([0.5, 0.75]):
        d = tmp_path / "r" / "tasks" / "sweep" / "i0" / str(i)
        d.mkdir(parents=True)
        (d / "task.json").write_text(json.dumps({
            "format": "aiwf-task/1", "workflow": "hpo", "phase": "sweep", "iteration": 0, "index": i,
            "state": "done", "params": {"epochs": 5}, "tracked": {"metrics": {"loss": loss}}}))
    assert main(["runs", "r", "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert (run["dir"], run["workflow"], run["state"], run["started"]) == ("r", "hpo", "done", None)
    assert run["params"] == {"epochs": 5}
    assert run["metrics"] == {"sweep[0].metrics.loss": 0.5, "sweep[1].metrics.loss": 0.75}


def test_no_runs_and_missing_dir(runs_dir, capsys):
    assert main(["runs", "--workflow", "other"]) == 1
    assert capsys.readouterr().err == "aiwfc: no runs of workflow other in runs\n"
    assert main(["runs", "nowhere"]) == 2
    assert capsys.readouterr().err == "aiwfc: nowhere: no such directory\n"
