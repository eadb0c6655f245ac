"""Fixtures for the CWL backend tests: every example compiled once, and run once by cwltool.

`compiled` compiles the six examples (both loop forms) in-process. `cwl_runs` starts a
real `cwltool --enable-ext --no-container` for every example at once (they are separate
processes; the runs take about 25 s together on two cores) and waits for all of them.
Examples with GPU phases run with `cwltool:CUDARequirement` as a hint (the default
`--cwl-gpu hint`) and a fake `nvidia-smi` on PATH that reports one GPU with CUDA 12.4,
because cwltool asks `nvidia-smi -q -x` even for a hint and fails the job without it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiwfc.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "dynamic_orchestration": "steer_md",
    "multistage_pipeline": "screen",
    "inverse_design": "design",
    "digital_replica": "twin",
    "distributed_models": "federated",
    "adaptive_training": "hpo",
}
RUN_TIMEOUT = 240

FAKE_NVIDIA_SMI = """#!/bin/sh
# Stand-in for `nvidia-smi -q -x` (what cwltool's CUDARequirement check runs): one GPU, CUDA 12.4.
echo '<?xml version="1.0" ?><nvidia_smi_log><attached_gpus>1</attached_gpus><cuda_version>12.4</cuda_version></nvidia_smi_log>'
"""


@dataclass
class Compiled:
    """One example compiled for CWL: exit status, diagnostics (JSON) and output directory."""

    folder: str
    name: str
    status: int
    diagnostics: list[dict]
    out: Path

    @property
    def workflow(self) -> Path:
        return self.out / f"{self.name}.cwl"

    @property
    def job(self) -> Path:
        return self.out / f"{self.name}.inputs.yml"

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.out).as_posix() for p in self.out.rglob("*")
                      if p.is_file() and p.name != "aiwfc-manifest.json")  # the compile's manifest: not CWL


FEATURES = Path(__file__).resolve().parent / "data" / "features" / "features.aiwf"


def compile_file(path: Path, out: Path, *extra: str) -> Compiled:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = main(["compile", str(path), "--target", "cwl", "-o", str(out), "--format", "json", *extra])
    return Compiled(path.parent.name, path.stem, status, json.loads(stdout.getvalue() or "[]"), out)


def compile_example(folder: str, out: Path, *extra: str) -> Compiled:
    return compile_file(ROOT / "examples" / folder / f"{EXAMPLES[folder]}.aiwf", out, *extra)


@pytest.fixture(scope="session")
def compiled_features(tmp_path_factory) -> Compiled:
    """tests/cwl/data/features: `when`, foreach over a dataset, staging (at -O2), MPI."""
    return compile_file(FEATURES, tmp_path_factory.mktemp("cwl-features") / "out", "-O2")


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> dict[str, Compiled]:
    base = tmp_path_factory.mktemp("cwl-ext")
    return {f: compile_example(f, base / f) for f in EXAMPLES}


@pytest.fixture(scope="session")
def compiled_native(tmp_path_factory) -> dict[str, Compiled]:
    base = tmp_path_factory.mktemp("cwl-native")
    return {f: compile_example(f, base / f, "--cwl-loop", "native") for f in EXAMPLES}


def cwltool_or_skip() -> str:
    exe = shutil.which("cwltool") or str(Path(sys.executable).with_name("cwltool"))
    if not Path(exe).exists():
        pytest.skip("cwltool is not installed (pip install 'aiwfc[cwl]')")
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: cwltool needs it for the JavaScript expressions")
    return exe


@dataclass
class Run:
    """One finished cwltool run: exit status, its JSON output object and its log."""

    status: int
    outputs: dict
    log: str
    outdir: Path


NATIVE_RUN = "dynamic_orchestration"  # also run in the v1.3.0-dev1 native loop form


@pytest.fixture(scope="session")
def cwl_runs(compiled, compiled_native, compiled_features, tmp_path_factory) -> dict[str, Run]:
    """Runs keyed by example folder, plus `native:<folder>` for NATIVE_RUN, `features`, and
    `provenance` (the features workflow with `--provenance`; its research object in `ro/`)."""
    exe = cwltool_or_skip()
    base = tmp_path_factory.mktemp("cwl-runs")
    fake_bin = base / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (fake_bin / "nvidia-smi").chmod(0o755)
    env = dict(os.environ, PATH=os.pathsep.join([str(fake_bin), os.path.dirname(sys.executable),
                                                 os.environ.get("PATH", "")]))
    procs = {}
    todo = [(folder, c, ["--enable-ext"]) for folder, c in compiled.items()]
    todo.append((f"native:{NATIVE_RUN}", compiled_native[NATIVE_RUN], ["--enable-ext", "--enable-dev"]))
    todo.append(("features", compiled_features, ["--enable-ext"]))
    # cwltool 3.3's --provenance fails on float values in the job order (ruamel's ScalarFloat
    # reaches the PROV JSON-LD serialiser): the features workflow has none.
    todo.append(("provenance", compiled_features, ["--enable-ext", "--provenance", str(base / "ro")]))
    for folder, c, flags in todo:
        assert c.status == 0, c.diagnostics
        work = base / folder.replace(":", "-")
        for d in ("tmp", "tmpout"):
            (work / d).mkdir(parents=True)
        cmd = [exe, *flags, "--no-container", "--outdir", str(work / "out"),
               "--tmpdir-prefix", str(work / "tmp") + "/", "--tmp-outdir-prefix", str(work / "tmpout") + "/",
               str(c.workflow), str(c.job)]
        procs[folder] = (subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True), work)
    runs = {}
    for folder, (proc, work) in procs.items():
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += f"\n(killed after {RUN_TIMEOUT} s)"
        try:
            outputs = json.loads(out) if out.strip() else {}
        except json.JSONDecodeError:
            outputs = {}
        runs[folder] = Run(proc.returncode, outputs, err, work / "out")
    return runs
