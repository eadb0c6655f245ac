"""The Workflow Run RO-Crate of a finished run (`ro-crate-metadata.json` in the run directory).

Every engine records that tasks ran; a crate also says what was compiled, with which
params, what came out, and why the compiler shaped the plan as it did, in the vocabulary
other tools read (RO-Crate 1.1 with the Workflow Run Crate profile,
https://w3id.org/ro/wfrun/workflow/0.5). One builder serves every backend: `aiwfc run`
calls `write_crate` when its program ends, and a Slurm run can call it from `status.sh`
(`python3 -m aiwfc.provenance RUN PROGRAM`), so both crates have the same shape. It reads
only files: the run directory (`run.json` or the task records, see aiwfc.runrecords) and
the program directory (`workflow.json`, the artefacts, `aiwfc-manifest.json` and the
workflow's own source files under `source/`).

Entities (ids relative to the run directory; files outside it as absolute file:// URIs):

* the root dataset conforms to the Process, Workflow and Workflow Run Crate profiles; its
  `mainEntity` is the workflow source (File, SoftwareSourceCode, ComputationalWorkflow,
  language `#aiwf`), whose `hasPart` are the compiled program files and the manifest,
  `input` a FormalParameter per param (`#param-<name>`), `output` one per output port
  (`#output-<phase>.<port>`);
* `#aiwfc` (SoftwareApplication, the compiler) and `#compile` (CreateAction: instrument
  aiwfc, object the sources, result the program and the manifest); the manifest File
  `mentions` one HowToStep per plan pass (`#pass-<name>`: position, `description` its
  decisions one per line, `disambiguatingDescription` why it was skipped);
* `#run` (CreateAction: instrument the workflow, object one PropertyValue per param value
  (`#pv-param-<name>`), result every task output: a File for a file output that exists,
  else a PropertyValue (`#pv-<phase>-i<K>-<I>-<port>`, value as JSON) -- each with
  `exampleOfWork` its FormalParameter; startTime, endTime, actionStatus).

Without the `rocrate` package nothing is written and `write_crate` returns a notice.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

from aiwfc.runrecords import load_run, run_dir_main

__all__ = ["CRATE_NAME", "PROFILES", "SOURCE_DIR", "crate_entities", "write_crate"]

CRATE_NAME = "ro-crate-metadata.json"
SOURCE_DIR = "source"
MANIFEST_NAME = "aiwfc-manifest.json"  # aiwfc.manifest.MANIFEST_NAME (not imported: that module needs the IR)
PROFILES = ["https://w3id.org/ro/wfrun/process/0.5", "https://w3id.org/ro/wfrun/workflow/0.5",
            "https://w3id.org/ro/wfrun/workflow-run/0.5", "https://w3id.org/workflowhub/workflow-ro-crate/1.0"]
_FILE_TYPES = ("file", "dir")


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")


def _additional_type(type_text: str) -> str:
    t = type_text.strip()
    return {"file": "File", "dir": "Dataset", "int": "Integer", "float": "Float", "bool": "Boolean",
            "string": "Text"}.get(t, "Collection" if t.startswith("list<") else "StructuredValue")


class _Ids:
    """Data-entity ids: relative inside the crate root, file:// URIs outside it."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def __call__(self, path: Path) -> str:
        p = path.resolve()
        try:
            rel = p.relative_to(self.root).as_posix()
            return rel + "/" if p.is_dir() else rel
        except ValueError:
            return p.as_uri()


