"""`aiwfc runs [DIR...]`: list past runs of a workflow and compare their params and final metrics.

Experiments are outputs: after a few `aiwfc run -p ...` (or Slurm runs), the question is
which settings gave which result. Each DIR is a run directory or a directory of them
(default: `runs/`, where `aiwfc run` puts them). The text table has one column per run
(oldest first) and one row per fact, so many params still fit a terminal; a row whose
values differ between runs starts with `*`, and `--differ` keeps only those. Final metrics
are the numeric tracked values of each phase's last loop iteration (see aiwfc.runrecords).

Exit status: 0 runs listed, 1 no run found, 2 a DIR that does not exist.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from aiwfc.runrecords import RunRecord, final_metrics, find_runs

DEFAULT_DIR = "runs"
FORMAT = "aiwfc-runs/1"


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="list past runs and compare their params and final metrics",
                       description="List the runs in run directories (default: runs/) and compare their "
                                   "params and final tracked metrics.")
    p.add_argument("dirs", nargs="*", metavar="DIR", help="run directories, or directories of them (default: runs/)")
    p.add_argument("--workflow", metavar="NAME", help="only runs of this workflow")
    p.add_argument("--differ", action="store_true", help="only the rows whose values differ between runs")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=run)


def _label(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        rel = str(path)
    return rel if not rel.startswith("..") else str(path)


def _started(run: RunRecord) -> str | None:
    if run.started is None:
        return None
    return datetime.datetime.fromtimestamp(run.started, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _document(runs: list[RunRecord]) -> dict[str, Any]:
    entries = []
    for r in runs:
        entries.append({"dir": _label(r.path), "workflow": r.workflow, "state": r.state, "started": _started(r),
                        "seconds": r.seconds, "iterations": r.iterations, "params": dict(sorted(r.params.items())),
                        "metrics": final_metrics(r)})
    differ = []
    for section in ("params", "metrics"):
        keys = sorted({k for e in entries for k in e[section]})
        for k in keys:
            values = [json.dumps(e[section].get(k), sort_keys=True) for e in entries]
            if len(set(values)) > 1:
                differ.append(f"{section}.{k}")
    return {"format": FORMAT, "runs": entries, "differ": differ}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _text(doc: dict[str, Any], only_differ: bool) -> str:
    runs = doc["runs"]
    differ = set(doc["differ"])
    rows: list[tuple[str, str, list[str]]] = [("", "run", [e["dir"] for e in runs])]
    for key in ("workflow", "state", "started", "seconds", "iterations"):
        values = [_cell(e[key]) for e in runs]
        mark = "*" if len(set(values)) > 1 else ""
        if not only_differ or mark:
            rows.append((mark, key, values))
    for section, title in (("params", "param"), ("metrics", "metric")):
        for k in sorted({k for e in runs for k in e[section]}):
            mark = "*" if f"{section}.{k}" in differ else ""
            if not only_differ or mark:
                rows.append((mark, f"{title} {k}", [_cell(e[section].get(k)) for e in runs]))
    widths = [max(len(r[1]) for r in rows)] + [max(len(r[2][i]) for r in rows) for i in range(len(runs))]
    lines = []
    for mark, name, values in rows:
        cells = [name.ljust(widths[0])] + [v.ljust(widths[i + 1]) for i, v in enumerate(values)]
        lines.append(f"{mark or ' '} " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    dirs = args.dirs or [DEFAULT_DIR]
    for d in dirs:
        if not Path(d).is_dir():
            print(f"aiwfc: {d}: no such directory", file=sys.stderr)
            return 2
    runs = [r for r in find_runs(dirs) if not args.workflow or r.workflow == args.workflow]
    if not runs:
        which = f" of workflow {args.workflow}" if args.workflow else ""
        print(f"aiwfc: no runs{which} in {', '.join(dirs)}", file=sys.stderr)
        return 1
    doc = _document(runs)
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(_text(doc, args.differ))
    return 0
