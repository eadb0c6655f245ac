"""The shared task runtime runs every example as tests/test_examples.py's LocalHarness does.

Each example is compiled to its run spec exactly as a backend does it and driven, phase
by phase, through real `aiwf_task.py` subprocesses (tests/runtime/driver.py). The
expected values are the ones LocalHarness computes for the same scripts (the port
conventions' executable statement): the same outputs, the same number of loop
iterations, the same walkers stopped. Each example runs once per session.
"""

from __future__ import annotations

import ast as pyast
import hashlib
import json
import sys
from pathlib import Path

import pytest

from aiwfc import __version__
from aiwfc.backend import EmitContext
from aiwfc.exprcompile import PYTHON_PRELUDE
from aiwfc.images import image_builds
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan
from aiwfc_backends.runtime import RUNTIME_MODULES, build_spec, runtime_files
from tests.runtime.driver import ROOT, Driver, compile_runtime
from tests.test_examples import LocalHarness

EXAMPLES = {
    "dynamic_orchestration": "steer_md.aiwf",
    "multistage_pipeline": "screen.aiwf",
    "inverse_design": "design.aiwf",
    "digital_replica": "twin.aiwf",
    "distributed_models": "federated.aiwf",
    "adaptive_training": "hpo.aiwf",
}
_RUNS: dict[str, Driver] = {}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """example(folder) -> the Driver of its finished run (each example runs once)."""
    def get(folder: str) -> Driver:
        if folder not in _RUNS:
            base = tmp_path_factory.mktemp(folder)
            compile_runtime(ROOT / "examples" / folder / EXAMPLES[folder], base / "out")
            _RUNS[folder] = Driver(base / "out", base / "run").run()
        return _RUNS[folder]
    return get


def records(d: Driver, phase: str, k: int = 0) -> list[dict]:
    base = d.run_dir / "tasks" / phase / f"i{k}"
    return [json.loads((base / str(i) / "task.json").read_text())
            for i in range(json.loads((base / "manifest.json").read_text())["count"])]


def value(d: Driver, phase: str, port: str, k: int = 0, index: int = 0):
    return d.record(phase, k, index)["outputs"][port]


def loop_values(d: Driver, loop: str) -> list[tuple]:
    return [(r["value"], r["continue"]) for r in (d.loop_record(loop, k) for k in range(d.iterations[loop]))]


def all_states(d: Driver) -> dict[str, str]:
    """'phase iK/I' -> 'state exit attempts' for every task of the run."""
    out = {}
    for f in sorted(d.run_dir.glob("tasks/*/i*/*/task.json")):
        r = json.loads(f.read_text())
        out[f"{r['phase']} i{r['iteration']}/{r['index']}"] = f"{r['state']} {r['exit']} {r['attempts']}"
    return out


# ---------------------------------------------------------------- the six examples

def test_steer_md_loop_stops_walkers_and_ends_when_covered(example):
    d = example("dynamic_orchestration")
    assert d.iterations == {"steer": 3}
    assert loop_values(d, "steer") == [(False, True), (False, True), (True, False)]
    assert d.loop_record("steer", 2)["reason"] == "the `until` condition holds"
    assert value(d, "grid", "seeds") == [0, 1, 2, 3]
    # next md.seed = score.next_seeds: the model chose the next ensembles
    assert d.loop_record("steer", 0)["carried"]["md.seed"] == [6, 7, 8, 11]
    assert [r["item"] for r in records(d, "md", 1)] == [6, 7, 8, 11]
    assert [r["item"] for r in records(d, "md", 2)] == [0, 5, 6, 11]
    # next md.history = fit.model: walkers of iteration 1 read the model of iteration 0
    assert records(d, "md", 1)[0]["inputs"]["history"] == str(d.task_dir("fit", 0) / "model.npz")
    # stop md when md.progress < min_progress: walkers 0, 1, 3 of the last round were stopped
    assert [r["state"] for r in records(d, "md", 2)] == ["stopped", "stopped", "done", "stopped"]
    assert [r["state"] for r in records(d, "md", 1)] == ["done"] * 4
    # the gather sees the surviving walker only
    assert d.record("fit", 2)["inputs"]["trajs"] == [str(d.task_dir("md", 2, 2) / "traj_2.npz")]
    assert value(d, "md", "progress", 2, 2) == 0.1149
    assert value(d, "score", "coverage", 2) == 1.0
    assert value(d, "fit", "metrics", 2) == {"loss": 0.2872}
    assert value(d, "report", "error") == 0.0367   # after the loop: reads fit.model of iteration 2
    assert d.record("report")["inputs"]["model"] == str(d.task_dir("fit", 2) / "model.npz")
    assert d.record("fit", 2)["tracked"] == {"degree": 6, "metrics": {"loss": 0.2872}}
    assert d.record("md", 0, 1)["params"] == {"min_frames": 1500, "steps": 1000}


