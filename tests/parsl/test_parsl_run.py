"""`aiwfc run` with the Parsl backend: every example runs to completion on a real
HighThroughputExecutor, with its outputs, loop iterations, stopped walkers and service
checked; a failing task gives exit 1 and its log tail; an interrupted run resumes and
skips what was done. Each example is run once per session and the asserts share it
(Parsl's start-up costs seconds)."""

from __future__ import annotations

import json
import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("parsl", reason="parsl is not installed: pip install 'aiwfc[parsl]'")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "multistage_pipeline": "screen.aiwf",
    "dynamic_orchestration": "steer_md.aiwf",
    "inverse_design": "design.aiwf",
    "digital_replica": "twin.aiwf",
    "distributed_models": "federated.aiwf",
    "adaptive_training": "hpo.aiwf",
}
SLOW = """aiwf 0.1

workflow slow {
  param n: int = 6
  param pause: float = 1.0

  task make {
    foreach i in range(n)
    batch = 2
    out v: int
    run "sleep ${pause}; echo ${i} > ${v}"
  }

  task total {
    in vs: list<int> = make.v
    out sum: int
    run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${vs} > ${sum}"
  }
}
"""


def aiwfc(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "aiwfc", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600, **kw)


class Run:
    """One finished `aiwfc run`: its exit status, output and run directory."""

    def __init__(self, run_dir: Path, proc: subprocess.CompletedProcess):
        self.dir, self.proc = run_dir, proc
        self.doc = json.loads((run_dir / "run.json").read_text())

    def record(self, phase: str, k: int = 0, index: int = 0) -> dict:
        return json.loads((self.dir / "tasks" / phase / f"i{k}" / str(index) / "task.json").read_text())

    def records(self, phase: str, k: int = 0) -> list[dict]:
        n = json.loads((self.dir / "tasks" / phase / f"i{k}" / "manifest.json").read_text())["count"]
        return [self.record(phase, k, i) for i in range(n)]

    def value(self, phase: str, port: str, k: int = 0, index: int = 0):
        return self.record(phase, k, index)["outputs"][port]

    def loop(self, name: str) -> list[tuple]:
        return [(r["value"], r["continue"]) for r in self.doc["loops"][name]]

    def task_dir(self, phase: str, k: int = 0, index: int = 0) -> Path:
        return self.dir / "tasks" / phase / f"i{k}" / str(index)


