"""What a backend is: a name, a capability table, and `emit(ctx) -> Artefacts`.

A backend turns one checked workflow (and, when it asks for one, the optimised plan)
into a tree of text files for its engine. It never reads the AST and never writes to
disk: `aiwfc.output` writes the `Artefacts` it returns, atomically. Backends are found
through the `aiwfc.backends` entry-point group, so a third party can add one:

    [project.entry-points."aiwfc.backends"]
    mytarget = "mypackage.backend:MyBackend"

The capability table says, for each feature in `FEATURES`, whether the engine has it
natively, the backend emulates it, or it cannot be expressed. `report_capabilities`
turns the features a workflow *uses* into AIWF901 (emulated) and AIWF902 (dropped)
diagnostics, so that no feature is ever lost silently; the compile command calls it
for every backend before `emit`.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Iterator

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.emitter import source_name
from aiwfc.ir import models as ir
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import Scope, Typer
from aiwfc.source import Span

__all__ = ["Capability", "FEATURES", "Backend", "EmitContext", "Artefacts", "discover_backends",
           "features_used", "report_capabilities", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "aiwfc.backends"


class Capability(str, Enum):
    """How a backend handles a feature."""

    NATIVE = "native"            # the engine has it; the artefact says it directly
    EMULATED = "emulated"        # the backend builds it from other means (AIWF901, info)
    UNSUPPORTED = "unsupported"  # cannot be expressed; the artefact runs without it (AIWF902)


# The fixed feature list, with what "a workflow uses it" means. Features whose
# detector is None are decisions of the planner, not of the workflow text (a backend
# still declares them, and the planner consults the table before using them).
FEATURES: dict[str, str] = {
    "foreach": "a phase scatters over items (`foreach x in ...`)",
    "arrays": "planner: independent tasks submitted as one job array",
    "bundles": "several items per task (`batch = N`), or the planner bundling short tasks",
    "fusion": "planner: consecutive phases fused into one job",
    "staging": "a dataset staged to node-local scratch or aggregated (`stage = scratch|aggregate`)",
    "feedback_loops": "a bounded `feedback` loop with an `until`/`while` condition",
    "loop_carry": "`next PHASE.NAME = ...`: a value carried into the next iteration",
    "spawn": "`next PHASE.VAR = ...` on a foreach variable: the model chooses the next ensemble",
    "stop_running": "`stop PHASE when ...`: the model ends running work",
    "services": "a long-running `service` phase beside its clients",
    "gpus": "a phase whose resource class asks for GPUs",
    "containers": "a phase that runs in an `image`",
    "mpi": "an MPI launch (`launcher = srun|mpirun`) or an image that declares `mpi`",
    "distributed_training": "a multi-node or `torchrun`/`deepspeed` launch",
    "tracking": "`track = [...]` on a phase, or `track = \"mlflow\"` on the workflow",
    "retries": "`retries = N` on a phase",
    "conditional_when": "`when = ...` on a phase: run only when a condition holds",
    "multi_site": "a phase bound to another site (`site = ...`): federation",
}


def features_used(comp: Compilation, wf: ir.Workflow) -> dict[str, Span | None]:
    """Each feature the workflow uses, with the first place it is used (in FEATURES order)."""
    scope = Scope(comp.program, wf)
    found: dict[str, Span | None] = {}

    def use(feature: str, span: Span | None) -> None:
        found.setdefault(feature, span)

    for ph in wf.phases:
        res = scope.resource_of(ph)
        image = scope.image_of(ph)
        if ph.foreach is not None:
            use("foreach", ph.where("foreach"))
            if ph.foreach.batch is not None:
                use("bundles", ph.where("batch"))
        if ph.kind == "service":
            use("services", ph.where("name"))
        if ph.image:
            use("containers", ph.where("image"))
        if res is not None and res.gpus > 0:
            use("gpus", ph.where("resources"))
        if (res is not None and res.launcher in ("srun", "mpirun")) or (image is not None and image.mpi):
            use("mpi", ph.where("resources") if res is not None and res.launcher in ("srun", "mpirun")
                else ph.where("image"))
        if res is not None and (res.launcher in ("torchrun", "deepspeed") or (res.nodes > 1 and ph.kind == "training")):
            use("distributed_training", ph.where("resources"))
        if ph.track:
            use("tracking", ph.where("track"))
        if ph.retries > 0:
            use("retries", ph.where("retries"))
        if ph.when is not None:
            use("conditional_when", ph.where("when"))
        if ph.site:
            use("multi_site", ph.where("site"))
    if wf.track:
        use("tracking", wf.where("track"))
    for ds in _datasets_used(scope, wf):
        if ds.stage in ("scratch", "aggregate"):
            use("staging", ds.where("stage"))
    for fb in wf.feedbacks:
        use("feedback_loops", fb.where("name"))
        for carry in fb.next:
            use("loop_carry", carry.span)
            phase_name, _, var = carry.target.partition(".")
            target = scope.phases.get(phase_name)
            if target is not None and target.foreach is not None and target.foreach.var == var:
                use("spawn", carry.span)
        for stop in fb.stop:
            use("stop_running", stop.span)
    return {f: found[f] for f in FEATURES if f in found}


def _datasets_used(scope: Scope, wf: ir.Workflow) -> list[ir.Dataset]:
    """The workflow's own datasets and the library datasets its phases refer to."""
    typer = Typer(scope)
    names = {d.name for d in wf.datasets}
    for ph in wf.phases:
        exprs = [p.value for p in ph.inputs if p.value is not None]
        exprs += [e for e in (ph.foreach.source if ph.foreach else None, ph.command, ph.when) if e is not None]
        for e in exprs:
            for ref in typer.refs(e):
                if ref.parts[0].text in scope.datasets:
                    names.add(ref.parts[0].text)
    return [scope.datasets[n] for n in sorted(names) if n in scope.datasets]


