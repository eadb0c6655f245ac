"""Images that need a newer CUDA than the site's GPU driver supports (AIWF804)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.images_support import builds, editable
from aiwfc.checks.support import add_attribute_fix, effective_site
from aiwfc.diagnostics import Applicability, Related
from aiwfc.images import version_key
from aiwfc.ir import models as ir


@register
class CudaNewerThanDriver(Check):
    """A container's CUDA must not be newer than what the site's GPU driver supports.

    Reported once per image and site, for an image used by a GPU phase, when the CUDA
    version it runs with (its `cuda`, or the version its `nvidia/cuda` base names) is
    newer, by major.minor, than the `cuda_driver` of the site the phase runs on. The
    fix lowers a declared `cuda` to the driver's version; it is unsafe, because the
    base and the framework wheels must be moved with it.

    Anti-pattern::

        image t { from = "docker.io/nvidia/cuda:12.8.1-runtime-ubuntu22.04"  cuda = "12.8" }
        # site cuda_driver = "12.4"

    Better::

        image t { from = "docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04"  cuda = "12.4" }
    """

    codes = (codes.CUDA_NEWER_THAN_DRIVER,)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        res = ctx.scope.resource_of(ph)
        if res is None or res.gpus == 0 or not ph.image:
            return
        site = effective_site(ctx, ph)
        build = builds(ctx).get(ph.image)
        if site is None or not site.cuda_driver or build is None or not build.cuda:
            return
        if version_key(build.cuda) <= version_key(site.cuda_driver):
            return
        seen = ctx.state.setdefault("cuda_driver_reported", set())
        if (build.name, site.name) in seen:
            return
        seen.add((build.name, site.name))
        image = build.image
        declared = build.cuda_from == "image"
        fix = None
        if declared and editable(image):
            fix = add_attribute_fix(ctx, image, "cuda", f'"{site.cuda_driver}"',
                                    f'use the CUDA the driver supports: `cuda = "{site.cuda_driver}"`',
                                    Applicability.UNSAFE)
        related = [Related(site.where("cuda_driver"), f"site `{site.name}`'s driver supports CUDA {site.cuda_driver}"),
                   Related(ph.where("image"), f"used by GPU phase `{ph.name}`")]
        ctx.report(codes.CUDA_NEWER_THAN_DRIVER, image.where("cuda" if declared else "from"), image=image.name,
                   cuda=image.cuda if declared else build.cuda, site=site.name, driver=site.cuda_driver,
                   fix=fix, related=related)
