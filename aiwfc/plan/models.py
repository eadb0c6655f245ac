"""The execution plan: what every backend renders, without looking at the AST or the IR.

A `Plan` is the lowered, optionally optimised form of one workflow on one site:

* `jobs` — scheduler jobs. Every phase runs in exactly one job; a job runs one or more
  `steps` (a fused job runs several phases in sequence, each step over the same
  items). A job that scatters (a `foreach`) has an `array` spec: its items are cut into
  chunks of `array.chunk` consecutive items, one *scheduler task* per chunk, and
  `kind` says how those tasks are submitted: `per_task` (one submission each, the naive
  -O0 form, kept as one `PlanJob` however many items there are) or `array` (job arrays
  of at most the site's `max_array_size` tasks, `array.submissions` of them, each run
  with `%throttle`). A `single` job is one submission running its steps once.
  Scheduler task `t` of a job runs items `[t*chunk, min((t+1)*chunk, count))`; inside
  it, each step in order runs every item of the chunk in order. `distributed` marks a
  multi-node job (its `resources.launcher` starts the ranks).
* `dependencies` — between jobs: `all_of` (every task of `source` succeeded before any
  task of `target` starts), `elementwise` (task `t` of `target` after task `t` of
  `source`; both arrays have the same item space and chunk, Slurm's `aftercorr`) and
  `after_any` (after `source` ended however it ended: clean-up).
* `data_ops` — data movement, each performed by one job (`job`) `before` or `after`
  its steps, once per scheduler task: stage a dataset in to node-local scratch, stage
  outputs out to the shared file system, unpack an archive, build an archive of a
  many-small-file dataset (`aggregate`, in a data job of its own), delete it (`cleanup`).
* `loops` — feedback-loop regions: the jobs of the body run once per iteration, an
  iteration starts after the previous one ended, and the loop ends when its condition
  says so or after `max_iterations`. Dependencies between two jobs of one loop hold
  within an iteration; from outside into a loop they hold for every iteration; from a
  loop to outside, after its last iteration.
* `services` — long-running service jobs and the client jobs they are coupled with.

Expressions (commands, conditions, foreach sources, carried values) are the IR's own
expression objects, kept for backends to compile to their target language; in JSON
they are aiwf text. Every list is in a deterministic order: jobs in dependency order,
then source order; dependencies by (source, target) job order.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from aiwfc.ir.fields import Expression, TemplateText, TypeText

__all__ = [
    "PlanModel", "PlanDataset", "ItemSpace", "PortSource", "PortBinding", "DatasetUse", "OutputSpec", "JobStep",
    "JobResources", "ArraySpec", "PlanJob", "PlanDependency", "DataOp", "LoopCarryPlan", "StopPlan",
    "LoopRegion", "ServiceBinding", "Plan", "PLAN_FORMAT",
]

PLAN_FORMAT = "aiwf-plan/1"


class PlanModel(BaseModel):
    """Base of the plan models: strict keys, IR expression objects allowed inside."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class ItemSpace(PlanModel):
    """What a `foreach` iterates: a count known now, or a list known only at run time.

    `root` names the phase whose items these are: a phase that scatters over another
    scatter's per-item output (`foreach t in md.traj`) shares md's items one to one, so
    both have root `md` and the same count. `count` is None when the list is known only
    at run time (`from_port` says whose output decides it); `carried_from` is set when
    a feedback loop replaces the list for the next iteration (`next md.seed = ...`), in
    which case `count` holds for the first iteration only. `estimate` is the count the
    cost model uses, with the reason in `estimate_reason`.
    """

    var: str
    source: Expression
    root: str
    count: Optional[int] = None
    from_port: Optional[str] = Field(None, description="PHASE.PORT whose run-time value lists the items")
    carried_from: Optional[str] = Field(None, description="loop-carried value replacing the list next iteration")
    estimate: int
    estimate_reason: str = "static"
    per_item_dataset: Optional[str] = Field(None, description="the dataset whose files are the items")


