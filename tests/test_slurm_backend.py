"""The Slurm backend's artefacts, without a cluster: exact `#SBATCH` lines, shell hygiene, determinism.

The runs on a real cluster are in tests/integration/test_slurm_backend.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aiwfc.backend import EmitContext
from aiwfc.cli import main
from aiwfc.images import image_builds
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan
from aiwfc_backends.runtime import RUNTIME_MODULES
from aiwfc_backends.slurm import SlurmBackend, sbatch_calls
from aiwfc_backends.slurm.directives import array_range, slurm_memory, slurm_time

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*/*.aiwf") if p.name != "sites.aiwf")
GOLDEN = ROOT / "tests" / "golden" / "slurm"
# The runtime's files are the runtime's (tests/runtime); workflow.json names the checkout's path.
NOT_GOLDEN = {*RUNTIME_MODULES, "workflow.json"}

SYNTHETIC = """aiwf 0.1
site lab {
  scheduler = slurm  scratch = "$TMPDIR"  container_runtime = apptainer  account = "proj42"  qos = "normal"
  gpu_request = gpus_per_node  max_array_size = 4  cluster_target = 0s
  partition cpu { nodes = 4  cores = 16  memory = 64GiB  max_walltime = 1d  default = true }
  partition gpu { nodes = 2  cores = 16  memory = 64GiB  gpus = 4  gpu_model = "a100"  max_walltime = 1d }
}
workflow syn {
  param n: int = 10
  resource small { cores = 2  memory = 1500MiB  walltime = 5m }
  resource gpu1 { cores = 4  memory = 8GiB  gpus = 2  gpu_model = "a100"  walltime = 90m }
  dataset many { path = "data"  tier = shared  files = 50000  size = 10MiB  stage = aggregate }
  simulation a {
    foreach i in range(n)
    resources = small  runtime ~ 2m
    out o: file = "o_${index}.txt"
    run "cat ${many}/x > ${o}"
  }
  training g {
    resources = gpu1  runtime ~ 5m
    in os: list<file> = a.o
    out m: float
    run "echo 1 > ${m}"
  }
}
"""


def emit(path: Path, text: str | None = None, site: str | None = None, level: int = 1):
    comp = analyse(str(path), text=text, site=site)
    errors = [d for d in comp.sink.sorted() if d.severity.name == "ERROR"]
    assert not errors, [d.message for d in errors]
    wf = comp.workflows[0]
    result = build_plan(comp, wf, level=level)
    return SlurmBackend().emit(EmitContext(comp, wf, result, {}, comp.sink)), result.plan


def sbatch_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#SBATCH")]


def test_units():
    assert slurm_time(30) == "00:01:00"
    assert slurm_time(5400) == "01:30:00"
    assert slurm_time(86400 + 61) == "1-00:01:01"
    assert slurm_memory(1500 * 1024 * 1024) == "1500M"
    assert slurm_memory(2 * 1024**3 + 1) == "2049M"
    assert array_range(10, 3) == "0-9%3"
    assert array_range(1, None) == "0"


def test_exact_sbatch_lines_array_gpu_account(tmp_path):
    art, plan = emit(tmp_path / "syn.aiwf", SYNTHETIC)
    a = plan.job("a")
    assert a.array.tasks == 10 and a.array.submissions == 3  # max_array_size = 4
    assert sbatch_lines(art.text("jobs/a.sbatch")) == [
        "#SBATCH --job-name=syn.a",
        "#SBATCH --partition=cpu",
        "#SBATCH --account=proj42",
        "#SBATCH --qos=normal",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=1500M",
        f"#SBATCH --time={slurm_time(a.resources.walltime)}",
        "#SBATCH --output=logs/a_%A_%a.out",
        "#SBATCH --error=logs/a_%A_%a.err",
    ]
    # three arrays of at most 4 tasks, each told where it starts
    lib = art.text("lib.sh")
    thr = f"%{a.array.throttle}" if a.array.throttle else ""
    assert f'id=$(AIWF_TASK_OFFSET=0 aiwf_sbatch a "$k" array "$d" "$AIWF_HOME/jobs/a.sbatch" --array=0-3{thr})' in lib
    assert f'id=$(AIWF_TASK_OFFSET=8 aiwf_sbatch a "$k" array "$d" "$AIWF_HOME/jobs/a.sbatch" --array=0-1{thr})' in lib
    assert sbatch_lines(art.text("jobs/g.sbatch")) == [
        "#SBATCH --job-name=syn.g",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj42",
        "#SBATCH --qos=normal",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8192M",
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --constraint=a100",
        f"#SBATCH --time={slurm_time(plan.job('g').resources.walltime)}",
        "#SBATCH --output=logs/g_%j.out",
        "#SBATCH --error=logs/g_%j.err",
    ]


def test_data_ops_rendered(tmp_path):
    art, plan = emit(tmp_path / "syn.aiwf", SYNTHETIC, level=2)
    kinds = {op.kind for op in plan.data_ops}
    assert {"aggregate", "stage_in", "unpack"} <= kinds
    agg = next(j for j in plan.jobs if j.role == "data")
    text = art.text(f"jobs/{agg.id.replace('.', '_')}.sbatch")
    assert 'tar -cf "$AIWF_RUN"/archives/many.tar.partial -C "$project"/data .' in text
    a = art.text("jobs/a.sbatch")
    assert 'cp "$AIWF_RUN"/archives/many.tar "$AIWF_SCRATCH"/many.tar' in a
    assert 'tar -xf "$AIWF_SCRATCH"/many.tar -C "$AIWF_SCRATCH"/many' in a
    assert 'export AIWF_DATASET_many="$AIWF_SCRATCH"/many' in a
    assert "trap 'aiwf_stage_out; rm -rf -- \"$AIWF_SCRATCH\"' EXIT" in a


def test_steer_md_submission_shape():
    art, plan = emit(ROOT / "examples/dynamic_orchestration/steer_md.aiwf")
    assert sorted(art) == sorted([
        "submit.sh", "status.sh", "cancel.sh", "lib.sh", "jobs/grid.sbatch", "jobs/md.sbatch",
        "jobs/md.expand.sbatch", "jobs/fit.sbatch", "jobs/score.sbatch", "jobs/report.sbatch",
        "jobs/steer.controller.sbatch", "jobs/wait.sbatch", "aiwf_base.py", "aiwf_exec.py", "aiwf_loop.py",
        "aiwf_records.py", "aiwf_task.py", "aiwf_values.py", "workflow.json"])
    lib = art.text("lib.sh")
    # report waits for the loop's tail, which controllers move to the newest controller
    assert 'd=$(aiwf_join "afterok:${REP[loop:steer]}")' in lib
    assert "REP[loop:steer]=$(aiwf_sbatch steer 0 tail \"afterok:$AIWF_CONTROLLER\"" in lib
    controller = art.text("jobs/steer.controller.sbatch")
    assert "if (( next >= 4 )); then" in controller
    assert 'aiwf_submit_loop_steer "$next"' in controller
    # the md array is sized at run time (its items come from grid, then from score)
    assert "n=$(aiwf_task items --phase md --iteration \"$AIWF_ITERATION\")" in art.text("jobs/md.expand.sbatch")
    # one iteration: grid, expander+sentinel+array, fit, score, controller, tail, report
    assert sbatch_calls(plan, items={"md": 4}) == 9


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_every_example_compiles_and_passes_shellcheck(path, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(path), "--target", "slurm", "-o", str(out)]) == 0
    scripts = sorted([*out.glob("*.sh"), *out.glob("jobs/*.sbatch")])
    assert len(scripts) >= 6
    for script in scripts:
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, (script, proc.stderr)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(["shellcheck", "-s", "bash", *map(str, scripts)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    # deterministic: a second compile gives the same bytes
    again = tmp_path / "again"
    assert main(["compile", str(path), "--target", "slurm", "-o", str(again)]) == 0
    for f in out.rglob("*"):
        if f.is_file():
            assert f.read_bytes() == (again / f.relative_to(out)).read_bytes(), f


def test_services_share_one_allocation():
    art, plan = emit(ROOT / "examples/digital_replica/twin.aiwf")
    assert "jobs/plant.sbatch" not in art  # the client runs inside the service's allocation
    text = art.text("jobs/replica.sbatch")
    assert "#SBATCH --ntasks=2" in text
    assert "--job-name=twin.replica.service \"${task[@]}\" --phase replica &" in text
    assert "\"${task[@]}\" --phase plant &" in text
    assert 'scancel --signal=TERM "$step"' in text


DISTRIBUTED = """aiwf 0.1
site big {
  scheduler = slurm  scratch = "/local"  container_runtime = apptainer  max_array_size = 1000  cluster_target = 0s
  partition gpu { nodes = 8  cores = 32  memory = 256GiB  gpus = 4  max_walltime = 1d  default = true }
}
workflow dist {
  resource one { cores = 1  memory = 1GiB  walltime = 10m }
  resource ddp { nodes = 2  tasks_per_node = 4  cores = 8  memory = 128GiB  gpus = 4  walltime = 2h  launcher = torchrun }
  simulation a { foreach i in range(6)  resources = one  runtime ~ 20m  out o: file = "o_${index}.txt"  run "echo ${i} > ${o}" }
  analysis p { foreach t in a.o  resources = one  runtime ~ 20m  out q: file = "q_${index}.txt"  run "cat ${t} > ${q}" }
  training big { resources = ddp  runtime ~ 1h  in qs: list<file> = p.q  out m: file = "m.pt"  run "python train.py --out ${m} ${qs}" }
}
"""


def test_elementwise_arrays_use_aftercorr(tmp_path):
    art, plan = emit(tmp_path / "dist.aiwf", DISTRIBUTED)
    assert [d.kind for d in plan.dependencies if d.target == "p"] == ["elementwise"]
    lib = art.text("lib.sh")
    assert 'd=$(aiwf_join "aftercorr:${REP[a]}")' in lib
    assert "#SBATCH --array=0-5" in art.text("jobs/p.sbatch")


def test_torchrun_launch_from_the_first_node(tmp_path):
    art, plan = emit(tmp_path / "dist.aiwf", DISTRIBUTED)
    text = art.text("jobs/big.sbatch")
    assert [line for line in sbatch_lines(text) if line.split("=")[0] in (
        "#SBATCH --nodes", "#SBATCH --ntasks-per-node", "#SBATCH --gres")] == [
        "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --gres=gpu:4"]
    assert "MASTER_ADDR=${nodes[0]}" in text
    assert ('AIWF_LAUNCH="srun --ntasks=$NNODES --ntasks-per-node=1 torchrun --nnodes=$NNODES --nproc-per-node=4 '
            '--rdzv-id=${SLURM_JOB_ID:-0} --rdzv-backend=c10d --rdzv-endpoint=$MASTER_ADDR:$MASTER_PORT --no-python"'
            ) in text
    assert text.index("export AIWF_LAUNCH") < text.index("aiwf_task run --phase big")
    if shutil.which("shellcheck"):
        path = tmp_path / "big.sbatch"
        path.write_text(text)
        proc = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_golden_scripts(path):
    """The examples' scripts (default site, -O1) against tests/golden/slurm/<example>/;
    regenerate (never edit) with AIWF_UPDATE_GOLDEN=1."""
    art, _ = emit(path)
    produced = {rel: art.text(rel) for rel in art if rel not in NOT_GOLDEN}
    golden = GOLDEN / path.parent.name
    if os.environ.get("AIWF_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        for rel, text in produced.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(text)
    stored = {p.relative_to(golden).as_posix(): p.read_text() for p in golden.rglob("*") if p.is_file()}
    assert sorted(produced) == sorted(stored), "regenerate with AIWF_UPDATE_GOLDEN=1"
    for rel, text in stored.items():
        assert produced[rel] == text, f"{path.parent.name}/{rel} differs from the golden copy (AIWF_UPDATE_GOLDEN=1)"


def test_containers_run_the_images_the_apptainer_backend_builds():
    """GPU phases run under `apptainer exec --nv` with the .sif path of aiwfc.images (the
    runtime applies the prefix); scratch is added to the binds by the job script."""
    art, plan = emit(ROOT / "examples/dynamic_orchestration/steer_md.aiwf")
    spec = json.loads(art.text("workflow.json"))
    comp = analyse(str(ROOT / "examples/dynamic_orchestration/steer_md.aiwf"))
    builds = image_builds(comp, comp.workflows[0])
    assert spec["phases"]["fit"]["image"]["prefix"] == ["apptainer", "exec", "--nv", builds["cuda_numpy"].sif]
    assert spec["phases"]["md"]["image"]["prefix"] == ["apptainer", "exec", builds["python_numpy"].sif]
    assert 'export APPTAINER_BIND="$AIWF_SCRATCH${APPTAINER_BIND:+,$APPTAINER_BIND}"' in art.text("lib.sh")
    assert "aiwf_modules apptainer" in art.text("jobs/fit.sbatch")  # the site's modules
