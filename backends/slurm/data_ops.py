"""Data movement in a job script: the plan's `DataOp`s as bash lines.

Locations in the plan are symbolic (see `aiwfc.plan.models.DataOp`): `shared:<path>`
is a dataset's directory (relative paths under the project directory) or the run
directory, `scratch:<name>` a name under the task's node-local scratch
(`$AIWF_SCRATCH`, created by `aiwf_scratch` and removed by its EXIT trap), and
`archive:<file>` a file under `RUN/archives/`. A dataset that ends up on scratch is
announced to the runtime with `AIWF_DATASET_<name>`, which `${name}` then expands to.

`stage_out` of a job whose working directory is scratch: the task directories of the
chunk are created on scratch and linked from the run directory before the steps run;
`aiwf_stage_out` (lib.sh, also called from the EXIT trap, so a failed task's logs come
back too) replaces each link with the copied directory.
"""

from __future__ import annotations

from aiwfc.emitter import Emitter, bash_quote
from aiwfc.plan.models import DataOp, Plan

__all__ = ["dataset_dir_word", "render_data_ops", "DATA_LIB"]

DATA_LIB = r"""
# The project directory (`${project}`): $AIWF_PROJECT, else the one the spec names.
aiwf_project_dir() {
  if [[ -n ${AIWF_PROJECT:-} ]]; then
    printf '%s\n' "$AIWF_PROJECT"
  else
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["project"])' "$AIWF_HOME/workflow.json"
  fi
}

# Task directories of PHASE at ITERATION for items FIRST..LAST-1 live on scratch,
# linked from the run directory, until aiwf_stage_out copies them back.
AIWF_STAGED=()
aiwf_tasks_on_scratch() {
  local phase=$1 iteration=$2 first=$3 last=$4 i dir
  for ((i = first; i < last; i++)); do
    dir=$AIWF_RUN/tasks/$phase/i$iteration/$i
    mkdir -p "$AIWF_SCRATCH/tasks/$phase/i$iteration/$i" "$(dirname "$dir")"
    if [[ ! -e $dir ]]; then
      ln -s "$AIWF_SCRATCH/tasks/$phase/i$iteration/$i" "$dir"
      AIWF_STAGED+=("$dir")
    fi
  done
}

aiwf_stage_out() {
  local dir
  for dir in "${AIWF_STAGED[@]}"; do
    if [[ -L $dir ]]; then
      local src
      src=$(readlink "$dir")
      rm -f "$dir"
      if [[ -n $(ls -A "$src" 2> /dev/null) ]]; then
        cp -a "$src" "$dir"
      fi
    fi
  done
  AIWF_STAGED=()
}
""".lstrip("\n")


def dataset_dir_word(plan: Plan, name: str) -> str:
    """A bash word for a dataset's shared directory (absolute, or under the project)."""
    ds = plan.dataset(name)
    path = ds.path if ds is not None else name
    if path.startswith("/"):
        return bash_quote(path)
    return f'"$project"/{bash_quote(path)}'


def _loc(plan: Plan, where: str) -> str:
    kind, _, rest = where.partition(":")
    if kind == "scratch":
        return f'"$AIWF_SCRATCH"/{bash_quote(rest)}'
    if kind == "archive":
        return f'"$AIWF_RUN"/archives/{bash_quote(rest)}'
    ds = next((d for d in plan.datasets if d.path == rest), None)
    if ds is not None:
        return dataset_dir_word(plan, ds.name)
    if rest.startswith("run/") or rest == "run":
        return f'"$AIWF_RUN"/{bash_quote(rest[4:] or ".")}'
    return bash_quote(rest) if rest.startswith("/") else f'"$project"/{bash_quote(rest)}'


def render_data_ops(e: Emitter, plan: Plan, ops: list[DataOp]) -> None:
    """Lines for `ops` (all `before` or all `after` one job's steps), in plan order."""
    for op in ops:
        e.comment(f"data: {op.kind} {op.source} -> {op.target} ({op.id})")
        src, dst = _loc(plan, op.source), _loc(plan, op.target)
        if op.kind == "aggregate":
            e.line(f'mkdir -p "$(dirname {dst})"')
            e.line(f"tar -cf {dst}.partial -C {src} .")
            e.line(f"mv -f {dst}.partial {dst}")
        elif op.kind == "stage_in":
            if op.source.startswith("archive:") or op.target.endswith(".tar"):
                e.line(f"cp {src} {dst}")
            else:
                e.line(f"mkdir -p {dst}")
                e.line(f"cp -a {src}/. {dst}/")
                if op.dataset:
                    e.line(f"export AIWF_DATASET_{op.dataset}={dst}")
        elif op.kind == "unpack":
            e.line(f"mkdir -p {dst}")
            e.line(f"tar -xf {src} -C {dst}")
            e.line(f"rm -f {src}")
            if op.dataset:
                e.line(f"export AIWF_DATASET_{op.dataset}={dst}")
        elif op.kind == "stage_out":
            e.line("aiwf_stage_out")
        elif op.kind == "cleanup":
            e.line(f"rm -f {src}")
