"""The Slurm backend on a real (one-node) Slurm cluster: every example end to end through submit.sh.

The six examples are compiled for the stdlib `test-slurm` site (their resource classes
resized by `slurm_examples.example_copy`, since the test node is small), checked with
`submit.sh --dry-run` (sbatch --test-only for every job script) and submitted together;
each test then waits for its run and checks what Slurm did (every job COMPLETED), what
the tasks computed, and that loops ran as often as their conditions imply (the same
iterations and stopped walkers as tests/test_examples.py's LocalHarness, measured:
steer 3, search 3, rounds 3, more_data 3; md walkers 0, 1 and 3 stopped in round 2).
Further tests: an injected failure cancels everything after it and nothing stays
pending; cancel.sh ends a run; a hostile param value reaches the command as data;
`status.sh --crate` writes a finished run's RO-Crate.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiwfc.cli import main
from tests.integration.slurm_examples import EXAMPLES, example_copy

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

WAIT = 240  # seconds a run may take on a loaded 2-core CI machine


@dataclass
class Run:
    folder: str
    artefacts: Path
    run: Path
    env: dict
    submitted: float
    dry_run: subprocess.CompletedProcess
    seconds: float | None = None


def compile_slurm(path: Path, out: Path, *extra: str) -> None:
    assert main(["compile", str(path), "--site", "test-slurm", "--target", "slurm", "-o", str(out), *extra]) == 0


def submit(art: Path, run: Path, env: dict) -> float:
    proc = subprocess.run([str(art / "submit.sh"), "--run", str(run)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("submitted "), proc.stdout
    return time.monotonic()


def status(run: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(run / "slurm" / "status.sh"), str(run)], env=env, capture_output=True, text=True,
                          timeout=120)


def wait_run(run: Path, env: dict, timeout: float = WAIT) -> subprocess.CompletedProcess:
    """status.sh until the run is no longer running (exit status 3)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = status(run, env)
        if proc.returncode != 3:
            return proc
        if time.monotonic() > deadline:
            raise TimeoutError(proc.stdout)
        time.sleep(1)


def task(run: Path, phase: str, iteration: int = 0, index: int = 0) -> dict:
    return json.loads((run / "tasks" / phase / f"i{iteration}" / str(index) / "task.json").read_text())


def value(run: Path, phase: str, port: str, iteration: int = 0, index: int = 0):
    return json.loads((run / "tasks" / phase / f"i{iteration}" / str(index) / f"{port}.json").read_text())


def loop_decisions(run: Path, loop: str) -> list[bool]:
    return [json.loads(p.read_text())["continue"]
            for p in sorted((run / "loops" / loop).glob("i*.json"), key=lambda p: int(p.stem[1:]))]


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory) -> dict[str, Run]:
    """All six examples compiled, dry-run and submitted at once (they share the cluster)."""
    base = tmp_path_factory.mktemp("slurm-examples")
    env = dict(slurm_cluster.env)
    out = {}
    for folder in EXAMPLES:
        path = example_copy(folder, base / "src")
        art = base / "artefacts" / folder
        compile_slurm(path, art)
        dry = subprocess.run([str(art / "submit.sh"), "--dry-run"], env=env, capture_output=True, text=True,
                             timeout=120)
        run = base / "runs" / folder
        out[folder] = Run(folder, art, run, env, submit(art, run, env), dry)
    return out


def finished(r: Run) -> dict:
    proc = wait_run(r.run, r.env)
    if r.seconds is None:
        r.seconds = time.monotonic() - r.submitted
    doc = json.loads((r.run / "run.json").read_text())
    assert proc.returncode == 0, proc.stdout
    assert doc["state"] == "completed"
    assert {j["state"] for j in doc["jobs"]} == {"COMPLETED"}, proc.stdout
    calls = len(doc["jobs"])
    tasks = sum(sum(c.values()) for c in doc["tasks"].values())
    print(f"\n{r.folder}: {calls} sbatch calls for {tasks} tasks, {r.seconds:.1f}s from submission "
          "(six runs sharing the cluster)")
    assert r.dry_run.returncode == 0, r.dry_run.stdout + r.dry_run.stderr
    assert "every job script accepted by sbatch --test-only" in r.dry_run.stdout
    return doc


