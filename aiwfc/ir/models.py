"""The IR models: what a workflow means, independent of how it was written.

Every node may carry `span` (where it was defined) and `spans` (where each of its
attributes' values was written); neither is part of the JSON form or the schema.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from aiwfc.ir.fields import Duration, Expression, Size, TemplateText, TypeText
from aiwfc.source import Span

__all__ = [
    "IRNode", "Param", "ResourceClass", "Image", "Dataset", "Port", "Foreach", "Phase",
    "LoopCarry", "StopRule", "Feedback", "Workflow", "Partition", "SiteProfile", "Program",
    "PHASE_KINDS", "MOTIFS", "LAUNCHERS", "TIERS", "ACCESS_PATTERNS", "COUPLINGS", "STAGING",
]

PhaseKind = Literal["simulation", "preprocess", "training", "inference", "analysis", "task", "service"]
PHASE_KINDS: tuple[str, ...] = PhaseKind.__args__
Motif = Literal["dynamic_orchestration", "multistage_pipeline", "inverse_design", "digital_replica",
                "distributed_models", "adaptive_training"]
MOTIFS: tuple[str, ...] = Motif.__args__
Launcher = Literal["none", "srun", "mpirun", "torchrun", "deepspeed"]
LAUNCHERS: tuple[str, ...] = Launcher.__args__
Tier = Literal["shared", "scratch", "object", "archive", "local"]
TIERS: tuple[str, ...] = Tier.__args__
Access = Literal["read_many", "random", "sequential", "write_once"]
ACCESS_PATTERNS: tuple[str, ...] = Access.__args__
Coupling = Literal["tight", "semi", "loose"]
COUPLINGS: tuple[str, ...] = Coupling.__args__
Staging = Literal["none", "scratch", "aggregate"]
STAGING: tuple[str, ...] = Staging.__args__


class IRNode(BaseModel):
    """Base of every IR model: strict keys, arbitrary Python values allowed inside."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    span: SkipJsonSchema[Optional[Span]] = Field(default=None, exclude=True, repr=False)
    spans: SkipJsonSchema[dict[str, Span]] = Field(default_factory=dict, exclude=True, repr=False)

    def where(self, attr: str | None = None) -> Span | None:
        """Where an attribute's value (or, failing that, the node) was written."""
        if attr and attr in self.spans:
            return self.spans[attr]
        return self.span


class Param(IRNode):
    """A typed workflow input that `-p NAME=VALUE` or a params file can override."""

    name: str
    type: TypeText
    default: Optional[Expression] = None
    doc: Optional[str] = None


class ResourceClass(IRNode):
    """What one task (or one distributed job) of a phase needs from the machine."""

    name: str
    nodes: int = Field(1, ge=1)
    tasks_per_node: int = Field(1, ge=1)
    cores: int = Field(1, ge=1, description="cores per task")
    memory: Optional[Size] = Field(None, description="memory per node")
    gpus: int = Field(0, ge=0, description="GPUs per node")
    gpu_model: Optional[str] = None
    walltime: Optional[Duration] = None
    launcher: Launcher = "none"
    exclusive: bool = False


class Image(IRNode):
    """A container image: base, packages, files, environment and what it promises."""

    name: str
    base: str = Field(alias="from")
    apt: list[str] = []
    pip: list[str] = []
    conda: list[str] = []
    files: dict[str, str] = {}
    env: dict[str, str] = {}
    labels: dict[str, str] = {}
    entrypoint: Optional[str] = None
    cuda: Optional[str] = None
    mpi: Optional[str] = None
    test: Optional[str] = None


class Dataset(IRNode):
    """Where data lives and how it is read: the hints the planner uses for data gravity."""

    name: str
    path: str
    tier: Tier = "shared"
    size: Optional[Size] = None
    files: Optional[int] = Field(None, ge=0)
    format: Optional[str] = None
    access: Optional[Access] = None
    version: Optional[str] = None
    stage: Optional[Staging] = None


class Port(IRNode):
    """A typed input or output of a phase; `value` binds an input or names an output."""

    name: str
    type: TypeText
    value: Optional[Expression] = None


class Foreach(IRNode):
    """A scatter: one task per item of `source`, optionally batched."""

    var: str
    source: Expression
    batch: Optional[int] = Field(None, ge=1)


