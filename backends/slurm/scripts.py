"""Batch scripts: one per plan job, plus the small jobs that make Slurm dynamic.

A compute job script asks for what the plan says (`directives.py`), works out which
items its scheduler task runs (`task = AIWF_TASK_OFFSET + SLURM_ARRAY_TASK_ID`, items
`[task*chunk, (task+1)*chunk)`; the runtime ignores indices past the item count and
reads the items from the phase's manifest), performs its data operations, and runs each
step through `aiwf_task.py run --range A:B` (a fused job runs its steps in turn over the
same items). Containers are the runtime's business: it wraps the command in `apptainer
exec` with the options `aiwfc.images` gives (`--nv` for GPU phases) and the `.sif` path
the Apptainer backend builds; the job adds scratch to the binds (`APPTAINER_BIND`).

A multi-node job exports the rendezvous (`MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`,
a hostfile) and `AIWF_LAUNCH`, the launcher prefix the runtime puts before the command:
torchrun (one agent per node through `srun`, c10d rendezvous on the first node), srun or
mpirun (one rank per task), deepspeed (its hostfile).
"""

from __future__ import annotations

from aiwfc.emitter import Emitter, bash_quote, header_lines, shell_env_value
from aiwfc.ir import models as ir
from aiwfc.plan.models import JobResources, LoopRegion, Plan, PlanJob

from aiwfc_backends.slurm.data_ops import render_data_ops
from aiwfc_backends.slurm.directives import array_range, resource_directives, slurm_memory
from aiwfc_backends.slurm.layout import Unit, safe_name

__all__ = ["ScriptContext", "job_script", "expander_script", "controller_script", "sentinel_script",
           "stopper_script", "script_path"]

#: What the helper jobs (expanders, controllers, sentinels) ask for: one core, briefly.
HELPER_MEMORY = 256 * 1024 * 1024
HELPER_TIME = 600


class ScriptContext:
    """What every script needs: the plan, the sites, the workflow name and the header source."""

    def __init__(self, plan: Plan, site: ir.SiteProfile | None, sites: dict[str, ir.SiteProfile],
                 workflow: str, source: str, names):
        self.plan, self.site, self.sites = plan, site, sites
        self.workflow, self.source, self.names = workflow, source, names

    def site_of(self, job: PlanJob) -> ir.SiteProfile | None:
        return self.sites.get(job.site, self.site) if job.site else self.site

    def emitter(self, title: str) -> Emitter:
        e = Emitter(names=self.names)
        e.line("#!/bin/bash")
        for text in header_lines(title, self.source):
            e.comment(text)
        return e

    def helper_resources(self) -> JobResources:
        default = None
        if self.site is not None:
            default = next((p.name for p in self.site.partitions if p.default), None)
        return JobResources(partition=default, cores=1, memory=HELPER_MEMORY, walltime=HELPER_TIME)


def script_path(unit_id: str, role: str = "job") -> str:
    """`jobs/<job>.sbatch`, `jobs/<job>.expand.sbatch`, `jobs/<loop>.controller.sbatch`, ..."""
    suffix = f".{role}" if role and role != "job" else ""
    return f"jobs/{safe_name(unit_id)}{suffix}.sbatch"


def _prologue(e: Emitter) -> None:
    e.line("set -euo pipefail")
    e.line(': "${AIWF_HOME:?submit this job with submit.sh (AIWF_HOME is not set)}"')
    e.line("# shellcheck source=/dev/null")
    e.line('source "$AIWF_HOME/lib.sh"')
    e.line("AIWF_ITERATION=${AIWF_ITERATION:-0}")
    e.line("export AIWF_ITERATION")


