"""Job-array formation for `foreach` phases."""

from __future__ import annotations

from aiwfc.plan.models import Plan
from aiwfc.plan.passes.base import Pass, PassContext
from aiwfc.plan.sizing import resize_array


class JobArrays(Pass):
    """Submits a scatter as job arrays instead of one job per task.

    Applies to every `per_task` job (a `foreach` phase, or a fused group of them): its
    tasks become one job array, split into ceil(tasks / max_array_size) submissions
    when the site limits array size, each with a throttle (`%N`) so that the job never
    has more than the site's `max_jobs` tasks running at once (the site's
    `max_array_size` when it sets no `max_jobs`), shared evenly by its submissions.
    A list known only at run time becomes an array submitted when the list is known.

    Leaves alone: jobs that do not scatter, the number of items per task (clustering
    and `batch` decide it) and dependencies (an element-wise dependency between two
    arrays of equal shape stays element-wise).
    """

    name = "job-arrays"
    level = 1
    moves_work = False
    summary = "one job array (split to the site's max array size, throttled) per foreach"

    def run(self, plan: Plan, ctx: PassContext) -> list[str]:
        decisions = []
        for job in plan.jobs:
            if job.kind != "per_task" or job.array is None:
                continue
            before = job.array.tasks
            resize_array(job, ctx.site_of(job), per_task=False)
            a = job.array
            count = f"{before:,} separate submissions" if a.count is not None else \
                f"separate submissions per run-time item (assumed {before:,})"
            split = f"{a.submissions:,} submission{'s' if a.submissions != 1 else ''}"
            limit = f" (max_array_size {a.max_array_size:,})" if a.submissions > 1 else ""
            throttle = f", at most {a.throttle:,} running per submission" if a.throttle else ""
            decisions.append(f"{job.id}: {count} -> a job array of {a.tasks:,} task{'s' if a.tasks != 1 else ''}"
                             f" in {split}{limit}{throttle}")
        return decisions
