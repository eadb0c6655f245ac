"""MLflow tracking of a finished run (`aiwfc run --track mlflow[:URI]`), from its task records.

The runtime already records, per task and loop iteration, the tracked values, params,
input hashes and image (task.json); this module copies them into an MLflow tracking
store so the usual MLflow tools can browse and compare experiments. The experiment is
named after the workflow; one parent MLflow run per aiwf run (tag `aiwf.run_dir`, the
workflow's params as params) and one nested run per phase item (`<phase>[<index>]`,
or `<phase>` for a single task) that logs, across loop iterations:

* params: the params the phase reads and its tracked values that are params or its
  foreach variable (a value that changes between iterations is logged once, as first seen);
* metrics: every other tracked number (a `metrics {...}` record flattened as `metrics.loss`)
  with the loop iteration as the step;
* artifacts: tracked files and `model` outputs of the last iteration (under `i<K>/`).

The default store is a local file store `RUN/mlruns` (MLflow 3 keeps the file store in
maintenance mode, so MLFLOW_ALLOW_FILE_STORE is set for it). When mlflow is not
importable, nothing is logged and `track_run` returns a notice: the plain records stay.
Logging happens in the `aiwfc run` process after the engine ends, so the compute nodes
need no mlflow. A cwltool run is logged the same way once `python -m aiwfc.cwlrecords`
has put its task records and spec into a run directory. A Slurm run of a tracked workflow logs from its last job (`jobs/finish.sbatch`
runs `python3 -m aiwfc.tracking RUN [URI]`), where the cluster's python3 may lack
aiwfc or mlflow: then it prints why and the plain records stay.

Whether to track at all is decided, first setting wins, by `aiwfc run --no-track` /
`--track`, the workflow's `track = "..."`, then the bound site's `track` (`resolve_track`);
`"none"` turns tracking off. The URI comes from the first setting that names one, so a
workflow saying `track = "mlflow"` logs to the tracking server its site names.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aiwfc.runrecords import load_run, run_dir_main, run_spec

__all__ = ["parse_track", "resolve_track", "track_run", "default_uri", "main"]


def parse_track(value: str) -> tuple[str, str | None] | None:
    """`mlflow` or `mlflow:URI` -> ("mlflow", URI or None); `none` -> ("none", None);
    anything else -> None (AIWF702 in a source, a usage error on the command line)."""
    if value == "none":
        return "none", None
    kind, _, uri = value.partition(":")
    if kind != "mlflow":
        return None
    return kind, uri or None


def resolve_track(option: tuple[str, str | None] | None, workflow: str | None,
                  site: str | None) -> tuple[str, str | None] | None:
    """Whether and where a run is tracked: ("mlflow", URI or None) or None.

    `option` is the command line's (already parsed) choice, `workflow` and `site` the
    `track` texts of the workflow and its bound site. The first setting present decides
    whether to track (`none` turns it off); the URI is the first one named by a setting
    of the same tracker, in the same order. Invalid texts are ignored here: the
    checks report them (AIWF702) before anything runs."""
    settings = [option] + [parse_track(v) for v in (workflow, site) if v is not None]
    settings = [s for s in settings if s is not None]
    if not settings or settings[0][0] == "none":
        return None
    kind = settings[0][0]
    uri = next((u for k, u in settings if k == kind and u), None)
    return kind, uri


def default_uri(run_dir: Path) -> str:
    return (Path(run_dir).resolve() / "mlruns").as_uri()


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for k in sorted(value):
            _flatten(f"{prefix}.{k}", value[k], out)


def track_run(run_dir: str | Path, uri: str | None = None) -> str:
    """Logs the run in `run_dir` to MLflow at `uri` (default: a file store RUN/mlruns).
    Returns the line to show: where it was logged, or why nothing was."""
    run_path = Path(run_dir).resolve()
    uri = uri or default_uri(run_path)
    if uri.startswith("file:") or "://" not in uri:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow.tracking import MlflowClient  # an optional extra (aiwfc[track]), not a dependency
    except ImportError:
        return "no MLflow tracking: mlflow is not installed (pip install 'aiwfc[track]'); the task records remain"
    spec = run_spec(run_path)  # aiwfc run's RUN/program, Slurm's RUN/slurm, a converted CWL run's RUN/cwl
    summary = _read(run_path / "run.json") or {}
    if "state" not in summary:  # no run.json yet (a CWL run has none): the state of its task records
        found_run = load_run(run_path)
        summary["state"] = found_run.state if found_run is not None else "empty"
    workflow = summary.get("workflow") or spec.get("workflow") or "workflow"
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(workflow)
    experiment = found.experiment_id if found else client.create_experiment(workflow)
    parent = client.create_run(experiment, run_name=run_path.name, tags={"aiwf.run_dir": str(run_path),
                                                                       "aiwf.workflow": workflow})
    pid = parent.info.run_id
    for name, value in sorted((summary.get("params") or spec.get("params") or {}).items()):
        client.log_param(pid, name, json.dumps(value) if not isinstance(value, str) else value)
    records: dict[tuple[str, int], list[dict]] = {}
    for f in run_path.glob("tasks/*/i*/*/task.json"):
        rec = _read(f)
        if isinstance(rec, dict) and rec.get("state") == "done" and f.parts[-2].isdigit():
            rec["_dir"] = f.parent
            records.setdefault((rec["phase"], rec["index"]), []).append(rec)
    phases = spec.get("phases") or {}
    for (phase, index), recs in sorted(records.items()):
        info = phases.get(phase) or {}
        if not (info.get("track") or any(o.get("name") == "model" for o in info.get("outputs") or [])):
            continue
        recs.sort(key=lambda r: r["iteration"])
        single = (info.get("foreach") is None)
        child = client.create_run(experiment, run_name=phase if single else f"{phase}[{index}]",
                                  tags={"mlflow.parentRunId": pid, "aiwf.phase": phase, "aiwf.index": str(index)})
        cid = child.info.run_id
        param_names = set(info.get("params") or []) | {(info.get("foreach") or {}).get("var")}
        logged: set[str] = set()
        for rec in recs:
            k = rec["iteration"]
            for name, value in sorted((rec.get("params") or {}).items()):
                if name not in logged:
                    client.log_param(cid, name, json.dumps(value) if not isinstance(value, str) else value)
                    logged.add(name)
            metrics: dict[str, float] = {}
            for name, value in sorted((rec.get("tracked") or {}).items()):
                if name in param_names:
                    if name not in logged:
                        client.log_param(cid, name, json.dumps(value) if not isinstance(value, str) else value)
                        logged.add(name)
                else:
                    _flatten(name, value, metrics)
            for name, v in metrics.items():
                client.log_metric(cid, name, v, step=k)
        last = recs[-1]
        files = {n: v for n, v in (last.get("outputs") or {}).items() if isinstance(v, str)
                 and (n == "model" or n in (last.get("tracked") or {}))}
        for name, value in sorted(files.items()):
            path = Path(value) if Path(value).is_absolute() else last["_dir"] / value
            if path.is_file():
                client.log_artifact(cid, str(path), artifact_path=f"i{last['iteration']}")
        client.set_terminated(cid, "FINISHED")
    client.set_terminated(pid, "FINISHED" if summary.get("state") in ("done", "completed") else "FAILED")
    return f"MLflow: experiment {workflow}, run {pid} at {uri}"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    """`python3 -m aiwfc.tracking RUN_DIR [URI]`: log a finished run (e.g. from a Slurm run's last job).

    Exit status 0 also when nothing could be logged (mlflow missing): the notice says so,
    and tracking is a record of the run, not part of its outcome; 2 for usage."""
    return run_dir_main(sys.argv[1:] if argv is None else argv, "python3 -m aiwfc.tracking RUN_DIR [URI]", track_run)

if __name__ == "__main__":
    sys.exit(main())