def job_script(sc: ScriptContext, unit: Unit) -> str:
    """The batch script of one unit (a plan job, or a service with its clients)."""
    if unit.clients:
        return _cosched_script(sc, unit)
    job = unit.job
    site = sc.site_of(job)
    e = sc.emitter(f"Slurm batch script of job `{job.id}` ({', '.join(job.phases) or job.role}) "
                   f"of workflow `{sc.workflow}`.")
    array = None
    if unit.single_submission_array:
        array = array_range(job.array.tasks, job.array.throttle)
    d = resource_directives(job.resources, site, job_name=f"{sc.workflow}.{job.id}", log_name=safe_name(job.id),
                            array=array, is_array=unit.is_array)
    e.extend(d.lines())
    for step in job.steps:
        if step.line:
            e.comment(f"phase {step.phase} from {sc.source}:{step.line}")
    if unit.dynamic:
        e.comment("the array range is set at submission by the expander, from the item count")
    elif unit.is_array and job.array.submissions > 1:
        e.comment(f"submitted as {job.array.submissions} arrays of at most {job.array.max_array_size} tasks "
                  "(AIWF_TASK_OFFSET says where each starts)")
    _prologue(e)
    chunk = job.array.chunk if job.array is not None else 1
    e.line("AIWF_TASK=$(( ${AIWF_TASK_OFFSET:-0} + ${SLURM_ARRAY_TASK_ID:-0} ))")
    e.line("export AIWF_TASK")
    if job.array is not None or job.workdir == "scratch":
        e.line(f"first=$(( AIWF_TASK * {chunk} ))")
        e.line(f"last=$(( first + {chunk} ))")
    e.line(f"aiwf_banner {bash_quote(job.id)}")
    if site is not None and site.modules:
        e.line("aiwf_modules " + " ".join(bash_quote(m) for m in site.modules))
    ops = [op for op in (sc.plan.data_op(i) for i in job.data_ops) if op is not None]
    needs_project = any(op.kind in ("aggregate", "stage_in") for op in ops)
    if needs_project:
        e.line("project=$(aiwf_project_dir)")
    if ops or job.workdir == "scratch":
        scratch = site.scratch if site is not None else "$TMPDIR"
        e.comment("node-local scratch, removed on exit (after staging task directories out)")
        e.line("set +u")
        e.line(f"scratch_root={_env_word(scratch)}")
        e.line("set -u")
        e.line('aiwf_scratch "$scratch_root"')
        e.line("trap 'aiwf_stage_out; rm -rf -- \"$AIWF_SCRATCH\"' EXIT")
    render_data_ops(e, sc.plan, [op for op in ops if op.when == "before"])
    if job.workdir == "scratch":
        for step in job.steps:
            e.line(f'aiwf_tasks_on_scratch {bash_quote(step.phase)} "$AIWF_ITERATION" "$first" "$last"')
    if job.distributed or job.resources.launcher != "none":
        _launcher(e, job.resources)
    if unit.service is not None and job.role == "service":
        _separate_service(e, job)
    for step in ([] if job.role == "service" and unit.service is not None else job.steps):
        e.comment(f"step: phase {step.phase} ({step.kind})")
        where = '--range "$first:$last"' if (step.items is not None or job.array is not None) else "--index 0"
        e.line(f'aiwf_task run --phase {bash_quote(step.phase)} --iteration "$AIWF_ITERATION" {where}')
    render_data_ops(e, sc.plan, [op for op in ops if op.when == "after"])
    return e.text()


def _separate_service(e: Emitter, job: PlanJob) -> None:
    """A service in its own job: the stop job's SIGTERM (scancel --full) is its normal end,
    so the batch shell passes it on and waits instead of dying of it."""
    e.comment(f"service {job.phases[0]}: runs until the stop job signals it (SIGTERM is its normal end)")
    e.line('python3 "$AIWF_HOME/aiwf_task.py" run --spec "$AIWF_HOME/workflow.json" --run "$AIWF_RUN" '
           f'--phase {bash_quote(job.phases[0])} --iteration "$AIWF_ITERATION" --index 0 &')
    e.line("service=$!")
    e.line("trap 'kill -TERM \"$service\" 2> /dev/null || true' TERM INT")
    e.line("rc=0")
    e.line('wait "$service" || rc=$?')
    e.line('while kill -0 "$service" 2> /dev/null; do')
    with e.indent():
        e.line("rc=0")
        e.line('wait "$service" || rc=$?')
    e.line("done")
    e.line('exit "$rc"')


