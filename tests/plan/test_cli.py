"""`aiwfc plan` and `aiwfc graph`: exact output, JSON as data, exit statuses, no tracebacks.

tests/plan/data/diamond.O1.explain.txt is the reviewed `plan --explain` output (a
golden file: AIWF_UPDATE_GOLDEN=1 regenerates it). The Mermaid pictures are inline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aiwfc.cli import main
from tests.plan.conftest import EXAMPLES

DATA = Path(__file__).parent / "data"
SITE = str(DATA / "tiny_site.aiwf")
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_plan_explain_text(capsys) -> None:
    code, out, err = run(capsys, "plan", str(DATA / "diamond.aiwf"), "--site", SITE, "--explain")
    assert (code, err) == (0, "")
    golden = DATA / "diamond.O1.explain.txt"
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    assert out.splitlines()[0] == ("plan of workflow `diamond` on site `tiny` "
                                   "(-O1; passes: job-arrays, transitive-reduction, partition-choice)")


def test_plan_without_explain_has_no_pass_section(capsys) -> None:
    code, out, _ = run(capsys, "plan", str(DATA / "diamond.aiwf"), "--site", SITE, "-O0")
    assert code == 0
    assert "passes:" not in out.split("\n\n")[-1] and "\ncost (loops counted once):\n" in out
    assert "  submissions           252      252\n" in out


def test_plan_json_is_the_same_as_data(capsys) -> None:
    code, out, _ = run(capsys, "plan", str(DATA / "diamond.aiwf"), "--site", SITE, "-O2", "--explain",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert sorted(data) == ["baseline_cost", "cost", "diagnostics", "passes", "plan", "site_note"]
    assert [(p["name"], p["applied"], p["skipped"]) for p in data["passes"]] == [
        ("job-arrays", True, None), ("fusion", False, None), ("clustering", False, None),
        ("aggregation", False, None), ("staging", False, None), ("transitive-reduction", True, None),
        ("partition-choice", True, None)]
    assert (data["baseline_cost"]["submissions"], data["cost"]["submissions"]) == (252, 5)
    assert data["passes"][0]["before"]["submissions"] == 252 and data["passes"][0]["after"]["submissions"] == 5
    assert data["plan"]["passes"] == ["job-arrays", "transitive-reduction", "partition-choice"]
    assert data["diagnostics"] == [] and data["site_note"] is None


def test_plan_without_site_says_which_limits_it_assumed(capsys) -> None:
    code, out, _ = run(capsys, "plan", str(DATA / "diamond.aiwf"))
    assert code == 0
    assert out.endswith("note: no site given: planned with the limits of `generic-slurm` (max_array_size 1001, "
                        "cluster_target 600s); pass --site to plan for your machine\n")


def test_plan_exit_statuses(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.aiwf"
    bad.write_text('aiwf 0.1\nworkflow w {\n  task a { in x: float = nope.y  run "a" }\n}\n', encoding="utf-8")
    code, out, err = run(capsys, "plan", str(bad))
    assert (code, out) == (1, "")
    assert err.startswith(f"{bad}:3:")
    code, out, err = run(capsys, "plan", str(tmp_path / "missing.aiwf"))
    assert (code, out) == (2, "")
    assert "error[AIWF105]" in err
    code, out, err = run(capsys, "plan", str(DATA / "diamond.aiwf"), "--params", str(tmp_path / "none.yaml"))
    assert (code, out) == (2, "")
    assert "error[AIWF203]: cannot read params file" in err
    code, _, err = run(capsys, "plan", str(DATA / "diamond.aiwf"), "-p", "novalue")
    assert (code, err) == (2, "aiwfc: -p expects NAME=VALUE, got `novalue`\n")
    code, _, err = run(capsys, "plan", str(DATA / "diamond.aiwf"), "--disable-pass", "fussion")
    assert (code, err) == (2, "aiwfc: unknown pass `fussion` (passes: job-arrays, fusion, clustering, "
                              "aggregation, staging, transitive-reduction, partition-choice)\n")
    two = tmp_path / "two.aiwf"
    two.write_text('aiwf 0.1\nworkflow a {\n  task t { run "t" }\n}\nworkflow b {\n  task t { run "t" }\n}\n',
                   encoding="utf-8")
    code, _, err = run(capsys, "plan", str(two))
    assert (code, err) == (2, f"aiwfc: {two} defines several workflows (a, b); choose one with --workflow NAME\n")
    code, out, _ = run(capsys, "plan", str(two), "--workflow", "b", "-O0")
    assert code == 0 and out.startswith("plan of workflow `b`")


def test_plan_reports_a_job_that_fits_no_partition(capsys, tmp_path) -> None:
    wf = tmp_path / "long.aiwf"
    wf.write_text('aiwf 0.1\nworkflow w {\n  resource cpu { cores = 4  memory = 8GiB }\n'
                  '  task slow { resources = cpu  runtime ~ 20h  out x: float  run "s ${x}" }\n}\n', encoding="utf-8")
    code, out, err = run(capsys, "plan", str(wf), "--site", SITE)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (f"{wf}:4:8: error[AIWF903]: job `slow` fits no partition of site `tiny`: its "
                                   "walltime 1d6h (20h x 1.5 margin) exceeds every partition's limit "
                                   "(longest: 1d on `big`)")


REFINE_WORKFLOW = """flowchart TB
  dataset_tiny[("dataset tiny<br/>shared, 30MiB, 3,000 files")]
  subgraph loop_refine["loop refine: at most 3x; until pick.best #gt; 0.9"]
    a[["simulation a<br/>foreach i in range(8)"]]
    b[["simulation b<br/>foreach x in a.x"]]
    pick["analysis pick"]
  end
  a -->|"x (each)"| b
  dataset_tiny --> pick
  b -->|"y (all)"| pick
  pick -.->|"next a.i"| a
