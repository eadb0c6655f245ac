"""The shared task runtime: `aiwf_task.py` (run on compute nodes) and its run spec.

Slurm and Parsl artefacts both carry `aiwf_task.py` with the modules beside it
(RUNTIME_MODULES) and `workflow.json` (from `runtime_files(ctx)`), so every engine
expands commands, resolves ports, evaluates loop conditions and records tasks
identically. See `spec` and the docstring of `aiwf_task.py`.
"""

from aiwfc_backends.runtime.spec import (RUNTIME_FILE, RUNTIME_MODULES, SPEC_FILE, SPEC_FORMAT, build_spec,
                                         runtime_files, runtime_source)

__all__ = ["build_spec", "runtime_files", "runtime_source", "SPEC_FORMAT", "RUNTIME_FILE", "RUNTIME_MODULES",
           "SPEC_FILE"]
