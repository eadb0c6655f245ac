"""Every example runs to success under a real `cwltool --enable-ext --no-container`.

The expected values are the ones tests/test_examples.py's LocalHarness computes for the
same examples (the executable statement of the port conventions): the CWL artefacts
must compute the same numbers, and each feedback loop must run as many iterations as
its condition implies there (the `<loop>__iterations` workflow output). GPU examples
run with the GPU requirement as a hint and a fake `nvidia-smi` (see conftest.py).
"""

from __future__ import annotations

import csv
import json

import pytest

from aiwfc_backends.runtime.aiwf_records import sha256_path
from tests.cwl.conftest import EXAMPLES, FEATURES, NATIVE_RUN

# LocalHarness results (values of the workflow outputs named `<phase>__<port>`).
EXPECTED = {
    "dynamic_orchestration": {
        "steer__iterations": 3, "grid__seeds": [0, 1, 2, 3], "score__coverage": 1.0,
        "score__next_seeds": [0, 5, 6, 11], "fit__metrics": {"loss": 0.2872}, "report__error": 0.0367,
        # the stop rule drops 3 of the 4 walkers of the last iteration, as the harness stops them
        "md__progress": [0.1149], "param__degree": 6,
    },
    "multistage_pipeline": {
        "filter__selected": [31, 21, 11, 36], "solve__gap": [0.060745, 0.069498, 0.036777, 0.03063],
        "rank__best": 31, "rank__filter_error": 0.1083,
    },
    "inverse_design": {
        "search__iterations": 3, "refit__metrics": {"loo_rmse": 5.4505}, "refit__best_error": 0.00802,
        "report__misfit": 0.00802, "report__flights": 12, "param__per_round": 3,
    },
    "digital_replica": {
        "fit__metrics": {"one_step_rmse": 0.00012}, "compare__detected_at": 20.0, "compare__queries": 20,
        "param__damping": 0.3,
    },
    "distributed_models": {
        "rounds__iterations": 3, "train_north__metrics": {"loss": 0.41427},
        "train_south__metrics": {"loss": 0.31262}, "evaluate__metrics": {"loss": 0.36255, "accuracy": 0.837},
        "param__local_epochs": 20, "param__learning_rate": 0.5,
    },
    "adaptive_training": {
        "more_data__iterations": 3, "select__best_loss": 0.00327, "select__best_lr": 0.3,
        "sweep__metrics": [{"loss": 0.00327}, {"loss": 0.007162}, {"loss": 0.033431}], "param__epochs": 500,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_example_runs_and_computes_what_the_harness_computes(folder, cwl_runs):
    run = cwl_runs[folder]
    assert run.status == 0, run.log[-4000:]
    assert "Final process status is success" in run.log
    got = {k: run.outputs.get(k) for k in EXPECTED[folder]}
    assert got == EXPECTED[folder]


@pytest.mark.slow
def test_file_outputs_are_delivered(cwl_runs):
    """File outputs arrive as files in the output directory with the paths the ports name."""
    run = cwl_runs["multistage_pipeline"]
    ranking = run.outputs["rank__ranking"]
    assert ranking["class"] == "File" and ranking["basename"] == "ranking.csv"
    with open(ranking["path"]) as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 4  # header and the four solved candidates
    steer = cwl_runs["dynamic_orchestration"]
    # walkers 0, 1 and 3 of the last iteration are stopped (as in the harness); 2 keeps its indexed name
    assert [t["basename"] for t in steer.outputs["md__traj"]] == ["traj_2.npz"]
    twin = cwl_runs["digital_replica"]
    log = twin.outputs["replica__log"]  # the service's output, collected by its client's tool
    assert log["basename"] == "queries.jsonl"
    with open(log["path"]) as f:
        assert len(f.read().splitlines()) == 20


@pytest.mark.slow
def test_native_loop_form_iterates_the_same(cwl_runs):
    run = cwl_runs[f"native:{NATIVE_RUN}"]
    assert run.status == 0, run.log[-4000:]
    got = {k: run.outputs.get(k) for k in EXPECTED[NATIVE_RUN]}
    assert got == EXPECTED[NATIVE_RUN]


@pytest.mark.slow
def test_features_run(cwl_runs):
    """`when` true and false, a foreach over a dataset's files, a dataset staged into the
    task directory (-O2), quoting of awkward words, tracked params."""
    run = cwl_runs["features"]
    assert run.status == 0, run.log[-4000:]
    out = run.outputs
    assert out["read_each__size"] == [6, 5]  # inputs/a.txt, inputs/b.txt in name order
    assert [f["basename"] for f in out["read_each__copy"]] == ["copy_0.txt", "copy_1.txt"]
    assert out["combine__total"] == 11 and out["extra__doubled"] == 22
    assert out["ranked__hello"] is None  # `when = not shout` is false: skipped
    assert out["combine__echoed"] == "it's|a b"
    assert out["param__shout"] is True
    with open(out["combine__all"]["path"]) as f:
        assert f.read() == "alpha\nbeta\nalpha\n"
    # the task record, written beside the staged dataset by the runtime modules the tool carries
    with open(out["aiwf_record__combine"]["path"]) as f:
        rec = json.load(f)
    assert (rec["state"], rec["tracked"]) == ("done", {"shout": True, "total": 11})
    assert rec["datasets"]["texts"]["sha256"] == sha256_path(FEATURES.parent / "inputs") is not None


@pytest.mark.slow
def test_provenance_records_tracked_values(cwl_runs):
    """Tracked values are workflow outputs, so the research object of `--provenance` has them."""
    run = cwl_runs["provenance"]
    assert run.status == 0, run.log[-4000:]
    ro = run.outdir.parent.parent / "ro"
    outputs = json.loads((ro / "workflow" / "primary-output.json").read_text())
    assert outputs["combine__total"] == 11 and outputs["param__shout"] is True
    prov = (ro / "metadata" / "provenance" / "primary.cwlprov.json").read_text()
    assert "combine__total" in prov and "param__shout" in prov