class PlanDataset(PlanModel):
    """A dataset some step reads, with the data-gravity hints the plan was made from.

    `path` is as written (relative paths are relative to the project directory, the
    directory of the root file), so that `${name}` can be rendered without the IR.
    """

    name: str
    path: str
    tier: str = "shared"
    size: Optional[int] = None
    files: Optional[int] = None
    format: Optional[str] = None
    access: Optional[str] = None
    stage: Optional[str] = None
    version: Optional[str] = None


class PortSource(PlanModel):
    """One producer output an input reads, and how: one value, one per item, or all of them."""

    phase: str
    port: str
    job: str
    mode: Literal["single", "elementwise", "gather"]
    location: Literal["shared", "scratch"] = "shared"


class PortBinding(PlanModel):
    """An input of a step (or its `foreach` source, `when` guard or a reference in its
    command) and the producer outputs it is bound to."""

    input: str = Field(description="input port name, or `foreach`, `when`, `command`")
    expr: Optional[Expression] = None
    sources: list[PortSource] = []


class DatasetUse(PlanModel):
    """A dataset a step reads: whole (`${ds}` in the command) or one file per item."""

    dataset: str
    mode: Literal["whole", "per_item"]
    location: Literal["shared", "scratch"] = "shared"
    via_archive: bool = False


class OutputSpec(PlanModel):
    """An output port: where the task writes it and whether it leaves the job.

    `path` is the port's file/dir path template relative to the task directory (None
    for a value port, written as `<port>.json`). `location` is `scratch` when every
    reader is a later step of the same job (a fused intermediate), else `shared`.
    """

    port: str
    type: TypeText
    path: Optional[TemplateText] = None
    bytes: int
    files: int = 1
    location: Literal["shared", "scratch"] = "shared"
    tracked: bool = False


class JobStep(PlanModel):
    """One phase's work inside a job."""

    phase: str
    kind: str
    line: Optional[int] = Field(None, description="line of the phase in its source file")
    items: Optional[ItemSpace] = Field(None, description="None: the phase runs once")
    command: Optional[TemplateText] = None
    image: Optional[str] = None
    resource_class: Optional[str] = None
    env: dict[str, str] = {}
    when: Optional[Expression] = None
    uses: list[str] = []
    inputs: list[PortBinding] = []
    datasets: list[DatasetUse] = []
    outputs: list[OutputSpec] = []
    track: list[str] = []
    gpus: int = Field(0, description="GPUs per node the phase's own resource class asks for")
    runtime: int = Field(description="estimated seconds per item")
    runtime_source: Literal["declared", "walltime", "default"] = "declared"
    retries: int = 0


class JobResources(PlanModel):
    """What one scheduler task of the job asks for (after partition choice)."""

    partition: Optional[str] = None
    nodes: int = 1
    tasks_per_node: int = 1
    cores: int = Field(1, description="cores per task")
    memory: Optional[int] = Field(None, description="bytes per node")
    gpus: int = Field(0, description="GPUs per node")
    gpu_model: Optional[str] = None
    walltime: int = Field(description="seconds, from runtime estimates x items per task x margin")
    launcher: str = "none"
    exclusive: bool = False


class ArraySpec(PlanModel):
    """How a scattering job's items become scheduler tasks and submissions."""

    count: Optional[int] = Field(None, description="items; None when known at run time")
    estimate: int = Field(description="items the cost model assumes")
    chunk: int = Field(1, description="consecutive items per scheduler task")
    tasks: int = Field(description="scheduler tasks: ceil(estimate / chunk)")
    throttle: Optional[int] = Field(None, description="max tasks of one submission running at once (%N)")
    max_array_size: int
    submissions: int = Field(description="scheduler submissions for all tasks")
    user_batch: bool = Field(False, description="chunk set by the workflow's `batch`")


class PlanJob(PlanModel):
    """One scheduler job (see the module docstring for kinds and the task layout)."""

    id: str
    role: Literal["compute", "service", "data", "cleanup"] = "compute"
    kind: Literal["single", "array", "per_task"] = "single"
    distributed: bool = False
    steps: list[JobStep] = []
    array: Optional[ArraySpec] = None
    resources: JobResources
    retries: int = 0
    workdir: Literal["shared", "scratch"] = "shared"
    data_ops: list[str] = Field([], description="ids of the data operations this job performs")
    loop: Optional[str] = None
    site: Optional[str] = Field(None, description="another site this job runs on (federation)")

    @property
    def phases(self) -> list[str]:
        return [s.phase for s in self.steps]

    @property
    def submissions(self) -> int:
        if self.array is not None:
            return self.array.submissions
        return 1

    @property
    def tasks(self) -> int:
        """Scheduler tasks (array tasks or separate jobs) per run of the job."""
        return self.array.tasks if self.array is not None else 1


