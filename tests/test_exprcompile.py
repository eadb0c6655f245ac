"""Expressions compile to Python and JavaScript with the same values (run by both)."""

import json
import shutil
import subprocess

import pytest

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.exprcompile import PYTHON_PRELUDE, to_javascript, to_python
from aiwfc.syntax.parser import parse_expression_text

ENV = {"a": 3, "b": 4.5, "xs": [1, 2, 3, 10], "flag": True, "name": "md"}

CASES = [
    ("a + b * 2", 12.0),
    ("(a + b) * 2", 15.0),
    ("a / 2", 1.5),
    ("a % 2 == 1 and not flag or a > 2", True),
    ("len(xs) >= 4", True),
    ("max(xs) - min(xs)", 9),
    ("max(a, 7)", 7),
    ("sum(xs)", 16),
    ("mean(xs)", 4.0),
    ("len(range(a))", 3),
    ("range(2, 5)", [2, 3, 4]),
    ("abs(-a)", 3),
    ("round(b) + int(2.9)", 7),
    ("round(-b) + round(2.5)", -2),
    ("float(a) / 4", 0.75),
    ("1GiB / 1MiB", 1024.0),
    ("90m", 5400),
    ('"run ${name}-${a}" == "run md-3"', True),
    ("[a, b]", [3, 4.5]),
    ("(-a < 0) != false", True),
]


def parse(text):
    sink = DiagnosticSink()
    e = parse_expression_text(text, sink)
    assert e is not None and not sink.items
    return e


def py_ref(ref):
    return f"ENV[{ref.dotted!r}]"


def js_ref(ref):
    return f"ENV[{json.dumps(ref.dotted)}]"


@pytest.mark.parametrize("text,expected", CASES)
def test_python(text, expected):
    code = to_python(parse(text), py_ref)
    scope = {"ENV": ENV}
    exec(PYTHON_PRELUDE, scope)
    assert eval(code, scope) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: JavaScript cannot be run")
def test_javascript_agrees_with_python():
    lines = [f"var ENV = {json.dumps(ENV)};", "var out = [];"]
    for text, _ in CASES:
        lines.append(f"out.push({to_javascript(parse(text), js_ref)});")
    lines.append("console.log(JSON.stringify(out));")
    proc = subprocess.run(["node", "-e", "\n".join(lines)], capture_output=True, text=True, check=True)
    got = json.loads(proc.stdout)
    # JSON has one number type: compare as floats where Python has ints
    assert got == [json.loads(json.dumps(exp)) for _, exp in CASES]
