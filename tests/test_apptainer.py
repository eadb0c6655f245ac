"""The Apptainer backend: definitions and Dockerfiles that spython reads back into what
the image blocks say, golden recipes for the examples, determinism, and build-images.sh.

No apptainer can be installed on these machines, so the recipes are tested by their
structure and content (parsed back with spython's own parsers), and build-images.sh by
its refusal without apptainer and, with a stand-in `apptainer` on PATH, by the lock it
writes. Golden copies live in tests/golden/apptainer/; regenerate (never edit) with

    AIWF_UPDATE_GOLDEN=1 python -m pytest -q tests/test_apptainer.py
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from spython.main.parse.parsers import DockerParser, SingularityParser

from aiwfc.cli import main
from aiwfc.emitter import COMPILER
from aiwfc.images import docker_reference, exec_options, image_builds, recipe_hash
from aiwfc.pipeline import analyse
from aiwfc.semantic import Scope
from aiwfc_backends.apptainer.build_script import DOCKER_NOT_INSTALLED, NOT_INSTALLED, USAGE

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "apptainer" / "images.aiwf"
GOLDEN = ROOT / "tests" / "golden" / "apptainer"
UPDATE = os.environ.get("AIWF_UPDATE_GOLDEN") == "1"
SOURCES = {
    "steer_md": ROOT / "examples" / "dynamic_orchestration" / "steer_md.aiwf",
    "screen": ROOT / "examples" / "multistage_pipeline" / "screen.aiwf",
    "design": ROOT / "examples" / "inverse_design" / "design.aiwf",
    "twin": ROOT / "examples" / "digital_replica" / "twin.aiwf",
    "federated": ROOT / "examples" / "distributed_models" / "federated.aiwf",
    "hpo": ROOT / "examples" / "adaptive_training" / "hpo.aiwf",
    "recipes": FIXTURE,
}


def compile_apptainer(source: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    """`aiwfc compile SOURCE --target apptainer -o OUT` in-process: (status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        status = main(["compile", str(source), "--target", "apptainer", "-o", str(out), *extra])
    return status, stdout.getvalue(), stderr.getvalue()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, Path]:
    """Every example and the fixture compiled once: name -> output directory."""
    base = tmp_path_factory.mktemp("apptainer")
    out = {}
    for name, source in SOURCES.items():
        status, _, err = compile_apptainer(source, base / name)
        assert status == 0, err
        out[name] = base / name
    return out


def builds_of(name: str):
    comp = analyse(str(SOURCES[name]))
    (wf,) = comp.workflows
    return comp, wf, image_builds(comp, wf)


def unquote_assignment(text: str) -> tuple[str, str]:
    """`KEY="v \\"x\\" $HOME"` or `KEY='v'` -> (KEY, value) as the shell reads the quoting,
    leaving `$NAME` references unexpanded (bash: inside double quotes a backslash escapes
    only `$`, `` ` ``, `"` and itself)."""
    key, _, word = text.partition("=")
    if word.startswith("'") and word.endswith("'") and len(word) >= 2:
        return key, word[1:-1]
    assert word.startswith('"') and word.endswith('"') and len(word) >= 2, text
    out, body, i = [], word[1:-1], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '$`"\\':
            out.append(body[i + 1])
            i += 2
        else:
            assert body[i] != '"', text
            out.append(body[i])
            i += 1
    return key, "".join(out)


# ---------------------------------------------------------------- round trip

def expected_commands(image) -> list[list[str]]:
    """The install commands as words, in the order the recipes run them."""
    cmds = []
    if image.apt:
        cmds.append(["apt-get", "update", "&&", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                     "--no-install-recommends", *image.apt, "&&", "rm", "-rf", "/var/lib/apt/lists/*"])
    if image.conda:
        cmds.append(["conda", "install", "-y", *image.conda, "&&", "conda", "clean", "-afy"])
    if image.pip:
        cmds.append(["python3", "-m", "pip", "install", "--no-cache-dir", *image.pip])
    return cmds


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_definitions_parse_back_into_the_image(name, compiled):
    comp, wf, builds = builds_of(name)
    assert sorted(p.stem for p in (compiled[name] / "apptainer").glob("*.def")) == sorted(builds)
    for image_name, build in builds.items():
        parser = SingularityParser(str(compiled[name] / "apptainer" / f"{image_name}.def"))
        assert list(parser.recipe) == [image_name.lower()]
        recipe = parser.recipe[image_name.lower()]
        assert recipe.fromHeader == build.base.lower()  # spython lower-cases From:
        image = build.image
        commands = [shlex.split(line) for line in recipe.install
                    if not line.startswith(("#", "set -eu", "echo ", "chmod u+x /tests.sh"))]
        assert commands == expected_commands(image)
        assert [unquote_assignment(e) for e in recipe.environ] == list(image.env.items())
        labels = [tuple(line.split(" ", 1)) for line in recipe.labels]
        assert labels[:5] == [("org.aiwf.image", image_name), ("org.aiwf.workflow", wf.name),
                              ("org.aiwf.source", SOURCES[name].name), ("org.aiwf.compiler", COMPILER),
                              ("org.aiwf.recipe-hash", recipe_hash(build))]
        assert labels[len(labels) - len(image.labels):] == list(image.labels.items()) or not image.labels
        assert [tuple(f.split(" ")) for f in recipe.files] == list(image.files.items())
        if image.entrypoint is None:
            assert recipe.cmd is None
        # spython reads %test into `echo LINE >> /tests.sh` install lines
        tests = [shlex.split(line)[1] for line in recipe.install if line.startswith("echo ")]
        assert tests == (image.test.split("\n") if image.test else tests) and tests


