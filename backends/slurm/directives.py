"""The `#SBATCH` lines of one job: what the plan asks for, in the site's dialect.

Kept apart from the scripts so that a test can assert the exact lines for a resource
request without rendering a whole script. Every value goes through `bash_quote` (sbatch
reads `#SBATCH` lines with the shell's word rules), although plan ids, partition names
and sizes are plain words in practice.

What the site decides: the account and QOS (only when it sets them), how GPUs are asked
for (`--gres=gpu:N` or `--gpus-per-node=N`, `gpu_request`), and a GPU model becomes a
`--constraint` (the common convention for node features; `gres` types differ between
sites, features are what users are told to use).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiwfc.emitter import bash_quote
from aiwfc.ir import models as ir
from aiwfc.plan.models import JobResources

__all__ = ["slurm_time", "slurm_memory", "Directives", "resource_directives", "array_range", "LOG_DIR"]

MIB = 1024 * 1024
#: Job logs live under the run directory (the job's working directory, `--chdir`).
LOG_DIR = "logs"


def slurm_time(seconds: int) -> str:
    """Seconds as Slurm's `[D-]HH:MM:SS` (at least one minute: Slurm rounds up to minutes)."""
    seconds = max(60, int(seconds))
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    hms = f"{h:02d}:{m:02d}:{s:02d}"
    return f"{days}-{hms}" if days else hms


def slurm_memory(size: int) -> str:
    """Bytes as whole mebibytes (`2048M`), rounded up: Slurm's `--mem` unit is MiB."""
    return f"{max(1, math.ceil(size / MIB))}M"


def array_range(tasks: int, throttle: int | None) -> str:
    """`0-(tasks-1)` with `%throttle` when the plan limits concurrent tasks."""
    text = f"0-{tasks - 1}" if tasks > 1 else "0"
    return f"{text}%{throttle}" if throttle else text


@dataclass
class Directives:
    """The option/value pairs of a job, in the order they are written."""

    options: list[tuple[str, str | None]]

    def lines(self) -> list[str]:
        out = []
        for name, value in self.options:
            out.append(f"#SBATCH --{name}" if value is None else f"#SBATCH --{name}={bash_quote(str(value))}")
        return out

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.options if n == name), None)


def resource_directives(res: JobResources, site: ir.SiteProfile | None, *, job_name: str, log_name: str,
                        array: str | None = None, is_array: bool = False, tasks: int | None = None,
                        cores: int | None = None) -> Directives:
    """The `#SBATCH` options for one job.

    `tasks` overrides `--ntasks-per-node` with a total `--ntasks` (a co-scheduled service
    allocation); `cores` overrides `--cpus-per-task`. Logs are `logs/<log_name>_%A_%a.out`
    for array jobs and `logs/<log_name>_%j.out` otherwise, relative to the run directory.
    """
    opts: list[tuple[str, str | None]] = [("job-name", job_name)]
    if res.partition:
        opts.append(("partition", res.partition))
    if site is not None and site.account:
        opts.append(("account", site.account))
    if site is not None and site.qos:
        opts.append(("qos", site.qos))
    opts.append(("nodes", str(res.nodes)))
    if tasks is not None:
        opts.append(("ntasks", str(tasks)))
    else:
        opts.append(("ntasks-per-node", str(res.tasks_per_node)))
    opts.append(("cpus-per-task", str(cores if cores is not None else res.cores)))
    if res.memory:
        opts.append(("mem", slurm_memory(res.memory)))
    if res.gpus:
        if site is not None and site.gpu_request == "gpus_per_node":
            opts.append(("gpus-per-node", str(res.gpus)))
        else:
            opts.append(("gres", f"gpu:{res.gpus}"))
        if res.gpu_model:
            opts.append(("constraint", res.gpu_model))
    if res.exclusive:
        opts.append(("exclusive", None))
    opts.append(("time", slurm_time(res.walltime)))
    if array is not None:
        opts.append(("array", array))
    pattern = "%A_%a" if (array is not None or is_array) else "%j"
    opts.append(("output", f"{LOG_DIR}/{log_name}_{pattern}.out"))
    opts.append(("error", f"{LOG_DIR}/{log_name}_{pattern}.err"))
    return Directives(opts)