"""

REFINE_PLAN = """flowchart TB
  aggregate_tiny{{"aggregate.tiny (data)<br/>small, 1c, 10m"}}
  cleanup_tiny{{"cleanup.tiny (cleanup)<br/>small, 1c, 5m"}}
  dataset_tiny[("dataset tiny<br/>shared, 30MiB, 3,000 files")]
  subgraph loop_refine["loop refine: at most 3x; until pick.best #gt; 0.9"]
    a_b[["a+b (array)<br/>array 8 tasks x 1, 1 sub (8 items)<br/>steps: a → b<br/>small, 2c, 1h, scratch"]]
    pick["pick (single)<br/>small, 2c, 8m, scratch"]
    stage_out_a_b_b{{"stage_out b<br/>scratch:b → shared:run/b, 16MiB"}}
    stage_in_pick_tiny{{"stage_in tiny<br/>archive:tiny.tar → scratch:tiny.tar, 30MiB"}}
    unpack_pick_tiny{{"unpack tiny<br/>scratch:tiny.tar → scratch:tiny, 30MiB"}}
    stage_out_pick_pick{{"stage_out pick<br/>scratch:pick → shared:run/pick, 8KiB"}}
  end
  a_b -->|"per task"| stage_out_a_b_b
  dataset_tiny -->|"archive"| aggregate_tiny
  pick -->|"per task"| stage_out_pick_pick
  stage_in_pick_tiny --> unpack_pick_tiny
  unpack_pick_tiny -->|"per task"| pick
  a_b -->|"all-of"| pick
  aggregate_tiny -->|"all-of"| pick
  pick -.->|"after-any"| cleanup_tiny
  pick -.->|"next a.i"| a_b
"""


def test_graph_mermaid_of_the_workflow(capsys) -> None:
    code, out, _ = run(capsys, "graph", str(DATA / "refine.aiwf"), "--site", SITE, "--format", "mermaid")
    assert (code, out) == (0, REFINE_WORKFLOW)


def test_graph_mermaid_of_the_plan_shows_loops_arrays_and_staging(capsys) -> None:
    code, out, _ = run(capsys, "graph", str(DATA / "refine.aiwf"), "--site", SITE, "--format", "mermaid",
                       "--plan", "-O2")
    assert (code, out) == (0, REFINE_PLAN)


def _dot_parses(text: str) -> None:
    done = subprocess.run(["dot", "-Tcanon"], input=text, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("plan", [False, True], ids=["workflow", "plan"])
@pytest.mark.parametrize("path", EXAMPLES + [DATA / "refine.aiwf"], ids=lambda p: p.stem)
def test_graph_dot_parses_with_graphviz(capsys, path, plan) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed (apt install graphviz)")
    argv = ["graph", str(path), "-O2"] + (["--plan"] if plan else [])
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.startswith("digraph ")
    _dot_parses(out)


def test_graph_dot_structure(capsys) -> None:
    code, out, _ = run(capsys, "graph", str(DATA / "refine.aiwf"), "--site", SITE, "--plan", "-O2")
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ['digraph "g" {', "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];',
                         '  edge [fontname="Helvetica", fontsize=9];']
    assert '  subgraph "cluster_loop.refine" {' in lines
    assert ('    "a+b" [label="a+b (array)\\narray 8 tasks x 1, 1 sub (8 items)\\nsteps: a → b\\n'
            'small, 2c, 1h, scratch", shape=box3d];') in lines
    assert '  "pick" -> "cleanup.tiny" [label="after-any", style=dotted];' in lines
    assert '  "pick" -> "a+b" [label="next a.i", style=dashed];' in lines


def test_graph_exit_statuses(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "graph", str(tmp_path / "missing.aiwf"))
    assert (code, out) == (2, "")
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        main(["graph", str(DATA / "diamond.aiwf"), "--format", "png"])
    assert exc.value.code == 2
    assert "invalid choice: 'png' (choose from 'dot', 'mermaid')" in capsys.readouterr().err
