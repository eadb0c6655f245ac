"""Container images as every backend names them: the one place for image paths,
references, recipe hashes, and the GPU/MPI rules.

The Apptainer backend builds what this module names; the Slurm, CWL and Parsl
backends run what it names. Use these functions instead of formatting a path yourself,
so that a script always refers to an image the recipes produce (a test checks it).

* `image_builds(comp, workflow)` -> `{name: ImageBuild}` for every image the workflow's
  phases use (`image = ...`), sorted by name; library images only when used.
* `sif_path(site, image)` -> `images/sim.sif`: `{site.image_dir}/{name}.sif`, relative
  to the project directory (the directory of the root .aiwf file) unless `image_dir`
  is absolute. Without a site, `image_dir` is `images`.
* `docker_reference(image)` -> `localhost/aiwf/sim:RECIPE_HASH`: the bare reference of the
  image the emitted Dockerfile builds (`build-images.sh --docker` tags it so), for
  CWL's DockerRequirement. Not the base: the base lacks the image's packages, files
  and environment, so a task run in it would not find what the workflow declared. The
  tag is the recipe hash, so a changed recipe is a new reference, never a stale image.
  `base_reference(image)` is the fully qualified base (after the CUDA rule below).
* `recipe_hash(image)` -> first 12 hex digits of the sha256 of the canonical recipe
  content (base, packages, files, environment, labels, entrypoint, test, cuda, mpi).
  It covers the recipe, not the bytes of the files it copies.
* `exec_options(build, resource)` -> the `apptainer exec` options a task needs:
  `--nv` for a phase whose resource has GPUs, `--bind a,b` with the site's `mpi_bind`
  paths for an image that declares `mpi` (the hybrid model: the host's MPI inside).

The CUDA rule (applied to images used by a phase whose resource has `gpus > 0`):

1. A base that already provides CUDA is kept: `nvidia/cuda:*`, anything from
   `nvcr.io/nvidia/`, a tag naming CUDA (`2.5.1-cuda12.4-...`, `...-cu124`), or a
   repository with `cuda` in its name.
2. Otherwise, when the base is a plain `docker.io/library/ubuntu:YY.MM` and a CUDA
   version is known (the image's `cuda`, else the site's `cuda_driver`), the base becomes
   `docker.io/nvidia/cuda:X.Y.Z-runtime-ubuntuYY.MM`: the same Ubuntu release with the
   CUDA runtime added, so nothing the recipe relies on is lost. Only combinations in
   `CUDA_RELEASES`/`UBUNTU_CUDA` (published by NVIDIA) are used; no tag is guessed.
3. Anything else keeps its base and is reported (AIWF803), never rewritten silently:
   a `python:3.11-slim` base cannot become a CUDA base without losing its Python.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass

from aiwfc.ir import models as ir
from aiwfc.semantic import Scope

__all__ = [
    "DEFAULT_IMAGE_DIR", "Reference", "parse_reference", "normalise_reference", "unpinned_reason",
    "base_cuda", "cuda_base_for", "version_key", "ImageBuild", "image_builds", "used_image_names",
    "sif_path", "docker_reference", "base_reference", "DOCKER_NAMESPACE", "recipe_hash", "canonical_recipe",
    "exec_options", "site_of",
    "cuda_problem", "concerns",
]

DEFAULT_IMAGE_DIR = "images"
# Registry/namespace of the Docker images build-images.sh --docker tags: `localhost/`
# says "built here, never pulled" (a pull of it fails at once instead of fetching
# someone else's image of the same name).
DOCKER_NAMESPACE = "localhost/aiwf"
RECIPE_FORMAT = "aiwf-recipe/1"  # bump when the recipes' content changes meaning

# Tags that name a moving target rather than a release.
MOVING_TAGS = frozenset({"latest", "stable", "nightly", "edge", "rolling", "testing", "unstable",
                         "main", "master"})

# CUDA major.minor -> the release NVIDIA publishes `nvidia/cuda` runtime images for.
CUDA_RELEASES = {
    "11.8": "11.8.0", "12.0": "12.0.1", "12.1": "12.1.1", "12.2": "12.2.2", "12.3": "12.3.2",
    "12.4": "12.4.1", "12.5": "12.5.1", "12.6": "12.6.3", "12.8": "12.8.1", "12.9": "12.9.1",
}
# Ubuntu release -> the CUDA major.minor versions with a `-runtime-ubuntuYY.MM` image.
UBUNTU_CUDA = {
    "20.04": ("11.8", "12.0", "12.1", "12.2", "12.3", "12.4"),
    "22.04": tuple(CUDA_RELEASES),
    "24.04": ("12.6", "12.8", "12.9"),
}


# ---------------------------------------------------------------- references

@dataclass(frozen=True)
class Reference:
    """A container image reference split into its parts (`docker.io`, `library/python`, ...)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://")


