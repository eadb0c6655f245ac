"""The cost model's figures for a small looped workflow, worked out by hand.

sim: 4 items x 30 min on 2 cores, in a loop of at most 3 iterations;
fit: 1 h on 4 cores + 1 GPU, reads all 4 trajectories (16 MiB each, the assumed file
size) and the 1 GiB / 10-file `read_many` dataset train (10 passes when not staged).
"""

from __future__ import annotations

from pathlib import Path

from aiwfc.plan.cost import Cost

SITE = str(Path(__file__).parent / "data" / "tiny_site.aiwf")
MiB, GiB, KiB = 2**20, 2**30, 2**10

LOOPED = """aiwf 0.1
workflow cost {
  resource cpu { cores = 2  memory = 1GiB }
  resource gpu { cores = 4  memory = 8GiB  gpus = 1 }
  dataset train { path = "data/train"  size = 1GiB  files = 10  access = read_many }
  simulation sim {
    foreach i in range(4)
    resources = cpu  runtime ~ 30m
    out traj: file = "t_${index}.npy"
    run "sim ${i} ${traj}"
  }
  training fit {
    resources = gpu  runtime ~ 1h
    in trajs: list<file> = sim.traj
    out model: file = "m.npz"
    out loss: float
    run "fit ${train} ${trajs} ${model} ${loss}"
  }
  feedback loop { body = [sim, fit]  until = fit.loss < 0.1  max_iterations = 3 }
}
"""


def test_cost_of_the_naive_plan(plan_text) -> None:
    cost = plan_text(LOOPED, level=0, site=SITE).cost
    assert cost == Cost(
        submissions=3 * (4 + 1),                     # one job per item and one for fit, 3 iterations
        array_tasks=0,
        scheduler_tasks=15,
        # per iteration: sim writes 4 x 16 MiB; fit reads train 10 x 1 GiB, the 4 trajectories,
        # writes model (16 MiB) and loss (4 KiB)
        shared_fs_bytes=3 * (4 * 16 * MiB + 10 * GiB + 4 * 16 * MiB + 16 * MiB + 4 * KiB),
        # 2 log files per task + per iteration: 4 written, 10 files x 10 passes + 4 read + 2 written
        metadata_ops=2 * 15 + 3 * (4 + 100 + 4 + 2),
        core_hours=3 * (4 * 0.5 * 2 + 1 * 1.0 * 4),  # = 24: loop bound x items x hours x cores
        gpu_hours=3 * 1.0,
        gpu_hours_cpu_phases=0.0,
        # per iteration: sim (30 s dispatch + 30 min, all 4 at once) then fit (30 s + 1 h)
        critical_path_s=3 * ((30 + 1800) + (30 + 3600)),
        estimated=False)


def test_cost_of_the_optimised_plan(plan_text) -> None:
    result = plan_text(LOOPED, level=2, site=SITE)
    assert result.plan.passes == ["job-arrays", "staging", "partition-choice"]
    assert result.cost == Cost(
        submissions=3 * (1 + 1), array_tasks=3 * 4, scheduler_tasks=15,
        # train is copied to scratch once per iteration instead of read 10 times
        shared_fs_bytes=3 * (4 * 16 * MiB + 1 * GiB + 4 * 16 * MiB + 16 * MiB + 4 * KiB),
        metadata_ops=2 * 15 + 3 * (4 + 10 + 4 + 2),
        core_hours=24.0, gpu_hours=3.0, gpu_hours_cpu_phases=0.0,
        critical_path_s=3 * ((30 + 1800) + (30 + 3600)), estimated=False)
    assert result.to_json()["cost"]["shared_fs_bytes"] == 3674222592


def test_gpu_hours_of_cpu_phases_stay_zero_after_fusion(plan_text) -> None:
    """Fusion never puts a CPU phase in a GPU job (the issue's zero-GPU-hours target)."""
    text = LOOPED.replace("in trajs: list<file> = sim.traj", "in trajs: list<float> = post.p").replace(
        "  training fit", '  inference post { foreach t in sim.traj  resources = cpu  runtime ~ 30m'
        '  out p: float  run "p ${t} ${p}" }\n  training fit').replace("body = [sim, fit]", "body = [sim, post, fit]")
    result = plan_text(text, level=2, site=SITE)
    assert "fusion" in result.plan.passes
    assert result.plan.job_of_phase() == {"sim": "sim+post", "post": "sim+post", "fit": "fit"}
    assert result.cost.gpu_hours_cpu_phases == 0.0
    assert result.cost.gpu_hours == 3.0
    assert result.cost.core_hours == 24.0 + 3 * 4 * 0.5 * 2
