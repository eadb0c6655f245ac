"""The examples, resized for the test suite's one-node Slurm cluster (helpers, not tests).

The examples import their resource classes from `std/motifs/<motif>` and ask for what a
real cluster node has (8-64 GiB, up to 16 cores); the test cluster advertises 8 CPUs and
at most 8000 MB, and the stdlib `test-slurm` site says so, so the examples do not
compile for it as they are (AIWF401). `example_copy` copies an example's folder and
replaces the motif import with a local module holding the same resource classes with
1 core and 200 MiB each (GPU counts and walltimes kept), and the federation's partner
sites with partitions the test cluster has. Nothing else changes: phases, commands,
loops and scripts are the example's own.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "dynamic_orchestration": "steer_md.aiwf",
    "multistage_pipeline": "screen.aiwf",
    "inverse_design": "design.aiwf",
    "digital_replica": "twin.aiwf",
    "distributed_models": "federated.aiwf",
    "adaptive_training": "hpo.aiwf",
}

PARTNER_SITES = """aiwf 0.1  # aiwf: ignore[AIWF109] -- partner sites, resized for the test cluster
site north {
  scheduler = slurm  scratch = "/tmp"  container_runtime = none  max_array_size = 1001
  partition debug { nodes = 1  cores = 8  memory = 7GiB  max_walltime = 1d  default = true }
  partition gpu { nodes = 1  cores = 8  memory = 7GiB  gpus = 2  max_walltime = 1d }
}
site south {
  scheduler = slurm  scratch = "/tmp"  container_runtime = none  max_array_size = 1001
  partition debug { nodes = 1  cores = 8  memory = 7GiB  max_walltime = 1d  default = true }
  partition gpu { nodes = 1  cores = 8  memory = 7GiB  gpus = 2  max_walltime = 1d }
}
"""


def small_resources(text: str) -> str:
    """A motif module's resource classes with 1 core, 1 node and 200 MiB each."""
    text = re.sub(r"\bmemory\s*=\s*\S+", "memory = 200MiB", text)
    text = re.sub(r"\bcores\s*=\s*\d+", "cores = 1", text)
    return re.sub(r"\bnodes\s*=\s*\d+", "nodes = 1", text)


def example_copy(folder: str, dest: Path) -> Path:
    """A copy of `examples/<folder>` under `dest` that fits the test cluster; returns the .aiwf path."""
    src = ROOT / "examples" / folder
    target = dest / folder
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    path = target / EXAMPLES[folder]
    text = path.read_text()
    m = re.search(r'^import "std/motifs/(\w+)"$', text, re.M)
    if m:
        motif = (ROOT / "stdlib" / "motifs" / f"{m.group(1)}.aiwf").read_text()
        (target / "small_resources.aiwf").write_text(
            small_resources(motif).replace("aiwf 0.1", "aiwf 0.1  # aiwf: ignore[AIWF109]", 1))
        text = text.replace(m.group(0), 'import "./small_resources.aiwf"')
    path.write_text(text)
    if (target / "sites.aiwf").exists():
        (target / "sites.aiwf").write_text(PARTNER_SITES)
    return path
