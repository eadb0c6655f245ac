"""The Parsl program with `--config slurm` against the real one-node Slurm cluster:
one SlurmProvider-backed executor per resource class, blocks submitted with the
partition, memory and GPUs the plan chose, every task run through the shared runtime
inside a Slurm job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("parsl", reason="parsl is not installed: pip install 'aiwfc[parsl]'")

WORKFLOW = """aiwf 0.1

workflow cluster {
  param n: int = 3
  resource small { cores = 1  memory = 200MiB  walltime = 5m }
  resource accel { cores = 1  memory = 200MiB  gpus = 1  walltime = 5m }

  task square {
    foreach x in range(n)
    resources = small
    out y: int
    out job: file = "job.txt"
    run "echo $(( ${x} * ${x} )) > ${y}; echo $SLURM_JOB_ID $SLURM_JOB_PARTITION > ${job}"
  }

  task gather {
    resources = accel
    in ys: list<int> = square.y
    out total: int
    out job: file = "job.txt"
    run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${ys} > ${total}; echo $SLURM_JOB_ID $SLURM_JOB_PARTITION $CUDA_VISIBLE_DEVICES > ${job}"
  }
}
"""


@pytest.mark.slurm
@pytest.mark.slow
def test_generated_program_runs_on_slurm(slurm_cluster, tmp_path):
    src = tmp_path / "cluster.aiwf"
    src.write_text(WORKFLOW)
    out = tmp_path / "parsl"
    p = subprocess.run([sys.executable, "-m", "aiwfc", "compile", str(src), "--target", "parsl", "-o", str(out),
                        "--site", "test-slurm"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    run_py = (out / "run.py").read_text()
    assert ("'accel': {'partition': 'gpu', 'cores': 1, 'memory': 209715200, 'gpus': 1, 'gpu_model': None, "
            "'walltime': 300, 'workers': 2, 'block_memory': 419430400, 'block_gpus': 2}") in run_py
    assert ("'small': {'partition': 'debug', 'cores': 1, 'memory': 209715200, 'gpus': 0, 'gpu_model': None, "
            "'walltime': 300, 'workers': 8, 'block_memory': 1677721600, 'block_gpus': 0}") in run_py
    run_dir = tmp_path / "run"
    p = subprocess.run([sys.executable, str(out / "run.py"), "--config", "slurm", "--address", "127.0.0.1",
                        "--run-dir", str(run_dir)], capture_output=True, text=True, env=slurm_cluster.env,
                       timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads((run_dir / "run.json").read_text())
    assert (doc["state"], doc["config"], doc["counts"]) == ("done", "slurm", {"done": 4})
    task = run_dir / "tasks"
    assert json.loads((task / "gather" / "i0" / "0" / "total.json").read_text()) == 5
    square_jobs = {(task / "square" / "i0" / str(i) / "job.txt").read_text().split()[0] for i in range(3)}
    job, partition, gpus = (task / "gather" / "i0" / "0" / "job.txt").read_text().split()
    # every task ran inside a Slurm job: the small class's block on debug, the accel's on gpu with a GPU
    assert len(square_jobs) == 1 and square_jobs.pop().isdigit()
    assert {(task / "square" / "i0" / str(i) / "job.txt").read_text().split()[1] for i in range(3)} == {"debug"}
    assert job.isdigit() and partition == "gpu" and gpus in ("0", "1")   # one GPU of the block's two per worker
    assert {a["executor"] for a in doc["apps"]} == {"small", "accel"}

    # `aiwfc run --config slurm` on the same run directory: the same spec, so every task is
    # found done with the same key and not run again (the apps still go through Slurm blocks)
    p = subprocess.run([sys.executable, "-m", "aiwfc", "run", str(src), "--site", "test-slurm", "--config", "slurm",
                        "--run-dir", str(run_dir), "--quiet"], capture_output=True, text=True,
                       env=slurm_cluster.env, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert ": 4 tasks (4 done; 4 cached)" in p.stdout
    again = json.loads((run_dir / "run.json").read_text())
    assert again["config"] == "slurm" and [t["cached"] for t in again["tasks"]] == [True] * 4
