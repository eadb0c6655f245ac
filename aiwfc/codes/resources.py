"""AIWF4xx: resource classes against phases and the chosen site."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

EXCEEDS_SITE = define(
    "AIWF401", "exceeds-site", S.ERROR,
    "resource `{resource}` asks for {ask}, but no partition of site `{site}` offers it ({best})",
    summary="A resource class needs more cores, memory, GPUs, nodes or walltime than any partition of the site has.",
    why="The scheduler would reject the job, or it would wait forever.",
    example='resource big { gpus = 8 }   # on a site whose nodes have 4 GPUs',
    instead='resource big { nodes = 2  gpus = 4  launcher = torchrun }')

GPU_MODEL_UNAVAILABLE = define(
    "AIWF402", "gpu-model-unavailable", S.ERROR,
    "resource `{resource}` asks for GPU model `{model}`, which site `{site}` does not have (it has {models})",
    summary="A GPU model constraint that no partition of the site satisfies.",
    why="The job could never be scheduled.",
    example='resource train { gpus = 1  gpu_model = "h100" }',
    instead='resource train { gpus = 1  gpu_model = "a100" }')

GPU_FOR_CPU_PHASE = define(
    "AIWF403", "gpu-for-cpu-phase", S.WARNING,
    "{kind} phase `{phase}` asks for {gpus} GPU(s) through `{resource}`",
    summary="A preprocess or analysis phase requests GPUs.",
    why="Map each phase to the right resource class: preprocessing and analysis are CPU work, "
        "and a GPU allocation held by them is idle and billed.",
    example='preprocess clean { resources = gpu_task ... }',
    instead='preprocess clean { resources = cpu_task ... }')

TRAINING_WITHOUT_ACCELERATOR = define(
    "AIWF404", "training-without-accelerator", S.WARNING,
    "training phase `{phase}` runs without a GPU",
    summary="A training phase whose resource class has no GPUs.",
    why="Training on CPUs is usually orders of magnitude slower; say so explicitly if intended.",
    example='training fit { resources = cpu_task ... }',
    instead='training fit { resources = gpu_task ... }   # resource gpu_task { gpus = 1 ... }')

MULTINODE_WITHOUT_LAUNCHER = define(
    "AIWF405", "multinode-without-launcher", S.WARNING,
    "resource `{resource}` spans {nodes} nodes but names no launcher",
    summary="A multi-node resource class without `launcher = srun|mpirun|torchrun|deepspeed`.",
    why="Without a launcher the command runs on the first node only and the others idle.",
    example='resource dist { nodes = 4  gpus = 4 }',
    instead='resource dist { nodes = 4  gpus = 4  launcher = torchrun }')

OVERSUBSCRIBED_LOCAL = define(
    "AIWF406", "oversubscribed-local", S.INFO,
    "resource `{resource}` asks for {ask}; site `{site}` has {have}, so it runs oversubscribed there",
    summary="On a local (laptop) site a phase asks for more than the machine has.",
    why="Local runs are for trying a workflow: it still runs, just slower and without the real accelerators.",
    example='resource gpu_task { gpus = 1 }   # aiwfc run on a laptop',
    instead='# nothing to change: the cluster site gets the real request')