@pytest.fixture(scope="session")
def example_runs(tmp_path_factory) -> dict[str, Run]:
    """Every example run once with `aiwfc run` (a real Parsl HighThroughputExecutor)."""
    base = tmp_path_factory.mktemp("parsl_examples")
    procs = {}
    for folder, file in EXAMPLES.items():  # side by side: most of a run is Parsl waiting for workers
        procs[folder] = subprocess.Popen(
            [sys.executable, "-m", "aiwfc", "run", str(ROOT / "examples" / folder / file), "--run-dir",
             str(base / folder)], cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    runs = {}
    for folder, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert proc.returncode == 0, f"{folder}: exit {proc.returncode}\n{out}\n{err}"
        runs[folder] = Run(base / folder, done)
    return runs


@pytest.mark.slow
def test_every_example_finishes_with_every_task_accounted_for(example_runs):
    for folder, run in example_runs.items():
        doc = run.doc
        assert (doc["state"], doc["exit"], doc["engine"], doc["config"]) == ("done", 0, "parsl", "local"), folder
        assert doc["failed"] == [] and doc["phase_errors"] == {}, folder
        assert all(t["this_run"] and not t["cached"] for t in doc["tasks"]), folder
        assert {t["state"] for t in doc["tasks"]} <= {"done", "stopped"}, folder
        tasks = {(t["phase"], t["iteration"], t["index"]) for t in doc["tasks"]}
        on_disk = {(f.parts[-4], int(f.parts[-3][1:]), int(f.parts[-2])) for f in run.dir.glob("tasks/*/i*/*/task.json")}
        assert tasks == on_disk, folder
        summary = [line for line in run.proc.stdout.splitlines() if line.startswith("aiwf: ")]
        assert len(summary) == 1 and summary[0].startswith(f"aiwf: {doc['workflow']} done in "), folder
        for t in doc["tasks"]:
            assert t["retries"] == 0 and t["exit"] in (0, 143) and t["seconds"] >= 0, (folder, t)


@pytest.mark.slow
def test_screen_filters_then_solves_the_survivors(example_runs):
    r = example_runs["multistage_pipeline"]
    assert r.value("filter", "selected") == [31, 21, 11, 36]
    assert [x["item"] for x in r.records("solve")] == [31, 21, 11, 36]
    assert [x["outputs"]["gap"] for x in r.records("solve")] == [0.060745, 0.069498, 0.036777, 0.03063]
    assert r.record("rank")["tracked"] == {"best": 31, "filter_error": 0.1083}
    assert r.doc["counts"] == {"done": 7}
    # one app per item (chunk 1), each with its log files
    assert [(a["phase"], a["range"], a["state"]) for a in r.doc["apps"] if a["phase"] == "solve"] == [
        ("solve", [i, i + 1], "ok") for i in range(4)]
    assert r.doc["params"]["keep"] == 4 and r.doc["tasks"][0]["params"] == {"library_seed": 7, "n_candidates": 64}


@pytest.mark.slow
def test_steer_md_iterates_spawns_and_stops_walkers(example_runs):
    r = example_runs["dynamic_orchestration"]
    assert r.loop("steer") == [(False, True), (False, True), (True, False)]
    assert [x["item"] for x in r.records("md", 1)] == [6, 7, 8, 11]       # spawned by the model
    assert [x["item"] for x in r.records("md", 2)] == [0, 5, 6, 11]
    assert [x["state"] for x in r.records("md", 2)] == ["stopped", "stopped", "done", "stopped"]
    # a stopped walker's process group got SIGTERM (143), unless it ended before the rule was seen (0)
    assert [x["exit"] in (0, 143) for x in r.records("md", 2)] == [True] * 4
    assert r.value("score", "coverage", 2) == 1.0
    assert r.value("report", "error") == 0.0367
    assert r.doc["counts"] == {"done": 17, "stopped": 3}
    out = r.proc.stdout
    assert "loop steer: iteration 0: `score.coverage >= target` = false -> continue" in out
    assert "loop steer: iteration 2: `score.coverage >= target` = true -> stop (the `until` condition holds)" in out
    assert "md i2: 4/4 finished (1 done, 3 stopped), 0 running" in out
    assert "  loop steer: 3 iteration(s), last `score.coverage >= target` = true" in out


@pytest.mark.slow
def test_design_loop_carries_proposed_designs(example_runs):
    r = example_runs["inverse_design"]
    assert r.loop("search") == [(False, True), (False, True), (True, False)]
    assert len(r.records("simulate", 0)) == 6 and len(r.records("simulate", 1)) == 3
    assert r.records("simulate", 1)[0]["item"] == str(r.task_dir("propose", 0) / "design_0.json")
    assert r.value("refit", "best_error", 2) == 0.00802
    assert r.value("report", "misfit") == 0.00802 and r.value("report", "flights") == 12


@pytest.mark.slow
def test_twin_service_runs_beside_its_client_and_stops_after_it(example_runs):
    r = example_runs["digital_replica"]
    replica, plant = r.record("replica"), r.record("plant")
    assert (replica["state"], replica["exit"]) == ("done", 0)
    address = json.loads((r.task_dir("replica") / "address.json").read_text())
    assert f"--twin {address} " in plant["command"]
    assert replica["start"] <= plant["start"] and replica["end"] >= plant["end"]
    assert r.record("compare")["tracked"] == {"detected_at": 20.0, "queries": 20}
    assert "service replica: its clients are done, stopping it" in r.proc.stdout
    assert "service replica is up: " in r.proc.stdout


@pytest.mark.slow
def test_federated_rounds(example_runs):
    r = example_runs["distributed_models"]
    assert r.loop("rounds") == [(False, True), (False, True), (True, False)]
    assert r.record("train_north", 1)["inputs"]["start"] == str(r.task_dir("aggregate", 0) / "global.npz")
    assert r.value("evaluate", "metrics", 2) == {"loss": 0.36255, "accuracy": 0.837}


@pytest.mark.slow
def test_hpo_sweep_tracks_params_and_metrics(example_runs):
    r = example_runs["adaptive_training"]
    assert r.loop("more_data") == [(False, True), (False, True), (True, False)]
    assert [x["outputs"]["metrics"]["loss"] for x in r.records("sweep", 2)] == [0.00327, 0.007162, 0.033431]
    assert r.record("select", 2)["tracked"]["best_loss"] == 0.00327
    tracked = [t for t in r.doc["tracked"] if t["phase"] == "select"]
    assert [t["values"]["best_lr"] for t in tracked] == [0.3, 0.3, 0.3]


def leftover_processes(run_dir: Path) -> list[str]:
    """Command lines of live processes that name the run directory (give them a moment)."""
    found: list[str] = []
    for _ in range(50):
        found = []
        for d in Path("/proc").iterdir():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if d.name.isdigit() and str(run_dir) in cmd:
                found.append(cmd)
        if not found:
            break
        time.sleep(0.2)
    return found


def _write_slow(tmp_path: Path) -> Path:
    src = tmp_path / "slow.aiwf"
    src.write_text(SLOW)
    return src


@pytest.mark.slow
def test_a_failing_task_exits_1_with_its_log_tail(tmp_path):
    src = _write_slow(tmp_path)
    text = src.read_text().replace('run "sleep ${pause}; echo ${i} > ${v}"',
                                   'run "if [ ${i} = 3 ]; then echo boom-${i} >&2; exit 7; fi; echo ${i} > ${v}"')
    src.write_text(text)
    p = aiwfc("run", str(src), "--run-dir", str(tmp_path / "run"), "--max-parallel", "1", cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "aiwf: task make[3] (iteration 0) failed: the command exited with status 7\n" in p.stderr
    assert f"--- {tmp_path / 'run' / 'tasks' / 'make' / 'i0' / '3' / 'stderr.log'} (last lines)\nboom-3\n" in p.stderr
    assert "aiwf: slow FAILED in " in p.stdout
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (doc["state"], doc["exit"]) == ("failed", 1)
    assert [(t["phase"], t["index"], t["exit"], t["log_tail"]) for t in doc["failed"]] == [("make", 3, 7, "boom-3")]
    # the bundle [2, 4) went on after item 3 failed... item 2 ran before it; `total` never ran
    assert [(t["index"], t["state"]) for t in doc["tasks"]] == [
        (0, "done"), (1, "done"), (2, "done"), (3, "failed"), (4, "done"), (5, "done")]
    assert "total" in doc["phase_errors"] and not (tmp_path / "run" / "tasks" / "total").exists()
    # --max-parallel 1: the three bundles (batch = 2) ran one after the other, though 2 workers were free
    assert [a["range"] for a in doc["apps"]] == [[0, 2], [2, 4], [4, 6]]
    tasks = {t["index"]: t for t in doc["tasks"]}
    assert tasks[2]["start"] >= tasks[1]["end"] and tasks[4]["start"] >= tasks[3]["end"]


@pytest.mark.slow
def test_interrupted_run_resumes_and_skips_completed_tasks(tmp_path):
    src = _write_slow(tmp_path)
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "aiwfc", "run", str(src), "--run-dir", str(run_dir), "--workers", "1",
            "-p", "pause=2"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    first = run_dir / "tasks" / "make" / "i0" / "0" / "task.json"
    live = None
    while time.monotonic() < deadline:  # item 0 done, item 1 (same bundle) running
        try:
            live = live or (json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else None)
            if json.loads(first.read_text())["state"] == "done":
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    assert live is not None and (live["state"], live["exit"]) == ("running", None)  # written while it runs
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: to aiwfc, the program, Parsl's processes, the tasks
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "INTERRUPTED" in out and "cancelling (no new task starts; running tasks get SIGTERM)" in out
    assert "  1 running task(s) were ended by the interrupt; run the same command again to resume" in out
    assert "Traceback" not in err and "failed" not in err
    assert leftover_processes(run_dir) == []   # Parsl's interchange and workers, the tasks: all ended
    before = json.loads((run_dir / "run.json").read_text())
    states = {t["index"]: (t["state"], t["exit"]) for t in before["tasks"] if t["phase"] == "make"}
    assert states[0] == ("done", 0)
    assert states[1] == ("failed", 143)           # running when interrupted: its process was ended
    assert all(i not in states for i in range(2, 6))  # never started
    started0 = json.loads(first.read_text())["start"]

    p = aiwfc("run", str(src), "--run-dir", str(run_dir), "-p", "pause=2", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads((run_dir / "run.json").read_text())
    make = [t for t in doc["tasks"] if t["phase"] == "make"]
    assert [(t["index"], t["state"], t["cached"]) for t in make] == [
        (0, "done", True), (1, "done", False), (2, "done", False), (3, "done", False), (4, "done", False),
        (5, "done", False)]
    assert json.loads(first.read_text())["start"] == started0      # not run again
    assert json.loads((run_dir / "tasks" / "total" / "i0" / "0" / "sum.json").read_text()) == 15
    assert "make i0: 6/6 finished (5 done, 1 cached), 0 running" in p.stdout

    # the same command once more: everything is cached, nothing runs
    p = aiwfc("run", str(src), "--run-dir", str(run_dir), "-p", "pause=2", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads((run_dir / "run.json").read_text())
    assert [t["cached"] for t in doc["tasks"]] == [True] * 7
    assert "aiwf: slow done in " in p.stdout and ": 7 tasks (7 done; 7 cached)" in p.stdout


def test_compiled_program_is_deterministic_and_self_contained(tmp_path):
    src = ROOT / "examples" / "multistage_pipeline" / "screen.aiwf"
    outs = []
    for n in (1, 2):
        p = aiwfc("compile", str(src), "--target", "parsl", "-o", str(tmp_path / f"o{n}"), "--site", "local")
        assert p.returncode == 0, p.stderr
        assert p.stdout.endswith(f"parsl: 10 files -> {tmp_path / f'o{n}'}\n")
        outs.append({f.name: f.read_bytes() for f in (tmp_path / f"o{n}").iterdir()})
    assert outs[0] == outs[1]
    assert sorted(outs[0]) == ["aiwf_base.py", "aiwf_exec.py", "aiwf_launch.py", "aiwf_loop.py", "aiwf_parsl.py",
                               "aiwf_records.py", "aiwf_task.py", "aiwf_values.py", "aiwfc-manifest.json", "run.py",
                               "workflow.json"]
    run_py = outs[0]["run.py"].decode()
    assert "    # simulation solve from screen.aiwf:49\n    'solve': {'kind': 'simulation', 'after': ['filter'], " \
           "'chunk': 1, 'throttle': None, 'loop': None, 'service': False, 'uses': [], " \
           "'executor': 'pipeline_simulation'},\n" in run_py
    # self-contained: nothing imports aiwfc at module level; the one optional import (MLflow
    # logging at the end of a tracked run) is inside a function and guarded by ImportError
    for name in ("run.py", "aiwf_parsl.py", "aiwf_launch.py"):
        tree = ast.parse(outs[0][name].decode())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not [n for n in top if "aiwfc" in ast.unparse(n)], name
    inner = [n for n in ast.walk(ast.parse(outs[0]["aiwf_parsl.py"].decode()))
             if isinstance(n, ast.Try) and any("aiwfc" in ast.unparse(b) for b in n.body if isinstance(b, ast.ImportFrom))]
    assert len(inner) == 1 and [ast.unparse(h.type) for h in inner[0].handlers] == ["ImportError"]
    assert os.access(tmp_path / "o1" / "run.py", os.X_OK)
    help_ = subprocess.run([sys.executable, str(tmp_path / "o1" / "run.py"), "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "--config {local,slurm}" in help_.stdout


def test_run_reports_input_errors_without_running(tmp_path):
    src = tmp_path / "bad.aiwf"
    src.write_text("aiwf 0.1\nworkflow w {\n  task t { run \"echo ${nothing}\" }\n}\n")
    p = aiwfc("run", str(src), "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert p.returncode == 1
    assert f"{src}:3:" in p.stderr and "error[" in p.stderr
    assert not (tmp_path / "run").exists()


def test_bundle_size_spreads_large_scatters_over_the_workers(tmp_path):
    p = aiwfc("compile", str(ROOT / "examples" / "multistage_pipeline" / "screen.aiwf"), "--target", "parsl",
              "-o", str(tmp_path / "o"), "--site", "local")
    assert p.returncode == 0, p.stderr
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import aiwf_parsl as a; "
            "print([a.bundle_size(*x) for x in [(200, 1, 'auto', 2), (4, 1, 'auto', 2), (200, 1, 'off', 2), "
            "(200, 30, 'auto', 2), (10, 1, '3', 2), (9, 2, 'auto', 1)]])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "o")], capture_output=True, text=True)
    assert out.stdout == "[25, 1, 1, 30, 3, 3]\n", out.stderr


@pytest.mark.slow
def test_a_failed_service_fails_its_clients_without_running_them(tmp_path):
    src = tmp_path / "svc.aiwf"
    src.write_text('aiwf 0.1\n\nworkflow svc {\n  service broken {\n    coupling = semi\n'
                   '    run "echo no-port >&2; exit 5"\n  }\n\n  task client {\n    uses = [broken]\n'
                   '    out v: string\n    run "echo ${broken.address} > ${v}"\n  }\n}\n')
    p = aiwfc("run", str(src), "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "aiwf: task broken[0] (iteration 0) failed: the command exited with status 5\n" in p.stderr
    assert p.stderr.endswith("stderr.log (last lines)\nno-port\n")
    assert "aiwf: svc FAILED in " in p.stdout and ": 1 tasks (1 failed)" in p.stdout
    assert not (tmp_path / "run" / "tasks" / "client").exists()
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["phase_errors"]["client"].startswith("DependencyError")


@pytest.mark.slow
def test_a_changed_param_reruns_only_the_tasks_it_reaches(tmp_path):
    src = str(ROOT / "examples" / "multistage_pipeline" / "screen.aiwf")
    run_dir = tmp_path / "run"
    p = aiwfc("run", src, "--run-dir", str(run_dir), "-p", "keep=2", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    p = aiwfc("run", src, "--run-dir", str(run_dir), "-p", "keep=3", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads((run_dir / "run.json").read_text())
    assert doc["params"]["keep"] == 3
    # generate does not read `keep`; filter does; solve 0 and 1 get the same candidates (31, 21) as before
    assert [(t["phase"], t["index"], t["cached"]) for t in doc["tasks"]] == [
        ("generate", 0, True), ("filter", 0, False), ("solve", 0, True), ("solve", 1, True), ("solve", 2, False),
        ("rank", 0, False)]
    assert json.loads((run_dir / "tasks" / "filter" / "i0" / "0" / "selected.json").read_text()) == [31, 21, 11]
    assert ": 6 tasks (6 done; 3 cached)" in p.stdout
