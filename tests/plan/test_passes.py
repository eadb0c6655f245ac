"""Each optimisation pass on a small workflow, with the plan before and after asserted exactly.

Plans are made for tests/plan/data/tiny_site.aiwf (max_array_size 100, max_jobs 120,
cluster_target 10m; partitions small 4 cores/8GiB/1h, big 32 cores/64GiB/1d, gpu 16
cores/64GiB/2 a100/12h), so every figure below follows from that file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aiwfc.plan import PASS_NAMES, PASSES
from aiwfc.plan.models import ArraySpec, DataOp, PlanDependency

SITE = str(Path(__file__).parent / "data" / "tiny_site.aiwf")
HEAD = "aiwf 0.1\nworkflow w {\n  resource cpu { cores = 2  memory = 2GiB }\n" \
       "  resource gpu { cores = 4  memory = 8GiB  gpus = 1 }\n"

SWEEPS = HEAD + """
  simulation long { foreach i in range(250)  resources = cpu  runtime ~ 20m  out r: float  run "s ${i} ${r}" }
  simulation short { foreach i in range(1000)  resources = cpu  runtime ~ 30s  out r: float  run "s ${i} ${r}" }
  simulation batched { foreach i in range(30)  batch = 3  resources = cpu  runtime ~ 30s  out r: float  run "s ${i} ${r}" }
  analysis sum {
    resources = cpu  runtime ~ 1m
    in a: list<float> = long.r
    in b: list<float> = short.r
    in c: list<float> = batched.r
    out total: float
    run "sum ${a} ${b} ${c} ${total}"
  }
}
"""

CHAIN = HEAD + """
  dataset train { path = "data/train"  size = 2GiB  files = 20  access = read_many }
  dataset tiny { path = "data/tiny"  size = 30MiB  files = 3000 }
  simulation a { foreach i in range(8)  resources = cpu  runtime ~ 20m  out x: file = "x_${index}.npy"  run "a ${i} ${x}" }
  simulation b { foreach x in a.x  resources = cpu  runtime ~ 20m  out y: file = "y_${index}.npy"  run "b ${x} ${y}" }
  training fit {
    resources = gpu  runtime ~ 1h
    in ys: list<file> = b.y
    out model: file = "m.npz"
    run "fit ${train} ${tiny} ${ys} ${model}"
  }
}
"""

DIAMOND = HEAD + """
  task a { resources = cpu  runtime ~ 1m  out x: float  run "a ${x}" }
  task b { resources = cpu  runtime ~ 1m  in x: float = a.x  out y: float  run "b ${x} ${y}" }
  task c { resources = cpu  runtime ~ 1m  in x: float = a.x  in y: float = b.y  out z: float  run "c ${x} ${y} ${z}" }
}
"""


def only(*names: str) -> list[str]:
    """Every pass but `names` (to look at one pass's effect alone)."""
    return [n for n in PASS_NAMES if n not in names]


def test_the_passes_are_registered_in_order_with_levels_and_docstrings() -> None:
    assert [(p.name, p.level) for p in PASSES] == [
        ("job-arrays", 1), ("fusion", 2), ("clustering", 2), ("aggregation", 2), ("staging", 2),
        ("transitive-reduction", 1), ("partition-choice", 1)]
    for p in PASSES:
        doc = p.__doc__ or ""
        assert "Applies to" in doc or "applies" in doc.lower(), p.name
        assert "Leaves alone" in doc, p.name


def test_job_arrays_chunk_to_max_array_size_with_a_throttle(plan_text) -> None:
    r = plan_text(SWEEPS, level=1, site=SITE, disabled=only("job-arrays"))
    before, after = r.baseline.job("long"), r.plan.job("long")
    assert (before.kind, before.array) == ("per_task", ArraySpec(
        count=250, estimate=250, chunk=1, tasks=250, throttle=None, max_array_size=100, submissions=250))
    # 250 tasks / 100 per array = 3 submissions; max_jobs 120 shared by 3 = 40 running each
    assert (after.kind, after.array) == ("array", ArraySpec(
        count=250, estimate=250, chunk=1, tasks=250, throttle=40, max_array_size=100, submissions=3))
    assert r.plan.job("batched").array == ArraySpec(count=30, estimate=30, chunk=3, tasks=10, throttle=None,
                                                    max_array_size=100, submissions=1, user_batch=True)
    step = next(s for s in r.steps if s.name == "job-arrays")
    assert step.decisions[0] == ("long: 250 separate submissions -> a job array of 250 tasks in 3 submissions "
                                 "(max_array_size 100), at most 40 running per submission")
    assert (step.before.submissions, step.after.submissions) == (250 + 1000 + 10 + 1, 3 + 10 + 1 + 1)
    assert r.plan.passes == ["job-arrays"]


def test_clustering_bundles_short_tasks_up_to_the_cluster_target(plan_text) -> None:
    r = plan_text(SWEEPS, level=2, site=SITE, disabled=only("job-arrays", "clustering"))
    # 30 s items, target 10 m: 20 items per task; 1,000 items -> 50 tasks in one array
    assert r.plan.job("short").array == ArraySpec(count=1000, estimate=1000, chunk=20, tasks=50, throttle=None,
                                                  max_array_size=100, submissions=1)
    assert r.plan.job("short").resources.walltime == 900  # 20 x 30 s x 1.5 margin
    assert r.plan.job("long").array.chunk == 1            # 20 m items are long enough
    assert r.plan.job("batched").array.chunk == 3         # the workflow's `batch` wins
    step = next(s for s in r.steps if s.name == "clustering")
    assert step.decisions == ["bundled 1,000 tasks of short into 50 array tasks of 20 items because runtime "
                              "30s < cluster_target 10m"]
    assert step.notes == ["left batched unbundled: `batch` of batched is set by the workflow"]
    assert (step.before.submissions, step.after.submissions) == (15, 6)


def test_fusion_keeps_one_to_one_intermediates_on_scratch(plan_text) -> None:
    r = plan_text(CHAIN, level=2, site=SITE, disabled=only("job-arrays", "fusion"))
    assert [j.id for j in r.baseline.jobs] == ["a", "b", "fit"]
    assert [(j.id, j.phases, j.workdir) for j in r.plan.jobs] == [
        ("a+b", ["a", "b"], "scratch"), ("fit", ["fit"], "shared")]
    fused = r.plan.job("a+b")
    assert [(s.phase, [(o.port, o.location) for o in s.outputs]) for s in fused.steps] == [
        ("a", [("x", "scratch")]), ("b", [("y", "shared")])]
    assert fused.resources.walltime == 3600  # (20 m + 20 m) x 1.5
    assert r.plan.dependencies == [PlanDependency(kind="all_of", source="a+b", target="fit",
                                                  ports=["b.y -> fit.ys"])]
    assert r.plan.data_ops == [DataOp(id="stage_out:a+b:b", kind="stage_out", job="a+b", when="after", phase="b",
                                      ports=["y"], source="scratch:b", target="shared:run/b",
                                      bytes=16 * 2**20, files=1)]
    step = next(s for s in r.steps if s.name == "fusion")
    assert step.decisions == ["fused a -> b into job a+b: same resource class `cpu`, element-wise data flow; "
                              "a.x stays on node-local scratch"]
    assert step.notes == ["kept b -> fit apart: resource classes differ (cpu, gpu)"]
    # a.x no longer crosses the shared FS: 8 writes + 8 reads of 16 MiB, 16 files
    assert step.before.shared_fs_bytes - step.after.shared_fs_bytes == 16 * 16 * 2**20
    assert step.before.metadata_ops - step.after.metadata_ops == 16 + 2 * 8  # and 8 tasks' logs


def test_staging_and_aggregation(plan_text) -> None:
    r = plan_text(CHAIN, level=2, site=SITE, disabled=only("aggregation", "staging"))
    assert [j.id for j in r.plan.jobs] == ["a", "b", "aggregate.tiny", "fit", "cleanup.tiny"]
    fit = r.plan.job("fit")
    assert fit.workdir == "scratch"
    assert fit.data_ops == ["stage_in:fit:tiny", "stage_in:fit:train", "unpack:fit:tiny", "stage_out:fit:fit"]
    assert [(u.dataset, u.location, u.via_archive) for u in fit.steps[0].datasets] == [
        ("train", "scratch", False), ("tiny", "scratch", True)]
    assert [d.model_dump() for d in r.plan.dependencies if "tiny" in d.source + d.target] == [
        {"kind": "all_of", "source": "aggregate.tiny", "target": "fit", "ports": ["dataset tiny (archive)"]},
        {"kind": "after_any", "source": "fit", "target": "cleanup.tiny", "ports": ["dataset tiny (archive)"]}]
    ops = {op.id: (op.kind, op.source, op.target, op.bytes, op.files, op.per) for op in r.plan.data_ops}
    assert ops == {
        "aggregate:tiny": ("aggregate", "shared:data/tiny", "archive:tiny.tar", 30 * 2**20, 3000, "job"),
        "stage_in:fit:tiny": ("stage_in", "archive:tiny.tar", "scratch:tiny.tar", 30 * 2**20, 1, "task"),
        "stage_in:fit:train": ("stage_in", "shared:data/train", "scratch:train", 2 * 2**30, 20, "task"),
        "unpack:fit:tiny": ("unpack", "scratch:tiny.tar", "scratch:tiny", 30 * 2**20, 3000, "task"),
        "stage_out:fit:fit": ("stage_out", "scratch:fit", "shared:run/fit", 16 * 2**20, 1, "task"),
        "cleanup:tiny": ("cleanup", "archive:tiny.tar", "none", None, 1, "job"),
    }
    agg, stage = (next(s for s in r.steps if s.name == n) for n in ("aggregation", "staging"))
    # 3,000 file opens become: build the archive (3,000 + 1), copy it (1), delete it (1); and two log files
    # for each of the two data jobs
    assert agg.before.metadata_ops - agg.after.metadata_ops == 3000 - (3001 + 1 + 1) - 2 * 2
    # train: 10 passes of 2 GiB from the shared FS -> one copy to scratch
    assert stage.before.shared_fs_bytes - stage.after.shared_fs_bytes == 9 * 2 * 2**30
    assert stage.decisions == [
        "staged dataset train (2GiB) into node-local scratch for each task of fit "
        "(read_many: read once instead of 10 times)",
        "fit works in node-local scratch and stages out fit.model after its steps"]


def test_transitive_reduction_drops_implied_dependencies(plan_text) -> None:
    r = plan_text(DIAMOND, level=1, site=SITE, disabled=only("transitive-reduction"))
    assert [(d.source, d.target) for d in r.baseline.dependencies] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [(d.source, d.target) for d in r.plan.dependencies] == [("a", "b"), ("b", "c")]
    step = next(s for s in r.steps if s.name == "transitive-reduction")
    assert step.decisions == ["removed a -> c (all-of): implied through b"]


def test_transitive_reduction_keeps_a_gather_implied_only_element_wise(plan_text) -> None:
    """a -> b element-wise does not order all of a before c: a -> c all-of must stay."""
    text = HEAD + """
  task a { foreach i in range(4)  resources = cpu  runtime ~ 1h  out x: float  run "a ${i} ${x}" }
  task b { foreach x in a.x  resources = gpu  runtime ~ 1h  out y: float  run "b ${x} ${y}" }
  task c { resources = cpu  runtime ~ 1m  in xs: list<float> = a.x  out z: float  run "c ${xs} ${z}" }
  task d { resources = cpu  runtime ~ 1m  in ys: list<float> = b.y  in z: float = c.z  out w: float  run "d ${ys} ${z} ${w}" }
}
"""
    r = plan_text(text, level=1, site=SITE, disabled=only("transitive-reduction"))
    assert [(d.source, d.target, d.kind) for d in r.plan.dependencies] == [
        ("a", "b", "elementwise"), ("a", "c", "all_of"), ("b", "d", "all_of"), ("c", "d", "all_of")]
    assert next(s for s in r.steps if s.name == "transitive-reduction").applied is False


def test_partition_choice_takes_the_smallest_partition_that_fits(plan_text) -> None:
    text = HEAD + """
  resource wide { cores = 24  memory = 16GiB }
  task small_one { resources = cpu  runtime ~ 10m  out x: float  run "a ${x}" }
  task long_one { resources = cpu  runtime ~ 2h  out x: float  run "a ${x}" }
  task wide_one { resources = wide  runtime ~ 10m  out x: float  run "a ${x}" }
  task gpu_one { resources = gpu  runtime ~ 10m  out x: float  run "a ${x}" }
}
"""
    r = plan_text(text, level=1, site=SITE, disabled=only("partition-choice"))
    assert [(j.id, j.resources.partition) for j in r.plan.jobs] == [
        ("small_one", "small"), ("long_one", "big"), ("wide_one", "big"), ("gpu_one", "gpu")]
    assert all(j.resources.partition is None for j in r.baseline.jobs)
    assert r.diagnostics == []
    step = next(s for s in r.steps if s.name == "partition-choice")
    assert step.decisions[1] == "long_one: partition big (2 cores, 2GiB, 3h)"


@pytest.mark.parametrize("resource, runtime, message", [
    # each request fits some partition (the front end's AIWF401 is quiet); the planned walltime does not
    ("cores = 4  memory = 8GiB", "20h",
     "job `huge` fits no partition of site `tiny`: its walltime 1d6h (20h x 1.5 margin) exceeds every "
     "partition's limit (longest: 1d on `big`)"),
    ("cores = 4  memory = 8GiB  gpus = 1", "10h",
     "job `huge` fits no partition of site `tiny`: no partition offers 4 cores, 8GiB, 1 GPU, 15h together "
     "(closest: `big`, which lacks gpus (has 0 GPUs per node))"),
])
def test_partition_choice_reports_a_job_that_fits_nowhere(plan_text, resource, runtime, message) -> None:
    text = HEAD + f"""  resource odd {{ {resource} }}
  task huge {{ resources = odd  runtime ~ {runtime}  out w: float  run "h ${{w}}" }}
}}
"""
    r = plan_text(text, level=1, site=SITE)
    assert [(d.code, d.severity.value, d.span.line, d.span.column, d.message) for d in r.diagnostics] == [
        ("AIWF903", "error", 6, 8, message)]
    assert r.plan.job("huge").resources.partition is None


def test_disabled_and_levels(plan_text) -> None:
    r0 = plan_text(CHAIN, level=0, site=SITE)
    assert r0.plan.passes == [] and r0.plan == r0.baseline.model_copy(update={"level": 0})
    r1 = plan_text(CHAIN, level=1, site=SITE)
    assert r1.plan.passes == ["job-arrays", "partition-choice"]
    r2 = plan_text(CHAIN, level=2, site=SITE, disabled=["fusion"])
    assert r2.plan.passes == ["job-arrays", "aggregation", "staging", "partition-choice"]
    assert next(s for s in r2.steps if s.name == "fusion").skipped == "disabled by --disable-pass"
    assert next(s for s in r1.steps if s.name == "fusion").skipped == "needs -O2"
