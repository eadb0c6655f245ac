"""pip and conda packages without an exact version (AIWF802)."""

from __future__ import annotations

import re

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.checks.images_support import used_images
from aiwfc.images import concerns
from aiwfc.ir import models as ir

_PIP_EXACT = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*===?\s*[A-Za-z0-9][A-Za-z0-9.+!_-]*\s*(;.*)?$")
_PIP_DIRECT = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@\s*\S+")
_CONDA_EXACT = re.compile(r"^\s*([\w.-]+::)?[A-Za-z0-9][A-Za-z0-9._-]*\s*==?\s*[A-Za-z0-9][A-Za-z0-9.+_!-]*(=[\w.+-]+)?\s*$")


def pip_pinned(spec: str) -> bool:
    """`numpy==2.1.3` (also `===`, extras, markers) or a direct reference `pkg @ URL`."""
    return bool(_PIP_EXACT.match(spec) or _PIP_DIRECT.match(spec))


def conda_pinned(spec: str) -> bool:
    """`numpy=1.26.4`, `numpy==1.26.4`, `conda-forge::numpy=1.26.4=py311h...` (no `*`, no ranges)."""
    return bool(_CONDA_EXACT.match(spec))


@register
class UnpinnedPackage(Check):
    """CUDA, MPI and framework versions are pinned together: every pip and conda package
    of an image the workflow uses (or defines) needs an exact version.

    A pip package is pinned by `==VERSION` (or `===`) or by a direct reference
    (`pkg @ https://.../pkg-1.0.whl`); a conda package by `=VERSION` or `==VERSION`
    without wildcards or ranges. There is no fix: the right version is the one the
    workflow was tested with (`pip freeze` in a working environment shows it).

    Anti-pattern::

        image sim { from = "docker.io/library/python:3.11-slim"  pip = ["numpy"] }

    Better::

        image sim { from = "docker.io/library/python:3.11-slim"  pip = ["numpy==2.1.3"] }
    """

    codes = (codes.UNPINNED_PACKAGE,)
    visits = frozenset({"image"})

    def visit_image(self, ctx: CheckContext, image: ir.Image) -> None:
        if not concerns(ctx.workflow, image, used_images(ctx)):
            return
        for manager, specs, pinned in (("pip", image.pip, pip_pinned), ("conda", image.conda, conda_pinned)):
            for i, spec in enumerate(specs):
                if spec.strip() and not pinned(spec):
                    ctx.report(codes.UNPINNED_PACKAGE, image.where(f"{manager}[{i}]") or image.where(manager),
                               manager=manager, package=spec, image=image.name)