# ---------------------------------------------------------------- artefacts

class Artefacts:
    """The files a backend produces: relative POSIX path -> (text or bytes, executable),
    in the order they were added. Paths may not escape the output directory."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[str | bytes, bool]] = {}

    def add(self, path: str, content: str | bytes, executable: bool = False) -> None:
        """Adds one file; a second file at the same path is a bug in the backend."""
        p = PurePosixPath(path)
        if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts) \
                or str(p) != path:
            raise ValueError(f"artefact path must be a plain relative path: {path!r}")
        if path in self._files:
            raise ValueError(f"artefact {path} added twice")
        for existing in self._files:  # a file cannot also be a directory
            if existing.startswith(path + "/") or path.startswith(existing + "/"):
                raise ValueError(f"artefact {path} clashes with {existing}")
        self._files[path] = (content, executable)

    def prefixed(self, prefix: str) -> "Artefacts":
        """The same files under `prefix/` (for `--target all`)."""
        out = Artefacts()
        for path, (content, exe) in self._files.items():
            out.add(f"{prefix}/{path}", content, exe)
        return out

    def update(self, other: "Artefacts") -> None:
        for path, (content, exe) in other.items():
            self.add(path, content, exe)

    def items(self) -> Iterator[tuple[str, tuple[str | bytes, bool]]]:
        return iter(list(self._files.items()))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._files))

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def __getitem__(self, path: str) -> tuple[str | bytes, bool]:
        return self._files[path]

    def text(self, path: str) -> str:
        """The content of a text artefact (for tests and cross-backend checks)."""
        content = self._files[path][0]
        return content if isinstance(content, str) else content.decode("utf-8")


# ---------------------------------------------------------------- context

@dataclass
class EmitContext:
    """Everything a backend may read while emitting one workflow.

    `plan` is what `aiwfc.plan.build_plan` returned (its `.plan` is the plan) when the
    backend `needs_plan`, else None. `options` holds target options from the command line
    (`cwl_gpu`: "hint" | "requirement"; `track`: ("mlflow", URI or None) for `--track`,
    ("none", None) for `--no-track`, None or absent when the sources decide — pass it to
    `aiwfc.tracking.resolve_track`). Diagnostics go to `sink` (the compilation's).
    """

    comp: Compilation
    workflow: ir.Workflow
    plan: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    sink: DiagnosticSink | None = None

    def __post_init__(self) -> None:
        if self.sink is None:
            self.sink = self.comp.sink

    @property
    def site(self) -> ir.SiteProfile | None:
        return self.comp.site

    @property
    def scope(self) -> Scope:
        return Scope(self.comp.program, self.workflow)

    @property
    def project_dir(self) -> Path:
        """The directory of the root .aiwf file: `${project}`, and the base of relative paths."""
        return Path(self.comp.path).resolve().parent

    @property
    def source(self) -> str:
        """The root source file's name for headers (relative to the project directory)."""
        return self.source_name(self.comp.path)

    def source_name(self, file: str) -> str:
        """A source file's name as headers and source comments show it."""
        return source_name(file, self.project_dir)


# ---------------------------------------------------------------- backends

class Backend(ABC):
    """Base class of backends. Subclasses set the class attributes and implement `emit`.

    * `name`: the `--target` name, `description`: one line for `--help`.
    * `capabilities`: feature -> Capability over `FEATURES`. A backend that runs
      workflows (`runs_workflow = True`) must cover every feature; one that only
      produces something beside them (container recipes) lists the features it serves,
      and the others are not its business and are never reported for it.
    * `notes`: feature -> how it is emulated, or why it is dropped (the diagnostic text).
    * `needs_plan`: emit() reads `ctx.plan` (the compile command builds it first).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    capabilities: ClassVar[dict[str, Capability]] = {}
    notes: ClassVar[dict[str, str]] = {}
    needs_plan: ClassVar[bool] = False
    runs_workflow: ClassVar[bool] = True

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        unknown = set(cls.capabilities) - set(FEATURES)
        if unknown:
            raise ValueError(f"{cls.__name__} declares unknown features {sorted(unknown)}")

    def capability(self, feature: str) -> Capability | None:
        """The backend's capability for a feature; None when the feature is not its business."""
        if feature in self.capabilities:
            return self.capabilities[feature]
        return Capability.UNSUPPORTED if self.runs_workflow else None

    @abstractmethod
    def emit(self, ctx: EmitContext) -> Artefacts:
        """The backend's files for `ctx.workflow` (written by aiwfc.output, never here)."""


def report_capabilities(backend: Backend, ctx: EmitContext) -> None:
    """AIWF901 for each used feature the backend emulates, AIWF902 for each it drops,
    at the first place the workflow uses it."""
    default = ctx.workflow.where("name") or ctx.workflow.span or Span.point(ctx.comp.path, 1, 1)
    for feature, span in features_used(ctx.comp, ctx.workflow).items():
        cap = backend.capability(feature)
        note = backend.notes.get(feature)
        if cap is Capability.EMULATED:
            ctx.sink.report(codes.FEATURE_EMULATED, span or default, target=backend.name,
                            feature=feature, how=note or "see the backend's documentation")
        elif cap is Capability.UNSUPPORTED:
            ctx.sink.report(codes.FEATURE_DROPPED, span or default, target=backend.name,
                            feature=feature, why=note or f"{backend.name} has no way to express it")


def discover_backends(problems: list[str] | None = None) -> dict[str, Backend]:
    """Instances of every backend registered in the `aiwfc.backends` entry-point group,
    by name (sorted). A backend that fails to load is skipped and described in `problems`."""
    found: dict[str, Backend] = {}
    seen: set[tuple[str, str]] = set()
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        if (ep.name, ep.value) in seen:
            continue  # the same distribution seen twice on sys.path
        seen.add((ep.name, ep.value))
        try:
            cls = ep.load()
            backend = cls()
        except Exception as e:  # noqa: BLE001 - a broken plug-in must not break the compiler
            if problems is not None:
                problems.append(f"backend `{ep.name}` ({ep.value}) could not be loaded: {type(e).__name__}: {e}")
            continue
        if not isinstance(backend, Backend):
            if problems is not None:
                problems.append(f"backend `{ep.name}` ({ep.value}) is not an aiwfc.backend.Backend")
            continue
        if ep.name in found:
            if problems is not None:
                problems.append(f"backend `{ep.name}` is registered twice; using {type(found[ep.name]).__module__}")
            continue
        found[ep.name] = backend
    return found
