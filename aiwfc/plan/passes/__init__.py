"""The optimisation passes and the pass manager.

Passes run in a fixed order, because each relies on what the earlier ones decided:

1. `job-arrays` (-O1) — one throttled job array per scatter, split to max_array_size;
2. `fusion` (-O2) — straight one-to-one chains on one resource class become one job
   (before clustering, so a fused job is bundled by its total per-item runtime);
3. `clustering` (-O2) — bundle short tasks up to the site's cluster_target;
4. `aggregation` (-O2) — many-small-file datasets as one archive (before staging, which
   then leaves those datasets alone);
5. `staging` (-O2) — read-many datasets to node-local scratch, results staged out;
6. `transitive-reduction` (-O1) — after every pass that adds or merges dependencies;
7. `partition-choice` (-O1) — last, when walltimes and requests are final.

-O0 runs none (the naive plan), -O1 the safe ones (they change how jobs are submitted
and ordered, never what a job runs or where its data lives), -O2 all of them;
`--disable-pass NAME` removes one from any level. The manager measures the cost model
before and after each pass and records the pass's decisions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiwfc.plan.cost import Cost, plan_cost
from aiwfc.plan.models import Plan
from aiwfc.plan.passes.aggregation import Aggregation
from aiwfc.plan.passes.base import Pass, PassContext
from aiwfc.plan.passes.clustering import Clustering
from aiwfc.plan.passes.fusion import Fusion
from aiwfc.plan.passes.job_arrays import JobArrays
from aiwfc.plan.passes.partition_choice import PartitionChoice
from aiwfc.plan.passes.staging import Staging
from aiwfc.plan.passes.transitive_reduction import TransitiveReduction
from aiwfc.plan.relink import relink

PASSES: tuple[type[Pass], ...] = (JobArrays, Fusion, Clustering, Aggregation, Staging, TransitiveReduction,
                                  PartitionChoice)
PASS_NAMES: tuple[str, ...] = tuple(p.name for p in PASSES)
LEVELS = (0, 1, 2)


@dataclass
class PassStep:
    """What one pass did: whether it ran, changed the plan, why, and the cost around it."""

    name: str
    level: int
    enabled: bool
    applied: bool = False
    decisions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    before: Cost | None = None
    after: Cost | None = None
    skipped: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "level": self.level, "enabled": self.enabled, "applied": self.applied,
                "skipped": self.skipped, "decisions": list(self.decisions), "notes": list(self.notes),
                "before": self.before.to_json() if self.before else None,
                "after": self.after.to_json() if self.after else None}


def run_passes(plan: Plan, ctx: PassContext, level: int, disabled: frozenset[str],
               measure: bool = True, initial: Cost | None = None) -> list[PassStep]:
    """Runs the passes `level` enables, minus `disabled`, on `plan` in place.

    `initial` is `plan`'s cost when the caller has it already (`build_plan` measures
    the -O0 baseline, which `plan` still is): a full evaluation less per plan.
    """
    steps = []
    cost = (initial if initial is not None else plan_cost(plan)) if measure else None
    for cls in PASSES:
        step = PassStep(cls.name, cls.level, enabled=cls.level <= level and cls.name not in disabled)
        steps.append(step)
        if not step.enabled:
            step.skipped = "disabled by --disable-pass" if cls.name in disabled else f"needs -O{cls.level}"
            continue
        started = time.perf_counter()
        ctx.notes = step.notes
        step.decisions = cls().run(plan, ctx)
        if step.decisions and cls.moves_work and not cls.relinks_itself:
            relink(plan, ctx.facts)
        step.seconds = time.perf_counter() - started
        step.before = cost
        if step.decisions and measure:
            cost = plan_cost(plan)
        step.after = cost
        step.applied = bool(step.decisions)
        if step.applied:
            plan.passes.append(cls.name)
    plan.level = level
    return steps