def _env_word(text: str) -> str:
    """A site path that may name variables (`$TMPDIR`): those expand, nothing else does."""
    return shell_env_value(text)


def _launcher(e: Emitter, res: JobResources) -> None:
    """Rendezvous variables and the launcher prefix for a multi-node or launched job."""
    e.comment(f"distributed launch: {res.launcher} on {res.nodes} node(s) x {res.tasks_per_node} task(s)")
    e.line('mapfile -t nodes < <(scontrol show hostnames "${SLURM_JOB_NODELIST:-$(hostname)}")')
    e.line('MASTER_ADDR=${nodes[0]}')
    e.line("MASTER_PORT=$(( 29500 + ${SLURM_JOB_ID:-0} % 1000 ))")
    e.line(f"NNODES=${{SLURM_NNODES:-{res.nodes}}}")
    e.line(f"WORLD_SIZE=$(( NNODES * {res.tasks_per_node} ))")
    e.line("export MASTER_ADDR MASTER_PORT NNODES WORLD_SIZE")
    e.line('hostfile=$AIWF_RUN/logs/hosts.${SLURM_JOB_ID:-0}')
    e.line(f'printf "%s slots={res.tasks_per_node}\\n" "${{nodes[@]}}" > "$hostfile"')
    if res.launcher == "torchrun":
        e.line('AIWF_LAUNCH="srun --ntasks=$NNODES --ntasks-per-node=1 torchrun --nnodes=$NNODES '
               f'--nproc-per-node={res.tasks_per_node} --rdzv-id=${{SLURM_JOB_ID:-0}} --rdzv-backend=c10d '
               '--rdzv-endpoint=$MASTER_ADDR:$MASTER_PORT --no-python"')
    elif res.launcher == "deepspeed":
        e.line('AIWF_LAUNCH="deepspeed --hostfile=$hostfile --master_addr=$MASTER_ADDR '
               '--master_port=$MASTER_PORT --no_python"')
    elif res.launcher == "mpirun":
        e.line('AIWF_LAUNCH="mpirun -np $WORLD_SIZE --hostfile $hostfile"')
    elif res.launcher == "srun":
        e.line('AIWF_LAUNCH="srun --ntasks=$WORLD_SIZE --cpus-per-task=${SLURM_CPUS_PER_TASK:-1}"')
    else:
        e.line('AIWF_LAUNCH=""')
    e.line("export AIWF_LAUNCH")


def _cosched_script(sc: ScriptContext, unit: Unit) -> str:
    """A service and its clients in one allocation: the service as a background step,
    each client as a step beside it, the service told to stop after the last client."""
    svc, clients = unit.job, unit.clients
    members = [svc, *clients]
    site = sc.site_of(svc)
    e = sc.emitter(f"Slurm batch script of service `{svc.id}` co-scheduled with "
                   f"{', '.join(c.id for c in clients)} (workflow `{sc.workflow}`).")
    cores = max(m.resources.cores for m in members)
    memory = sum(m.resources.memory or 0 for m in members) or None
    res = svc.resources.model_copy(update={
        "memory": memory, "walltime": max(m.resources.walltime for m in members),
        "gpus": max(m.resources.gpus for m in members),
        "gpu_model": next((m.resources.gpu_model for m in members if m.resources.gpu_model), None),
        "nodes": max(m.resources.nodes for m in members)})
    d = resource_directives(res, site, job_name=f"{sc.workflow}.{svc.id}", log_name=safe_name(svc.id),
                            tasks=len(members), cores=cores)
    e.extend(d.lines())
    for m in members:
        for step in m.steps:
            if step.line:
                e.comment(f"phase {step.phase} from {sc.source}:{step.line}")
    _prologue(e)
    e.line("export AIWF_TASK=0")
    e.line(f"aiwf_banner {bash_quote(svc.id)}")
    if site is not None and site.modules:
        e.line("aiwf_modules " + " ".join(bash_quote(m) for m in site.modules))
    e.line('task=(python3 "$AIWF_HOME/aiwf_task.py" run --spec "$AIWF_HOME/workflow.json" --run "$AIWF_RUN" '
           '--iteration "$AIWF_ITERATION" --index 0)')
    e.comment(f"the service ({unit.service.coupling} coupling): one step in the background")
    step_name = f"{sc.workflow}.{svc.id}.service"
    e.line(_srun(svc) + f" --job-name={bash_quote(step_name)} \"${{task[@]}}\" --phase {bash_quote(svc.phases[0])} &")
    e.line("service=$!")
    e.line("rc=0")
    e.comment("the clients: steps beside it (they read the service's address when it is published)")
    e.line("pids=()")
    for c in clients:
        for step in c.steps:
            e.line(_srun(c) + f" \"${{task[@]}}\" --phase {bash_quote(step.phase)} &")
            e.line("pids+=($!)")
    e.line('for pid in "${pids[@]}"; do')
    with e.indent():
        e.line('wait "$pid" || rc=$?')
    e.line("done")
    e.comment("the last client has ended: the service stops (SIGTERM is its normal end)")
    e.comment("signal the service's step (a signal to srun itself would cancel the step outright)")
    e.line(f"step=$(squeue -h -s -j \"$SLURM_JOB_ID\" -o '%i %j' | awk -v n={bash_quote(step_name)} "
           "'$2 == n { print $1; exit }')")
    e.line('if [[ -n $step ]]; then')
    with e.indent():
        e.line('scancel --signal=TERM "$step"')
    e.line("else")
    with e.indent():
        e.line('kill -TERM "$service" 2> /dev/null || true')
    e.line("fi")
    e.line('wait "$service" || { s=$?; if (( rc == 0 )); then rc=$s; fi; }')
    e.line('exit "$rc"')
    return e.text()


