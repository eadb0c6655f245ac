"""A tracked workflow (`track = "mlflow..."`) on the real Slurm cluster logs to MLflow by itself.

The run's last job (`jobs/aiwf_finish.sbatch`, submitted by submit.sh with `afterany`
on everything else) runs `status.sh --crate` and `python3 -m aiwfc.tracking` on the
cluster; nothing is run on the "login node" after submit.sh but the polling. Asserted
through MLflow's client API as tests/provenance/test_mlflow.py does for Parsl. Then the
degraded case: a cluster whose python3 cannot import aiwfc prints the notice in the
finish job's log, and the plain task records and run.json remain. The crate the finish
job writes carries the workflow's sources, which `aiwfc compile` copied (asserted with
rocrate, hashes against the compile manifest).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.slurm_examples import example_copy
from tests.integration.test_slurm_backend import WAIT, compile_slurm, submit, wait_run
from tests.provenance.conftest import HPO_PARAMS, assert_hpo_logged

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def finish_job(run: Path, env: dict, timeout: float = WAIT) -> tuple[str, str]:
    """Waits until the run's finish job has left the queue; returns (job id, its log)."""
    rows = [line.split("\t") for line in (run / "slurm" / "jobs.tsv").read_text().splitlines()]
    ids = [r[3] for r in rows if r[2] == "finish"]
    assert len(ids) == 1, rows
    deadline = time.monotonic() + timeout
    while subprocess.run(["squeue", "-h", "-j", ids[0]], env=env, capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, "the finish job did not end"
        time.sleep(1)
    return ids[0], (run / "logs" / f"aiwf_finish_{ids[0]}.out").read_text()


def tracked_copy(tmp_path: Path, track: str) -> Path:
    path = example_copy("adaptive_training", tmp_path / "src")
    text = path.read_text()
    path.write_text(text.replace("workflow hpo {\n", f'workflow hpo {{\n  track = "{track}"\n', 1))
    return path


def test_tracked_slurm_run_logs_itself_to_mlflow_and_carries_its_sources(slurm_cluster, tmp_path):
    pytest.importorskip("mlflow.tracking", reason="mlflow is not installed")
    store = (tmp_path / "store").as_uri()
    path = tracked_copy(tmp_path, f"mlflow:{store}")
    env = dict(slurm_cluster.env)
    art = tmp_path / "artefacts"
    compile_slurm(path, art, *HPO_PARAMS)
    assert (art / "jobs" / "aiwf_finish.sbatch").is_file()
    run = tmp_path / "run"
    submit(art, run, env)
    done = wait_run(run, env)
    assert done.returncode == 0, done.stdout
    _, log = finish_job(run, env)
    assert f"RO-Crate: {run / 'ro-crate-metadata.json'}" in log
    assert "MLflow: experiment hpo, run " in log and log.rstrip().endswith(f" at {store}"), log
    assert json.loads((run / "run.json").read_text())["state"] == "completed"

    assert_hpo_logged(store, run)

    # the crate the finish job wrote carries the sources (aiwfc compile copied them, submit.sh into the run)
    rocrate = pytest.importorskip("rocrate.rocrate", reason="rocrate is not installed")
    crate = rocrate.ROCrate(str(run))
    manifest = json.loads((art / "aiwfc-manifest.json").read_text())
    hashes = {s["file"]: s["sha256"] for s in manifest["sources"]}
    wf = crate.mainEntity
    assert wf.id == "slurm/source/hpo.aiwf"
    assert (run / "slurm" / "source" / "hpo.aiwf").read_text() == path.read_text()
    assert wf["sha256"] == hashes["hpo.aiwf"] == hashlib.sha256(path.read_bytes()).hexdigest()
    resources = crate.get("slurm/source/small_resources.aiwf")
    assert resources.type == "File" and resources["sha256"] == hashes["small_resources.aiwf"] == \
        hashlib.sha256((run / "slurm" / "source" / "small_resources.aiwf").read_bytes()).hexdigest()
    # the stdlib modules are named (with their hashes), not carried
    std = crate.get("#source-std/images/python.aiwf")
    assert std.type == "CreativeWork" and std["sha256"] == hashes["std/images/python.aiwf"]


TINY = """aiwf 0.1
workflow tiny {
  track = "mlflow"
  param lr: float = 0.5
  task fit {
    out loss: float
    track = [lr, loss]
    run "python3 ${project}/fit.py ${lr} ${loss}"
  }
}
"""
FIT = "import json, sys\njson.dump(float(sys.argv[1]) / 10, open(sys.argv[2], 'w'))\n"


def test_without_aiwfc_on_the_cluster_a_notice_and_the_records_remain(slurm_cluster, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "tiny.aiwf").write_text(TINY)
    (src / "fit.py").write_text(FIT)
    art = tmp_path / "artefacts"
    compile_slurm(src / "tiny.aiwf", art)
    # the jobs' python3 is the system's, which has neither aiwfc nor mlflow
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python3").symlink_to("/usr/bin/python3")
    if subprocess.run([str(bare / "python3"), "-c", "import aiwfc"], capture_output=True, cwd=tmp_path).returncode == 0:
        pytest.skip("/usr/bin/python3 imports aiwfc here: cannot show a cluster without it")
    env = dict(slurm_cluster.env, PATH=f"{bare}:/usr/bin:/bin")
    run = tmp_path / "run"
    submit(art, run, env)
    assert wait_run(run, env).returncode == 0
    _, log = finish_job(run, env)
    assert log.splitlines()[-1] == ("aiwf: no MLflow tracking: python3 cannot import aiwfc here "
                                    "(pip install 'aiwfc[track]'); the task records remain")
    assert "run " + str(run) + ": completed" in log
    assert not (run / "mlruns").exists()
    record = json.loads((run / "tasks/fit/i0/0/task.json").read_text())
    assert (record["state"], record["tracked"]) == ("done", {"lr": 0.5, "loss": 0.05})
    assert json.loads((run / "run.json").read_text())["state"] == "completed"
