"""Rule fixtures (sqlfluff style): tests/rules/AIWFnnn.yaml, one file per diagnostic code.

A fixture file holds cases; each writes `source` as main.aiwf (or `main: NAME`) plus any
`files` into a fresh directory, runs the front end and checks in-process (`stage: check`,
the default), or additionally the planner (`stage: plan`) or a backend's compile
(`stage: compile:TARGET`), and compares the diagnostics of the file's code with
`expect`, exactly and in order:

    code: AIWF101
    cases:
      - name: undefined resource
        site: generic-slurm                 # optional --site
        params: {n: "4"}                    # optional -p NAME=VALUE
        params_file: p.yaml                 # optional --params (one of `files`)
        files: {lib.aiwf: "..."}            # optional extra files beside main.aiwf
        source: |
          aiwf 0.1 ...
        expect:                             # [] = this code must not be reported
          - {line: 4, column: 17, message: "..."}
        fixed: |                            # optional: the source after applying every fix
          ...

An expected diagnostic always compares `file` (default: the main file), `line`,
`column` and `message`; `end_line`, `end_column`, `severity`, `notes` and `related`
(a list of {line, column, message[, file]}) are compared when given. With `all: true`
every diagnostic of any code is compared, and each expectation names its `code`.

Stages of later pipeline parts are called through their public entry points when
they exist, and the case is skipped with the reason when they do not:
`plan` calls `aiwfc.plan.build_plan(comp, workflow, level=LEVEL, sink=comp.sink)` for
each workflow of a file without errors (`level: N` in the case, default 2);
`compile:TARGET` runs `aiwfc compile MAIN --target TARGET -o OUT --format json` in-process
and reads the diagnostics it prints.

Regenerating is deliberately not offered: expected diagnostics are written by hand.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml

from aiwfc.cli import main as cli_main
from aiwfc.pipeline import analyse
from aiwfc.source import SourceFile

RULES_DIR = Path(__file__).parent / "rules"
ALWAYS = ("file", "line", "column", "message")
OPTIONAL = ("end_line", "end_column", "severity", "notes", "code")


def load_fixtures() -> dict[str, dict]:
    """Every fixture file, by code."""
    out = {}
    for path in sorted(RULES_DIR.glob("AIWF*.yaml")):
        out[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return out


def _cases():
    for code, doc in load_fixtures().items():
        for i, case in enumerate(doc.get("cases") or []):
            slug = re.sub(r"[^a-z0-9]+", "-", str(case.get("name", i)).lower()).strip("-")
            yield pytest.param(code, case, id=f"{code}-{slug}")


def run_case(case: dict, tmp_path: Path, monkeypatch, capsys) -> tuple[list[dict], list]:
    """Writes the case's files and runs its stage; returns the diagnostics as JSON objects
    and, for in-process stages, as `Diagnostic`s (which carry the fixes)."""
    monkeypatch.chdir(tmp_path)
    main = case.get("main", "main.aiwf")
    for name, text in (case.get("files") or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / main).write_text(case["source"], encoding="utf-8")
    params = {k: str(v) for k, v in (case.get("params") or {}).items()}
    stage = case.get("stage", "check")
    if stage.startswith("compile:"):
        return _compile(case, main, stage.split(":", 1)[1], params, capsys), []
    comp = analyse(main, site=case.get("site"), params=params, params_file=case.get("params_file"))
    if stage == "plan":
        plan = _optional("aiwfc.plan", "stage plan")
        if not comp.sink.has_errors:  # the planner trusts the checks: only a clean workflow is planned
            for wf in comp.program.workflows:
                plan.build_plan(comp, wf, level=case.get("level", 2), sink=comp.sink)
    elif stage != "check":
        pytest.fail(f"unknown stage `{stage}` (check, plan or compile:TARGET)")
    diags = comp.sink.sorted()
    return [d.to_json() for d in diags], diags


def _optional(module: str, why: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            pytest.skip(f"{why}: {module} is not built yet")
        raise


def _compile(case: dict, main: str, target: str, params: dict, capsys) -> list[dict]:
    _optional("aiwfc.cli.compile_cmd", f"stage compile:{target}")
    argv = ["compile", main, "--target", target, "-o", "out", "--format", "json"]
    if case.get("site"):
        argv += ["--site", case["site"]]
    if "level" in case:
        argv += ["-O", str(case["level"])]
    for k, v in params.items():
        argv += ["-p", f"{k}={v}"]
    capsys.readouterr()
    cli_main(argv)
    out = capsys.readouterr().out
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


def project(actual: dict, expected: dict) -> dict:
    """The actual diagnostic reduced to the keys the expectation states (plus the always-compared ones)."""
    out = {k: actual.get(k) for k in ALWAYS}
    for k in OPTIONAL:
        if k in expected:
            out[k] = actual.get(k, [] if k == "notes" else None)
    if "related" in expected:
        out["related"] = [{k: r[k] for k in ALWAYS} for r in actual.get("related", [])]
    return out


def normalise(expected: dict, main: str) -> dict:
    """An expectation with its defaults filled in: the main file, for it and its related locations."""
    e = {**expected, "file": expected.get("file", main)}
    if "related" in e:
        e["related"] = [{"file": r.get("file", main), "line": r["line"], "column": r["column"],
                         "message": r["message"]} for r in e["related"]]
    return e


def apply_fixes(text: str, path: str, diags) -> str:
    """Applies every edit of every fix in `path`, last first; overlapping edits are an error."""
    src = SourceFile(path, text)
    edits = []
    for d in diags:
        for e in (d.fix.edits if d.fix else ()):
            if e.span.file == path:
                edits.append((src.offset(e.span.line, e.span.column),
                              src.offset(e.span.end_line, e.span.end_column), e.new_text))
    edits.sort(reverse=True)
    for (s1, e1, _), (s2, e2, _) in zip(edits[1:], edits):
        assert e1 <= s2, "fixes overlap"
    for start, end, new in edits:
        text = text[:start] + new + text[end:]
    return text


@pytest.mark.parametrize("code,case", list(_cases()))
def test_rule(code: str, case: dict, tmp_path: Path, monkeypatch, capsys) -> None:
    main = case.get("main", "main.aiwf")
    diags, objects = run_case(case, tmp_path, monkeypatch, capsys)
    if not case.get("all"):
        diags = [d for d in diags if d["code"] == code]
    expected = [normalise(e, main) for e in case.get("expect") or []]
    if len(diags) == len(expected):
        actual = [project(a, e) for a, e in zip(diags, expected)]
    else:  # show everything that was reported, to write the expectation from
        actual = [project(a, {}) | {"code": a["code"]} for a in diags]
    assert actual == expected
    if "fixed" in case:
        source_diags = [d for d in objects if case.get("all") or d.code == code]
        assert any(d.fix for d in source_diags), "`fixed` given but no diagnostic offers a fix"
        assert apply_fixes(case["source"], main, source_diags) == case["fixed"]
