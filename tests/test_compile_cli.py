"""`aiwfc compile`: exit statuses, messages, atomic output, --force, --target all, and the
provenance manifest (aiwfc-manifest.json) with its exact keys and values.

The contract (DESIGN.md): 0 written, 1 the input has errors, 2 usage or I/O problem; a
failed compile leaves the output directory exactly as it was (compared byte for byte,
modes included); existing files are not overwritten without --force.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from aiwfc import output as output_module
from aiwfc.backend import discover_backends
from aiwfc.cli import compile_cmd, main
from aiwfc.emitter import COMPILER
from aiwfc.pipeline import analyse
from aiwfc.plan import PASS_NAMES, build_plan

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "apptainer" / "images.aiwf"
SCREEN = ROOT / "examples" / "multistage_pipeline" / "screen.aiwf"


def aiwfc(*argv: str) -> tuple[int, str, str]:
    """The CLI in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every entry under root: kind, bytes (files) and mode, for byte-identical comparison."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        st = p.lstat()
        out[rel] = ("dir", None, st.st_mode) if p.is_dir() else ("file", p.read_bytes(), st.st_mode)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def compiled(tmp_path) -> Path:
    """The fixture compiled for apptainer into tmp/out, one file then edited by hand."""
    out = tmp_path / "out"
    status, _, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", out)
    assert status == 0, err
    (out / "apptainer" / "full.def").write_text("edited by hand\n")
    (out / "notes.txt").write_text("the user's own file\n")
    return out


# ---------------------------------------------------------------- exit statuses and messages

def test_unknown_target(tmp_path):
    status, out, err = aiwfc("compile", FIXTURE, "--target", "docker", "-o", tmp_path / "o")
    assert (status, out) == (2, "")
    assert err == "aiwfc: unknown target `docker` (choose from apptainer, cwl, parsl, slurm, all)\n"
    assert not (tmp_path / "o").exists()


def test_known_target_not_installed(tmp_path, monkeypatch):
    """As when only the apptainer backend's distribution is installed."""
    only = {"apptainer": discover_backends()["apptainer"]}
    monkeypatch.setattr(compile_cmd, "discover_backends", lambda problems=None: dict(only))
    status, out, err = aiwfc("compile", FIXTURE, "--target", "slurm", "-o", tmp_path / "o")
    assert (status, out) == (2, "")
    assert err == "aiwfc: target `slurm` is not available: its backend is not installed yet (installed: apptainer)\n"
    assert not (tmp_path / "o").exists()


def test_unknown_pass(tmp_path):
    status, out, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", tmp_path / "o",
                             "--disable-pass", "inlining")
    assert (status, out) == (2, "")
    assert err == f"aiwfc: unknown pass `inlining` (passes: {', '.join(PASS_NAMES)})\n"