def test_definition_details_of_the_fixture(compiled):
    out = compiled["recipes"]
    full = SingularityParser(str(out / "apptainer" / "full.def")).recipe["full"]
    assert full.cmd == 'exec python3 /opt/app/serve.py "$@"'
    assert [line for line in full.install if line.startswith("echo ")] == [
        'echo "python3 -c \'import yaml, sklearn, requests\'" >> /tests.sh',
        'echo "command -v python3 >/dev/null" >> /tests.sh']
    gpu = SingularityParser(str(out / "apptainer" / "gpu_ubuntu.def")).recipe["gpu_ubuntu"]
    assert gpu.fromHeader == "docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04"
    assert shlex.split(gpu.cmd) == ["exec", "/bin/sh", "-c", "python3 -c 'import sys; print(sys.argv)' && echo done",
                                    "sh", "$@"]
    text = (out / "apptainer" / "gpu_ubuntu.def").read_text()
    assert ("# base: docker.io/library/ubuntu:22.04 becomes docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04 "
            "for the GPU phases (fit); CUDA 12.4 from the image's `cuda`\n") in text
    assert "org.aiwf.cuda 12.4\norg.aiwf.gpu true\n" in text
    mpi = (out / "apptainer" / "mpi_app.def").read_text()
    assert ("# MPI (openmpi-4.1, hybrid model): apptainer exec --bind /opt/openmpi,/usr/lib64/libpmi2.so "
            "images/mpi_app.sif ...\n") in mpi
    assert "org.aiwf.mpi openmpi-4.1\norg.aiwf.mpi-bind /opt/openmpi,/usr/lib64/libpmi2.so\n" in mpi
    assert "%runscript" not in mpi and "%startscript" not in mpi  # no entrypoint: the base's applies


def test_gpu_and_mpi_phases_run_with_nv_and_bind():
    comp, wf, builds = builds_of("recipes")
    scope = Scope(comp.program, wf)
    options = {ph.name: exec_options(builds[ph.image], scope.resource_of(ph)) for ph in wf.phases}
    assert options == {"serve": [], "fit": ["--nv"],
                       "sim": ["--bind", "/opt/openmpi,/usr/lib64/libpmi2.so"], "plain": []}
    assert builds["gpu_ubuntu"].declared_base == "docker.io/library/ubuntu:22.04"
    assert (builds["gpu_ubuntu"].base, builds["gpu_ubuntu"].cuda, builds["gpu_ubuntu"].cuda_from) == (
        "docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04", "12.4", "image")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_dockerfiles_parse_with_spython(name, compiled):
    comp, wf, builds = builds_of(name)
    for image_name, build in builds.items():
        path = compiled[name] / "docker" / f"{image_name}.Dockerfile"
        cwd = os.getcwd()
        os.chdir(SOURCES[name].parent)  # COPY sources are relative to the project directory
        try:
            parser = DockerParser(str(path))
        finally:
            os.chdir(cwd)
        (recipe,) = parser.recipe.values()
        image = build.image
        assert recipe.fromHeader == build.base
        runs = [shlex.split(line) for line in recipe.install
                if not line.startswith("#") and line.strip() and "=" not in line.split(" ")[0]]
        test_lines = image.test.split("\n") if image.test else None
        commands = runs[:-1] if test_lines is None or len(test_lines) == 1 else runs
        assert commands[:len(expected_commands(image))] == expected_commands(image)
        assert [unquote_assignment(e) for e in recipe.environ] == list(image.env.items())
        labels = [unquote_assignment(lab) for (lab,) in recipe.labels]
        assert labels[:5] == [("org.aiwf.image", image_name), ("org.aiwf.workflow", wf.name),
                              ("org.aiwf.source", SOURCES[name].name), ("org.aiwf.compiler", COMPILER),
                              ("org.aiwf.recipe-hash", recipe_hash(build))]
        assert [tuple(f) for f in recipe.files] == list(image.files.items())
        if image.entrypoint is None:
            assert recipe.entrypoint is None
        assert f"-t {docker_reference(build)} .\n" in path.read_text()


