"""A cwltool run yields the same task records as the Parsl run of the same example.

examples/adaptive_training (small params, as the other provenance tests) is compiled for
CWL and run by the real cwltool (`--enable-ext --no-container`); its record outputs are
turned into RUN/tasks/... (and its run spec into RUN/cwl/workflow.json) by
`python -m aiwfc.cwlrecords`. Every record must say what the Parsl run's task.json says
(the session's `hpo_run`), field by field, and `python -m aiwfc.tracking` must log the
converted run to MLflow as it logs the Parsl run.

What legitimately differs, and is compared by name or left out (`LEFT_OUT`):
* paths: a CWL task reads its inputs from cwltool's staging directories and writes into its
  own sandbox, a Parsl task from and into RUN/tasks/...: inputs, outputs, input files,
  tracked files and the words of the command are compared with every path reduced to its
  file name (the input files' sha256 must be equal: the same content);
* `key` (the cache key): a hash over the command and the input paths, which differ;
* `start`, `end`, `seconds` and the attempt's `seconds`: timings; `host`: where it ran;
* `image.container`: the Parsl task knows it ran on the host (no apptainer here: false);
  a CWL task cannot know whether its runner honoured the DockerRequirement hint (null);
* `backend`: the converter's mark of the engine ("cwl"); task.json of the shared runtime has none.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiwfc.cli import main
from aiwfc.cwlrecords import main as convert
from aiwfc.runrecords import final_metrics, load_run, tracked_set
from aiwfc_backends.cwl.tool import RECORD_MODULES, RECORD_SCRIPT, cwl_literal
from aiwfc_backends.runtime import runtime_source
from aiwfc_backends.runtime import aiwf_task
from tests.cwl.conftest import FAKE_NVIDIA_SMI, cwltool_or_skip
from tests.provenance.conftest import HPO, HPO_PARAMS, assert_hpo_logged

LEFT_OUT = {"key", "start", "end", "seconds", "host", "backend"}


@pytest.fixture(scope="module")
def cwl_run(tmp_path_factory) -> tuple[Path, dict[str, Any], subprocess.CompletedProcess]:
    """(run directory, cwltool's outputs, the converter's process) of one cwltool run of hpo."""
    exe = cwltool_or_skip()
    tmp = tmp_path_factory.mktemp("cwl-hpo")
    out = tmp / "cwl"
    assert main(["compile", str(HPO), "--target", "cwl", "-o", str(out), *HPO_PARAMS]) == 0
    fake_bin = tmp / "fake-bin"  # cwltool asks nvidia-smi for the (hinted) GPU of the sweep
    fake_bin.mkdir()
    (fake_bin / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (fake_bin / "nvidia-smi").chmod(0o755)
    env = dict(os.environ, PATH=os.pathsep.join([str(fake_bin), os.path.dirname(sys.executable), os.environ["PATH"]]))
    proc = subprocess.run([exe, "--enable-ext", "--no-container", "--quiet", "--outdir", str(tmp / "outdir"),
                           str(out / "hpo.cwl"), str(out / "hpo.inputs.yml")],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp / "outputs.json").write_text(proc.stdout)
    conv = subprocess.run([sys.executable, "-m", "aiwfc.cwlrecords", str(tmp / "outputs.json"), str(tmp / "run")],
                          capture_output=True, text=True, timeout=60)
    return tmp / "run", json.loads(proc.stdout), conv


def by_name(value: Any) -> Any:
    """A record value with every path reduced to its file name (see the module docstring)."""
    if isinstance(value, str) and "/" in value:
        return " ".join(Path(w).name if "/" in w else w for w in value.split(" "))
    if isinstance(value, list):
        return [by_name(v) for v in value]
    if isinstance(value, dict):
        return {by_name(k): by_name(v) for k, v in value.items()}
    return value


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: by_name(v) for k, v in record.items() if k not in LEFT_OUT}
    out["attempt_log"] = [{k: v for k, v in a.items() if k != "seconds"} for a in record["attempt_log"]]
    if record["image"] is not None:
        out["image"] = {k: v for k, v in record["image"].items() if k != "container"}
    return out


def test_cwltool_run_records_the_same_tracked_set_as_parsl(cwl_run, hpo_run):
    run, outputs, conv = cwl_run
    assert len(outputs["aiwf_records__more_data"]) == 8  # 2 rounds x (3 sweep items + 1 select)
    assert (conv.returncode, conv.stdout) == (0, f"8 task record(s) -> {run / 'tasks'}\n"
                                                 f"run spec -> {run / 'cwl' / 'workflow.json'}\n")
    cwl, parsl = load_run(run), load_run(hpo_run[0])
    assert (cwl.workflow, cwl.state) == ("hpo", "done")
    assert tracked_set(cwl) == tracked_set(parsl)
    assert final_metrics(cwl) == final_metrics(parsl)


def test_cwl_records_say_what_parsl_task_records_say_field_by_field(cwl_run, hpo_run):
    run, _, _ = cwl_run
    cwl_files = sorted(p.relative_to(run / "tasks").as_posix() for p in run.glob("tasks/*/i*/*/task.json"))
    assert cwl_files == [f"{phase}/i{k}/{i}/task.json" for phase, items in (("select", [0]), ("sweep", [0, 1, 2]))
                         for k in (0, 1) for i in items]
    for rel in cwl_files:
        cwl = json.loads((run / "tasks" / rel).read_text())
        parsl = json.loads((hpo_run[0] / "tasks" / rel).read_text())
        assert set(cwl) == set(parsl) | {"backend"}, rel
        assert (cwl["backend"], cwl["image"]["container"], parsl["image"]["container"]) == ("cwl", None, False)
        assert comparable(cwl) == comparable(parsl), rel
        # the same content: the input files' hashes, by file name
        assert sorted((Path(p).name, h) for p, h in cwl["input_files"].items()) == \
            sorted((Path(p).name, h) for p, h in parsl["input_files"].items()) != []
    sweep = json.loads((run / "tasks/sweep/i1/2/task.json").read_text())
    assert (sweep["params"], sweep["item"], sweep["datasets"], sweep["attempts"]) == \
        ({"epochs": 40, "lrs": [0.3, 0.1, 0.03]}, 0.03, {}, 1)
    assert {k: sweep["image"][k] for k in ("name", "recipe_hash", "sif")} == \
        {"name": "cuda_numpy", "recipe_hash": json.loads((run / "cwl/workflow.json").read_text())[
            "phases"]["sweep"]["image"]["recipe_hash"], "sif": "images/cuda_numpy.sif"}
    assert by_name(sweep["command"]) == ("python3 train.py --data train.npz --validation validation.npz "
                                         "--lr 0.03 --epochs 40 --out model_2.npz --metrics metrics.json")


def test_converted_cwl_run_logged_to_mlflow(cwl_run, hpo_run, tmp_path):
    pytest.importorskip("mlflow.tracking", reason="mlflow is not installed (pip install 'aiwfc[track]')")
    run, _, _ = cwl_run
    spec = json.loads((run / "cwl" / "workflow.json").read_text())
    assert (spec["format"], spec["workflow"]) == ("aiwf-runtime/1", "hpo")
    parsl = json.loads((hpo_run[0] / "program" / "workflow.json").read_text())
    # the sites differ (aiwfc run plans for `local`, the CWL compile for the imported site),
    # what the records and MLflow read from the spec does not
    assert (spec["params"], spec["datasets"]) == (parsl["params"], parsl["datasets"])
    for name, ph in spec["phases"].items():
        assert {k: ph[k] for k in ("kind", "foreach", "track", "params", "datasets", "outputs")} == \
            {k: parsl["phases"][name][k] for k in ("kind", "foreach", "track", "params", "datasets", "outputs")}
        assert (ph["image"] or {}).get("recipe_hash") == (parsl["phases"][name]["image"] or {}).get("recipe_hash")
    uri = (tmp_path / "store").as_uri()
    proc = subprocess.run([sys.executable, "-m", "aiwfc.tracking", str(run), uri],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("MLflow: experiment hpo, run ") and \
        proc.stdout.rstrip().endswith(f" at {uri}"), proc.stdout + proc.stderr
    # the numbers are the Parsl run's: both engines computed the same; no artifacts, as the
    # model files stayed in cwltool's sandboxes (the records name them, by sha256 when read)
    assert_hpo_logged(uri, hpo_run[0], artifacts=False)


DATASETS = """aiwf 0.1
workflow dsw {
  dataset raw { path = "raw"  tier = shared  files = 2  size = 1KiB }
  dataset model { path = "model"  tier = shared  files = 1  size = 1KiB  version = "2024.1" }
  task measure {
    foreach f in raw
    out size: int
    track = [size]
    run "python3 ${project}/measure.py ${f} ${model} ${size}"
  }
  task total {
    in sizes: list<int> = measure.size
    out sum: int
    track = [sum]
    run "python3 ${project}/total.py ${raw} ${sum} ${sizes}"
  }
}
"""
MEASURE = "import json, os, sys\njson.dump(os.path.getsize(sys.argv[1]) + len(os.listdir(sys.argv[2])), open(sys.argv[3], 'w'))\n"
TOTAL = "import json, os, sys\njson.dump(len(os.listdir(sys.argv[1])) + sum(map(int, sys.argv[3:])), open(sys.argv[2], 'w'))\n"


def test_dataset_versions_and_hashes_are_recorded_alike(tmp_path):
    """Datasets: one read whole without a version (hashed), one with a declared version (not
    hashed), one whose files are the items (each item's file hash is an input file): a
    cwltool run records them as `aiwfc run` does, field by field."""
    exe = cwltool_or_skip()
    if importlib.util.find_spec("parsl") is None:
        pytest.skip("parsl is not installed: `aiwfc run` cannot run")
    src = tmp_path / "src"
    (src / "raw").mkdir(parents=True)
    (src / "model").mkdir()
    (src / "raw" / "a.txt").write_text("abc")
    (src / "raw" / "b.txt").write_text("hello")
    (src / "model" / "w.bin").write_text("w")
    (src / "dsw.aiwf").write_text(DATASETS)
    (src / "measure.py").write_text(MEASURE)
    (src / "total.py").write_text(TOTAL)
    parsl = subprocess.run([sys.executable, "-m", "aiwfc", "run", str(src / "dsw.aiwf"), "--run-dir",
                            str(tmp_path / "parsl"), "--quiet", "--no-crate"], capture_output=True, text=True, timeout=300)
    assert parsl.returncode == 0, parsl.stderr + parsl.stdout
    assert main(["compile", str(src / "dsw.aiwf"), "--target", "cwl", "-o", str(tmp_path / "cwl")]) == 0
    proc = subprocess.run([exe, "--no-container", "--quiet", "--outdir", str(tmp_path / "outdir"),
                           str(tmp_path / "cwl" / "dsw.cwl"), str(tmp_path / "cwl" / "dsw.inputs.yml")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp_path / "outputs.json").write_text(proc.stdout)
    assert convert([str(tmp_path / "outputs.json"), str(tmp_path / "run")]) == 0
    rels = ["measure/i0/0/task.json", "measure/i0/1/task.json", "total/i0/0/task.json"]
    assert sorted(p.relative_to(tmp_path / "run" / "tasks").as_posix()
                  for p in (tmp_path / "run").glob("tasks/*/i*/*/task.json")) == rels
    for rel in rels:
        cwl = json.loads((tmp_path / "run" / "tasks" / rel).read_text())
        assert comparable(cwl) == comparable(json.loads((tmp_path / "parsl" / "tasks" / rel).read_text())), rel
    whole = aiwf_task.sha256_path(src / "raw")
    total = json.loads((tmp_path / "run/tasks/total/i0/0/task.json").read_text())
    assert by_name(total["datasets"]) == {"raw": {"path": "raw", "version": None, "sha256": whole}}
    measure = json.loads((tmp_path / "run/tasks/measure/i0/1/task.json").read_text())
    assert by_name(measure["datasets"]) == {"raw": {"path": "raw", "version": None, "sha256": None},
                                            "model": {"path": "model", "version": "2024.1", "sha256": None}}
    assert by_name(measure["input_files"]) == {"b.txt": hashlib.sha256(b"hello").hexdigest()}
    assert (measure["tracked"], total["tracked"]) == ({"size": 6}, {"sum": 12})


def test_record_script_hashes_as_the_runtime_does(tmp_path):
    """The tools' record script (RECORD_SCRIPT, run by python3 in the task's directory beside the
    RECORD_MODULES the tool ships) hashes a dataset and an input directory with the runtime's
    sha256_path, including the order of nested names (`a/b` before `a-c`), leaves a versioned or
    per-item dataset unhashed, and writes no bytecode into the task's directory."""
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "a" / "b").write_text("1")
    (data / "a-c").write_text("2")
    (data / "z.txt").write_text("3")
    task = tmp_path / "task"
    task.mkdir()
    for name in RECORD_MODULES:
        (task / name).write_text(runtime_source(name))
    (task / "out.json").write_text("[1, 2]")
    record = {"workflow": "w", "phase": "p", "kind": "task", "iteration": 0, "index": 0,
              "item": None, "command": "run", "params": {"n": 2}, "inputs": {"d": str(data), "f": str(data / "z.txt")},
              "ports": [{"name": "d", "type": "dir"}, {"name": "f", "type": "file"}, {"name": "n", "type": "int"}],
              "image": None, "env": {}, "retries": 0, "tracked": {}, "post": ["out", "out.x"],
              "outs": {"out": ["json", "out.json"]},
              "datasets": {"whole": {"path": str(data), "version": None, "whole": True},
                           "pinned": {"path": str(data), "version": "v3", "whole": True},
                           "items": {"path": str(data), "version": None, "whole": False}}}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-B", "-c", RECORD_SCRIPT, json.dumps(record), "1700000000.25"],
                          cwd=task, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads((task / "aiwf-record.json").read_text())
    tree = aiwf_task.sha256_path(data)
    assert rec["datasets"] == {"whole": {"path": str(data), "version": None, "sha256": tree},
                               "pinned": {"path": str(data), "version": "v3", "sha256": None},
                               "items": {"path": str(data), "version": None, "sha256": None}}
    assert rec["input_files"] == {str(data): tree, str(data / "z.txt"): hashlib.sha256(b"3").hexdigest()}
    assert (rec["outputs"], rec["tracked"], rec["state"], rec["exit"], rec["start"]) == \
        ({"out": [1, 2]}, {"out": [1, 2]}, "done", 0, "2023-11-14T22:13:20.250Z")
    assert rec["key"] == hashlib.sha256(json.dumps(
        {"command": "run", "inputs": record["inputs"], "input_files": rec["input_files"],
         "datasets": {"whole": tree, "pinned": None, "items": None}, "image": None, "item": None, "env": {}},
        sort_keys=True).encode()).hexdigest()
    assert set(rec) == {"format", "workflow", "phase", "kind", "iteration", "index", "item", "state", "exit", "error",
                        "reason", "start", "end", "seconds", "attempts", "attempt_log", "command", "params", "inputs",
                        "input_files", "datasets", "outputs", "tracked", "image", "launch", "key", "host", "log_tail"}
    assert sorted(p.name for p in task.iterdir()) == ["aiwf-record.json", *RECORD_MODULES, "out.json"]


