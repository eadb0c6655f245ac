"""The local Slurm cluster behaves like a real one for the features aiwfc emits.

These tests pin down the exact states and messages of Slurm 22.05 that the generated
batch scripts (and the tests of the compiler) rely on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.engines.slurm_cluster import SlurmCluster, SlurmClusterError

pytestmark = pytest.mark.slurm


def script(path: Path, body: str, *directives: str) -> Path:
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives), body, ""]
    path.write_text("\n".join(lines))
    path.chmod(0o755)
    return path


def test_job_writes_file_and_completes(slurm_cluster: SlurmCluster, tmp_path: Path):
    job = script(tmp_path / "hello.sh", 'echo "hello $SLURM_JOB_ID" > result.txt',
                 "--job-name=hello", "--output=hello.out")
    job_id = slurm_cluster.sbatch(job, cwd=tmp_path)
    assert slurm_cluster.wait(job_id) == {job_id: ("COMPLETED", "0:0")}
    assert (tmp_path / "result.txt").read_text() == f"hello {job_id}\n"
    assert slurm_cluster.states(job_id) == {job_id: ("COMPLETED", "0:0")}


def test_failing_job_is_failed_with_its_exit_code(slurm_cluster, tmp_path):
    job_id = slurm_cluster.sbatch(script(tmp_path / "f.sh", "exit 3"), cwd=tmp_path)
    assert slurm_cluster.wait(job_id) == {job_id: ("FAILED", "3:0")}


def test_array_with_throttle_runs_every_task(slurm_cluster, tmp_path):
    job = script(tmp_path / "arr.sh", 'echo "$SLURM_ARRAY_TASK_ID" > "task-$SLURM_ARRAY_TASK_ID.txt"',
                 "--array=0-4%2", "--output=arr-%A_%a.out")
    array_id = slurm_cluster.sbatch(job, cwd=tmp_path)
    final = slurm_cluster.wait(array_id)
    assert final == {f"{array_id}_{i}": ("COMPLETED", "0:0") for i in range(5)}
    for i in range(5):
        assert (tmp_path / f"task-{i}.txt").read_text() == f"{i}\n"
    assert slurm_cluster.states(f"{array_id}_3") == {f"{array_id}_3": ("COMPLETED", "0:0")}


def test_afterok_on_failed_job_cancels_dependent_without_running_it(slurm_cluster, tmp_path):
    failing = slurm_cluster.sbatch(script(tmp_path / "fail.sh", "exit 1"), cwd=tmp_path)
    marker = tmp_path / "dependent-ran"
    dependent = slurm_cluster.sbatch(
        script(tmp_path / "dep.sh", f"touch {marker}"),
        f"--dependency=afterok:{failing}", "--kill-on-invalid-dep=yes", cwd=tmp_path)
    final = slurm_cluster.wait([failing, dependent])
    # Slurm 22.05: the dependent job goes straight from PENDING to CANCELLED, exit 0:0,
    # with reason DependencyNeverSatisfied.
    assert final == {failing: ("FAILED", "1:0"), dependent: ("CANCELLED", "0:0")}
    reason = slurm_cluster.run(["squeue", "-h", "-t", "all", "-j", dependent, "-o", "%T %r"])
    assert reason.stdout.strip() == "CANCELLED DependencyNeverSatisfied"
    assert not marker.exists()


def test_afterok_on_failed_job_cancels_dependent_array(slurm_cluster, tmp_path):
    failing = slurm_cluster.sbatch(script(tmp_path / "fail.sh", "exit 1"), cwd=tmp_path)
    dependent = slurm_cluster.sbatch(
        script(tmp_path / "dep.sh", "touch ran-$SLURM_ARRAY_TASK_ID"), "--array=0-2",
        f"--dependency=afterok:{failing}", "--kill-on-invalid-dep=yes", cwd=tmp_path)
    final = slurm_cluster.wait([failing, dependent])
    # The array never splits into tasks: one record for all of them.
    assert final == {failing: ("FAILED", "1:0"), f"{dependent}_[0-2]": ("CANCELLED", "0:0")}
    assert not list(tmp_path.glob("ran-*"))


def test_afterok_on_completed_job_runs(slurm_cluster, tmp_path):
    first = slurm_cluster.sbatch(script(tmp_path / "a.sh", "echo a > a.txt"), cwd=tmp_path)
    second = slurm_cluster.sbatch(script(tmp_path / "b.sh", "cat a.txt > b.txt"),
                                  f"--dependency=afterok:{first}", "--kill-on-invalid-dep=yes",
                                  cwd=tmp_path)
    assert slurm_cluster.wait([first, second]) == {
        first: ("COMPLETED", "0:0"), second: ("COMPLETED", "0:0")}
    assert (tmp_path / "b.txt").read_text() == "a\n"


def test_gpu_gres_sets_cuda_visible_devices(slurm_cluster, tmp_path):
    job = script(tmp_path / "gpu.sh", 'echo "CUDA=${CUDA_VISIBLE_DEVICES:-}" > gpu.txt',
                 f"--partition={slurm_cluster.GPU_PARTITION}", "--gres=gpu:1")
    job_id = slurm_cluster.sbatch(job, cwd=tmp_path)
    assert slurm_cluster.wait(job_id) == {job_id: ("COMPLETED", "0:0")}
    assert (tmp_path / "gpu.txt").read_text() == "CUDA=0\n"


def test_too_many_gpus_is_rejected(slurm_cluster, tmp_path):
    proc = slurm_cluster.run(["sbatch", "--test-only", "--gres=gpu:3", "--wrap", "true"],
                             cwd=tmp_path)
    assert proc.returncode == 1
    assert "Requested node configuration is not available" in proc.stderr


def test_test_only_accepts_normal_job(slurm_cluster, tmp_path):
    proc = slurm_cluster.run(["sbatch", "--test-only", str(script(tmp_path / "t.sh", "true"))],
                             cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"in partition {slurm_cluster.DEFAULT_PARTITION}" in proc.stderr


def test_test_only_rejects_unknown_partition(slurm_cluster, tmp_path):
    proc = slurm_cluster.run(["sbatch", "--test-only", "--partition=nope",
                              str(script(tmp_path / "t.sh", "true"))], cwd=tmp_path)
    assert proc.returncode == 1
    assert "sbatch: error: invalid partition specified: nope" in proc.stderr
    assert "Invalid partition name specified" in proc.stderr


def test_walltime_over_partition_limit_is_rejected(slurm_cluster, tmp_path):
    job = str(script(tmp_path / "t.sh", "true"))
    short = f"--partition={slurm_cluster.SHORT_PARTITION}"
    over = slurm_cluster.run(["sbatch", "--test-only", short, "--time=5", job], cwd=tmp_path)
    assert over.returncode == 1
    assert "Requested time limit is invalid (missing or exceeds some limit)" in over.stderr
    ok = slurm_cluster.run(["sbatch", "--test-only", short, "--time=1", job], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_sbatch_error_is_raised(slurm_cluster, tmp_path):
    with pytest.raises(SlurmClusterError, match="invalid partition specified: nope"):
        slurm_cluster.sbatch(script(tmp_path / "t.sh", "true"), "--partition=nope", cwd=tmp_path)


def test_wait_flag_returns_job_exit_status(slurm_cluster, tmp_path):
    # sbatch --wait polls after 2 s, so run both at once to keep the test fast.
    procs = {code: subprocess.Popen(
        ["sbatch", "--wait", "--parsable", str(script(tmp_path / f"w{code}.sh", f"exit {code}"))],
        cwd=tmp_path, env=slurm_cluster.env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for code in (0, 7)}
    for code, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err
        assert slurm_cluster.states(out.strip()) == {
            out.strip(): ("COMPLETED" if code == 0 else "FAILED", f"{code}:0")}


def test_memory_and_cpus_per_task_are_accepted(slurm_cluster, tmp_path):
    job = script(tmp_path / "mem.sh", 'echo "$SLURM_CPUS_PER_TASK $SLURM_MEM_PER_NODE" > mem.txt',
                 "--mem=100M", "--cpus-per-task=2")
    job_id = slurm_cluster.sbatch(job, cwd=tmp_path)
    assert slurm_cluster.wait(job_id) == {job_id: ("COMPLETED", "0:0")}
    assert (tmp_path / "mem.txt").read_text() == "2 100\n"


def test_env_points_clients_at_our_config(slurm_cluster):
    assert slurm_cluster.env["SLURM_CONF"] == str(slurm_cluster.conf)
    proc = slurm_cluster.run(["sinfo", "-h", "-o", "%P %c"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert f"{slurm_cluster.DEFAULT_PARTITION}*" in lines
    assert int(lines[1]) >= 8


def test_start_is_idempotent_and_second_user_reuses(slurm_cluster):
    assert slurm_cluster.start() is slurm_cluster
    other = SlurmCluster(slurm_cluster.base)
    other.start()
    try:
        assert not other.started_here
        assert other.env["SLURM_CONF"] == slurm_cluster.env["SLURM_CONF"]
    finally:
        other.stop()  # the session fixture still holds the cluster: must stay up
    for name in ("munged", "slurmctld", "slurmd"):
        assert slurm_cluster._our_pid(name), f"{name} was stopped by the second user"
    assert slurm_cluster.run(["sinfo", "-h"]).returncode == 0
