"""`aiwfc-manifest.json`: the provenance of one `aiwfc compile`, written beside the artefacts.

Every tool records a run; none records why the compiler shaped the plan the way it did.
The manifest does, in one small JSON document (keys in this order):

* `format` (`aiwfc-manifest/1`), `compiler` (`aiwfc X.Y.Z`), `workflow`, `source` (the root file);
* `sources`: every file the compilation read (the root, its imports, the site's module),
  by the name headers use (`std/...` for the stdlib, else relative to the project
  directory), each with the sha256 of the text compiled (the file's bytes when it is
  UTF-8), sorted by name;
* `site`: the bound site's name and file, or null;
* `params`: every param of the workflow with its type, the value compiled (a JSON value,
  or the expression's text when it is not a constant, e.g. a size) and what set it
  (`default`, `-p`, `params file`);
* `targets`, `optimisation` (`level` and the `disabled` passes, as given);
* `plan`: null when no target needed one; else the passes that changed the plan
  (`applied`), the site note when generic-slurm's limits were assumed, and every pass
  in order with `level`, `enabled`, `applied`, `skipped` (why it did not run), its
  `decisions` (what it merged, fused, staged, bundled... and why, as the pass words it)
  and its `notes` (what it considered and left alone, and why);
* `artefacts`: every file written (path relative to the output directory, sha256,
  executable), sorted by path. The manifest itself is not among them, nor the copies of
  the workflow's own sources that `aiwfc compile` writes under `source/` for the Slurm
  target (`project_sources`; they are the `sources` above, with their hashes).

Nothing in it reads a clock or an absolute path: recompiling the same input gives the
same bytes. It is written atomically with the artefacts (the same --force rule applies).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from aiwfc.backend import Artefacts
from aiwfc.emitter import COMPILER, source_name
from aiwfc.ir import models as ir
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import const_value
from aiwfc.syntax.ast import unparse

__all__ = ["MANIFEST_NAME", "MANIFEST_FORMAT", "manifest", "manifest_text", "project_sources"]

MANIFEST_NAME = "aiwfc-manifest.json"
MANIFEST_FORMAT = "aiwfc-manifest/1"
_COMMAND_LINE = "<command line>"


def _sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _params(wf: ir.Workflow, params_file: str | None) -> dict[str, Any]:
    declared = {p.name: p for p in wf.params}
    out: dict[str, Any] = {}
    for p in wf.params:
        value = None
        set_by = "default"
        if p.default is not None:
            value = const_value(p.default, declared)
            if value is None:
                value = unparse(p.default)
            file = p.default.span.file if p.default.span is not None else None
            if file == _COMMAND_LINE:
                set_by = "-p"
            elif params_file is not None and file is not None and Path(file).resolve() == Path(params_file).resolve():
                set_by = "params file"
        out[p.name] = {"type": str(p.type), "value": value, "set_by": set_by}
    return out


def _plan(result) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "applied": list(result.plan.passes),
        "site_note": result.site_note,
        "passes": [{"name": s.name, "level": s.level, "enabled": s.enabled, "applied": s.applied,
                    "skipped": s.skipped, "decisions": list(s.decisions), "notes": list(s.notes)}
                   for s in result.steps],
    }


def manifest(comp: Compilation, wf: ir.Workflow, *, targets: list[str], level: int, disabled: list[str],
             plan_result, artefacts: Artefacts, params_file: str | None = None) -> dict[str, Any]:
    """The manifest document (see the module docstring). `plan_result` is what
    `aiwfc.plan.build_plan` returned, or None when no target needed a plan."""
    project = Path(comp.path).resolve().parent

    def name(file: str) -> str:
        return source_name(file, project)

    sources = sorted(({"file": name(f), "sha256": _sha256(s.text)} for f, s in comp.sources.items()
                      if not f.startswith("<")), key=lambda d: d["file"])
    site = None
    if comp.site is not None:
        site = {"name": comp.site.name, "file": name(comp.site.span.file) if comp.site.span else None}
    files = []
    for path, (content, executable) in sorted(artefacts.items()):
        files.append({"path": path, "sha256": _sha256(content), "executable": executable})
    return {
        "format": MANIFEST_FORMAT,
        "compiler": COMPILER,
        "workflow": wf.name,
        "source": name(comp.path),
        "sources": sources,
        "site": site,
        "params": _params(wf, params_file),
        "targets": list(targets),
        "optimisation": {"level": level, "disabled": list(disabled)},
        "plan": _plan(plan_result),
        "artefacts": files,
    }


def project_sources(comp: Compilation) -> dict[str, str]:
    """The workflow's own source files by the name the manifest gives them, with the text
    compiled: what a run's RO-Crate carries (under `source/`) so the run can be re-created
    from its record. The stdlib's modules (`std/...`, they ship with aiwfc) and files outside
    the project directory are left out: the manifest still names them with their hashes."""
    project = Path(comp.path).resolve().parent
    out = {}
    for file, src in comp.sources.items():
        name = source_name(file, project)
        if not file.startswith("<") and not name.startswith(("std/", "/", "..")):
            out[name] = src.text
    return dict(sorted(out.items()))


def manifest_text(document: dict[str, Any]) -> str:
    """The manifest as written: 2-space indented JSON, non-ASCII kept, one final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