def test_screen_filters_then_solves_the_survivors(example):
    d = example("multistage_pipeline")
    assert value(d, "filter", "selected") == [31, 21, 11, 36]
    assert [r["item"] for r in records(d, "solve")] == [31, 21, 11, 36]
    assert [r["outputs"]["gap"] for r in records(d, "solve")] == [0.060745, 0.069498, 0.036777, 0.03063]
    rank = d.record("rank")
    assert rank["inputs"]["gaps"] == [0.060745, 0.069498, 0.036777, 0.03063]
    assert rank["outputs"]["best"] == 31 and rank["outputs"]["filter_error"] == 0.1083
    assert rank["tracked"] == {"best": 31, "filter_error": 0.1083}
    # ${filter_model} is the dataset's directory; its declared version stands for its content
    data = ROOT / "examples" / "multistage_pipeline" / "data"
    filt = d.record("filter")
    assert f"--weights {data}/filter.json " in filt["command"]
    assert filt["datasets"] == {"filter_model": {"path": str(data), "version": "1", "sha256": None}}


def test_design_loop_carries_proposed_designs(example):
    d = example("inverse_design")
    assert d.iterations == {"search": 3}
    assert loop_values(d, "search") == [(False, True), (False, True), (True, False)]
    assert len(records(d, "simulate", 0)) == 6 and len(records(d, "simulate", 1)) == 3
    # list<file> outputs are absolute paths for consumers
    assert records(d, "simulate", 1)[0]["item"] == str(d.task_dir("propose", 0) / "design_0.json")
    assert value(d, "refit", "best_error", 2) == 0.00802
    assert value(d, "refit", "metrics", 2) == {"loo_rmse": 5.4505}
    assert value(d, "report", "misfit") == 0.00802 and value(d, "report", "flights") == 12


def test_twin_service_serves_the_simulation(example):
    d = example("digital_replica")
    replica = d.record("replica")
    assert (replica["state"], replica["exit"]) == ("done", 0)
    address = json.loads((d.task_dir("replica") / "address.json").read_text())
    assert f"--twin {address} " in d.record("plant")["command"]
    assert value(d, "fit", "metrics") == {"one_step_rmse": 0.00012}
    assert d.record("compare")["tracked"] == {"detected_at": 20.0, "queries": 20}


def test_federated_rounds_start_from_the_new_global_model(example):
    d = example("distributed_models")
    assert d.iterations == {"rounds": 3}
    assert loop_values(d, "rounds") == [(False, True), (False, True), (True, False)]
    assert d.record("train_north", 0)["inputs"]["start"] == str(d.task_dir("setup") / "global.npz")
    assert d.record("train_north", 1)["inputs"]["start"] == str(d.task_dir("aggregate", 0) / "global.npz")
    assert value(d, "evaluate", "metrics", 2) == {"loss": 0.36255, "accuracy": 0.837}
    assert value(d, "train_north", "metrics", 2) == {"loss": 0.41427}
    assert value(d, "train_south", "metrics", 2) == {"loss": 0.31262}
    assert d.record("train_south", 2)["tracked"] == {"learning_rate": 0.5, "local_epochs": 20,
                                                     "metrics": {"loss": 0.31262}}


