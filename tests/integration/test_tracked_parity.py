"""The same example's Slurm and Parsl runs produce the same set of tracked records.

examples/adaptive_training (hpo.aiwf, resized for the test cluster by
`slurm_examples.example_copy`, made small by params) runs once through the Slurm backend
on the real one-node cluster (submit.sh, status.sh) and once through `aiwfc run` (Parsl,
local). Both engines run tasks through the shared runtime, so the tracked records
(phase, iteration, index, tracked values; file paths compared by name, since the run
directories differ) must be the same set. Skipped, with the reason, only when the
cluster cannot start.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from aiwfc.runrecords import final_metrics, load_run, tracked_set
from tests.integration.slurm_examples import example_copy
from tests.integration.test_slurm_backend import compile_slurm, submit, wait_run
from tests.provenance.conftest import HPO_PARAMS

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def test_slurm_and_parsl_runs_track_the_same_records(slurm_cluster, tmp_path):
    if importlib.util.find_spec("parsl") is None:
        pytest.skip("parsl is not installed: `aiwfc run` cannot run")
    path = example_copy("adaptive_training", tmp_path / "src")
    env = dict(slurm_cluster.env)
    art = tmp_path / "slurm-artefacts"
    compile_slurm(path, art, *HPO_PARAMS)
    slurm_run = tmp_path / "slurm-run"
    submit(art, slurm_run, env)
    parsl_run = tmp_path / "parsl-run"
    proc = subprocess.run([sys.executable, "-m", "aiwfc", "run", str(path), *HPO_PARAMS, "--run-dir", str(parsl_run),
                           "--quiet", "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    done = wait_run(slurm_run, env)
    assert done.returncode == 0, done.stdout

    slurm, parsl = load_run(slurm_run), load_run(parsl_run)
    assert (slurm.workflow, slurm.state, parsl.workflow, parsl.state) == ("hpo", "done", "hpo", "done")
    slurm_set, parsl_set = tracked_set(slurm), tracked_set(parsl)
    # 2 rounds x (3 sweep items + 1 select), every one tracked
    assert sorted((p, k, i) for p, k, i, _ in parsl_set) == [
        ("select", 0, 0), ("select", 1, 0), ("sweep", 0, 0), ("sweep", 0, 1), ("sweep", 0, 2),
        ("sweep", 1, 0), ("sweep", 1, 1), ("sweep", 1, 2)]
    assert slurm_set == parsl_set
    assert final_metrics(slurm) == final_metrics(parsl)
    assert final_metrics(parsl)["sweep[2].lr"] == 0.03 and final_metrics(parsl)["sweep[0].epochs"] == 40