def test_dockerfile_details_of_the_fixture(compiled):
    out = compiled["recipes"]
    full = (out / "docker" / "full.Dockerfile").read_text()
    assert "ENV GREETING='say \"hi\" $(not run) `x` \\ back'\n" in full
    assert 'ENTRYPOINT ["python3", "/opt/app/serve.py"]\n' in full
    assert ('RUN ["/bin/sh", "-ec", "python3 -c \'import yaml, sklearn, requests\'\\n'
            'command -v python3 >/dev/null"]\n') in full
    gpu = (out / "docker" / "gpu_ubuntu.Dockerfile").read_text()
    assert ('ENTRYPOINT ["/bin/sh", "-c", "python3 -c \'import sys; print(sys.argv)\' && echo done", "sh"]\n'
            in gpu)


def test_values_the_recipes_cannot_carry_are_reported(tmp_path):
    src = tmp_path / "bad.aiwf"
    src.write_text('aiwf 0.1\nworkflow w {\n'
                   '  image i { from = "docker.io/library/python:3.11-slim"  env = { A = "say \\"hi\\" $HOME" }\n'
                   '            labels = { "org.aiwf.image" = "x" } }\n'
                   '  task t { image = i  run "true" }\n}\n')
    status, out, err = compile_apptainer(src, tmp_path / "out", "--format", "json")
    assert status == 1
    assert not (tmp_path / "out").exists()
    diags = [(d["code"], d["line"], d["column"], d["message"]) for d in json.loads(out)]
    assert diags == [
        ("AIWF107", 3, 70, "image `i`: `env.A` cannot hold a `\"` together with a `'` or a `$NAME` "
                           "reference: a Dockerfile ENV quotes such a value in single quotes, which expand nothing"),
        ("AIWF107", 4, 43, "image `i`: label `org.aiwf.image` is reserved for aiwfc (org.aiwf.*)"),
    ]


# ---------------------------------------------------------------- golden, determinism

@pytest.mark.parametrize("name", sorted(SOURCES))
def test_golden_recipes(name, compiled):
    golden = GOLDEN / name
    produced = tree(compiled[name])
    del produced["aiwfc-manifest.json"]  # tested in tests/test_compile_cli.py (it hashes the stdlib's files)
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        for rel, data in produced.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_bytes(data)
    assert sorted(produced) == sorted(tree(golden)), "regenerate with AIWF_UPDATE_GOLDEN=1"
    for rel, data in tree(golden).items():
        assert produced[rel] == data, f"{name}/{rel} differs from the golden copy (AIWF_UPDATE_GOLDEN=1)"


def test_identical_inputs_give_byte_identical_recipes(tmp_path, compiled):
    """Again, and from a copy of the project elsewhere: no clock, no absolute path, no order
    that depends on the run."""
    status, _, _ = compile_apptainer(FIXTURE, tmp_path / "again")
    assert status == 0
    assert tree(tmp_path / "again") == tree(compiled["recipes"])
    copy = tmp_path / "elsewhere" / "project"
    shutil.copytree(FIXTURE.parent, copy)
    status, _, _ = compile_apptainer(copy / FIXTURE.name, tmp_path / "moved")
    assert status == 0
    assert tree(tmp_path / "moved") == tree(compiled["recipes"])


def test_recipe_hash_follows_the_recipe_not_the_workflow(tmp_path):
    comp, wf, builds = builds_of("recipes")
    text = FIXTURE.read_text()
    changed = tmp_path / "images.aiwf"
    shutil.copytree(FIXTURE.parent, tmp_path, dirs_exist_ok=True)
    changed.write_text(text.replace('"PyYAML==6.0.2"', '"PyYAML==6.0.1"').replace("recipes {", "renamed {"))
    comp2 = analyse(str(changed))
    (wf2,) = comp2.workflows
    builds2 = image_builds(comp2, wf2)
    assert builds2["full"].recipe_hash != builds["full"].recipe_hash
    assert {n: b.recipe_hash for n, b in builds2.items() if n != "full"} == {
        n: b.recipe_hash for n, b in builds.items() if n != "full"}
    assert docker_reference(builds["full"]) == f"localhost/aiwf/full:{builds['full'].recipe_hash}"


# ---------------------------------------------------------------- build-images.sh

