"""The fixed part of `lib.sh`: the bash helpers every generated script relies on.

`submit.sh` copies the artefact tree into `RUN/slurm/` (`AIWF_HOME`), so that a run
keeps the exact scripts it was started with and loop controllers, which submit later
iterations from inside the cluster, find them there. `lib.sh` is sourced, never run:
the fixed helpers below, then the generated submission functions (`submission.py`).

Every submission goes through `aiwf_sbatch`, which is where the run-wide rules live:
`--parsable`, `--kill-on-invalid-dep=yes` (a failed job cancels what waits for it
instead of leaving it pending forever), `--chdir` to the run directory (job logs and
task directories are under it), the job id recorded in `jobs.tsv`, no submission after
`cancel.sh`, and `--test-only` without dependencies under `submit.sh --dry-run`.
"""

from __future__ import annotations

__all__ = ["LIB_HELPERS"]

LIB_HELPERS = r"""
# ---------------------------------------------------------------- fixed helpers

# The shared task runtime (aiwf_task.py, the same program the Parsl backend runs).
aiwf_task() {
  python3 "$AIWF_HOME/aiwf_task.py" "$1" --spec "$AIWF_HOME/workflow.json" --run "$AIWF_RUN" "${@:2}"
}

# Dependency items (`afterok:ID`) joined with commas; empty items are left out.
aiwf_join() {
  local out="" item
  for item in "$@"; do
    [[ -z $item || $item == *: ]] && continue
    out=${out:+$out,}$item
  done
  printf '%s\n' "$out"
}

# Runs a command without the SLURM_* variables of an enclosing job (a controller
# submits from inside one; its array and step variables must not leak into new jobs).
aiwf_clean_env() {
  local -a drop=()
  local v
  for v in $(compgen -e); do
    if [[ $v == SLURM_* && $v != SLURM_CONF ]]; then
      drop+=(-u "$v")
    fi
  done
  env "${drop[@]}" "$@"
}

# aiwf_sbatch NAME ITERATION ROLE DEPENDENCY SCRIPT [SBATCH OPTIONS...]
# Submits one job and prints its id; records "NAME ITERATION ROLE ID" in jobs.tsv.
aiwf_sbatch() {
  local name=$1 iteration=$2 role=$3 dependency=$4 script=$5
  shift 5
  if [[ -e $AIWF_HOME/cancelled ]]; then
    echo "aiwf: run cancelled; not submitting $name ($role, iteration $iteration)" >&2
    return 1
  fi
  if [[ ${AIWF_DRY_RUN:-0} == 1 ]]; then
    local out
    if out=$(aiwf_clean_env env AIWF_ITERATION="$iteration" sbatch --test-only --chdir="$AIWF_RUN" "$@" "$script" 2>&1); then
      printf 'ok\t%s\t%s\t%s\t%s\n' "$name" "$iteration" "$role" "${out//$'\n'/ }" >> "$AIWF_HOME/dry-run.log"
    else
      printf 'refused\t%s\t%s\t%s\t%s\n' "$name" "$iteration" "$role" "${out//$'\n'/ }" >> "$AIWF_HOME/dry-run.log"
    fi
    printf 'dry-%s-%s\n' "$role" "$name"
    return 0
  fi
  local -a args=(--parsable --kill-on-invalid-dep=yes --chdir="$AIWF_RUN" --export=ALL)
  if [[ -n $dependency ]]; then
    args+=(--dependency="$dependency")
  fi
  local id
  if ! id=$(aiwf_clean_env env AIWF_ITERATION="$iteration" sbatch "${args[@]}" "$@" "$script"); then
    echo "aiwf: sbatch refused $name ($role, iteration $iteration)" >&2
    return 1
  fi
  id=${id%%;*}
  printf '%s\t%s\t%s\t%s\n' "$name" "$iteration" "$role" "$id" >> "$AIWF_HOME/jobs.tsv"
  printf '%s\n' "$id"
}

# The id recorded last for NAME ITERATION ROLE (empty when there is none).
aiwf_lookup() {
  awk -F '\t' -v n="$1" -v i="$2" -v r="$3" '$1 == n && $2 == i && $3 == r { id = $4 } END { print id }' \
    "$AIWF_HOME/jobs.tsv"
}

# Points a pending job's dependency somewhere else (a sentinel at the array an expander
# submitted, a loop's tail at its newest controller). Called while the job it waited
# for is still running, so the job cannot have started.
aiwf_redirect() {
  if [[ ${AIWF_DRY_RUN:-0} == 1 ]]; then
    return 0
  fi
  scontrol update JobId="$1" Dependency="$2"
}

# Lets a held job (an expander) start.
aiwf_release() {
  if [[ ${AIWF_DRY_RUN:-0} == 1 ]]; then
    return 0
  fi
  scontrol release "$1"
}

# Node-local scratch for this task, removed when the job ends however it ends.
aiwf_scratch() {
  local root=${SLURM_TMPDIR:-}
  if [[ -z $root ]]; then
    root=$1
  fi
  if [[ -z $root ]]; then
    root=/tmp
  fi
  AIWF_SCRATCH=$root/aiwf.${SLURM_JOB_ID:-$$}.${AIWF_TASK:-0}
  mkdir -p "$AIWF_SCRATCH"
  trap 'rm -rf -- "$AIWF_SCRATCH"' EXIT
  export AIWF_SCRATCH
  # Containers see scratch too (apptainer and singularity read these).
  export APPTAINER_BIND="$AIWF_SCRATCH${APPTAINER_BIND:+,$APPTAINER_BIND}"
  export SINGULARITY_BIND="$AIWF_SCRATCH${SINGULARITY_BIND:+,$SINGULARITY_BIND}"
}

# Loads the site's environment modules when the `module` command exists.
aiwf_modules() {
  if type module > /dev/null 2>&1; then
    module load "$@"
  else
    echo "aiwf: no \`module\` command here; not loading: $*" >&2
  fi
}

# One line in the job log saying where the task runs and what it got.
aiwf_banner() {
  echo "aiwf: $1 iteration ${AIWF_ITERATION:-0} task ${AIWF_TASK:-0} job ${SLURM_JOB_ID:-?} on $(hostname) cpus=${SLURM_CPUS_PER_TASK:-?} gpus=${CUDA_VISIBLE_DEVICES:-none}"
}
""".lstrip("\n")
