"""Task records of a cwltool run, in the run-directory layout the other backends write.

Slurm and Parsl tasks run through the shared runtime, which writes
`RUN/tasks/<phase>/i<K>/<I>/task.json` itself. A CWL tool runs in a sandbox that cwltool
deletes, so a tracked phase's tool writes its record as an output file instead
(`aiwf-record.json`, with the fields of task.json: params, dataset versions and hashes,
input file hashes, image, command and the `tracked` values), and the workflow outputs them
all (`aiwf_record__<phase>`, and `aiwf_records__<loop>` for every iteration of a loop; see
aiwfc_backends.cwl), with the run spec they refer to (`aiwf_spec`: the workflow.json Slurm
and Parsl run from). This module puts them where `aiwfc runs`, the RO-Crate builder and
`aiwfc.tracking` read them: the records under RUN/tasks, the spec as RUN/cwl/workflow.json
(aiwfc.runrecords.SPEC_DIRS), so that `python -m aiwfc.tracking RUN` logs the run:

    cwltool --enable-ext --outdir OUT hpo.cwl hpo.inputs.yml > outputs.json
    python -m aiwfc.cwlrecords outputs.json RUN

Paths in the records (command, inputs, input files, outputs) are those inside cwltool's
sandboxes, which are gone after the run: a file's content is in its sha256, and
aiwfc.runrecords.tracked_set compares paths by their names anyway.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["RECORD_OUTPUTS", "SPEC_OUTPUT", "SPEC_PATH", "record_files", "import_records", "main"]

RECORD_OUTPUTS = ("aiwf_record__", "aiwf_records__")
SPEC_OUTPUT = "aiwf_spec"
SPEC_PATH = "cwl/workflow.json"  # in the run directory (aiwfc.runrecords.SPEC_DIRS)


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
    """Writes RUN/tasks/<phase>/i<K>/<I>/task.json for every record, and the run spec as
    RUN/cwl/workflow.json when the outputs carry it; returns the records' paths."""
    run = Path(run_dir)
    written = []
    for f in _files(outputs.get(SPEC_OUTPUT)):
        spec = json.loads(Path(f).read_text(encoding="utf-8"))  # a damaged spec is refused, not copied
        (run / SPEC_PATH).parent.mkdir(parents=True, exist_ok=True)
        (run / SPEC_PATH).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
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
    if (Path(argv[1]) / SPEC_PATH).is_file():
        print(f"run spec -> {Path(argv[1]) / SPEC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
