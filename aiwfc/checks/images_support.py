"""Facts the image lints (AIWF801-805, images_*.py) share. No check lives here.

The image builds of `aiwfc.images` (effective base, CUDA, GPU phases) are computed once
per workflow and cached in `CheckContext.state`, so that the lints judge exactly what
the Apptainer backend will build.
"""

from __future__ import annotations

from pathlib import Path

from aiwfc.checks.framework import CheckContext
from aiwfc.images import ImageBuild, image_builds, used_image_names
from aiwfc.ir import models as ir
from aiwfc.resolve.imports import stdlib_root


def builds(ctx: CheckContext) -> dict[str, ImageBuild]:
    """The workflow's image builds, by name (sorted), computed once per workflow."""
    if "image_builds" not in ctx.state:
        ctx.state["image_builds"] = image_builds(ctx.comp, ctx.workflow)
    return ctx.state["image_builds"]


def used_images(ctx: CheckContext) -> set[str]:
    """The names of the images the workflow's phases use, computed once per workflow."""
    if "used_images" not in ctx.state:
        ctx.state["used_images"] = set(used_image_names(ctx.workflow))
    return ctx.state["used_images"]


def editable(image: ir.Image) -> bool:
    """Whether a fix may edit the image's definition (not when it is one of the stdlib's)."""
    if image.span is None:
        return False
    return stdlib_root().resolve() not in Path(image.span.file).resolve().parents
