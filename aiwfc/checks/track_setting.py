"""A workflow's or site's `track` names a supported experiment tracker (AIWF702)."""

from __future__ import annotations

from aiwfc import codes
from aiwfc.checks.framework import Check, CheckContext, register
from aiwfc.ir import models as ir
from aiwfc.tracking import parse_track


@register
class TrackSetting(Check):
    """`track = "..."` on a workflow or a site says where runs are logged: `"mlflow"`
    (a local file store in the run directory), `"mlflow:URI"` (a tracking server or
    store) or `"none"` (no tracking, e.g. to opt a workflow out of its site's server).

    Checked before anything runs, because a misspelt tracker would otherwise be noticed
    only after a long campaign, when its experiment records are missing.

    Anti-pattern::

        workflow w { track = "mlfow" ... }

    Better::

        workflow w { track = "mlflow" ... }
    """

    codes = (codes.INVALID_TRACK,)
    visits = frozenset({"workflow", "site"})

    def visit_workflow(self, ctx: CheckContext, wf: ir.Workflow) -> None:
        self._check(ctx, wf, "workflow")

    def visit_site(self, ctx: CheckContext, site: ir.SiteProfile) -> None:
        self._check(ctx, site, "site")

    @staticmethod
    def _check(ctx: CheckContext, node: ir.Workflow | ir.SiteProfile, owner: str) -> None:
        if node.track is not None and parse_track(node.track) is None:
            ctx.report(codes.INVALID_TRACK, node.where("track") or node.where("name"),
                       owner=owner, name=node.name, value=node.track)
