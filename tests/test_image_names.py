"""Each backend refers to the images the Apptainer backend emits, and to no other.

The Apptainer backend's build-images.sh names every image it builds on one line,
`build NAME SIF DOCKER_REFERENCE RECIPE_HASH`: the `.sif` path the Slurm and Parsl
backends run and the Docker reference the CWL backend's DockerRequirement pulls. For
every installed backend among slurm, cwl and parsl, each example (and the image
fixture) is compiled and every `.sif` path and `localhost/aiwf/...` reference in its
artefacts must be one of those, and together exactly those of the images its phases
run (a backend that runs .sif files names every .sif; CWL names every reference). A
backend that is not installed is skipped with the reason printed.
"""

from __future__ import annotations

import io
import re
import shlex
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from aiwfc.backend import discover_backends
from aiwfc.cli import main
from aiwfc.images import docker_reference, image_builds, sif_path
from aiwfc.pipeline import analyse

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {
    "steer_md": ROOT / "examples" / "dynamic_orchestration" / "steer_md.aiwf",
    "screen": ROOT / "examples" / "multistage_pipeline" / "screen.aiwf",
    "design": ROOT / "examples" / "inverse_design" / "design.aiwf",
    "twin": ROOT / "examples" / "digital_replica" / "twin.aiwf",
    "federated": ROOT / "examples" / "distributed_models" / "federated.aiwf",
    "hpo": ROOT / "examples" / "adaptive_training" / "hpo.aiwf",
    "recipes": ROOT / "tests" / "data" / "apptainer" / "images.aiwf",
}
# What a backend runs: .sif files (through apptainer exec) or Docker references.
RUNS = {"slurm": "sif", "parsl": "sif", "cwl": "docker"}
SIF = re.compile(r"[A-Za-z0-9_./-]+\.sif\b")
REFERENCE = re.compile(r"localhost/aiwf/[a-z0-9._-]+:[0-9a-f]+")
DOCKER_PULL = re.compile(r"^\s*dockerPull:\s*(\S+)\s*$", re.M)


def compile_to(source: Path, target: str, out: Path) -> None:
    buf = io.StringIO()
    with redirect_stdout(buf), redirect_stderr(buf):
        status = main(["compile", str(source), "--target", target, "-o", str(out)])
    assert status == 0, buf.getvalue()


def texts(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(errors="replace")
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "aiwfc-manifest.json"}


def emitted_images(out: Path) -> dict[str, tuple[str, str]]:
    """name -> (sif, docker reference), from the `build ...` lines of build-images.sh."""
    found = {}
    for line in (out / "build-images.sh").read_text().splitlines():
        if line.startswith("build "):
            _, name, sif, ref, _hash = shlex.split(line)
            found[name] = (sif, ref)
    return found


@pytest.fixture(scope="module")
def apptainer_images(tmp_path_factory) -> dict[str, dict[str, tuple[str, str]]]:
    base = tmp_path_factory.mktemp("apptainer")
    out = {}
    for name, source in SOURCES.items():
        compile_to(source, "apptainer", base / name)
        out[name] = emitted_images(base / name)
    return out


def test_build_script_names_what_aiwfc_images_names(apptainer_images):
    for name, source in SOURCES.items():
        comp = analyse(str(source))
        (wf,) = comp.workflows
        builds = image_builds(comp, wf)
        assert apptainer_images[name] == {n: (sif_path(comp.site, b), docker_reference(b)) for n, b in builds.items()}


@pytest.mark.parametrize("target", sorted(RUNS))
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_backend_refers_to_the_images_apptainer_emits(target, name, apptainer_images, tmp_path):
    installed = discover_backends()
    if target not in installed:
        print(f"skipped: the {target} backend is not installed (entry-point group aiwfc.backends)")
        pytest.skip(f"the {target} backend is not installed yet")
    emitted = apptainer_images[name]
    compile_to(SOURCES[name], target, tmp_path / "out")
    files = texts(tmp_path / "out")
    sifs = {m for text in files.values() for m in SIF.findall(text)}
    refs = {m for text in files.values() for m in REFERENCE.findall(text)}
    assert sifs <= {sif for sif, _ in emitted.values()}, f"{target} runs a .sif the apptainer backend does not build"
    assert refs <= {ref for _, ref in emitted.values()}, f"{target} names an image the apptainer backend does not tag"
    if RUNS[target] == "sif":
        assert sifs == {sif for sif, _ in emitted.values()}
    else:
        pulls = {m for text in files.values() for m in DOCKER_PULL.findall(text)}
        assert pulls == refs == {ref for _, ref in emitted.values()}