def test_dynamic_orchestration(runs):
    r = runs["dynamic_orchestration"]
    doc = finished(r)
    assert loop_decisions(r.run, "steer") == [True, True, False]
    states = {i: task(r.run, "md", 2, i)["state"] for i in range(4)}
    assert states == {0: "stopped", 1: "stopped", 2: "done", 3: "stopped"}  # as LocalHarness stops them
    assert value(r.run, "score", "coverage", 2) >= 0.9 > value(r.run, "score", "coverage", 1)
    assert (r.run / "tasks" / "report" / "i0" / "0" / "profile.csv").exists()
    # the GPU phase got its (fake) GPU: Slurm set CUDA_VISIBLE_DEVICES for it
    fit_logs = sorted((r.run / "logs").glob("fit_*.out"))
    assert len(fit_logs) == 3
    assert all(re.search(r"gpus=[01]\b", p.read_text()) for p in fit_logs)  # 2 fake GPUs, one each
    assert all("gpus=none" in p.read_text() for p in (r.run / "logs").glob("grid_*.out"))
    assert doc["loops"]["steer"][2]["continue"] is False


def test_multistage_pipeline(runs):
    r = runs["multistage_pipeline"]
    finished(r)
    selected = value(r.run, "filter", "selected")
    assert len(selected) == 4
    assert json.loads((r.run / "tasks" / "solve" / "i0" / "manifest.json").read_text())["count"] == 4
    assert [task(r.run, "solve", 0, i)["state"] for i in range(4)] == ["done"] * 4
    assert value(r.run, "rank", "best") in selected


def test_inverse_design(runs):
    r = runs["inverse_design"]
    finished(r)
    assert loop_decisions(r.run, "search") == [True, True, False]
    counts = [json.loads((r.run / "tasks" / "simulate" / f"i{k}" / "manifest.json").read_text())["count"]
              for k in range(3)]
    assert counts == [6, 3, 3]  # the surrogate proposes `per_round` designs after the initial six
    assert value(r.run, "refit", "best_error", 2) <= 0.01 < value(r.run, "refit", "best_error", 1)


def test_digital_replica(runs):
    r = runs["digital_replica"]
    finished(r)
    assert task(r.run, "replica")["state"] == "done"  # stopped by SIGTERM after its client, normally
    assert 20.0 <= value(r.run, "compare", "detected_at") <= 25.0
    assert value(r.run, "compare", "queries") > 0
    assert not list((r.run / "logs").glob("plant_*"))  # the client ran inside the service's allocation


