"""The Parsl backend: a self-contained Python program that runs the workflow with Parsl.

`aiwfc compile PATH --target parsl -o DIR` writes

* `run.py`: the workflow as data (phases, dependencies, bundles, throttles, one executor
  per resource class, the site's scheduler settings), see `program.py`;
* `aiwf_parsl.py`: the engine, the same for every workflow (copied verbatim): the Parsl
  configuration chosen at start (`--config local|slurm`), join apps per phase and loop
  iteration, bash apps per chunk of items, services, cancellation, progress, run.json;
* `aiwf_launch.py`: how the local executor's interchange and worker pool start (forks of
  the driver, which imported Parsl already, instead of fresh Pythons), copied verbatim;
* `aiwf_task.py` and the `aiwf_*.py` modules beside it + `workflow.json`: the shared task
  runtime and its spec (`aiwfc_backends.runtime`: `runtime_files`, whose module list is
  `RUNTIME_MODULES`), through which every task runs, as on Slurm.

Run it with `python3 DIR/run.py [--config local|slurm] [--run-dir RUN]`; it needs parsl,
never aiwfc. `aiwfc run PATH` compiles to a run-local directory and runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiwfc.backend import Artefacts, Backend, Capability, EmitContext
from aiwfc_backends.runtime import runtime_files

from aiwfc_backends.parsl.program import emit_program, executor_label

__all__ = ["ParslBackend", "ENGINE_FILE", "LAUNCH_FILE", "PROGRAM_FILE", "engine_source", "executor_label"]

ENGINE_FILE = "aiwf_parsl.py"
LAUNCH_FILE = "aiwf_launch.py"
PROGRAM_FILE = "run.py"


def engine_source(name: str = ENGINE_FILE) -> str:
    """The text of aiwf_parsl.py (or aiwf_launch.py), copied verbatim into every Parsl
    artefact tree."""
    return (Path(__file__).resolve().parent / name).read_text(encoding="utf-8")


class ParslBackend(Backend):
    """A Parsl program (HighThroughputExecutor locally or on Slurm) running every task
    through the shared runtime."""

    name = "parsl"
    description = "Parsl program: run.py + aiwf_parsl.py + aiwf_launch.py + the task runtime (local or --config slurm)"
    needs_plan = True
    capabilities = {
        "foreach": Capability.NATIVE,
        "arrays": Capability.EMULATED,
        "bundles": Capability.NATIVE,
        "fusion": Capability.UNSUPPORTED,
        "staging": Capability.EMULATED,
        "feedback_loops": Capability.NATIVE,
        "loop_carry": Capability.NATIVE,
        "spawn": Capability.NATIVE,
        "stop_running": Capability.NATIVE,
        "services": Capability.NATIVE,
        "gpus": Capability.NATIVE,
        "containers": Capability.NATIVE,
        "mpi": Capability.EMULATED,
        "distributed_training": Capability.UNSUPPORTED,
        "tracking": Capability.NATIVE,
        "retries": Capability.NATIVE,
        "conditional_when": Capability.NATIVE,
        "multi_site": Capability.UNSUPPORTED,
    }
    notes = {
        "arrays": "Parsl has no job arrays: one app per chunk of items, at most `throttle` of a phase at once",
        "fusion": "each phase is its own app; Parsl's workers keep the nodes busy between phases",
        "staging": "datasets are read where they are ($AIWF_DATASET_<name> points a task at a staged copy)",
        "mpi": "the command's own launcher (srun/mpirun inside the task) starts the ranks on the block's node",
        "distributed_training": "a Parsl block here is one node: multi-node launches run on one node",
        "multi_site": "one Parsl program runs on one site: phases bound to another site run on this one",
    }

    def emit(self, ctx: EmitContext) -> Artefacts:
        out = Artefacts()
        files = runtime_files(ctx)
        spec = json.loads(files["workflow.json"])
        out.add(PROGRAM_FILE, emit_program(ctx, spec), executable=True)
        out.add(ENGINE_FILE, engine_source())
        out.add(LAUNCH_FILE, engine_source(LAUNCH_FILE))
        for name, text in files.items():
            out.add(name, text)
        return out