def run_script(script: Path, cwd: Path, path: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/bash", str(script), *args], cwd=cwd, env={"PATH": path, "LC_ALL": "C"},
                          capture_output=True, text=True, timeout=60)


def test_build_script_fails_clearly_without_apptainer(tmp_path, compiled):
    empty = tmp_path / "bin"
    empty.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    script = compiled["steer_md"] / "build-images.sh"
    assert os.access(script, os.X_OK)
    r = run_script(script, project, str(empty))
    assert (r.returncode, r.stdout, r.stderr) == (127, "", NOT_INSTALLED + "\n")
    assert r.stderr == ("error: apptainer is not installed (neither `apptainer` nor `singularity` is on PATH); "
                        "install it (https://apptainer.org/docs/admin/main/installation.html), or build the "
                        "Docker images instead: bash build-images.sh --docker\n")
    r = run_script(script, project, str(empty), "--docker")
    assert (r.returncode, r.stdout, r.stderr) == (127, "", DOCKER_NOT_INSTALLED + "\n")
    r = run_script(script, project, str(empty), "--fast")
    assert (r.returncode, r.stdout, r.stderr) == (2, "", USAGE + "\n")
    assert list(project.iterdir()) == []  # nothing touched


STAND_IN = """#!/bin/sh
# Stand-in for `apptainer build --force SIF DEF` (apptainer cannot be installed here):
# the "image" is the definition's bytes, so its digest is known.
echo "$*" >> "$LOG"
[ "$1" = build ] && [ "$2" = --force ] || exit 64
cp "$4" "$3"
"""


def test_build_script_records_digests_and_skips_up_to_date_images(tmp_path, compiled):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "apptainer").write_text(STAND_IN)
    (tools / "apptainer").chmod(0o755)
    log = tmp_path / "log"
    path = f"{tools}:/usr/bin:/bin"
    out = compiled["steer_md"]
    project = tmp_path / "project"
    project.mkdir()

    def run(*args):
        return subprocess.run(["/bin/bash", str(out / "build-images.sh"), *args], cwd=project,
                              env={"PATH": path, "LOG": str(log), "LC_ALL": "C"},
                              capture_output=True, text=True, timeout=60)

    r = run()
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("cuda_numpy: building images/cuda_numpy.sif with apptainer\n"
                        "python_numpy: building images/python_numpy.sif with apptainer\n"
                        "recorded digests in images/images.lock\n")
    comp, wf, builds = builds_of("steer_md")
    lines = ["# name\timage\tdigest\trecipe-hash"]
    for name, build in builds.items():
        digest = hashlib.sha256((out / "apptainer" / f"{name}.def").read_bytes()).hexdigest()
        lines.append(f"{name}\timages/{name}.sif\t{digest}\t{build.recipe_hash}")
    assert (project / "images" / "images.lock").read_text() == "\n".join(lines) + "\n"
    assert log.read_text() == "".join(
        f"build --force images/{n}.sif {out}/apptainer/{n}.def\n" for n in builds)

    r = run()
    assert r.stdout == ("cuda_numpy: up to date (images/cuda_numpy.sif)\n"
                        "python_numpy: up to date (images/python_numpy.sif)\n"
                        "recorded digests in images/images.lock\n")
    assert (project / "images" / "images.lock").read_text() == "\n".join(lines) + "\n"
    (project / "images" / "python_numpy.sif").write_text("tampered")
    r = run()
    assert r.stdout.splitlines()[1] == "python_numpy: building images/python_numpy.sif with apptainer"
    r = run("--force")
    assert r.stdout.splitlines()[:2] == ["cuda_numpy: building images/cuda_numpy.sif with apptainer",
                                         "python_numpy: building images/python_numpy.sif with apptainer"]
    assert sorted(p.name for p in (project / "images").iterdir()) == [
        "cuda_numpy.sif", "images.lock", "python_numpy.sif"]  # no temporary lock left behind


def test_a_failed_build_keeps_the_old_lock(tmp_path, compiled):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "apptainer").write_text("#!/bin/sh\necho 'FATAL: no space left' >&2\nexit 255\n")
    (tools / "apptainer").chmod(0o755)
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    (project / "images" / "images.lock").write_text("old\n")
    r = run_script(compiled["screen"] / "build-images.sh", project, f"{tools}:/usr/bin:/bin")
    assert (r.returncode, r.stdout, r.stderr) == (
        255, "python_numpy: building images/python_numpy.sif with apptainer\n", "FATAL: no space left\n")
    assert sorted(p.name for p in (project / "images").iterdir()) == ["images.lock"]
    assert (project / "images" / "images.lock").read_text() == "old\n"