def test_digital_replica_crate(runs):
    """status.sh --crate on the finished run writes its Workflow Run RO-Crate from the copies
    submit.sh made in RUN/slurm/: the workflow, its params, its task outputs and the compiler's
    decisions (aiwfc-manifest.json), loaded back with rocrate."""
    rocrate = pytest.importorskip("rocrate.rocrate", reason="rocrate is not installed (pip install 'aiwfc[track]')")
    r = runs["digital_replica"]
    finished(r)
    assert (r.run / "slurm" / "aiwfc-manifest.json").read_text() == (r.artefacts / "aiwfc-manifest.json").read_text()
    proc = subprocess.run([str(r.run / "slurm" / "status.sh"), "--crate", str(r.run)], env=r.env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith(f"RO-Crate: {r.run / 'ro-crate-metadata.json'}\n"), proc.stdout + proc.stderr
    crate = rocrate.ROCrate(str(r.run))
    wf = crate.mainEntity
    assert wf.id == "slurm/source/twin.aiwf"
    assert wf.type == ["File", "SoftwareSourceCode", "ComputationalWorkflow"]
    parts = {p.id for p in wf["hasPart"]}
    assert {"slurm/aiwfc-manifest.json", "slurm/workflow.json", "slurm/aiwf_task.py", "slurm/status.sh"} <= parts
    assert [p.id for p in wf["input"]] == [f"#param-{n}" for n in (
        "calibration_runs", "damping", "fault_at", "seconds", "window")]
    outputs = [p.id for p in wf["output"]]
    assert {"#output-calibrate.data", "#output-fit.model", "#output-plant.traj", "#output-compare.report",
            "#output-compare.detected_at", "#output-compare.queries"} <= set(outputs)
    # the compiler's decisions, from the manifest submit.sh copied
    assert crate.get("#compile")["instrument"].id == "#aiwfc"
    assert crate.get("#compile")["description"].startswith("passes applied")
    mentions = [p.id for p in crate.get("slurm/aiwfc-manifest.json")["mentions"]]
    assert mentions[0] == "#pass-job-arrays" and "#pass-transitive-reduction" in mentions
    assert crate.get("#pass-job-arrays").type == "HowToStep"
    # the run: the params it ran with, what came out
    run = crate.get("#run")
    assert run["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert {o["name"]: o["value"] for o in run["object"]} == {
        "calibration_runs": "4", "damping": "0.3", "fault_at": "20.0", "seconds": "40.0", "window": "20"}
    results = {x.id: x for x in run["result"]}
    report = results["tasks/compare/i0/0/divergence.csv"]
    assert report.type == "File" and report["exampleOfWork"].id == "#output-compare.report"
    detected = results["#pv-compare-i0-0-detected_at"]
    assert float(detected["value"]) == value(r.run, "compare", "detected_at")


def test_distributed_models(runs):
    r = runs["distributed_models"]
    finished(r)
    assert loop_decisions(r.run, "rounds") == [True, True, False]
    assert value(r.run, "evaluate", "metrics", 2)["accuracy"] >= 0.835 > value(r.run, "evaluate", "metrics", 1)["accuracy"]


def test_adaptive_training(runs):
    r = runs["adaptive_training"]
    finished(r)
    assert loop_decisions(r.run, "more_data") == [True, True, False]
    assert value(r.run, "select", "best_loss", 2) <= 0.004 < value(r.run, "select", "best_loss", 1)
    assert [task(r.run, "sweep", 2, i)["state"] for i in range(3)] == ["done"] * 3


FAILING = """aiwf 0.1
workflow failing {
  resource small { cores = 1  memory = 100MiB  walltime = 5m }
  task prep { resources = small  out n: int  run "echo 2 > ${n}" }
  simulation sim {
    foreach i in range(3)
    resources = small
    in n: int = prep.n
    out v: int
    run "if test ${iteration} -ge 1 && test ${i} -eq 1; then exit 3; fi; echo ${i} > ${v}"
  }
  analysis total {
    resources = small
    in vs: list<int> = sim.v
    out s: int
    run "echo 0 > ${s}"
  }
  feedback rounds { body = [sim, total]  until = total.s > 5  max_iterations = 3 }
  analysis after { resources = small  in s: int = total.s  out t: int  run "echo 1 > ${t}" }
}
"""


def test_failure_cancels_dependents(slurm_cluster, tmp_path):
    """Item 1 of `sim` fails in iteration 1: its array fails, everything after it is
    cancelled (the iteration's later jobs, its controller, the loop's tail, `after`),
    nothing is left pending, and status.sh reports the failure."""
    (tmp_path / "failing.aiwf").write_text(FAILING)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(tmp_path / "failing.aiwf", art)
    submit(art, run, env)
    proc = wait_run(run, env, timeout=120)
    assert proc.returncode == 1, proc.stdout
    doc = json.loads((run / "run.json").read_text())
    assert doc["state"] == "failed"
    by = {(j["name"], j["iteration"], j["role"]): j["state"] for j in doc["jobs"]}
    assert by[("sim", 0, "array")] == "COMPLETED"
    sim1 = next(j for j in doc["jobs"] if j["name"] == "sim" and j["iteration"] == 1)
    assert sim1["state"] == "FAILED"
    assert by[("total", 1, "job")] == "CANCELLED"
    assert by[("rounds", 1, "controller")] == "CANCELLED"
    assert by[("rounds", 0, "tail")] == "CANCELLED"
    assert by[("after", 0, "job")] == "CANCELLED"
    assert not slurm_cluster.active([j["id"] for j in doc["jobs"]])
    assert f"failed: sim (array, iteration 1, job {sim1['id']})" in proc.stdout
    assert task(run, "sim", 1, 1)["state"] == "failed"
    assert not (run / "tasks" / "after").exists()


SLEEPY = """aiwf 0.1
workflow sleepy {
  resource small { cores = 1  memory = 100MiB  walltime = 5m }
  task nap { resources = small  out done: int  run "sleep 120; echo 1 > ${done}" }
  task next { resources = small  in d: int = nap.done  out x: int  run "echo 1 > ${x}" }
}
"""


def test_cancel_ends_the_run(slurm_cluster, tmp_path):
    (tmp_path / "sleepy.aiwf").write_text(SLEEPY)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(tmp_path / "sleepy.aiwf", art)
    submit(art, run, env)
    ids = [line.split("\t")[3] for line in (run / "slurm" / "jobs.tsv").read_text().splitlines()]
    deadline = time.monotonic() + 30
    while "RUNNING" not in slurm_cluster.active(ids).values():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    proc = subprocess.run([str(run / "slurm" / "cancel.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("cancel.sh: cancelled 2 job(s)"), proc.stdout
    slurm_cluster.wait(ids, timeout=30)
    proc = status(run, env)
    assert proc.returncode == 1
    assert json.loads((run / "run.json").read_text())["state"] == "cancelled"


HOSTILE = """aiwf 0.1
workflow hostile {
  param msg: string = "plain"
  resource small { cores = 1  memory = 100MiB  walltime = 5m }
  task echo { resources = small  out said: file = "said.txt"  run "printf '%s' ${msg} > ${said}" }
}
"""
HOSTILE_VALUE = "it's \"$(touch PWNED1)\" `touch PWNED2`; touch PWNED3 && echo $HOME\nsecond line"


def test_hostile_param_is_data(slurm_cluster, tmp_path):
    (tmp_path / "hostile.aiwf").write_text(HOSTILE)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(tmp_path / "hostile.aiwf", art, "-p", f"msg={HOSTILE_VALUE}")
    for script in [*art.glob("*.sh"), *art.glob("jobs/*.sbatch")]:
        assert "PWNED" not in script.read_text()  # the value lives only in the runtime spec
    submit(art, run, env)
    proc = wait_run(run, env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert (run / "tasks" / "echo" / "i0" / "0" / "said.txt").read_text() == HOSTILE_VALUE
    assert not [p for p in tmp_path.rglob("PWNED*")]


def test_dry_run_refuses_what_the_cluster_cannot_run(slurm_cluster, tmp_path):
    """A job asking for more than the node has is refused by sbatch --test-only."""
    text = SLEEPY.replace("memory = 100MiB", "memory = 7GiB").replace("cores = 1", "cores = 8")
    (tmp_path / "big.aiwf").write_text(text.replace("sleep 120; ", ""))
    art = tmp_path / "art"
    compile_slurm(tmp_path / "big.aiwf", art)
    ok = subprocess.run([str(art / "submit.sh"), "--dry-run"], env=slurm_cluster.env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr  # 8 CPUs and 7 GiB: the node has them
    script = art / "jobs" / "nap.sbatch"
    script.write_text(script.read_text().replace("--cpus-per-task=8", "--cpus-per-task=64"))
    bad = subprocess.run([str(art / "submit.sh"), "--dry-run"], env=slurm_cluster.env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1
    assert "submit.sh --dry-run: 1 job script(s) refused by sbatch --test-only" in bad.stderr
    assert not list((art / "runs").glob("*")) if (art / "runs").exists() else True


STAGING = """aiwf 0.1
workflow stg {
  resource small { cores = 1  memory = 100MiB  walltime = 5m }
  dataset many { path = "data"  tier = shared  files = 50000  size = 10MiB  stage = aggregate }
  simulation a {
    foreach i in range(3)
    resources = small  runtime ~ 5s
    out o: file = "o_${index}.txt"
    run "cat ${many}/f${i}.txt > ${o}; pwd > where.txt"
  }
  analysis b {
    resources = small  runtime ~ 5s
    in os: list<file> = a.o
    out all: file = "all.txt"
    run "cat ${os} > ${all}"
  }
}
"""


def test_staging_through_node_local_scratch(slurm_cluster, tmp_path):
    """-O2 aggregates the many-small-file dataset into an archive (a data job), each `a`
    task copies it to scratch, unpacks it there, works in a task directory on scratch,
    and stages it out; a clean-up job removes the archive; scratch is gone afterwards."""
    (tmp_path / "data").mkdir()
    for i in range(3):
        (tmp_path / "data" / f"f{i}.txt").write_text(f"file {i}\n")
    (tmp_path / "stg.aiwf").write_text(STAGING)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(tmp_path / "stg.aiwf", art, "-O2")
    submit(art, run, env)
    proc = wait_run(run, env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    roles = sorted((j["name"], j["role"]) for j in json.loads((run / "run.json").read_text())["jobs"])
    assert roles == [("a", "array"), ("aggregate.many", "job"), ("b", "job"), ("cleanup.many", "job")]
    assert (run / "tasks" / "b" / "i0" / "0" / "all.txt").read_text() == "file 0\nfile 1\nfile 2\n"
    for i in range(3):
        d = run / "tasks" / "a" / "i0" / str(i)
        assert d.is_dir() and not d.is_symlink()  # staged out: a real directory again
        where = Path((d / "where.txt").read_text().strip())
        staged = Path(task(run, "a", 0, i)["datasets"]["many"]["path"])
        assert where.parent.parent.parent.parent == staged.parent  # <scratch>/tasks/a/i0/<i>, <scratch>/many
        assert staged.name == "many" and staged.parent.name.startswith("aiwf.")
        assert not staged.parent.exists()  # scratch removed on exit
    assert not (run / "archives" / "many.tar").exists()


ELEMENTWISE = """aiwf 0.1
workflow pairs {
  resource one { cores = 1  memory = 100MiB  walltime = 5m }
  simulation a { foreach i in range(4)  resources = one  runtime ~ 20m  out o: file = "o_${index}.txt"  run "echo ${i} > ${o}" }
  analysis p { foreach t in a.o  resources = one  runtime ~ 20m  out q: int  run "echo $(( $(cat ${t}) * 10 )) > ${q}" }
  analysis s { resources = one  in qs: list<int> = p.q  out total: int  run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${qs} > ${total}" }
}
"""


def test_elementwise_arrays_with_aftercorr(slurm_cluster, tmp_path):
    """Task t of `p` waits only for task t of `a` (aftercorr) and reads that task's output."""
    (tmp_path / "pairs.aiwf").write_text(ELEMENTWISE)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(tmp_path / "pairs.aiwf", art)
    assert 'aftercorr:${REP[a]}' in (art / "lib.sh").read_text()
    submit(art, run, env)
    proc = wait_run(run, env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert [value(run, "p", "q", 0, i) for i in range(4)] == [0, 10, 20, 30]
    assert value(run, "s", "total") == 60


def test_arrays_split_at_the_sites_max_array_size(slurm_cluster, tmp_path):
    """With max_array_size = 2, four items are two arrays; each task finds its item
    through AIWF_TASK_OFFSET + SLURM_ARRAY_TASK_ID, and `s` waits for both arrays."""
    site = """site tiny {
  scheduler = slurm  scratch = "/tmp"  container_runtime = none  max_array_size = 2  cluster_target = 0s
  partition debug { nodes = 1  cores = 8  memory = 7GiB  max_walltime = 1d  default = true }
}
"""
    text = ELEMENTWISE.replace("aiwf 0.1\n", "aiwf 0.1\n" + site, 1)
    (tmp_path / "split.aiwf").write_text(text)
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    assert main(["compile", str(tmp_path / "split.aiwf"), "--site", "tiny", "--target", "slurm", "-o", str(art)]) == 0
    lib = (art / "lib.sh").read_text()
    assert "AIWF_TASK_OFFSET=2 aiwf_sbatch a" in lib and "aftercorr" not in lib
    submit(art, run, env)
    proc = wait_run(run, env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    arrays = [j for j in json.loads((run / "run.json").read_text())["jobs"] if j["name"] == "a"]
    assert len(arrays) == 2
    assert [value(run, "p", "q", 0, i) for i in range(4)] == [0, 10, 20, 30]
    assert value(run, "s", "total") == 60


def test_loose_service_in_its_own_job(slurm_cluster, tmp_path):
    """digital_replica with `coupling = loose`: the service runs in its own job, the client
    in another, and a stop job (afterany: the client) ends the service with SIGTERM, which
    is its normal end: every job COMPLETED, and the comparison sees the fault."""
    path = example_copy("digital_replica", tmp_path / "src")
    path.write_text(path.read_text().replace("coupling = semi", "coupling = loose"))
    art, run, env = tmp_path / "art", tmp_path / "run", slurm_cluster.env
    compile_slurm(path, art)
    submit(art, run, env)
    proc = wait_run(run, env, timeout=120)
    assert proc.returncode == 0, proc.stdout
    roles = [(j["name"], j["role"]) for j in json.loads((run / "run.json").read_text())["jobs"]]
    assert ("replica", "stopper") in roles and ("plant", "job") in roles
    assert task(run, "replica")["state"] == "done"
    assert 20.0 <= value(run, "compare", "detected_at") <= 25.0
