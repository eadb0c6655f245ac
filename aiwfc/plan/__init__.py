"""The planner: a checked workflow lowered to an execution plan, then optimised.

`build_plan(comp, workflow, level=2, disabled=frozenset(), sink=None) -> PlanResult`
is the entry point; `PlanResult.plan` is what backends render (see `models` for the
Plan IR and spec/plan.md for the contract), `.baseline` the -O0 plan, `.steps` what
each pass decided and what it cost before and after.
"""

from aiwfc.plan.build import DEFAULT_SITE, PlanResult, build_plan, default_site
from aiwfc.plan.cost import Cost, plan_cost
from aiwfc.plan.models import Plan, PlanDependency, PlanJob
from aiwfc.plan.passes import PASS_NAMES, PASSES, PassStep

__all__ = ["build_plan", "PlanResult", "Plan", "PlanJob", "PlanDependency", "Cost", "plan_cost",
           "PASSES", "PASS_NAMES", "PassStep", "DEFAULT_SITE", "default_site"]
