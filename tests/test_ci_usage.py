"""The CI usage the project documents works: the pre-commit hooks name real commands
and behave as a hook must, and the GitHub Actions job in spec/ci.md is valid YAML whose
`aiwfc` command lines parse and produce SARIF 2.1.0."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

from aiwfc.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
CI_DOC = (ROOT / "spec" / "ci.md").read_text()
GOOD = 'aiwf 0.1\n\nworkflow w {\n  task t {\n    run "true"\n  }\n}\n'


def test_hooks_are_well_formed():
    assert [h["id"] for h in HOOKS] == ["aiwfc-check", "aiwfc-fmt"]
    for h in HOOKS:
        assert set(h) >= {"id", "name", "entry", "language", "files"}
        assert h["language"] == "python"
        assert re.search(h["files"], "flows/a.aiwf") and not re.search(h["files"], "a.py")
        words = shlex.split(h["entry"])
        assert words[0] == "aiwfc"
        build_parser().parse_args(words[1:] + ["x.aiwf"])  # a real subcommand with real options


def _hook(hook_id: str, *files: str) -> int:
    entry = next(h["entry"] for h in HOOKS if h["id"] == hook_id)
    return main(shlex.split(entry)[1:] + list(files))


def test_hooks_pass_good_files_and_fail_bad_ones(tmp_path, capsys):
    good = tmp_path / "good.aiwf"
    good.write_text(GOOD)
    messy = tmp_path / "messy.aiwf"
    messy.write_text(GOOD.replace("  task t {", "  task   t{"))
    broken = tmp_path / "broken.aiwf"
    broken.write_text(GOOD.replace('run "true"', "resources = nowhere"))
    assert _hook("aiwfc-check", str(good)) == 0
    assert _hook("aiwfc-check", str(good), str(broken)) == 1
    assert _hook("aiwfc-fmt", str(good)) == 0
    assert _hook("aiwfc-fmt", str(good), str(messy)) == 1
    assert messy.read_text() == GOOD.replace("  task t {", "  task   t{")  # --check writes nothing
    out = capsys.readouterr().out
    assert "AIWF101" in out and str(messy) in out


def _yaml_blocks(text: str) -> list:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_ci_doc_job_is_valid_and_its_commands_work(tmp_path, capsys, monkeypatch):
    blocks = _yaml_blocks(CI_DOC)
    job = next(b for b in blocks if isinstance(b, dict) and "jobs" in b)
    steps = job["jobs"]["check"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "aiwfc.sarif"
    assert job["permissions"]["security-events"] == "write"
    runs = [s["run"] for s in steps if "aiwfc " in s.get("run", "")]
    check = next(r for r in runs if "--format sarif" in r)
    words = shlex.split(check.split(">")[0])
    assert words[:2] == ["aiwfc", "check"]
    # run the documented command on a real workflow directory
    flows = tmp_path / "workflows"
    flows.mkdir()
    (flows / "a.aiwf").write_text(GOOD.replace('run "true"', "resources = nowhere"))
    monkeypatch.chdir(tmp_path)
    args = [w if w != "workflows/*.aiwf" else str(flows / "a.aiwf") for w in words[1:]]
    assert main(args) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["AIWF101"]
    fmt = next(r for r in runs if "fmt --check" in r)
    assert main(shlex.split(fmt)[1:]) == 0  # the directory is in the canonical style
    assert any(p.get("id") == "aiwfc-check" for b in blocks if isinstance(b, dict) and "repos" in b
               for p in b["repos"][0]["hooks"])