def parse_reference(text: str) -> Reference:
    """Parses `python:3.11`, `docker.io/library/python:3.11`, `docker://ghcr.io/x/y@sha256:...`.

    Raises ValueError for what is not a Docker/OCI reference (`library://`, `oras://`,
    a local .sif), which an Apptainer `Bootstrap: docker` recipe cannot start from.
    """
    ref = text.strip()
    m = _SCHEME.match(ref)
    if m:
        if m.group(1) != "docker":
            raise ValueError(f"`{text}` is not a Docker/OCI image reference ({m.group(1)}:// is not supported)")
        ref = ref[m.end():]
    if not ref or any(c.isspace() for c in ref):
        raise ValueError(f"`{text}` is not a Docker/OCI image reference")
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    head, _, last = ref.rpartition("/")
    tag = None
    if ":" in last:
        last, tag = last.split(":", 1)
    path = f"{head}/{last}" if head else last
    first, _, rest = path.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", path
    if registry == "docker.io" and "/" not in repository:
        repository = "library/" + repository
    if not repository or not last or (tag is not None and not tag) or (digest is not None and not digest):
        raise ValueError(f"`{text}` is not a Docker/OCI image reference")
    return Reference(registry, repository, tag, digest)


def normalise_reference(text: str) -> str:
    """The fully qualified form (`docker.io/library/python:3.11-slim`), or the text itself
    when it does not parse (the backend reports that)."""
    try:
        return str(parse_reference(text))
    except ValueError:
        return text


def unpinned_reason(text: str) -> str | None:
    """Why a base reference is not pinned (no tag, a moving tag), or None when it is."""
    try:
        ref = parse_reference(text)
    except ValueError:
        return None
    if ref.digest:
        return None
    if ref.tag is None:
        return "which has no tag (Docker takes `latest`, which moves)"
    if ref.tag.lower() in MOVING_TAGS:
        return f"whose tag `{ref.tag}` moves to a new release without notice"
    return None


# ---------------------------------------------------------------- CUDA

def version_key(version: str) -> tuple[int, ...]:
    """`12.4.1` -> (12, 4): CUDA compatibility is decided by major.minor."""
    nums = [int(x) for x in re.findall(r"\d+", version)[:2]]
    return tuple(nums + [0] * (2 - len(nums)))


def _major_minor(version: str) -> str:
    return ".".join(str(x) for x in version_key(version))


_CUDA_TAG = re.compile(r"^(\d+\.\d+)(?:\.\d+)?(?:-|$)")
_CUDA_IN_TAG = re.compile(r"cuda[-_]?(\d+\.\d+)", re.I)
_CU_IN_TAG = re.compile(r"(?:^|[-_.])cu(1\d)(\d)(?:$|[-_.])", re.I)


def base_cuda(text: str) -> tuple[bool, str | None]:
    """(whether a base provides CUDA, its major.minor version when the reference says)."""
    try:
        ref = parse_reference(text)
    except ValueError:
        return False, None
    tag = ref.tag or ""
    if ref.repository.endswith("nvidia/cuda"):
        m = _CUDA_TAG.match(tag)
        return True, m.group(1) if m else None
    m = _CUDA_IN_TAG.search(tag)
    if m:
        return True, m.group(1)
    m = _CU_IN_TAG.search(tag)
    if m:
        return True, f"{m.group(1)}.{m.group(2)}"
    if ref.registry == "nvcr.io" and ref.repository.startswith("nvidia/"):
        return True, None
    if "cuda" in ref.repository.lower():
        return True, None
    return False, None


