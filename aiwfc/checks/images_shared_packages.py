"""Near-copies of one image (AIWF805)."""

from __future__ import annotations

from itertools import combinations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.images_support import builds
from aiwfc.diagnostics import Related
from aiwfc.ir import models as ir

_SHOWN = 4


def packages(image: ir.Image) -> list[str]:
    """The image's packages as `manager:spec`, in order (the identity compared)."""
    return [f"{m}:{p.strip()}" for m in ("apt", "conda", "pip") for p in getattr(image, m) if p.strip()]


@register
class SharedPackages(Check):
    """One shared image is built, stored and pulled once; near-copies multiply all three.

    Reported for two images the workflow uses that start from the same (effective) base
    when everything one installs, the other installs too (same package, same version):
    the larger one can serve the phases of both. Partial overlaps are not reported.
    Informational: there can be reasons for a smaller image (start-up time of many tasks).

    Anti-pattern::

        image sim { from = "docker.io/library/python:3.11-slim"  pip = ["numpy==2.1.3"] }
        image fit { from = "docker.io/library/python:3.11-slim"  pip = ["numpy==2.1.3", "scipy==1.14.1"] }

    Better::

        image common { from = "docker.io/library/python:3.11-slim"  pip = ["numpy==2.1.3", "scipy==1.14.1"] }
    """

    codes = (codes.SHARED_PACKAGES,)
    visits = frozenset({"end_workflow"})

    def visit_end_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        table = builds(ctx)
        for a, b in combinations(sorted(table), 2):
            ba, bb = table[a], table[b]
            pa, pb = packages(ba.image), packages(bb.image)
            if ba.base != bb.base or not pa or not pb:
                continue
            if set(pb) <= set(pa):
                small, big = b, a
            elif set(pa) <= set(pb):
                small, big = a, b
            else:
                continue
            shared = [p.split(":", 1)[1] for p in (pa if small == a else pb)]
            shown = ", ".join(shared[:_SHOWN]) + (f" and {len(shared) - _SHOWN} more" if len(shared) > _SHOWN else "")
            note = (f"`{big}` installs everything `{small}` does: the phases using `{small}` could use `{big}`"
                    if set(pa) != set(pb) else f"`{a}` and `{b}` are the same image: keep one")
            # reported at the image that could go (the second of two identical ones)
            other = a if small == b else b
            ctx.report(codes.SHARED_PACKAGES, self._anchor(ctx, table[small].image), a=a, b=b, packages=shown,
                       notes=[note], related=[Related(self._anchor(ctx, table[other].image), f"image `{other}`")])

    @staticmethod
    def _anchor(ctx: CheckContext, image: ir.Image):
        """The image's name when the root file defines it, else the first phase that uses it."""
        if image.span is not None and image.span.file == ctx.comp.path:
            return image.where("name")
        for ph in ctx.workflow.phases:
            if ph.image == image.name:
                return ph.where("image")
        return image.where("name")