def test_hpo_sweep_tracks_params_and_metrics(example):
    d = example("adaptive_training")
    assert d.iterations == {"more_data": 3}
    assert loop_values(d, "more_data") == [(False, True), (False, True), (True, False)]
    sweep = records(d, "sweep", 2)
    assert [r["outputs"]["metrics"]["loss"] for r in sweep] == [0.00327, 0.007162, 0.033431]
    assert [r["tracked"] for r in sweep] == [
        {"lr": lr, "epochs": 500, "metrics": {"loss": loss}}
        for lr, loss in zip([0.3, 0.1, 0.03], [0.00327, 0.007162, 0.033431])]
    select = d.record("select", 2)
    assert select["inputs"]["losses"] == [0.00327, 0.007162, 0.033431]   # sweep.metrics.loss
    assert select["tracked"] == {"best_loss": 0.00327, "best_lr": 0.3,
                                 "best_model": str(d.task_dir("select", 2) / "best.npz")}
    # next collect.previous = collect.data: every round appends to the last round's data
    assert d.record("collect", 1)["inputs"]["previous"] == str(d.task_dir("collect", 0) / "train.npz")
    assert "--round 2 " in records(d, "simulate", 2)[1]["command"]
    # provenance: input file hashes and the image's recipe hash
    rec = sweep[0]
    data = Path(rec["inputs"]["data"])
    assert rec["input_files"][str(data)] == hashlib.sha256(data.read_bytes()).hexdigest()
    comp = analyse(str(ROOT / "examples" / "adaptive_training" / "hpo.aiwf"))
    builds = image_builds(comp, comp.program.workflows[0])
    assert rec["image"] == {"name": "cuda_numpy", "recipe_hash": builds["cuda_numpy"].recipe_hash,
                            "sif": "images/cuda_numpy.sif", "container": False}


@pytest.mark.parametrize("folder", sorted(EXAMPLES))
def test_every_task_record_is_exact(example, folder):
    d = example(folder)
    states = all_states(d)
    stopped = {"md i2/0", "md i2/1", "md i2/3"} if folder == "dynamic_orchestration" else set()
    assert {k for k, v in states.items() if v.startswith("stopped")} == stopped
    assert {v for k, v in states.items() if k not in stopped} == {"done 0 1"}
    for f in d.run_dir.glob("tasks/*/i*/*/task.json"):
        r = json.loads(f.read_text())
        assert r["format"] == "aiwf-task/1" and r["error"] is None and r["log_tail"] == ""
        assert r["attempt_log"][0]["attempt"] == 1 and r["seconds"] >= 0 and r["end"] >= r["start"]
        assert (f.parent / "stdout.log").exists() and (f.parent / "stderr.log").exists()


def test_stop_command_evaluates_a_rule_on_a_task(example):
    d = example("dynamic_orchestration")
    args = ("--loop", "steer", "--iteration", "2", "--phase", "md")
    assert d.task("stop", *args, "--index", "0").stdout == "true\n"
    assert d.task("stop", *args, "--index", "2").stdout == "false\n"


def test_resume_skips_completed_tasks(example, tmp_path):
    d = example("multistage_pipeline")
    before = {f: f.read_text() for f in d.run_dir.glob("tasks/*/i0/*/task.json")}
    Driver(d.out, d.run_dir, bundled=True).run()
    again = Driver(d.out, d.run_dir)
    assert {f: f.read_text() for f in d.run_dir.glob("tasks/*/i0/*/task.json")} == before
    p = again.task("run", "--phase", "solve", "--range", "0:4")
    assert (p.returncode, p.stdout) == (0, "".join(f"solve i0/{i} cached exit=0\n" for i in range(4)))


