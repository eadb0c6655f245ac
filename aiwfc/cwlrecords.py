"""Task records of a cwltool run, in the run-directory layout the other backends write.

Slurm and Parsl tasks run through the shared runtime, which writes
`RUN/tasks/<phase>/i<K>/<I>/task.json` itself. A CWL tool runs in a sandbox that cwltool
deletes, so a tracked phase's tool writes its record as an output file instead
(`aiwf-record.json`: workflow, phase, iteration, index, command, state and the `tracked`
values, as in task.json), and the workflow outputs them all (`aiwf_record__<phase>`, and
`aiwf_records__<loop>` for every iteration of a loop; see aiwfc_backends.cwl). This module
puts them where `aiwfc runs`, the RO-Crate builder and `aiwfc.tracking` read records:

    cwltool --enable-ext --outdir OUT hpo.cwl hpo.inputs.yml > outputs.json
    python -m aiwfc.cwlrecords outputs.json RUN

A record's file outputs are recorded by their path inside the task directory, which is
what aiwfc.runrecords.tracked_set compares anyway (paths reduced to their names).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["RECORD_OUTPUTS", "record_files", "import_records", "main"]

RECORD_OUTPUTS = ("aiwf_record__", "aiwf_records__")


def _files(value: Any) -> list[str]:
    if isinstance(value, list):
        return [f for v in value for f in _files(v)]
    if isinstance(value, dict) and value.get("class") == "File":
        if value.get("path"):
            return [value["path"]]
        loc = urlparse(value.get("location") or "")
        return [unquote(loc.path)] if loc.scheme in ("", "file") and loc.path else []
    return []


def record_files(outputs: dict[str, Any]) -> list[str]:
    """The record files named by a cwltool output object, in output order."""
    return [f for key in sorted(outputs) if key.startswith(RECORD_OUTPUTS) for f in _files(outputs[key])]


def import_records(outputs: dict[str, Any], run_dir: str | Path) -> list[Path]:
    """Writes RUN/tasks/<phase>/i<K>/<I>/task.json for every record; returns their paths."""
    run = Path(run_dir)
    written = []
    for f in record_files(outputs):
        rec = json.loads(Path(f).read_text(encoding="utf-8"))
        target = run / "tasks" / str(rec["phase"]) / f"i{int(rec['iteration'])}" / str(int(rec["index"])) / "task.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(dict(rec, backend="cwl"), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m aiwfc.cwlrecords OUTPUTS_JSON RUN_DIR`; exit 2 for usage or an unreadable file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0].startswith("-"):
        print("usage: python -m aiwfc.cwlrecords CWLTOOL_OUTPUT_JSON RUN_DIR", file=sys.stderr)
        return 2
    try:
        outputs = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        written = import_records(outputs, argv[1])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"aiwfc: {argv[0]}: cannot read the task records: {e}", file=sys.stderr)
        return 2
    print(f"{len(written)} task record(s) -> {Path(argv[1]) / 'tasks'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