def _srun(job: PlanJob) -> str:
    r = job.resources
    parts = ["srun", "--ntasks=1", f"--cpus-per-task={r.cores}", "--exact"]
    if r.memory:
        parts.append(f"--mem={slurm_memory(r.memory)}")
    if r.gpus:
        parts.append(f"--gres=gpu:{r.gpus}")
    return " ".join(parts)


def _helper(sc: ScriptContext, title: str, name: str, log: str) -> Emitter:
    e = sc.emitter(title)
    d = resource_directives(sc.helper_resources(), sc.site, job_name=f"{sc.workflow}.{name}", log_name=log)
    e.extend(d.lines())
    _prologue(e)
    return e


def expander_script(sc: ScriptContext, unit: Unit) -> str:
    """Counts a dynamic job's items and submits it as arrays of the right size, then
    points its sentinel (what dependents wait for) at them."""
    job = unit.job
    a = job.array
    e = _helper(sc, f"Expander of job `{job.id}` (workflow `{sc.workflow}`): sizes its array from the item count.",
                f"{job.id}.expand", f"{safe_name(job.id)}.expand")
    e.line(f'n=$(aiwf_task items --phase {bash_quote(unit.items_phase)} --iteration "$AIWF_ITERATION")')
    e.line(f"tasks=$(( (n + {a.chunk} - 1) / {a.chunk} ))")
    e.line(f'echo "aiwf: {job.id} iteration $AIWF_ITERATION: $n item(s) in $tasks task(s)"')
    e.line(f'sentinel=$(aiwf_lookup {bash_quote(job.id)} "$AIWF_ITERATION" sentinel)')
    e.line('ids=""')
    e.line("offset=0")
    e.line("while (( offset < tasks )); do")
    with e.indent():
        if unit.per_task:
            e.line("size=1")
            e.line("range=()")
        else:
            e.line(f"size=$(( tasks - offset < {a.max_array_size} ? tasks - offset : {a.max_array_size} ))")
            throttle = f"%{a.throttle}" if a.throttle else ""
            e.line(f'range=(--array="0-$(( size - 1 )){throttle}")')
        e.line(f'id=$(AIWF_TASK_OFFSET=$offset aiwf_sbatch {bash_quote(job.id)} "$AIWF_ITERATION" array "" '
               f'"$AIWF_HOME/{script_path(job.id)}" "${{range[@]}}")')
        e.line('ids=${ids:+$ids:}$id')
        e.line("offset=$(( offset + size ))")
    e.line("done")
    e.line('if [[ -n $ids && -n $sentinel ]]; then')
    with e.indent():
        e.line('aiwf_redirect "$sentinel" "afterok:$ids"')
    e.line("fi")
    return e.text()


