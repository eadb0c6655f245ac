"""The plan as text for people: jobs, dependencies, data movement, loops, services, and
what each pass changed with its cost before and after (`aiwfc plan [--explain]`).

Plain text with aligned columns, deterministic (no timings, no colours), so the CLI's
output can be asserted exactly and diffed between two runs of the planner.
"""

from __future__ import annotations

from aiwfc.ir.units import format_duration, format_size
from aiwfc.plan.build import PlanResult
from aiwfc.plan.cost import FIGURES, Cost
from aiwfc.plan.models import Plan, PlanJob
from aiwfc.syntax.ast import unparse

_DEP = {"all_of": "all-of", "elementwise": "element-wise", "after_any": "after-any"}


def figure(name: str, value) -> str:
    """One cost figure in its unit (bytes, hours, a duration, a count)."""
    if name == "shared_fs_bytes":
        return format_size(value)
    if name == "critical_path_s":
        return format_duration(round(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned first column, right-aligned others."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def cost_table(before: Cost, after: Cost, titles: tuple[str, str]) -> list[str]:
    rows = [["figure", titles[0], titles[1]]]
    for name, title in FIGURES:
        rows.append([title, figure(name, getattr(before, name)), figure(name, getattr(after, name))])
    return table(rows)


def _tasks(job: PlanJob) -> str:
    a = job.array
    if a is None:
        return "1 task"
    items = f"{a.estimate:,} items" if a.count is not None else f"~{a.estimate:,} items (known at run time)"
    chunk = f", {a.chunk} per task" if a.chunk > 1 else ""
    if job.kind == "per_task":
        return f"{items}{chunk}: {a.tasks:,} separate jobs"
    throttle = f", %{a.throttle:,}" if a.throttle else ""
    subs = f"{a.submissions:,} submission{'s' if a.submissions != 1 else ''}"
    return f"{items}{chunk}: array of {a.tasks:,} tasks in {subs}{throttle}"


def _request(job: PlanJob) -> str:
    r = job.resources
    parts = [f"partition {r.partition}" if r.partition else "no partition"]
    if r.nodes > 1:
        parts.append(f"{r.nodes} nodes")
    parts.append(f"{r.cores * r.tasks_per_node} core{'s' if r.cores * r.tasks_per_node != 1 else ''}")
    if r.memory:
        parts.append(format_size(r.memory))
    if r.gpus:
        parts.append(f"{r.gpus} GPU{'s' if r.gpus != 1 else ''}")
    parts.append(format_duration(r.walltime))
    if r.launcher != "none":
        parts.append(f"launcher {r.launcher}")
    return ", ".join(parts)


def render_plan(plan: Plan) -> list[str]:
    """The plan's jobs, dependencies, data operations, loops and services."""
    passes = ", ".join(plan.passes) or "none applied"
    lines = [f"plan of workflow `{plan.workflow}` on site `{plan.site}` (-O{plan.level}; passes: {passes})", "",
             "jobs:"]
    for job in plan.jobs:
        where = f" [loop {job.loop}]" if job.loop else ""
        site = f" [site {job.site}]" if job.site else ""
        lines.append(f"  {job.id} ({job.role}, {job.kind}{', distributed' if job.distributed else ''}){where}{site}")
        lines.append(f"    {_tasks(job)}; {_request(job)}; workdir {job.workdir}")
        for step in job.steps:
            items = f" over {step.items.var} in {unparse(step.items.source)}" if step.items else ""
            lines.append(f"    step {step.phase} ({step.kind}){items}, {format_duration(step.runtime)} per item"
                         f" ({step.runtime_source})")
        for op_id in job.data_ops:
            lines.append(f"    data {op_id}")
    if plan.dependencies:
        lines += ["", "dependencies:"]
        lines += [f"  {d.source} -> {d.target} ({_DEP[d.kind]})" for d in plan.dependencies]
    if plan.data_ops:
        lines += ["", "data movement:"]
        for op in plan.data_ops:
            size = f", {format_size(op.bytes)}" if op.bytes is not None else ""
            files = f", {op.files:,} file{'s' if op.files != 1 else ''}" if op.files is not None else ""
            lines.append(f"  {op.kind} by {op.job} {op.when}, once per {op.per}: {op.source} -> {op.target}"
                         f"{size}{files}")
    if plan.loops:
        lines += ["", "loops:"]
        for loop in plan.loops:
            cond = f"{loop.condition_kind} {unparse(loop.condition)}" if loop.condition is not None else "no condition"
            lines.append(f"  {loop.name}: jobs {', '.join(loop.jobs)}; {cond}; at most {loop.max_iterations} "
                         f"iteration{'s' if loop.max_iterations != 1 else ''}")
            lines += [f"    next {c.target} = {unparse(c.value)}" for c in loop.carries]
            lines += [f"    stop {s.phase} when {unparse(s.when)}" for s in loop.stops]
    if plan.services:
        lines += ["", "services:"]
        for svc in plan.services:
            clients = ", ".join(svc.clients) or "no clients"
            lines.append(f"  {svc.service} (job {svc.job}, {svc.coupling}, {svc.placement}): clients {clients}")
    return lines


def render_result(result: PlanResult, explain: bool) -> str:
    """What `aiwfc plan` prints: the plan, its cost against -O0, and with `explain` each
    pass's decisions, the alternatives it refused and its before/after cost table."""
    plan = result.plan
    lines = render_plan(plan)
    lines += ["", f"cost (loops counted {', '.join(f'{l.max_iterations}x' for l in plan.loops) or 'once'}"
                  f"{'; some counts are estimates' if result.cost.estimated else ''}):"]
    lines += cost_table(result.baseline_cost, result.cost, ("-O0", f"-O{plan.level}"))
    if explain:
        lines += ["", "passes:"]
        for step in result.steps:
            status = "applied" if step.applied else step.skipped or "no change"
            lines.append(f"  {step.name} (-O{step.level}): {status}")
            lines += [f"    - {d}" for d in step.decisions]
            lines += [f"    (kept) {n}" for n in step.notes]
            if step.applied and step.before is not None and step.after is not None:
                lines += ["  " + row for row in cost_table(step.before, step.after, ("before", "after"))]
        estimates = [(j.id, s.items.estimate_reason) for j in plan.jobs for s in j.steps
                     if s.items is not None and s.items.estimate_reason != "static"]
        if estimates:
            lines += ["", "estimates:"]
            lines += [f"  {job}: {why}" for job, why in estimates]
    if result.site_note:
        lines += ["", f"note: {result.site_note}"]
    return "\n".join(lines) + "\n"
