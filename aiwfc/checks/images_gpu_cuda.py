"""GPU phases in images without (the right) CUDA (AIWF803)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.images_support import builds, editable
from aiwfc.checks.support import add_attribute_fix
from aiwfc.diagnostics import Applicability, Fix, Related
from aiwfc.images import CUDA_RELEASES, cuda_problem
from aiwfc.ir import models as ir


@register
class GpuImageWithoutCuda(Check):
    """A phase that asks for GPUs must run in an image with the CUDA it was built for.

    Reported at the phase's `image` when its resource class has `gpus > 0` and the
    image (after the CUDA rule of `aiwfc.images`: a plain `ubuntu:YY.MM` base moves to
    the matching `nvidia/cuda` base) has no CUDA; when it declares a `cuda` that its
    base does not provide; or when the CUDA version had to be taken from the site's
    driver because the image declares none (the fix then declares it).

    Anti-pattern::

        image sim { from = "docker.io/library/python:3.11-slim" }
        training fit { image = sim  resources = gpu_task ... }

    Better::

        image sim { from = "docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04"  cuda = "12.4" ... }
    """

    codes = (codes.GPU_IMAGE_WITHOUT_CUDA,)
    visits = frozenset({"phase"})

    def visit_phase(self, ctx: CheckContext, ph: ir.Phase) -> None:
        res = ctx.scope.resource_of(ph)
        if res is None or res.gpus == 0 or not ph.image:
            return
        build = builds(ctx).get(ph.image)
        problem = cuda_problem(build) if build is not None else None
        if problem is None:
            return
        detail, note = problem
        image = build.image
        fix = None
        if build.cuda_from == "site" and editable(image):
            fix = add_attribute_fix(ctx, image, "cuda", f'"{build.cuda}"',
                                    f'declare the CUDA it is built for: `cuda = "{build.cuda}"`')
        elif build.cuda is None:
            cuda = (ctx.site.cuda_driver if ctx.site and ctx.site.cuda_driver else "12.4")
            release = CUDA_RELEASES.get(cuda, cuda)
            fix = Fix(f'start from a CUDA base such as `docker.io/nvidia/cuda:{release}-runtime-ubuntu22.04` '
                      f'and declare `cuda = "{cuda}"`', (), Applicability.DISPLAY_ONLY)
        ctx.report(codes.GPU_IMAGE_WITHOUT_CUDA, ph.where("image"), phase=ph.name, image=image.name,
                   detail=detail, fix=fix, notes=[note] if note else [],
                   related=[Related(image.where("from"), f"image `{image.name}` starts from `{image.base}`")])