def cuda_base_for(base: str, cuda: str) -> str | None:
    """The `nvidia/cuda` runtime base replacing a plain Ubuntu base for CUDA `cuda`, or None
    when the base is not plain Ubuntu or NVIDIA publishes no such image (rule 2 above)."""
    try:
        ref = parse_reference(base)
    except ValueError:
        return None
    if ref.registry != "docker.io" or ref.repository != "library/ubuntu" or ref.digest:
        return None
    mm = _major_minor(cuda)
    if ref.tag not in UBUNTU_CUDA or mm not in UBUNTU_CUDA[ref.tag]:
        return None
    release = cuda if re.fullmatch(r"\d+\.\d+\.\d+", cuda) else CUDA_RELEASES[mm]
    return f"docker.io/nvidia/cuda:{release}-runtime-ubuntu{ref.tag}"


# ---------------------------------------------------------------- builds

@dataclass(frozen=True)
class ImageBuild:
    """One image as the workflow uses it: what to build, where, and how to run it."""

    name: str
    image: ir.Image
    base: str                    # the effective base (fully qualified, CUDA rule applied)
    declared_base: str           # the base as written, fully qualified
    gpu_phases: tuple[str, ...]  # phases with gpus > 0 that use this image
    cuda: str | None             # CUDA major.minor the image runs with (declared, base's or site's)
    cuda_from: str               # "image" | "base" | "site" | "" (no CUDA)
    mpi_bind: tuple[str, ...]    # host MPI paths to bind (image declares `mpi`)
    recipe_hash: str
    sif: str

    @property
    def gpu(self) -> bool:
        return bool(self.gpu_phases)

    @property
    def rewritten(self) -> bool:
        return self.base != self.declared_base


def used_image_names(workflow: ir.Workflow) -> list[str]:
    """Names of the images the workflow's phases use, sorted."""
    return sorted({p.image for p in workflow.phases if p.image})


def concerns(workflow: ir.Workflow, image: ir.Image, used: set[str] | None = None) -> bool:
    """Whether the image lints look at an image for this workflow: it is used by a phase,
    or the workflow defines it itself. Unused library images (the whole stdlib) are not.
    `used` is the set of image names the phases use, when the caller has it (a check
    asks for every image in scope, and each question would walk every phase)."""
    if used is None:
        used = set(used_image_names(workflow))
    return image.name in used or any(i is image for i in workflow.images)


def site_of(comp_site: ir.SiteProfile | None, program: ir.Program | None,
            phase: ir.Phase) -> ir.SiteProfile | None:
    """The site a phase runs on: its own `site = ...` when it names a known one, else the
    compilation's site."""
    if phase.site and program is not None:
        for s in program.sites:
            if s.name == phase.site:
                return s
    return comp_site


def image_builds(comp, workflow: ir.Workflow) -> dict[str, ImageBuild]:
    """Every image the workflow uses, by name (sorted), with the rules above applied.
    `comp` is a `Compilation` (program and site); unknown image names are skipped (the
    names check reports them)."""
    scope = Scope(comp.program, workflow)
    site = comp.site
    gpu_phases: dict[str, list[str]] = {}  # image name -> its GPU phases, in one walk of the phases
    for p in workflow.phases:
        if p.image:
            found = gpu_phases.setdefault(p.image, [])
            if (r := scope.resource_of(p)) is not None and r.gpus > 0:
                found.append(p.name)
    out: dict[str, ImageBuild] = {}
    for name in sorted(gpu_phases):
        image = scope.images.get(name)
        if image is not None:
            out[name] = _build(image, tuple(gpu_phases[name]), site)
    return out


def _build(image: ir.Image, gpu_phases: tuple[str, ...], site: ir.SiteProfile | None) -> ImageBuild:
    declared = normalise_reference(image.base)
    base, cuda, cuda_from = declared, None, ""
    capable, base_version = base_cuda(declared)
    if image.cuda:
        cuda, cuda_from = _major_minor(image.cuda), "image"
    elif capable and base_version:
        cuda, cuda_from = base_version, "base"
    if gpu_phases and not capable:
        wanted = image.cuda or (site.cuda_driver if site else None)
        replacement = cuda_base_for(declared, wanted) if wanted else None
        if replacement:
            base = replacement
            if not image.cuda:
                cuda, cuda_from = _major_minor(wanted), "site"
    mpi_bind = tuple(site.mpi_bind) if (image.mpi and site is not None) else ()
    content = canonical_recipe(image, base)
    return ImageBuild(
        name=image.name, image=image, base=base, declared_base=declared, gpu_phases=gpu_phases,
        cuda=cuda, cuda_from=cuda_from, mpi_bind=mpi_bind,
        recipe_hash=hashlib.sha256(content.encode("utf-8")).hexdigest()[:12],
        sif=sif_path(site, image))


