"""`status.sh` and `cancel.sh`: what a run is doing, and ending it.

Both take the run directory (default: the run this copy belongs to, when it sits in
`RUN/slurm/`, else the last run `submit.sh` started from this directory).

`status.sh` reads what the run recorded (`slurm/jobs.tsv`: every submission, including
those of controllers and expanders; `tasks/*/i*/*/task.json`: every task the runtime
ran; `loops/*/i*.json`: every loop decision) and asks Slurm for the state of each job
(squeue while it is queued or running; `scontrol show job` while slurmctld remembers
it; `sacct`, or `sacct -c` on clusters without a database, afterwards). It prints a
summary and writes `RUN/run.json`. Exit status: 0 every job completed, 1 something
failed or was cancelled, 3 still running (also while Slurm is still cancelling what
waited for a failed job), 2 usage.

`status.sh --crate` also writes the run's Workflow Run RO-Crate (`RUN/ro-crate-metadata.json`,
see aiwfc.provenance) once the run has finished, from the copies `submit.sh` made in
`RUN/slurm/` (`workflow.json`, `aiwfc-manifest.json`); the cluster's python3 must be able
to import aiwfc for that, else it says so. The exit status stays the run's either way: a
crate is a record of the run, not part of its outcome.

A tracked workflow's last job (`jobs/aiwf_finish.sbatch`, role `finish` in jobs.tsv)
runs `status.sh --crate` itself; its own state is listed but never counts towards the run's.

`cancel.sh` marks the run cancelled (controllers and expanders then submit nothing
more) and `scancel`s every recorded job that is still queued or running, repeating
until none is left (a controller may have been submitting at that moment).
"""

from __future__ import annotations

from aiwfc.emitter import Emitter, header_lines

__all__ = ["status_text", "cancel_text"]

_FIND_RUN = r"""
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (( $# > 0 )); then
  run=$1
elif [[ -e $here/jobs.tsv ]]; then
  run=$(dirname "$here")
elif [[ -s $here/last-run ]]; then
  run=$(cat "$here/last-run")
else
  echo "usage: $0 RUN_DIRECTORY" >&2
  exit 2
fi
if [[ ! -e $run/slurm/jobs.tsv ]]; then
  echo "$0: $run is not a submitted run (no slurm/jobs.tsv)" >&2
  exit 2
fi
""".strip("\n")

_STATUS_PY = r'''
import json, os, re, subprocess, sys
from pathlib import Path

run = Path(sys.argv[1]).resolve()
jobs = []
for line in (run / "slurm" / "jobs.tsv").read_text().splitlines():
    parts = line.split("\t")
    if len(parts) == 4:
        jobs.append({"name": parts[0], "iteration": int(parts[1]), "role": parts[2], "id": parts[3]})

def sh(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return 1, ""
    return p.returncode, p.stdout

ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}
states = {}          # job id -> list of states (one per array task)
_, out = sh("squeue", "-h", "-t", "all", "-o", "%A|%F|%T|%r")
for row in out.splitlines():
    f = row.strip().split("|")
    if len(f) == 4:
        key = f[1] if f[1] not in ("", "0", "N/A") else f[0]
        states.setdefault(key, []).append(f[2])
for job in jobs:
    if job["id"] in states:
        continue
    rc, out = sh("scontrol", "show", "job", "-o", job["id"])
    found = re.findall(r"JobState=(\S+)", out) if rc == 0 else []
    if not found:
        rc, out = sh("sacct", "-X", "-n", "-P", "-j", job["id"], "-o", "State")
        if rc != 0:
            rc, out = sh("sacct", "-c", "-n", "-P", "-j", job["id"], "-o", "State")
        found = [s.split()[0] for s in out.split() if s.strip() and s.split()[0].isupper()]
    states[job["id"]] = found or ["UNKNOWN"]

def summary(sts):
    for s in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "CANCELLED"):
        if s in sts:
            return s
    if any(s in ACTIVE for s in sts):
        return "RUNNING" if "RUNNING" in sts else "PENDING"
    return sts[0] if len(set(sts)) == 1 else "MIXED"

for job in jobs:
    job["states"] = states[job["id"]]
    job["state"] = summary(job["states"])

tasks = {}
for rec in sorted(run.glob("tasks/*/i*/*/task.json")):
    try:
        t = json.loads(rec.read_text())
    except (OSError, ValueError):
        continue
    key = f'{t.get("phase")} i{t.get("iteration")}'
    tasks.setdefault(key, {}).setdefault(t.get("state", "?"), 0)
    tasks[key][t.get("state", "?")] += 1
loops = {}
for rec in sorted(run.glob("loops/*/i*.json")):
    try:
        d = json.loads(rec.read_text())
    except (OSError, ValueError):
        continue
    loops.setdefault(d.get("loop", rec.parent.name), []).append(
        {"iteration": d.get("iteration"), "value": d.get("value"), "continue": d.get("continue"),
         "reason": d.get("reason")})

# the finish job (a tracked run's last) records the run; it is not part of its outcome
run_jobs = [j for j in jobs if j["role"] != "finish"]
bad = [j for j in run_jobs if j["state"] in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE")]
cancelled = [j for j in run_jobs if j["state"] == "CANCELLED"]
active = [j for j in run_jobs if j["state"] in ("PENDING", "RUNNING")]
if not run_jobs:
    state = "empty"
elif active:
    state = "running"   # until Slurm has cancelled what waited for a failure, too
elif bad:
    state = "failed"
elif cancelled:
    state = "cancelled"
elif all(j["state"] == "COMPLETED" for j in run_jobs):
    state = "completed"
else:
    state = "unknown"
doc = {"format": "aiwf-run/1", "backend": "slurm", "state": state, "jobs": jobs, "tasks": tasks, "loops": loops,
       "failed": [f'{j["name"]} ({j["role"]}, iteration {j["iteration"]}, job {j["id"]})' for j in bad]}
tmp = run / "run.json.tmp"
tmp.write_text(json.dumps(doc, indent=2) + "\n")
os.replace(tmp, run / "run.json")

print(f"run {run}: {state}" + (f" ({len(bad)} job(s) failed so far)" if state == "running" and bad else ""))
print(f"jobs: {len(jobs)} submitted, " + ", ".join(
    f"{n} {s.lower()}" for s, n in sorted({s: sum(1 for j in jobs if j['state'] == s) for s in
                                           {j['state'] for j in jobs}}.items())))
for j in jobs:
    print(f"  {j['name']:<24} i{j['iteration']:<3} {j['role']:<10} {j['id']:<10} {j['state']}")
for key, counts in tasks.items():
    print(f"tasks {key}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
for name, decisions in loops.items():
    for d in decisions:
        print(f"loop {name} iteration {d['iteration']}: {'continue' if d['continue'] else 'stop'}"
              f" ({d['reason'] or d['value']})")
for f in doc["failed"]:
    print(f"failed: {f}")
sys.exit({"completed": 0, "failed": 1, "cancelled": 1, "running": 3}.get(state, 1))
'''.strip("\n")