def test_param_override_and_bundles(tmp_path):
    compile_runtime(ROOT / "examples" / "multistage_pipeline" / "screen.aiwf", tmp_path / "out", {"keep": "2"})
    d = Driver(tmp_path / "out", tmp_path / "run", bundled=True).run()
    assert [c for c in d.calls if c[0] == "run" and c[2] == "solve"] == [
        ["run", "--phase", "solve", "--iteration", "0", "--range", "0:2"]]
    assert d.record("filter")["params"] == {"keep": 2, "target_gap": 0.05}
    assert d.record("filter")["outputs"]["selected"] == [31, 21]
    assert d.record("rank")["tracked"] == {"best": 31, "filter_error": 0.1337}


# ---------------------------------------------------------------- the spec

def test_spec_compiles_references_by_kind():
    comp = analyse(str(ROOT / "examples" / "dynamic_orchestration" / "steer_md.aiwf"))
    wf = comp.program.workflows[0]
    spec = build_spec(EmitContext(comp=comp, workflow=wf, plan=build_plan(comp, wf)))
    md = spec["phases"]["md"]
    assert md["command"][:4] == ["python3 ", {"expr": "R('local', 'project')", "text": "project"},
                                 "/scripts/md.py --cell ", {"expr": "R('local', 'seed')", "text": "seed"}]
    assert md["foreach"] == {"var": "seed", "expr": "R('port', 'grid', 'seeds')", "text": "grid.seeds",
                             "carried": True, "count": None, "from_port": "grid.seeds", "dataset": None,
                             "sources": [{"phase": "grid", "port": "seeds", "mode": "single"}]}
    assert md["inputs"] == [{"name": "history", "type": "file", "expr": "R('port', 'grid', 'prior')",
                             "text": "grid.prior", "carried": True,
                             "sources": [{"phase": "grid", "port": "prior", "mode": "single"}]}]
    assert spec["phases"]["fit"]["inputs"][0]["sources"] == [{"phase": "md", "port": "traj", "mode": "gather"}]
    assert md["outputs"][0] == {"name": "traj", "type": "file", "tracked": False,
                                "path": ["traj_", {"expr": "R('local', 'index')", "text": "index"}, ".npz"]}
    assert md["stop"] == [{"loop": "steer", "expr": "(R('port', 'md', 'progress') < R('param', 'min_progress'))",
                           "text": "md.progress < min_progress"}]
    assert (md["loop"], md["retries"], md["after"]) == ("steer", 1, ["grid"])
    assert spec["loops"]["steer"]["condition"] == {"expr": "(R('port', 'score', 'coverage') >= R('param', 'target'))",
                                                   "text": "score.coverage >= target"}
    assert spec["schedule"] == [{"phase": "grid"}, {"loop": "steer", "phases": ["md", "fit", "score"]},
                                {"phase": "report"}]
    assert spec["loops"]["steer"]["max_iterations"] == 4


def test_spec_applies_param_overrides_and_services():
    comp = analyse(str(ROOT / "examples" / "digital_replica" / "twin.aiwf"), params={"window": "5"})
    wf = comp.program.workflows[0]
    spec = build_spec(EmitContext(comp=comp, workflow=wf, plan=build_plan(comp, wf)))
    assert spec["params"]["window"] == 5
    assert {"expr": "R('service', 'replica', 'address')", "text": "replica.address"} in \
        spec["phases"]["plant"]["command"]
    assert spec["schedule"][2] == {"service": "replica", "clients": ["plant"]}


