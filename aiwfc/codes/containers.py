"""AIWF8xx: container images."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

UNPINNED_BASE = define(
    "AIWF801", "unpinned-base", S.WARNING, "image `{image}` starts from `{base}`, {detail}",
    summary="A base image with no tag or the `latest` tag.",
    why="Containerise with pinned versions: an unpinned base changes under you between runs.",
    example='image sim { from = "docker.io/library/python" }',
    instead='image sim { from = "docker.io/library/python:3.11-slim" }')

UNPINNED_PACKAGE = define(
    "AIWF802", "unpinned-package", S.WARNING, "{manager} package `{package}` in image `{image}` is not pinned",
    summary="A pip or conda package without an exact version.",
    why="CUDA, MPI and framework versions must be pinned together; an unpinned package breaks that silently.",
    example='image sim { pip = ["numpy"] }',
    instead='image sim { pip = ["numpy==2.1.3"] }')

GPU_IMAGE_WITHOUT_CUDA = define(
    "AIWF803", "gpu-image-without-cuda", S.WARNING,
    "phase `{phase}` uses GPUs but image `{image}` {detail}",
    summary="A GPU phase runs in an image without CUDA: no `cuda` version and no CUDA base, a declared "
            "`cuda` on a base that has none and cannot be moved to a CUDA base, a `cuda` that differs "
            "from the base's, or a CUDA version taken from the site's driver instead of the image.",
    why="The framework inside would not see the GPU, or would see a different CUDA than the one its "
        "packages were built for. A plain `ubuntu:YY.MM` base is moved to the matching `nvidia/cuda` "
        "base; any other base is kept as written and reported here.",
    example='image sim { from = "docker.io/library/python:3.11-slim" }',
    instead='image sim { from = "docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04"  cuda = "12.4" }')

CUDA_NEWER_THAN_DRIVER = define(
    "AIWF804", "cuda-newer-than-driver", S.ERROR,
    "image `{image}` needs CUDA {cuda}, newer than site `{site}`'s driver supports ({driver})",
    summary="The CUDA version an image declares is newer than the site's GPU driver supports.",
    why="The container would start and fail at the first CUDA call.",
    example='image t { cuda = "12.8" }   # site cuda_driver = "12.2"',
    instead='image t { cuda = "12.2" }')

SHARED_PACKAGES = define(
    "AIWF805", "shared-packages", S.INFO,
    "images `{a}` and `{b}` install the same packages ({packages})",
    summary="Several images install the same set of packages.",
    why="One shared image is built, stored and pulled once; many near-copies multiply both.",
    example='image a { pip = ["numpy==2.1.3"] }\nimage b { pip = ["numpy==2.1.3"] }',
    instead='image common { pip = ["numpy==2.1.3"] }')