# After the summary: the crate only for a finished run (a running one has no outcome yet), and
# never changing the exit status, which scripts polling status.sh read as the run's state.
_CRATE = r"""
if (( crate )); then
  if (( status == 3 )); then
    echo "status.sh: $run is still running; no RO-Crate written (run status.sh --crate again when it has finished)" >&2
  elif python3 -c 'import aiwfc.provenance' 2> /dev/null; then
    python3 -m aiwfc.provenance "$run" "$run/slurm" || echo "status.sh: writing the RO-Crate of $run failed" >&2
  else
    echo "status.sh: no RO-Crate written: python3 cannot import aiwfc here (pip install 'aiwfc[track]' to record one)" >&2
  fi
fi
""".strip("\n")


def status_text(workflow: str, source: str) -> str:
    e = Emitter()
    e.line("#!/bin/bash")
    for text in header_lines(f"Summarises a run of workflow `{workflow}` (usage: status.sh [RUN_DIRECTORY]); "
                             "writes RUN/run.json.", source):
        e.comment(text)
    e.comment("--crate: also write the run's RO-Crate (RUN/ro-crate-metadata.json) once it has finished.")
    e.comment("Exit status: 0 completed, 1 failed or cancelled, 3 still running, 2 usage.")
    e.line("set -euo pipefail")
    e.line("crate=0")
    e.line('if [[ ${1:-} == --crate ]]; then')
    with e.indent():
        e.line("crate=1")
        e.line("shift")
    e.line("fi")
    e.extend(_FIND_RUN.split("\n"))
    e.line("status=0")
    e.line("python3 - \"$run\" <<'PY' || status=$?")
    for line in _STATUS_PY.split("\n"):
        e.lines.append(line)  # verbatim: a here-document is not indented
    e.line("PY")
    e.extend(_CRATE.split("\n"))
    e.line('exit "$status"')
    return e.text()


def cancel_text(workflow: str, source: str) -> str:
    e = Emitter()
    e.line("#!/bin/bash")
    for text in header_lines(f"Cancels a run of workflow `{workflow}` (usage: cancel.sh [RUN_DIRECTORY]).", source):
        e.comment(text)
    e.line("set -euo pipefail")
    e.extend(_FIND_RUN.split("\n"))
    e.line(': > "$run/slurm/cancelled"')
    e.line("total=0")
    e.line("for _ in 1 2 3 4 5 6 7 8 9 10; do")
    with e.indent():
        e.line("mapfile -t live < <(squeue -h -o '%A %F' | awk -F '\\t' 'NR == FNR { want[$4] = 1; next } "
               "{ split($0, f, \" \"); if ((f[1] in want) || (f[2] in want)) print f[1] }' "
               "\"$run/slurm/jobs.tsv\" - | sort -u)")
        e.line('if (( ${#live[@]} == 0 )); then break; fi')
        e.line('scancel "${live[@]}"')
        e.line("total=$(( total + ${#live[@]} ))")
        e.line("sleep 1")
    e.line("done")
    e.line('echo "cancel.sh: cancelled $total job(s) of run $run"')
    return e.text()