def test_missing_input_is_an_io_error(tmp_path):
    status, out, err = aiwfc("compile", tmp_path / "nope.aiwf", "--target", "apptainer", "-o", tmp_path / "o")
    assert status == 2
    assert out == (f"{tmp_path}/nope.aiwf:1:1: error[AIWF105]: cannot import `{tmp_path}/nope.aiwf`: "
                   "No such file or directory\n1 error\n")
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_success_writes_and_summarises(tmp_path):
    status, out, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", tmp_path / "o")
    assert status == 0
    assert out.endswith(f"apptainer: 9 files -> {tmp_path / 'o'}\n")
    assert sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*") if p.is_file()) == [
        "aiwfc-manifest.json", "apptainer/full.def", "apptainer/gpu_ubuntu.def", "apptainer/mpi_app.def",
        "apptainer/python_numpy.def", "build-images.sh", "docker/full.Dockerfile", "docker/gpu_ubuntu.Dockerfile",
        "docker/mpi_app.Dockerfile", "docker/python_numpy.Dockerfile"]
    assert (tmp_path / "o" / "build-images.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "o" / "apptainer" / "full.def").stat().st_mode & 0o777 == 0o644


def test_input_errors_exit_1_and_write_nothing(tmp_path):
    bad = tmp_path / "bad.aiwf"
    bad.write_text('aiwf 0.1\nworkflow w {\n  task t { image = nowhere  run "true" }\n}\n')
    status, out, err = aiwfc("compile", bad, "--target", "apptainer", "-o", tmp_path / "o")
    assert status == 1
    assert out.startswith(f"{bad}:3:20: error[AIWF101]")
    assert not (tmp_path / "o").exists()


def test_strict_makes_warnings_fail(tmp_path):
    status, out, _ = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", tmp_path / "o", "--strict")
    assert status == 1  # AIWF701: training phase `fit` tracks neither params nor metrics
    assert "warning[AIWF701]" in out
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- atomicity and --force

def test_a_failing_compile_leaves_the_output_untouched(tmp_path, compiled):
    before = snapshot(compiled)
    broken = tmp_path / "project"
    shutil.copytree(FIXTURE.parent, broken)
    (broken / "images.aiwf").write_text(FIXTURE.read_text().replace("image = full", "image = fulll"))
    status, _, _ = aiwfc("compile", broken / "images.aiwf", "--target", "apptainer", "-o", compiled, "--force")
    assert status == 1
    assert snapshot(compiled) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary directory left


def test_existing_files_are_not_overwritten_without_force(compiled):
    before = snapshot(compiled)
    status, out, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", compiled)
    assert status == 2
    assert err.endswith(f"aiwfc: {compiled}/apptainer/full.def: already exists (use --force to overwrite); "
                        "nothing was written\n")
    assert snapshot(compiled) == before


def test_force_overwrites_and_keeps_the_users_files(tmp_path, compiled):
    status, _, _ = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", compiled, "--force")
    assert status == 0
    fresh = tmp_path / "fresh"
    assert aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", fresh)[0] == 0
    after = snapshot(compiled)
    assert after.pop("notes.txt")[1] == b"the user's own file\n"
    assert after == snapshot(fresh)


def test_a_path_taken_by_a_directory_is_refused(compiled):
    (compiled / "build-images.sh").unlink()
    (compiled / "build-images.sh").mkdir()
    before = snapshot(compiled)
    status, _, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", compiled, "--force")
    assert status == 2
    assert err.endswith(f"aiwfc: {compiled}/build-images.sh: exists and is a directory; nothing was written\n")
    assert snapshot(compiled) == before


def test_a_failure_while_moving_files_into_place_is_rolled_back(compiled, monkeypatch):
    """The third move fails (a full disk, say): the two files already replaced get their
    old content back, and the new directory created for nothing is removed."""
    shutil.rmtree(compiled / "docker")
    before = snapshot(compiled)
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 5:
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(output_module.os, "replace", failing_replace)
    status, _, err = aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", compiled, "--force")
    assert status == 2
    assert err.endswith(": No space left on device\n")
    assert len(calls) > 5  # the rollback moved the saved files back
    assert snapshot(compiled) == before


# ---------------------------------------------------------------- --target all

def test_target_all_puts_each_target_in_its_folder(tmp_path):
    backends = discover_backends()
    status, out, err = aiwfc("compile", SCREEN, "--target", "all", "-o", tmp_path / "o")
    assert status == 0, err
    # the sources once, beside the manifest, when a target's runs carry them (slurm)
    carried = ["source"] if "slurm" in backends else []
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted([*backends, "aiwfc-manifest.json", *carried])
    lines = [line for line in out.splitlines() if " -> " in line]
    assert [line.split(":")[0] for line in lines] == sorted(backends)
    for line in lines:
        target = line.split(":")[0]
        n = sum(1 for p in (tmp_path / "o" / target).rglob("*") if p.is_file())
        assert line == f"{target}: {n} file{'s' if n != 1 else ''} -> {tmp_path / 'o'}/{target}"
    manifest = json.loads((tmp_path / "o" / "aiwfc-manifest.json").read_text())
    assert manifest["targets"] == sorted(backends)
    assert all(a["path"].split("/")[0] in backends for a in manifest["artefacts"])


# ---------------------------------------------------------------- the manifest

PARAMS_WF = """aiwf 0.1
import "std/sites/generic-slurm"
import "std/images/python"

workflow sweep {
  param n: int = 4
  param scale: float = 0.5
  param label: string = "base"
  param budget: size = 2GiB
  resource cpu { cores = 1  memory = 1GiB  walltime = 10m }
  preprocess make {
    image = python_numpy  resources = cpu  runtime ~ 1m
    out items: list<int>
    run "python3 -c 'import json; json.dump(list(range(${n})), open(\\"${items}\\", \\"w\\"))'"
  }
  simulation run {
    foreach i in make.items
    image = python_numpy  resources = cpu  runtime ~ 2m
    out r: file = "r_${index}.txt"
    run "echo ${i} ${scale} > ${r}"
  }
  analysis sum {
    image = python_numpy  resources = cpu
    in rs: list<file> = run.r
    out total: file = "total.txt"
    run "cat ${rs} > ${total}"
  }
}
"""


def test_manifest_keys_and_values(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    src = project / "sweep.aiwf"
    src.write_text(PARAMS_WF)
    params = project / "params.json"
    params.write_text('{"scale": 0.25}')
    out = tmp_path / "out"
    status, _, err = aiwfc("compile", src, "--target", "apptainer", "-o", out, "-p", "n=8", "--params", params,
                           "-O", "2", "--disable-pass", "fusion")
    assert status == 0, err
    doc = json.loads((out / "aiwfc-manifest.json").read_text())
    stdlib = ROOT / "stdlib"
    assert list(doc) == ["format", "compiler", "workflow", "source", "sources", "site", "params", "targets",
                         "optimisation", "plan", "artefacts"]
    assert doc["format"] == "aiwfc-manifest/1"
    assert doc["compiler"] == COMPILER
    assert (doc["workflow"], doc["source"]) == ("sweep", "sweep.aiwf")
    assert doc["sources"] == [
        {"file": "std/images/python.aiwf", "sha256": sha256(stdlib / "images" / "python.aiwf")},
        {"file": "std/sites/generic-slurm.aiwf", "sha256": sha256(stdlib / "sites" / "generic-slurm.aiwf")},
        {"file": "sweep.aiwf", "sha256": sha256(src)},
    ]
    assert doc["site"] == {"name": "generic_slurm", "file": "std/sites/generic-slurm.aiwf"}
    assert doc["params"] == {
        "n": {"type": "int", "value": 8, "set_by": "-p"},
        "scale": {"type": "float", "value": 0.25, "set_by": "params file"},
        "label": {"type": "string", "value": "base", "set_by": "default"},
        "budget": {"type": "size", "value": "2GiB", "set_by": "default"},
    }
    assert doc["targets"] == ["apptainer"]
    assert doc["optimisation"] == {"level": 2, "disabled": ["fusion"]}
    assert doc["plan"] is None  # the apptainer backend needs no plan
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    files.remove("aiwfc-manifest.json")
    assert doc["artefacts"] == [{"path": f, "sha256": sha256(out / f), "executable": f == "build-images.sh"}
                                for f in files]


def test_manifest_records_each_pass_and_its_decisions(tmp_path):
    if "cwl" not in discover_backends():
        pytest.skip("the cwl backend is not installed: no planned target to compile")
    out = tmp_path / "out"
    status, _, err = aiwfc("compile", SCREEN, "--target", "cwl", "-o", out, "-O", "2", "--disable-pass", "fusion")
    assert status == 0, err
    doc = json.loads((out / "aiwfc-manifest.json").read_text())
    comp = analyse(str(SCREEN))
    result = build_plan(comp, comp.workflows[0], level=2, disabled=frozenset({"fusion"}))
    plan = doc["plan"]
    assert list(plan) == ["applied", "site_note", "passes"]
    assert plan["applied"] == result.plan.passes
    assert [p["name"] for p in plan["passes"]] == list(PASS_NAMES)
    for entry, step in zip(plan["passes"], result.steps):
        assert entry == {"name": step.name, "level": step.level, "enabled": step.enabled, "applied": step.applied,
                         "skipped": step.skipped, "decisions": step.decisions, "notes": step.notes}
    fusion = plan["passes"][PASS_NAMES.index("fusion")]
    assert (fusion["enabled"], fusion["applied"], fusion["skipped"]) == (False, False, "disabled by --disable-pass")
    assert any(p["decisions"] for p in plan["passes"])  # screen's plan is shaped by at least one pass
    assert plan["site_note"] is None  # screen.aiwf imports its site


def test_manifest_says_when_no_site_was_given(tmp_path):
    if "cwl" not in discover_backends():
        pytest.skip("the cwl backend is not installed: no planned target to compile")
    src = tmp_path / "nosite.aiwf"
    src.write_text('aiwf 0.1\nworkflow w {\n  task t { out f: file = "f.txt"  run "touch ${f}" }\n}\n')
    assert aiwfc("compile", src, "--target", "cwl", "-o", tmp_path / "o")[0] == 0
    doc = json.loads((tmp_path / "o" / "aiwfc-manifest.json").read_text())
    assert doc["site"] is None
    assert doc["params"] == {}
    assert doc["optimisation"] == {"level": 1, "disabled": []}
    assert doc["plan"]["site_note"].startswith("no site given: planned with the limits of `generic-slurm`")


def test_manifest_is_byte_identical_on_recompile(tmp_path):
    for n in (1, 2):
        assert aiwfc("compile", FIXTURE, "--target", "apptainer", "-o", tmp_path / f"o{n}")[0] == 0
    assert (tmp_path / "o1" / "aiwfc-manifest.json").read_bytes() == (tmp_path / "o2" / "aiwfc-manifest.json").read_bytes()


def test_slurm_target_carries_the_sources(tmp_path):
    """The workflow's own files under DIR/source/ with the manifest's hashes; std/ modules named only."""
    src = tmp_path / "p"
    (src / "lib").mkdir(parents=True)
    (src / "lib" / "res.aiwf").write_text("aiwf 0.1  # aiwf: ignore[AIWF109]\nresource small { cores = 1 }\n")
    (src / "w.aiwf").write_text('aiwf 0.1\nimport "std/sites/generic-slurm"\nimport "./lib/res"\n'
                                'workflow w { task t { resources = small  run "true" } }\n')
    status, out, err = aiwfc("compile", src / "w.aiwf", "--target", "slurm", "-o", tmp_path / "o")
    assert status == 0, err
    doc = json.loads((tmp_path / "o" / "aiwfc-manifest.json").read_text())
    assert [s["file"] for s in doc["sources"]] == ["lib/res.aiwf", "std/sites/generic-slurm.aiwf", "w.aiwf"]
    carried = sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o" / "source").rglob("*")
                     if p.is_file())
    assert carried == ["source/lib/res.aiwf", "source/w.aiwf"]
    for s in doc["sources"]:
        if not s["file"].startswith("std/"):
            assert sha256(tmp_path / "o" / "source" / s["file"]) == s["sha256"]
    assert not any(a["path"].startswith("source/") for a in doc["artefacts"])
    # a target whose runs do not carry them writes none
    status, _, err = aiwfc("compile", src / "w.aiwf", "--target", "apptainer", "-o", tmp_path / "a")
    assert status == 0, err
    assert not (tmp_path / "a" / "source").exists()


@pytest.mark.parametrize("command", [["check"], ["compile", "--target", "slurm", "-o", "OUT"], ["plan"]])
def test_an_unreadable_params_file_is_an_io_problem_for_every_command(command, tmp_path):
    """DESIGN.md: exit status 2 = usage or I/O problem; a params file that cannot be read
    is one (AIWF203 says which), for check and compile as for plan; nothing is written."""
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    code, out, err = aiwfc(*argv, str(ROOT / "examples/multistage_pipeline/screen.aiwf"),
                           "--params", str(tmp_path / "none.yaml"))
    text = out + err
    assert code == 2
    assert f"error[AIWF203]: cannot read params file: [Errno 2] No such file or directory: " \
           f"'{tmp_path / 'none.yaml'}'" in text
    assert not (tmp_path / "out").exists()
