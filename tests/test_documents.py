"""The JSON/YAML form of the IR: accepted wherever .aiwf is, validated against the schema."""

import json
from pathlib import Path

import yaml

from aiwfc.cli import main
from aiwfc.cli.schema_cmd import schema_text
from aiwfc.pipeline import analyse
from aiwfc.resolve.load import load

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """aiwf 0.1
workflow w {
  param n: int = 3
  resource cpu { cores = 2  memory = 1GiB  walltime = 10m }
  simulation sim {
    foreach i in range(n)
    resources = cpu
    out result: file = "r_${index}.txt"
    run "echo ${i} > ${result}"
  }
  analysis sum {
    resources = cpu
    in results: list<file> = sim.result
    out total: int
    run "cat ${results} | wc -l > ${total}"
  }
}
"""


def codes_of(comp):
    return [(d.code, d.span.line, d.span.column, d.message) for d in comp.sink.sorted()]


def ir_dump(comp):
    return comp.program.model_dump(by_alias=True, mode="json", exclude_none=True)


def test_schema_is_committed_and_current():
    """spec/aiwf.schema.json is what `aiwfc schema` prints (regenerate with `aiwfc schema > spec/aiwf.schema.json`)."""
    assert (ROOT / "spec" / "aiwf.schema.json").read_text() == schema_text()


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["title"] == "Program"
    assert out == schema_text()


def test_json_and_yaml_documents_mean_the_same_as_the_text(tmp_path):
    text_path = tmp_path / "w.aiwf"
    text_path.write_text(SOURCE)
    comp = analyse(str(text_path))
    assert codes_of(comp) == []
    data = ir_dump(comp)
    (tmp_path / "w.aiwf.json").write_text(json.dumps(data, indent=2))
    (tmp_path / "w.aiwf.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    for name in ("w.aiwf.json", "w.aiwf.yaml"):
        other = analyse(str(tmp_path / name))
        assert codes_of(other) == []
        assert ir_dump(other) == data


def test_yaml_schema_error_has_json_path_and_position(tmp_path):
    doc = tmp_path / "bad.aiwf.yaml"
    doc.write_text("aiwf: '0.1'\nworkflows:\n  - name: w\n    phases:\n      - name: a\n"
                   "        kind: simulaton\n        retries: -1\n")
    comp = analyse(str(doc))
    got = codes_of(comp)
    assert got == [
        ("AIWF006", 6, 15, "$.workflows[0].phases[0].kind: 'simulaton' is not one of ['simulation', "
                           "'preprocess', 'training', 'inference', 'analysis', 'task', 'service']"),
        ("AIWF006", 7, 18, "$.workflows[0].phases[0].retries: -1 is less than the minimum of 0"),
    ]


def test_unknown_key_points_at_the_key(tmp_path):
    doc = tmp_path / "bad.aiwf.yaml"
    doc.write_text("aiwf: '0.1'\nworkflows:\n  - name: w\n    phasess: []\n")
    assert codes_of(analyse(str(doc))) == [
        ("AIWF006", 4, 5, "$.workflows[0]: Additional properties are not allowed ('phasess' was unexpected)")]


def test_bad_expression_in_document_is_reported(tmp_path):
    doc = tmp_path / "bad.aiwf.json"
    doc.write_text(json.dumps({"aiwf": "0.1", "workflows": [{"name": "w", "feedbacks": [
        {"name": "f", "body": [], "until": "a >= ", "max_iterations": 2}]}]}))
    got = codes_of(analyse(str(doc)))
    assert len(got) == 1 and got[0][0] == "AIWF006"
    assert got[0][3].startswith("$.workflows[0].feedbacks[0].until: Value error, `a >= ` is not an aiwf expression")


def test_malformed_json_has_a_position(tmp_path):
    doc = tmp_path / "broken.aiwf.json"
    doc.write_text('{"aiwf": "0.1",\n  "workflows": [\n}')
    assert codes_of(analyse(str(doc))) == [("AIWF007", 3, 1, "Expecting value")]


def test_document_checks_run_like_text(tmp_path):
    """A document is checked like text: an undefined resource is found, with the document's position."""
    doc = tmp_path / "w.aiwf.yaml"
    doc.write_text("aiwf: '0.1'\nworkflows:\n  - name: w\n    phases:\n      - name: a\n        kind: task\n"
                   "        resources: cpu\n        command: echo hi\n")
    got = codes_of(analyse(str(doc)))
    assert got == [("AIWF101", 7, 20, "resource `cpu` is not defined")]


def test_params_override_applies_to_documents_too(tmp_path):
    text_path = tmp_path / "w.aiwf"
    text_path.write_text(SOURCE)
    comp = load(str(text_path), params={"n": "7"})
    assert comp.program.workflows[0].params[0].default.value == 7
    comp = load(str(text_path), params={"n": "seven"})
    assert [(d.code, d.message) for d in comp.sink.sorted()] == [
        ("AIWF203", "-p value for `n` (type int) is invalid: invalid literal for int() with base 10: 'seven'")]