def test_runtime_files_are_deterministic_and_stdlib_only():
    comp = analyse(str(ROOT / "examples" / "adaptive_training" / "hpo.aiwf"))
    wf = comp.program.workflows[0]
    ctx = EmitContext(comp=comp, workflow=wf, plan=build_plan(comp, wf))
    first, second = runtime_files(ctx), runtime_files(ctx)
    assert first == second and sorted(first) == ["aiwf_base.py", "aiwf_exec.py", "aiwf_loop.py", "aiwf_records.py", "aiwf_task.py", "aiwf_values.py",
                                                 "workflow.json"]
    spec = json.loads(first["workflow.json"])
    builds = image_builds(comp, wf)
    assert spec["phases"]["sweep"]["image"] == {"name": "cuda_numpy", "options": ["--nv"],   # a GPU phase
                                                "recipe_hash": builds["cuda_numpy"].recipe_hash,
                                                "sif": "images/cuda_numpy.sif",
                                                "prefix": ["apptainer", "exec", "--nv", "images/cuda_numpy.sif"]}
    assert spec["phases"]["simulate"]["image"]["options"] == []
    assert spec["prelude"] == PYTHON_PRELUDE and spec["generator"] == f"aiwfc {__version__}"
    imported = set()
    for name in RUNTIME_MODULES:
        tree = pyast.parse(first[name])
        imported |= {a.name.split(".")[0] for n in pyast.walk(tree) if isinstance(n, pyast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in pyast.walk(tree) if isinstance(n, pyast.ImportFrom) and n.module}
    siblings = {name[:-3] for name in RUNTIME_MODULES}
    assert imported & siblings == siblings - {"aiwf_task"}   # aiwf_task.py imports the others; nothing imports it
    assert imported - {"__future__"} - siblings <= set(sys.stdlib_module_names)


def test_runtime_modules_are_every_module_of_the_runtime():
    """RUNTIME_MODULES (what backends copy) is every aiwf_*.py beside spec.py: a module left
    out would be missing from artefact trees, where aiwf_task.py imports it."""
    here = ROOT / "backends" / "runtime"
    assert sorted(RUNTIME_MODULES) == sorted(p.name for p in here.glob("aiwf_*.py"))
    assert RUNTIME_MODULES[0] == "aiwf_task.py"
    assert max(len((here / name).read_text().splitlines()) for name in RUNTIME_MODULES) < 800


def test_summary_of_a_run(example):
    d = example("dynamic_orchestration")
    p = d.task("summary")
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    assert (doc["format"], doc["workflow"], doc["state"]) == ("aiwf-run/1", "steer_md", "done")
    assert doc["counts"] == {"done": 17, "stopped": 3}
    assert doc["phases"]["md"] == {"i0": {"done": 4}, "i1": {"done": 4}, "i2": {"done": 1, "stopped": 3}}
    assert [r["iteration"] for r in doc["loops"]["steer"]] == [0, 1, 2]
    assert [t["phase"] for t in doc["tasks"]][:6] == ["grid", "md", "md", "md", "md", "md"]
    assert [(t["phase"], t["iteration"], t["values"]) for t in doc["tracked"]] == [
        ("fit", k, {"degree": 6, "metrics": d.record("fit", k)["outputs"]["metrics"]}) for k in range(3)] + [
        ("report", 0, {"error": 0.0367})]
    assert doc["failed"] == []
    assert doc["params"]["n_walkers"] == 4


def _names(v):
    """Paths compared by their name: the two runners lay out their task directories differently."""
    if isinstance(v, list):
        return [_names(x) for x in v]
    if isinstance(v, dict):
        return {k: _names(x) for k, x in v.items()}
    return Path(v).name if isinstance(v, str) and v.startswith("/") else v


@pytest.mark.parametrize("folder", ["multistage_pipeline", "inverse_design"])
def test_consumers_see_what_local_harness_computes(example, folder, tmp_path):
    """Every output port's latest value, as the runtime resolves it for a consumer, equals
    LocalHarness's (paths by name)."""
    h = LocalHarness(ROOT / "examples" / folder / EXAMPLES[folder], tmp_path).run()
    d = example(folder)
    sys.path.insert(0, str(d.out))
    try:
        import aiwf_task
    finally:
        sys.path.remove(str(d.out))
    rt = aiwf_task.Runtime(aiwf_task.Spec(str(d.out / "workflow.json")), str(d.run_dir))
    assert {key: _names(rt.port_value(*key, None, 0)) for key in h.values} == {key: _names(v)
                                                                                for key, v in h.values.items()}
    assert d.iterations == h.iterations
