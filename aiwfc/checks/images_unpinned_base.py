"""Base images without a pinned tag (AIWF801)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.images_support import used_images
from aiwfc.diagnostics import Applicability, Fix
from aiwfc.images import concerns, unpinned_reason
from aiwfc.ir import models as ir


def untagged(base: str) -> str:
    """The reference as written without its tag or digest (`python:latest` -> `python`)."""
    text = base.strip().split("@", 1)[0]
    head, _, last = text.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


@register
class UnpinnedBase(Check):
    """Containerise with pinned versions: a base image needs a release tag or a digest.

    Reported for an image the workflow uses (or defines) whose `from` has no tag, which
    Docker reads as `latest`, or a tag that moves (`latest`, `stable`, `nightly`, ...).
    A digest (`@sha256:...`) pins it whatever the tag. The fix is shown, not applied:
    only the author knows which release the workflow was tested with.

    Anti-pattern::

        image sim { from = "docker.io/library/python" }

    Better::

        image sim { from = "docker.io/library/python:3.11-slim" }
    """

    codes = (codes.UNPINNED_BASE,)
    visits = frozenset({"image"})

    def visit_image(self, ctx: CheckContext, image: ir.Image) -> None:
        if not concerns(ctx.workflow, image, used_images(ctx)):
            return
        reason = unpinned_reason(image.base)
        if reason is None:
            return
        name = untagged(image.base)
        fix = Fix(f"pin a release: `{name}:VERSION` or `{name}@sha256:DIGEST`", (), Applicability.DISPLAY_ONLY)
        ctx.report(codes.UNPINNED_BASE, image.where("from"), image=image.name, base=image.base,
                   detail=reason, fix=fix)