def crate_entities(run_dir: str | Path, program_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The crate's entities besides the metadata descriptor and root (see the module docstring),
    root first (its `@id` is "./")."""
    run_path = Path(run_dir).resolve()
    program = Path(program_dir).resolve() if program_dir else run_path / "program"
    ids = _Ids(run_path)
    run = load_run(run_path)
    spec = _read(program / "workflow.json") or {}
    manifest = _read(program / MANIFEST_NAME) or {}
    workflow_name = (run.workflow if run else None) or spec.get("workflow") or manifest.get("workflow") or "workflow"
    entities: list[dict[str, Any]] = []

    source_name = manifest.get("source") or Path(spec.get("source") or f"{workflow_name}.aiwf").name
    source_file = program / SOURCE_DIR / source_name
    wf_id = ids(source_file)
    # bytecode is no part of the program: `import aiwf_task` leaves __pycache__/*.pyc beside it
    # unless PYTHONDONTWRITEBYTECODE is set
    program_files = sorted(p for p in program.rglob("*") if p.is_file() and p.suffix != ".pyc"
                           and SOURCE_DIR not in p.relative_to(program).parts[:1]
                           and "__pycache__" not in p.relative_to(program).parts)
    params = (run.params if run else None) or spec.get("params") or {}
    declared = manifest.get("params") or {}
    phases = spec.get("phases") or {}
    order = [p for p in spec.get("order") or [] if p in phases] + sorted(set(phases) - set(spec.get("order") or []))
    outputs = [(p, o) for p in order for o in phases[p].get("outputs") or []]  # in dependency order

    formal_in = [{"@id": f"#param-{n}", "@type": "FormalParameter", "name": n,
                  "additionalType": _additional_type((declared.get(n) or {}).get("type", "string")),
                  "conformsTo": {"@id": "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"}}
                 for n in sorted(set(params) | set(declared))]
    formal_out = [{"@id": f"#output-{p}.{o['name']}", "@type": "FormalParameter", "name": f"{p}.{o['name']}",
                   "additionalType": _additional_type(o.get("type", "string")),
                   "conformsTo": {"@id": "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"}}
                  for p, o in outputs]

    root = {"@id": "./", "@type": "Dataset", "name": f"aiwf run of {workflow_name}",
            "description": f"Workflow Run RO-Crate of the aiwf workflow `{workflow_name}` ({run_path.name})",
            "datePublished": _iso((run.started if run else None)) or
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "conformsTo": [{"@id": u} for u in PROFILES], "license": "notspecified",
            "mainEntity": {"@id": wf_id}, "mentions": [{"@id": "#run"}, {"@id": "#compile"}],
            "hasPart": [{"@id": wf_id}] + [{"@id": ids(f)} for f in program_files]}
    entities.append(root)
    for u in PROFILES:
        entities.append({"@id": u, "@type": "CreativeWork", "name": u.rsplit("/", 2)[-2], "version": u.rsplit("/", 1)[-1]})
    entities.append({"@id": "#aiwf", "@type": "ComputerLanguage", "name": "aiwf",
                     "url": {"@id": "https://github.com/aiwf/aiwfc"}})
    entities.append({"@id": wf_id, "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
                     "name": workflow_name, "programmingLanguage": {"@id": "#aiwf"},
                     "hasPart": [{"@id": ids(f)} for f in program_files],
                     "input": [{"@id": e["@id"]} for e in formal_in],
                     "output": [{"@id": e["@id"]} for e in formal_out]})
    entities += formal_in + formal_out

    # the compiler, what it read and wrote, and its decisions
    compiler = manifest.get("compiler") or "aiwfc"
    entities.append({"@id": "#aiwfc", "@type": "SoftwareApplication", "name": "aiwfc",
                     "softwareVersion": compiler.split(" ", 1)[-1] if " " in compiler else None,
                     "url": {"@id": "https://github.com/aiwf/aiwfc"}})
    source_ids = []
    for s in manifest.get("sources") or []:
        local = program / SOURCE_DIR / s["file"]
        sid = ids(local) if local.is_file() else f"#source-{s['file']}"
        source_ids.append(sid)
        if sid != wf_id:
            entities.append({"@id": sid, "@type": "File" if local.is_file() else "CreativeWork", "name": s["file"],
                             "sha256": s["sha256"]})
            if local.is_file():  # a data entity the crate carries (an import): part of the root, too
                root["hasPart"].append({"@id": sid})
        else:
            entities[[e["@id"] for e in entities].index(wf_id)]["sha256"] = s["sha256"]
    plan = manifest.get("plan") or {}
    passes = []
    for n, step in enumerate(plan.get("passes") or [], 1):
        lines = list(step.get("decisions") or []) + [f"note: {x}" for x in step.get("notes") or []]
        passes.append({"@id": f"#pass-{step['name']}", "@type": "HowToStep", "name": step["name"], "position": n,
                       "description": "\n".join(lines) if lines else "no change",
                       "disambiguatingDescription": step.get("skipped") or
                       ("applied" if step.get("applied") else "enabled, nothing to do")})
    manifest_file = program / MANIFEST_NAME
    if manifest_file.is_file():
        entities.append({"@id": ids(manifest_file), "@type": "File", "name": "aiwfc compile manifest",
                         "encodingFormat": "application/json", "conformsTo": {"@id": "#aiwfc-manifest"},
                         "mentions": [{"@id": p["@id"]} for p in passes]})
        entities.append({"@id": "#aiwfc-manifest", "@type": "CreativeWork",
                         "name": manifest.get("format") or "aiwfc-manifest/1"})
    entities += passes
    for f in program_files:
        if f != manifest_file:
            entities.append({"@id": ids(f), "@type": "File", "name": f.name})
    entities.append({"@id": "#compile", "@type": "CreateAction", "name": f"aiwfc compile {source_name}",
                     "instrument": {"@id": "#aiwfc"}, "object": [{"@id": i} for i in source_ids],
                     "result": [{"@id": ids(f)} for f in program_files],
                     "description": "passes applied: " + (", ".join(plan.get("applied") or []) or "none")})

    # the run: param values in, task outputs out
    objects = []
    for n in sorted(params):
        objects.append({"@id": f"#pv-param-{n}", "@type": "PropertyValue", "name": n,
                        "value": json.dumps(params[n]), "exampleOfWork": {"@id": f"#param-{n}"}})
    results = []
    out_types = {(p, o["name"]): o.get("type", "") for p, o in outputs}
    for f in sorted(run_path.glob("tasks/*/i*/*/task.json")):
        rec = _read(f)
        if not isinstance(rec, dict) or rec.get("state") != "done" or not f.parts[-2].isdigit():
            continue
        phase, k, i = rec.get("phase"), rec.get("iteration"), rec.get("index")
        for port, value in sorted((rec.get("outputs") or {}).items()):
            example = {"@id": f"#output-{phase}.{port}"}
            kind = out_types.get((phase, port), "")
            path = Path(value) if isinstance(value, str) and kind in _FILE_TYPES else None
            if path is not None and not path.is_absolute():
                path = f.parent / path
            if path is not None and path.exists():
                results.append({"@id": ids(path), "@type": "Dataset" if path.is_dir() else "File",
                                "name": f"{phase}.{port} (iteration {k}, item {i})", "exampleOfWork": example})
            else:
                results.append({"@id": f"#pv-{phase}-i{k}-{i}-{port}", "@type": "PropertyValue",
                                "name": f"{phase}.{port}", "value": json.dumps(value), "exampleOfWork": example})
    entities += objects + results
    root["hasPart"] += [{"@id": r["@id"]} for r in results if r["@type"] in ("File", "Dataset")]
    if (run_path / "run.json").is_file():
        entities.append({"@id": "run.json", "@type": "File", "name": "run summary (aiwf-run/1)",
                         "encodingFormat": "application/json"})
        root["hasPart"].append({"@id": "run.json"})
    state = run.state if run else "empty"
    action = {"@id": "#run", "@type": "CreateAction", "name": f"aiwf run of {workflow_name}",
              "instrument": {"@id": wf_id}, "object": [{"@id": o["@id"]} for o in objects],
              "result": [{"@id": r["@id"]} for r in results],
              "actionStatus": {"@id": "http://schema.org/CompletedActionStatus" if state == "done"
                               else "http://schema.org/FailedActionStatus" if state == "failed"
                               else "http://schema.org/ActiveActionStatus"}}
    if run is not None and run.started is not None:
        action["startTime"] = _iso(run.started)
        if run.seconds is not None:
            action["endTime"] = _iso(run.started + run.seconds)
    entities.append(action)
    return [{k: v for k, v in e.items() if v is not None} for e in entities]


def write_crate(run_dir: str | Path, program_dir: str | Path | None = None) -> str:
    """Writes RUN/ro-crate-metadata.json through the rocrate library. Returns the line to
    show the user: where the crate is, or why none was written."""
    try:
        from rocrate.rocrate import ROCrate  # an optional extra (aiwfc[track]), not a dependency
    except ImportError:
        return "no RO-Crate written: the rocrate package is not installed (pip install 'aiwfc[track]')"
    run_path = Path(run_dir).resolve()
    entities = crate_entities(run_path, program_dir)
    crate = ROCrate()
    crate.root_dataset._jsonld.update({k: v for k, v in entities[0].items() if k != "@id"})
    for e in entities[1:]:
        crate.add_jsonld(e)
    crate.metadata.write(run_path)
    return f"RO-Crate: {run_path / CRATE_NAME}"


def main(argv: list[str] | None = None) -> int:
    """`python3 -m aiwfc.provenance RUN [PROGRAM]`: write the crate of a run (e.g. from Slurm's status.sh)."""
    return run_dir_main(sys.argv[1:] if argv is None else argv, "python3 -m aiwfc.provenance RUN_DIR [PROGRAM_DIR]",
                        write_crate)

if __name__ == "__main__":
    sys.exit(main())
