"""The Slurm backend: batch scripts, `submit.sh`, `status.sh` and `cancel.sh` from the plan.

It renders the optimised plan (`ctx.plan.plan`), never the AST. The artefact tree:

    submit.sh, status.sh, cancel.sh   what a user runs on the login node
    lib.sh                            helpers and the submission functions (sourced)
    jobs/<job>.sbatch                 one batch script per plan job (a service and the
                                      clients sharing its allocation: one script)
    jobs/<job>.expand.sbatch          for jobs whose item count is known at run time
    jobs/<loop>.controller.sbatch     one per feedback loop
    jobs/wait.sbatch, jobs/stop-service.sbatch   sentinels, stopping a separate service
    jobs/aiwf_finish.sbatch           a tracked workflow's last job: status, crate, MLflow
    aiwf_task.py, aiwf_*.py           the shared task runtime (RUNTIME_MODULES)
    workflow.json                     its spec

How the pieces fit is described in `layout` (units, expanders, sentinels, controllers),
`scripts` (the batch scripts), `submission` (submit.sh and the submission functions),
`data_ops` (staging) and `tools` (status and cancel). Tasks run through the shared
runtime `aiwf_task.py`, as under Parsl, so both engines record runs identically.
"""

from __future__ import annotations

from aiwfc.backend import Artefacts, Backend, Capability, EmitContext
from aiwfc.plan.models import Plan
from aiwfc.tracking import resolve_track

from aiwfc_backends.runtime import RUNTIME_FILE, runtime_files
from aiwfc_backends.slurm.layout import build_layout
from aiwfc_backends.slurm.scripts import (FINISH_SCRIPT, ScriptContext, controller_script, expander_script,
                                          finish_script, job_script, script_path, sentinel_script, stopper_script)
from aiwfc_backends.slurm.submission import lib_text, submit_text
from aiwfc_backends.slurm.tools import cancel_text, status_text

__all__ = ["SlurmBackend", "sbatch_calls"]


def sbatch_calls(plan: Plan, items: dict[str, int] | None = None, iterations: dict[str, int] | None = None) -> int:
    """How many `sbatch` calls a run of the plan makes (for the report beside one job per task).

    `items` gives run-time item counts of dynamic jobs, `iterations` the iterations each
    loop runs; both default to the plan's own counts and one iteration."""
    layout = build_layout(plan)
    items, iterations = items or {}, iterations or {}
    total = 0

    def unit_calls(u) -> int:
        if u.dynamic:
            a = u.job.array
            n = items.get(u.id, a.estimate)
            tasks = -(-n // a.chunk)
            arrays = tasks if u.per_task else -(-tasks // a.max_array_size)
            return 2 + arrays
        if u.per_task:
            return u.job.array.tasks
        return u.job.submissions
    for kind, ident in layout.top:
        if kind == "unit":
            total += unit_calls(layout.units[ident])
        else:
            n = iterations.get(ident, 1)
            total += n * (sum(unit_calls(layout.units[u]) for u in layout.loop_units[ident]) + 1) + 1
    total += sum(1 for u in layout.units.values() if u.service is not None and not u.clients and u.loop is None)
    return total


class SlurmBackend(Backend):
    """Slurm batch scripts and submit/status/cancel scripts for one workflow."""

    name = "slurm"
    description = "Slurm batch scripts with submit.sh (dependencies, arrays, loop controllers), status.sh, cancel.sh"
    needs_plan = True
    capabilities = {
        "foreach": Capability.NATIVE,
        "arrays": Capability.NATIVE,
        "bundles": Capability.NATIVE,
        "fusion": Capability.NATIVE,
        "staging": Capability.NATIVE,
        "feedback_loops": Capability.EMULATED,
        "loop_carry": Capability.EMULATED,
        "spawn": Capability.EMULATED,
        "stop_running": Capability.EMULATED,
        "services": Capability.NATIVE,
        "gpus": Capability.NATIVE,
        "containers": Capability.NATIVE,
        "mpi": Capability.NATIVE,
        "distributed_training": Capability.NATIVE,
        "tracking": Capability.EMULATED,
        "retries": Capability.EMULATED,
        "conditional_when": Capability.EMULATED,
        "multi_site": Capability.EMULATED,
    }
    notes = {
        "feedback_loops": "a controller job after each iteration evaluates the condition (aiwf_task.py loop) "
                          "and submits the next iteration, up to the bound",
        "loop_carry": "carried values are written by the loop controller and read by the next iteration's tasks",
        "spawn": "the next iteration's array is sized by an expander job from the model's list",
        "stop_running": "the task runtime polls the stop rule and ends the task (state `stopped`); the array "
                        "task itself completes, so the jobs after it still run",
        "tracking": "each task's tracked values are recorded in its task.json and collected by status.sh; "
                    "a workflow with `track = \"mlflow\"` ends with a job that logs the run to MLflow",
        "retries": "the task runtime re-runs a failed command inside the same job",
        "conditional_when": "the task runtime evaluates `when` and records the task as skipped",
        "multi_site": "jobs bound to another site are submitted to the same Slurm controller with that "
                      "site's partition and limits; Slurm cannot wait across separate clusters",
    }

    def emit(self, ctx: EmitContext) -> Artefacts:
        plan: Plan = ctx.plan.plan
        sites = {s.name: s for s in ctx.comp.program.sites}
        sc = ScriptContext(plan, ctx.site, sites, ctx.workflow.name, ctx.source, ctx.source_name)
        layout = build_layout(plan)
        out = Artefacts()
        out.add("submit.sh", submit_text(sc, layout, len(layout.units)), executable=True)
        out.add("status.sh", status_text(sc.workflow, sc.source), executable=True)
        out.add("cancel.sh", cancel_text(sc.workflow, sc.source), executable=True)
        # a tracked workflow (compile's --track/--no-track, its `track`, else its site's):
        # the run's last job logs it to MLflow
        track = resolve_track(ctx.options.get("track"), ctx.workflow.track, ctx.site.track if ctx.site else None)
        out.add("lib.sh", lib_text(sc, layout, track))
        if track is not None:
            out.add(FINISH_SCRIPT, finish_script(sc, track[1]), executable=True)
        for unit in layout.units.values():
            out.add(script_path(unit.id), job_script(sc, unit), executable=True)
            if unit.dynamic:
                out.add(script_path(unit.id, "expand"), expander_script(sc, unit), executable=True)
        for lp in plan.loops:
            if layout.loop_units.get(lp.name):
                out.add(script_path(lp.name, "controller"), controller_script(sc, lp), executable=True)
        out.add(script_path("wait", ""), sentinel_script(sc), executable=True)
        if any(u.service is not None and not u.clients for u in layout.units.values()):
            out.add(script_path("stop-service", ""), stopper_script(sc), executable=True)
        for name, text in runtime_files(ctx).items():
            out.add(name, text, executable=name == RUNTIME_FILE)  # the other modules are imported by it
        return out