class PlanDependency(PlanModel):
    """`target` waits for `source`; `ports` says which data causes it."""

    kind: Literal["all_of", "elementwise", "after_any"]
    source: str
    target: str
    ports: list[str] = []


class DataOp(PlanModel):
    """A data movement performed by `job` before or after its steps.

    Locations are symbolic: `shared:<path>` (the dataset's path, or the run directory
    `run/<phase>/` for outputs), `scratch:<name>` (node-local scratch of the task),
    `archive:<dataset>.tar` (on the shared file system, under the run directory).
    `per` says how often it happens: once per scheduler task, or once per job.
    """

    id: str
    kind: Literal["stage_in", "stage_out", "aggregate", "unpack", "cleanup"]
    job: str
    when: Literal["before", "after"]
    dataset: Optional[str] = None
    phase: Optional[str] = None
    ports: list[str] = []
    source: str
    target: str
    bytes: Optional[int] = None
    files: Optional[int] = None
    per: Literal["task", "job"] = "task"


class LoopCarryPlan(PlanModel):
    """`next md.seed = score.next_seeds`, with the job that receives it."""

    target: str
    value: Expression
    job: Optional[str] = None


class StopPlan(PlanModel):
    """`stop md when md.progress < 0.1`, with the job whose tasks are stopped."""

    phase: str
    job: Optional[str] = None
    when: Expression


class LoopRegion(PlanModel):
    """A feedback loop: which jobs iterate, until when, at most how often."""

    name: str
    jobs: list[str]
    phases: list[str]
    condition: Optional[Expression] = None
    condition_kind: Literal["until", "while", "none"] = "none"
    max_iterations: int
    max_iterations_expr: Optional[Expression] = None
    carries: list[LoopCarryPlan] = []
    stops: list[StopPlan] = []


class ServiceBinding(PlanModel):
    """A service job co-scheduled with its clients.

    `placement` follows the coupling: tight -> `same_node` (started beside each client,
    in its allocation), semi -> `same_allocation` (one instance, started before the
    clients and stopped after the last of them ends), loose -> `separate` (its own job,
    possibly elsewhere). Clients read `${svc.address}`.
    """

    service: str
    job: str
    clients: list[str] = []
    client_phases: list[str] = []
    coupling: Literal["tight", "semi", "loose"] = "semi"
    placement: Literal["same_node", "same_allocation", "separate"] = "same_allocation"


class Plan(PlanModel):
    """The execution plan of one workflow on one site (see the module docstring)."""

    format: str = PLAN_FORMAT
    workflow: str
    motif: Optional[str] = None
    source_file: str = Field(description="base name of the root file; backends take the project dir from it")
    site: str
    site_defaulted: bool = Field(False, description="no site was given: generic-slurm limits were assumed")
    scheduler: str = "slurm"
    max_array_size: int
    cluster_target: int
    max_jobs: Optional[int] = None
    level: int = 0
    passes: list[str] = Field([], description="passes that changed the plan, in order")
    params: dict[str, Any] = Field({}, description="param values after overrides (None: no value)")
    datasets: list[PlanDataset] = []
    jobs: list[PlanJob] = []
    dependencies: list[PlanDependency] = []
    data_ops: list[DataOp] = []
    loops: list[LoopRegion] = []
    services: list[ServiceBinding] = []

    def job(self, job_id: str) -> PlanJob | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def job_of_phase(self) -> dict[str, str]:
        """Phase name -> id of the job that runs it."""
        return {s.phase: j.id for j in self.jobs for s in j.steps}

    def dataset(self, name: str) -> PlanDataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def data_op(self, op_id: str) -> DataOp | None:
        return next((d for d in self.data_ops if d.id == op_id), None)

    def to_json(self) -> str:
        """The canonical JSON form (what golden files hold)."""
        return self.model_dump_json(indent=2) + "\n"
