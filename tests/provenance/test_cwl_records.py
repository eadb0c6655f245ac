"""A cwltool run yields the same task records as the Parsl run of the same example.

examples/adaptive_training (small params, as the other provenance tests) is compiled for
CWL and run by the real cwltool (`--enable-ext --no-container`); its record outputs are
turned into RUN/tasks/... by `python -m aiwfc.cwlrecords`, and the tracked records
(phase, iteration, index, values; file paths by name) must be the set the Parsl run
recorded (the session's `hpo_run`), as tests/integration/test_tracked_parity.py asserts
for Slurm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from aiwfc.cli import main
from aiwfc.runrecords import final_metrics, load_run, tracked_set
from tests.cwl.conftest import FAKE_NVIDIA_SMI, cwltool_or_skip
from tests.provenance.conftest import HPO, HPO_PARAMS


def test_cwltool_run_records_the_same_tracked_set_as_parsl(hpo_run, tmp_path):
    exe = cwltool_or_skip()
    out = tmp_path / "cwl"
    assert main(["compile", str(HPO), "--target", "cwl", "-o", str(out), *HPO_PARAMS]) == 0
    fake_bin = tmp_path / "fake-bin"  # cwltool asks nvidia-smi for the (hinted) GPU of the sweep
    fake_bin.mkdir()
    (fake_bin / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (fake_bin / "nvidia-smi").chmod(0o755)
    env = dict(os.environ, PATH=os.pathsep.join([str(fake_bin), os.path.dirname(sys.executable), os.environ["PATH"]]))
    proc = subprocess.run([exe, "--enable-ext", "--no-container", "--quiet", "--outdir", str(tmp_path / "outdir"),
                           str(out / "hpo.cwl"), str(out / "hpo.inputs.yml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = json.loads(proc.stdout)
    assert len(outputs["aiwf_records__more_data"]) == 8  # 2 rounds x (3 sweep items + 1 select)
    (tmp_path / "outputs.json").write_text(proc.stdout)
    conv = subprocess.run([sys.executable, "-m", "aiwfc.cwlrecords", str(tmp_path / "outputs.json"),
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert (conv.returncode, conv.stdout) == (0, f"8 task record(s) -> {tmp_path / 'run' / 'tasks'}\n")
    record = json.loads((tmp_path / "run/tasks/sweep/i1/2/task.json").read_text())
    assert (record["workflow"], record["state"], record["backend"]) == ("hpo", "done", "cwl")
    assert record["tracked"]["lr"] == 0.03 and record["command"].startswith("python3 ")

    cwl, parsl = load_run(tmp_path / "run"), load_run(hpo_run[0])
    assert (cwl.workflow, cwl.state) == ("hpo", "done")
    assert tracked_set(cwl) == tracked_set(parsl)
    assert final_metrics(cwl) == final_metrics(parsl)


def test_converter_usage_and_unreadable_input(tmp_path, capsys):
    from aiwfc.cwlrecords import main as convert
    assert convert([]) == 2
    assert capsys.readouterr().err == "usage: python -m aiwfc.cwlrecords CWLTOOL_OUTPUT_JSON RUN_DIR\n"
    (tmp_path / "o.json").write_text("not json")
    assert convert([str(tmp_path / "o.json"), str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith(f"aiwfc: {tmp_path / 'o.json'}: cannot read the task records: ")
    assert not (tmp_path / "run").exists()