def test_record_modules_reach_the_task_as_written():
    """A tracked tool carries RECORD_MODULES verbatim (no `$(`/`${`: CWL takes the text as it
    is), and cwl_literal escapes a text that has them so that CWL's interpolation gives it back."""
    for name in RECORD_MODULES:
        assert cwl_literal(runtime_source(name)) == runtime_source(name)
    from cwl_utils.expression import interpolate
    text = 'a\\nb $(x) ${y} \\$(z) \\ end\n'
    assert cwl_literal(text) != text
    assert interpolate(cwl_literal(text), {}, strip_whitespace=False) == text


def test_converter_usage_and_unreadable_input(tmp_path, capsys):
    assert convert([]) == 2
    assert capsys.readouterr().err == "usage: python -m aiwfc.cwlrecords CWLTOOL_OUTPUT_JSON RUN_DIR\n"
    (tmp_path / "o.json").write_text("not json")
    assert convert([str(tmp_path / "o.json"), str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith(f"aiwfc: {tmp_path / 'o.json'}: cannot read the task records: ")
    assert not (tmp_path / "run").exists()


NO_PYTHON = """aiwf 0.1
workflow np {
  task count {
    out n: int
    track = [n]
    run "echo 3 > ${n}"
  }
}
"""


def test_a_task_without_python3_succeeds_without_its_record(tmp_path):
    """The record is optional: where python3 cannot run (an image without it; here a python3
    earlier on PATH that fails as a missing one does) the task still succeeds, its outputs
    arrive, the record output is null and the log says why."""
    exe = cwltool_or_skip()
    (tmp_path / "np.aiwf").write_text(NO_PYTHON)
    assert main(["compile", str(tmp_path / "np.aiwf"), "--target", "cwl", "-o", str(tmp_path / "cwl")]) == 0
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text("#!/bin/sh\necho 'python3: command not found' >&2\nexit 127\n")
    (fake_bin / "python3").chmod(0o755)
    env = dict(os.environ, PATH=os.pathsep.join([str(fake_bin), os.environ["PATH"]]))
    proc = subprocess.run([exe, "--no-container", "--outdir", str(tmp_path / "outdir"), str(tmp_path / "cwl" / "np.cwl"),
                           str(tmp_path / "cwl" / "np.inputs.yml")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = json.loads(proc.stdout)
    assert (outputs["count__n"], outputs["aiwf_record__count"]) == (3, None)
    assert "python3: command not found\naiwf: no task record written\n" in proc.stderr


def test_a_task_record_is_written_beside_the_runtime_modules_it_carries(tmp_path):
    """With python3 at hand the same tool writes its record with the runtime modules it carries:
    the tracked value, state done, one attempt; the task directory (kept by --cachedir)
    holds the modules, the output and the record, and no bytecode (python3 -B)."""
    exe = cwltool_or_skip()
    (tmp_path / "np.aiwf").write_text(NO_PYTHON)
    assert main(["compile", str(tmp_path / "np.aiwf"), "--target", "cwl", "-o", str(tmp_path / "cwl")]) == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([exe, "--no-container", "--quiet", "--cachedir", str(tmp_path / "tasks"),
                           "--outdir", str(tmp_path / "outdir"),
                           str(tmp_path / "cwl" / "np.cwl"), str(tmp_path / "cwl" / "np.inputs.yml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(Path(json.loads(proc.stdout)["aiwf_record__count"]["path"]).read_text())
    assert {k: rec[k] for k in ("format", "workflow", "phase", "state", "exit", "attempts", "tracked", "outputs",
                                "command", "input_files", "datasets")} == \
        {"format": "aiwf-task/1", "workflow": "np", "phase": "count", "state": "done", "exit": 0, "attempts": 1,
         "tracked": {"n": 3}, "outputs": {"n": 3}, "command": "echo 3 > n.json", "input_files": {}, "datasets": {}}
    task_dirs = [d for d in (tmp_path / "tasks").iterdir() if (d / "n.json").exists()]
    assert len(task_dirs) == 1
    assert sorted(p.name for p in task_dirs[0].iterdir()) == ["aiwf-record.json", "aiwf_base.py", "aiwf_records.py",
                                                             "n.json"]
