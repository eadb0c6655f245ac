"""Generated random workflows (bench/gen.py `random`: scatters over ranges, run-time lists
and dataset files, element-wise chains, gathers, joins, feedback loops with carried
scatters and stop rules, services) compile for CWL, load with cwl_utils, and validate
with cwltool (a sample: the seeds with a loop, a stop rule or a service)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from aiwfc.cli import main
from bench.gen import generate

SEEDS = range(20)
VALIDATED = (1, 11, 12, 13, 16, 17)  # service; loop + stop; loop; service + loop; loop; loop + stop


def compile_random(seed: int, tmp_path):
    src = tmp_path / f"random_{seed}.aiwf"
    src.write_text(generate("random", 8, seed=seed))
    out = tmp_path / f"out_{seed}"
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = main(["compile", str(src), "--target", "cwl", "-o", str(out), "--format", "json"])
    errors = [d for d in json.loads(stdout.getvalue() or "[]") if d["severity"] == "error"]
    assert status == 0, (errors, stderr.getvalue())
    return src, out


@pytest.mark.parametrize("seed", SEEDS)
def test_random_workflow_compiles_and_loads(seed, tmp_path):
    parser = pytest.importorskip("cwl_utils.parser", reason="cwl-utils is not installed (pip install 'aiwfc[cwl]')")
    src, out = compile_random(seed, tmp_path)
    text = src.read_text()
    docs = sorted(out.rglob("*.cwl"))
    assert (out / f"random_{seed}_8.cwl") in docs  # the workflow is named random_<seed>_<n>
    assert len([p for p in docs if p.parent.name == "loops"]) == text.count("\n  feedback ")
    for path in docs:
        parser.load_document_by_uri(path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", VALIDATED)
def test_random_workflow_validates(seed, tmp_path):
    cwltool_main = pytest.importorskip("cwltool.main", reason="cwltool is not installed")
    _, out = compile_random(seed, tmp_path)
    log_out, log_err = io.StringIO(), io.StringIO()
    status = cwltool_main.main(["--validate", "--enable-ext", str(out / f"random_{seed}_8.cwl")],
                               stdout=log_out, stderr=log_err)
    assert status == 0, log_err.getvalue()[-3000:]