class Phase(IRNode):
    """One step of a workflow, of a kind that tells what sort of work it is."""

    name: str
    kind: PhaseKind
    doc: Optional[str] = None
    foreach: Optional[Foreach] = None
    image: Optional[str] = None
    resources: Optional[str] = None
    runtime: Optional[Duration] = Field(None, description="estimated runtime of one task")
    retries: int = Field(0, ge=0)
    inputs: list[Port] = []
    outputs: list[Port] = []
    command: Optional[TemplateText] = None
    track: list[str] = Field([], description="params and output ports recorded as experiment data")
    uses: list[str] = Field([], description="services this phase talks to")
    coupling: Optional[Coupling] = Field(None, description="for a service: how it is coupled to its clients")
    site: Optional[str] = Field(None, description="run this phase on another site (federation)")
    env: dict[str, str] = {}
    when: Optional[Expression] = Field(None, description="run only when this holds")

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)


class LoopCarry(IRNode):
    """`next md.seed = score.next_seeds`: what the next iteration receives."""

    target: str = Field(description="PHASE.NAME: an input port or the foreach variable of a body phase")
    value: Expression


class StopRule(IRNode):
    """`stop md when md.progress < 0.1`: the model ends running work."""

    phase: str
    when: Expression


class Feedback(IRNode):
    """An explicit, bounded feedback loop over a body of phases."""

    name: str
    body: list[str]
    until: Optional[Expression] = None
    while_: Optional[Expression] = Field(None, alias="while")
    max_iterations: Optional[Expression] = None
    next: list[LoopCarry] = []
    stop: list[StopRule] = []


class Workflow(IRNode):
    """A campaign: params, resource classes, images, datasets, phases and loops."""

    name: str
    motif: Optional[Motif] = None
    doc: Optional[str] = None
    track: Optional[str] = Field(None, description="experiment tracking: 'mlflow' or 'mlflow:URI'")
    params: list[Param] = []
    resources: list[ResourceClass] = []
    images: list[Image] = []
    datasets: list[Dataset] = []
    phases: list[Phase] = []
    feedbacks: list[Feedback] = []

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


class Partition(IRNode):
    """One partition (queue) of a site, with its limits."""

    name: str
    nodes: int = Field(1, ge=1)
    cores: int = Field(1, ge=1, description="cores per node")
    memory: Optional[Size] = Field(None, description="memory per node")
    gpus: int = Field(0, ge=0, description="GPUs per node")
    gpu_model: Optional[str] = None
    max_walltime: Optional[Duration] = None
    default: bool = False


class SiteProfile(IRNode):
    """A machine: its scheduler, partitions and limits, storage paths and container runtime."""

    name: str
    doc: Optional[str] = None
    scheduler: Literal["slurm", "local"] = "slurm"
    account: Optional[str] = None
    qos: Optional[str] = None
    partitions: list[Partition] = []
    scratch: str = Field("$TMPDIR", description="node-local scratch directory")
    shared: Optional[str] = Field(None, description="shared parallel file system root")
    container_runtime: Literal["apptainer", "singularity", "docker", "none"] = "apptainer"
    image_dir: str = Field("images", description="where built .sif images live")
    gpu_request: Literal["gres", "gpus_per_node"] = "gres"
    max_array_size: int = Field(1001, ge=1)
    max_jobs: Optional[int] = Field(None, ge=1, description="max queued jobs per user")
    modules: list[str] = []
    cuda_driver: Optional[str] = Field(None, description="highest CUDA version the GPU driver supports")
    mpi_bind: list[str] = Field([], description="host MPI paths bound into containers (hybrid model)")
    cluster_target: Duration = Field(600, description="minimum sensible runtime of one scheduler job")
    track: Optional[str] = Field(None, description="experiment tracking of runs on this site: 'mlflow', "
                                                   "'mlflow:URI' (e.g. the site's tracking server) or 'none'")

    def partition(self, name: str) -> Partition | None:
        return next((p for p in self.partitions if p.name == name), None)


class Program(IRNode):
    """Everything one input defines, imports resolved: workflows, sites and library definitions."""

    aiwf: str = "0.1"
    imports: list[str] = []
    workflows: list[Workflow] = []
    sites: list[SiteProfile] = []
    resources: list[ResourceClass] = Field([], description="library resource classes, visible to every workflow")
    images: list[Image] = Field([], description="library images, visible to every workflow")
    datasets: list[Dataset] = []