def controller_script(sc: ScriptContext, loop: LoopRegion) -> str:
    """After iteration K of a loop: decide, and submit iteration K+1 (bounded) or finish."""
    fn = f"aiwf_submit_loop_{safe_name(loop.name)}"
    e = _helper(sc, f"Controller of feedback loop `{loop.name}` (workflow `{sc.workflow}`): runs after each "
                    "iteration's jobs, decides whether the next one runs and submits it.",
                f"{loop.name}.controller", f"{safe_name(loop.name)}.controller")
    e.line(f'decision=$(aiwf_task loop --loop {bash_quote(loop.name)} --iteration "$AIWF_ITERATION")')
    e.line(f'echo "aiwf: loop {loop.name} iteration $AIWF_ITERATION: $decision"')
    e.line('if [[ $decision != continue ]]; then')
    with e.indent():
        e.line("exit 0")
    e.line("fi")
    e.line("next=$(( AIWF_ITERATION + 1 ))")
    e.line(f"if (( next >= {loop.max_iterations} )); then")
    with e.indent():
        e.line(f'echo "aiwf: loop {loop.name} reached its bound of {loop.max_iterations} iterations"')
        e.line("exit 0")
    e.line("fi")
    e.line(f'{fn} "$next"')
    e.line(f'tail=$(aiwf_lookup {bash_quote(loop.name)} 0 tail)')
    e.line('aiwf_redirect "$tail" "afterok:$AIWF_CONTROLLER"')
    return e.text()


def sentinel_script(sc: ScriptContext) -> str:
    """A no-op job that others wait for; its own dependency is moved as the run unfolds."""
    e = _helper(sc, f"Sentinel of workflow `{sc.workflow}`: a job that does nothing, which later jobs wait for "
                    "while an expander or a loop controller decides what they really wait for.",
                "wait", "wait")
    e.line('echo "aiwf: ${SLURM_JOB_NAME:-wait} reached"')
    return e.text()


def stopper_script(sc: ScriptContext) -> str:
    """Stops a service that runs in its own job once its clients have ended."""
    e = _helper(sc, f"Stops a separately placed service of workflow `{sc.workflow}` after its clients ended.",
                "stop-service", "stop-service")
    e.line(': "${AIWF_SERVICE_JOB:?}"')
    e.line('scancel --full --signal=TERM "$AIWF_SERVICE_JOB"')
    return e.text()


FINISH_SCRIPT = script_path("aiwf_finish", "")


def finish_script(sc: ScriptContext, uri: str | None) -> str:
    """The run's last job, for a tracked workflow: once every other job has ended (however),
    it summarises the run (status.sh --crate: RUN/run.json and the RO-Crate) and logs it to
    MLflow where the run happened, so a Slurm run is tracked without a step on the login
    node. Where python3 cannot import aiwfc (or mlflow), it says so in its log and the task
    records remain; its exit status is 0 either way (a record, not part of the outcome)."""
    e = _helper(sc, f"Last job of a run of workflow `{sc.workflow}`: summarises the run, writes its RO-Crate and "
                    "logs it to MLflow once every other job has ended.", "finish", "aiwf_finish")
    e.line('"$AIWF_HOME/status.sh" --crate "$AIWF_RUN" || true')
    e.line("if python3 -c 'import aiwfc.tracking' 2> /dev/null; then")
    with e.indent():
        target = f' {bash_quote(uri)}' if uri else ""
        e.line(f'python3 -m aiwfc.tracking "$AIWF_RUN"{target} || '
               'echo "aiwf: logging the run to MLflow failed; the task records remain" >&2')
    e.line("else")
    with e.indent():
        e.line('echo "aiwf: no MLflow tracking: python3 cannot import aiwfc here '
               '(pip install \'aiwfc[track]\'); the task records remain"')
    e.line("fi")
    return e.text()