def cuda_problem(build: ImageBuild) -> tuple[str, str | None] | None:
    """What is wrong with a GPU-used image's CUDA, for AIWF803: (detail, note), or None.

    `detail` completes "phase P uses GPUs but image I ..."."""
    if not build.gpu:
        return None
    image = build.image
    capable, version = base_cuda(build.base)
    if not capable:
        if image.cuda:
            release = CUDA_RELEASES.get(_major_minor(image.cuda), image.cuda)
            return (f"declares CUDA {image.cuda}, yet starts from `{image.base}`, which has none",
                    "only a plain `docker.io/library/ubuntu:YY.MM` base is moved to the matching `nvidia/cuda` "
                    f"base; start from `docker.io/nvidia/cuda:{release}-runtime-ubuntu22.04` and install "
                    "what the image needs there")
        return f"declares no CUDA and starts from `{image.base}`, which has none", None
    if build.cuda_from == "site":
        return (f"declares no CUDA; it is built from `{build.base}` for CUDA {build.cuda}, "
                "the version the site's driver supports", None)
    if image.cuda and version and version_key(version) != version_key(image.cuda):
        return f"declares CUDA {image.cuda} while its base `{image.base}` provides CUDA {version}", None
    return None


# ---------------------------------------------------------------- naming

def sif_path(site: ir.SiteProfile | None, image: ir.Image | ImageBuild) -> str:
    """`{site.image_dir}/{name}.sif` (project-relative unless image_dir is absolute)."""
    directory = (site.image_dir if site is not None else DEFAULT_IMAGE_DIR).rstrip("/") or "/"
    return posixpath.join(directory, f"{image.name}.sif")


def docker_reference(image: ir.Image | ImageBuild) -> str:
    """`localhost/aiwf/NAME:RECIPE_HASH`: the image the emitted Dockerfile builds (bare, no
    `docker://`, as cwltool wants it). The name is lower-cased: Docker repositories are."""
    return f"{DOCKER_NAMESPACE}/{_repository_name(image.name)}:{recipe_hash(image)}"


def _repository_name(name: str) -> str:
    """An image name as a Docker repository component: lower case, no leading or trailing
    `_`, at most two `_` in a row (`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`)."""
    text = re.sub(r"_{3,}", "__", name.lower()).strip("_")
    return text or "image"


def base_reference(image: ir.Image | ImageBuild) -> str:
    """The fully qualified base reference; for an `ImageBuild`, the effective base."""
    if isinstance(image, ImageBuild):
        return image.base
    return normalise_reference(image.base)


def canonical_recipe(image: ir.Image, base: str | None = None) -> str:
    """The recipe content that `recipe_hash` hashes: JSON with sorted keys, no spaces."""
    doc = {
        "format": RECIPE_FORMAT,
        "base": base if base is not None else normalise_reference(image.base),
        "apt": list(image.apt), "pip": list(image.pip), "conda": list(image.conda),
        "files": [[k, v] for k, v in image.files.items()],
        "env": [[k, v] for k, v in image.env.items()],
        "labels": [[k, v] for k, v in image.labels.items()],
        "entrypoint": image.entrypoint, "test": image.test, "cuda": image.cuda, "mpi": image.mpi,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def recipe_hash(image: ir.Image | ImageBuild) -> str:
    """First 12 hex digits of the sha256 of `canonical_recipe` (with the effective base
    when given an `ImageBuild`)."""
    if isinstance(image, ImageBuild):
        return image.recipe_hash
    return hashlib.sha256(canonical_recipe(image).encode("utf-8")).hexdigest()[:12]


def exec_options(build: ImageBuild, resource: ir.ResourceClass | None) -> list[str]:
    """Options for `apptainer exec` (before the .sif path) for one phase's tasks."""
    opts = []
    if resource is not None and resource.gpus > 0:
        opts.append("--nv")
    if build.mpi_bind:
        opts += ["--bind", ",".join(build.mpi_bind)]
    return opts
