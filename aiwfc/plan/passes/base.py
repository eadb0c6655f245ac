"""What a pass is: a named, levelled transformation of a plan that says what it decided.

A pass module holds one `Pass` subclass whose docstring states what it does, when it
applies and what it leaves alone (`aiwfc plan --explain` and spec/plan.md refer to it). `run` changes the plan in
place and returns its decisions, one sentence each with the reason ("bundled 400
tasks of md into 20 array tasks of 20 items because runtime 30s < cluster_target
10m"); what it considered and refused goes to `ctx.note` ("kept md -> fit apart:
resource classes differ"). A pass that returns no decision did not change the plan.
A pass must keep the plan's semantics: every task still runs exactly once per
iteration, after everything it depends on (tests/plan/test_semantics.py checks it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.plan.facts import WorkflowFacts
from aiwfc.plan.models import Plan, PlanJob


@dataclass
class PassContext:
    """What a pass may consult: the workflow's facts, the site(s) and the diagnostic sink."""

    facts: WorkflowFacts
    site: ir.SiteProfile
    sink: DiagnosticSink
    sites: dict[str, ir.SiteProfile]
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Records why the running pass left something alone (shown by --explain)."""
        self.notes.append(text)

    def site_of(self, job: PlanJob) -> ir.SiteProfile:
        """The site a job runs on: its phases' own `site = NAME` when known, else the plan's."""
        return self.sites.get(job.site, self.site) if job.site else self.site

    def stopped_phases(self) -> set[str]:
        """Phases a loop's `stop` rule may end while they run (their tasks must stay separate)."""
        return {s.phase for fb in self.facts.workflow.feedbacks for s in fb.stop}


class Pass(ABC):
    """Base class of passes (see the module docstring)."""

    name: ClassVar[str] = ""
    level: ClassVar[int] = 1
    summary: ClassVar[str] = ""
    #: True when `run` already calls `relink` after changing the plan (the manager then
    #: does not repeat it: relink is the costliest step on 10,000-job plans).
    relinks_itself: ClassVar[bool] = False
    #: False for a pass that changes only how jobs are submitted or which edges are kept
    #: (array shape, partition, redundant dependencies): nothing `relink` derives changes.
    moves_work: ClassVar[bool] = True

    @abstractmethod
    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        """Changes `plan` in place; returns one line per decision (shown by --explain)."""


def max_walltime(site: ir.SiteProfile) -> int | None:
    """The longest walltime any partition of the site allows (None: no limit known)."""
    if not site.partitions or site.scheduler == "local":
        return None
    limits = [p.max_walltime for p in site.partitions]
    return None if any(v is None for v in limits) else max(limits)
