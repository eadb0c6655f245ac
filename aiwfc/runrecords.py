"""Reading finished (or running) run directories: the one place that knows their layout.

A run directory is what `aiwfc run` or a Slurm job tree leaves behind: `run.json` (the
engine's summary, format `aiwf-run/1`, written by the Parsl program and by Slurm's
`status.sh`) and `tasks/<phase>/i<K>/<I>/task.json` (one record per task, written by the
shared runtime `aiwf_task.py`). `aiwfc runs` and the RO-Crate builder read runs through
`load_run`, so a run directory whose `run.json` is missing (a Slurm run nobody asked the
status of yet) is still readable: its records are then gathered from the task.json files.

"Final metrics" of a run are the tracked values of each phase's last loop iteration:
numbers and booleans only (a tracked file is an output, not a metric), `metrics {...}`
records flattened with dots, and a foreach phase's items told apart as `phase[I].name`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["RUN_JSON", "RunRecord", "load_run", "find_runs", "final_metrics", "tracked_set", "run_dir_main",
           "SPEC_DIRS", "run_spec"]

RUN_JSON = "run.json"
# where a run directory keeps the spec it ran from (workflow.json, format aiwf-runtime/1):
# `aiwfc run` in RUN/program, a Slurm run in RUN/slurm, a cwltool run converted by aiwfc.cwlrecords in RUN/cwl
SPEC_DIRS = ("program", "slurm", "cwl")
_TASK_KEYS = ("phase", "iteration", "index", "values", "command", "params", "datasets", "input_files", "image")


@dataclass
class RunRecord:
    """One run directory as `aiwfc runs` and the crate builder see it."""

    path: Path
    workflow: str | None
    state: str
    params: dict[str, Any]
    tracked: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> float | None:
        value = self.summary.get("started")
        return value if isinstance(value, (int, float)) else None

    @property
    def seconds(self) -> float | None:
        value = self.summary.get("seconds")
        return value if isinstance(value, (int, float)) else None

    @property
    def iterations(self) -> int:
        """The most iterations any loop ran (1 for a workflow without loops)."""
        loops = self.summary.get("loops") or {}
        return max([len(v) for v in loops.values() if isinstance(v, list)] + [1])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _records_from_tasks(run_dir: Path) -> tuple[list[dict], str | None, dict]:
    """task.json records of a run without run.json: (tracked entries, workflow, params)."""
    tracked, workflow, params = [], None, {}
    states: list[str] = []
    for f in sorted(run_dir.glob("tasks/*/i*/*/task.json")):
        r = _read_json(f)
        if not isinstance(r, dict) or not f.parts[-2].isdigit():
            continue
        workflow = workflow or r.get("workflow")
        params.update(r.get("params") or {})
        states.append(r.get("state") or "failed")
        if r.get("tracked") and r.get("state") == "done":
            entry = {k: r.get(k) for k in _TASK_KEYS if k != "values"}
            entry["values"] = r["tracked"]
            tracked.append(entry)
    state = "empty" if not states else "failed" if "failed" in states else \
        "running" if "running" in states else "done"
    tracked.sort(key=lambda t: (str(t["phase"]), t["iteration"], t["index"]))
    return tracked, workflow, {"state": state, "params": params}


def load_run(run_dir: str | Path) -> RunRecord | None:
    """The run in `run_dir`, or None when it holds neither run.json nor task records."""
    path = Path(run_dir)
    summary = _read_json(path / RUN_JSON)
    if isinstance(summary, dict) and summary.get("format") == "aiwf-run/1" and "tracked" in summary:
        return RunRecord(path, summary.get("workflow"), summary.get("state") or "unknown",
                         dict(summary.get("params") or {}), list(summary.get("tracked") or []), summary)
    # no run.json, or one without the records (Slurm's status.sh summarises jobs): read the tasks
    tracked, workflow, info = _records_from_tasks(path)
    if info["state"] == "empty":
        return None
    return RunRecord(path, workflow, info["state"], info["params"], tracked,
                     summary if isinstance(summary, dict) else {})


def run_spec(run_dir: str | Path) -> dict[str, Any]:
    """The spec a run ran from (see SPEC_DIRS), or {} when it has none: it tells a phase's
    params from its metrics, and its foreach from a single task."""
    for d in SPEC_DIRS:
        spec = _read_json(Path(run_dir) / d / "workflow.json")
        if isinstance(spec, dict):
            return spec
    return {}


def find_runs(paths: list[str | Path]) -> list[RunRecord]:
    """Runs in `paths`: each a run directory, or a directory whose children are run directories.
    Sorted by start time (unknown last), then path."""
    runs: list[RunRecord] = []
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        candidates = [p] if (p / RUN_JSON).is_file() or (p / "tasks").is_dir() else \
            sorted(c for c in p.iterdir() if c.is_dir()) if p.is_dir() else []
        for c in candidates:
            key = c.resolve()
            if key in seen:
                continue
            run = load_run(c)
            if run is not None:
                seen.add(key)
                runs.append(run)
    runs.sort(key=lambda r: (r.started is None, r.started or 0.0, str(r.path)))
    return runs


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        out[prefix] = value
    elif isinstance(value, dict):
        for k in sorted(value):
            _flatten(f"{prefix}.{k}", value[k], out)


def final_metrics(run: RunRecord) -> dict[str, Any]:
    """The numeric tracked values of each phase's last iteration (see the module docstring)."""
    last: dict[str, int] = {}
    for t in run.tracked:
        last[t["phase"]] = max(last.get(t["phase"], -1), t["iteration"])
    by_phase: dict[str, list[dict]] = {}
    for t in run.tracked:
        if t["iteration"] == last[t["phase"]]:
            by_phase.setdefault(t["phase"], []).append(t)
    out: dict[str, Any] = {}
    for phase, entries in by_phase.items():
        many = len(entries) > 1 or any(e["index"] != 0 for e in entries)
        for e in sorted(entries, key=lambda e: e["index"]):
            base = f"{phase}[{e['index']}]" if many else phase
            for name in sorted(e.get("values") or {}):
                _flatten(f"{base}.{name}", e["values"][name], out)
    return out


def tracked_set(run: RunRecord) -> set[tuple[str, int, int, str]]:
    """The run's tracked records as comparable facts: (phase, iteration, index, values as JSON),
    file paths reduced to their names (two engines put the same task in different run dirs)."""

    def norm(v: Any) -> Any:
        if isinstance(v, str) and "/" in v:
            return Path(v).name
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v
    return {(t["phase"], t["iteration"], t["index"], json.dumps(norm(t.get("values") or {}), sort_keys=True))
            for t in run.tracked}


def run_dir_main(argv: list[str], usage: str, act: Callable[[str, str | None], str]) -> int:
    """The command line of a tool over one run directory (`python3 -m aiwfc.tracking RUN [URI]`,
    `python3 -m aiwfc.provenance RUN [PROGRAM]`, run from a Slurm job as well): RUN and an
    optional second argument; prints the line `act(RUN, SECOND)` returns. Exit status 0, also
    when that line says nothing could be recorded (a record of the run is not part of its
    outcome); 2 for usage or a missing run directory."""
    if not argv or len(argv) > 2 or argv[0].startswith("-"):
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    if not Path(argv[0]).is_dir():
        print(f"aiwfc: {argv[0]}: no such directory", file=sys.stderr)
        return 2
    print(act(argv[0], argv[1] if len(argv) > 1 else None), flush=True)
    return 0
