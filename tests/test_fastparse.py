"""The fast parser (aiwfc/syntax/fastparse.py) is an optimisation, never a second grammar:
whenever it accepts a text, lark accepts it too and gives an equal AST (every node, every
span) and the same diagnostics; whenever lark reports a syntax error, the fast path has
given up. Checked on the corpus, generated workflows, and hypothesis-mutated texts.
"""

import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile
from aiwfc.syntax import fastparse
from aiwfc.syntax.larkparse import parse_module_lark
from aiwfc.syntax.parser import parse_module

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gen import KINDS, generate  # noqa: E402

CORPUS = sorted(p for pattern in ("examples/*/*.aiwf", "stdlib/**/*.aiwf") for p in ROOT.glob(pattern))
# the rule fixtures' snippets: small texts that reach every corner of the front end
SNIPPETS = [case["source"] for f in sorted((ROOT / "tests" / "rules").glob("*.yaml"))
            for case in yaml.safe_load(f.read_text()).get("cases", []) if "source" in case]
TEXTS = [p.read_text() for p in CORPUS] + SNIPPETS
TOKENS = ["{", "}", "[", "]", "(", ")", "=", "~", ":", ",", ".", '"', '"""', "${", "}", "#", "\n", " ",
          "workflow", "task", "param", "in", "out", "foreach", "run", "next", "stop", "when", "as",
          "import", "aiwf", "and", "or", "not", "true", "false", "list<", "<", ">", ">=", "==", "<=",
          "metrics {", "16GiB", "90m", "1e9", "2.5", "7", "-", "+", "*", "len(", "a.b", "x", "é", "\t"]


def both(text: str):
    """(fast AST or None, its diagnostics, lark AST, lark diagnostics, lark comments, fast comments)."""
    src = SourceFile("t.aiwf", text)
    fast_sink, fast_comments = DiagnosticSink(), []
    try:
        fast = fastparse.parse_module_fast(src, fast_sink, fast_comments)
    except fastparse.Fallback:
        fast = None
    slow_sink, slow_comments = DiagnosticSink(), []
    slow = parse_module_lark(src, slow_sink, slow_comments, pure=True)
    return fast, fast_sink, fast_comments, slow, slow_sink, slow_comments


def assert_same(text: str) -> bool:
    """Asserts the fast path agrees with lark; True when the fast path took the text."""
    fast, fsink, fcom, slow, ssink, scom = both(text)
    if fast is None:
        return False
    # a syntax error lark reports is never among the fast path's diagnostics: caught here
    assert fast == slow
    assert sorted(fsink.items, key=repr) == sorted(ssink.items, key=repr)
    assert fcom == scom
    return True


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_takes_the_fast_path_with_the_same_ast(path):
    assert assert_same(path.read_text()), "a well-formed corpus file fell back to lark"


def test_rule_fixture_snippets_agree():
    taken = sum(assert_same(text) for text in SNIPPETS)
    assert len(SNIPPETS) > 100 and taken > len(SNIPPETS) // 2


@pytest.mark.parametrize("kind", KINDS)
def test_generated_workflows_take_the_fast_path(kind):
    assert assert_same(generate(kind, 30, seed=3))


def test_parse_module_uses_the_fast_path_and_falls_back_on_errors():
    sink = DiagnosticSink()
    mod = parse_module(SourceFile("t.aiwf", 'aiwf 0.1\nworkflow w {\n  x = \n}\n'), sink)
    assert [(d.code, d.span.line, d.span.column) for d in sink.items] == [("AIWF001", 4, 1)]
    assert mod.blocks[0].kind.text == "workflow"


@pytest.mark.parametrize("text", [
    "aiwf 0.1\nworkflow w { x = a\n and = 1 }\n",          # `and` after a value is the operator
    "aiwf 0.1\nworkflow w { x = { a = 1 in = 2 } }\n",     # a keyword as a key after a value
    "aiwf 0.1\nworkflow w { param p: list<int>= [1] }\n",  # lark splits `>=` here
    "aiwf 0.1\nworkflow w { x = a * not }\n",              # `not` after `*` is a name for lark
    "aiwf 0.1\nworkflow w { x = (a) + (b) }\n",            # spans include parentheses
    "aiwf 1h {}\n",
    'aiwf 0.1\nimport "x" as in\nin {}\n',
    'aiwf 0.1\nw { run "a ${f(x, 2)} ${not a} ${a.true} ${true.a}" }\n',
])
def test_edge_cases_agree(text):
    assert_same(text)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        else:
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + draw(st.integers(1, 6)):]
    return text


@settings(max_examples=1500, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutations_agree(text):
    assert_same(text)


@settings(max_examples=1500, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS + ["a", "b", "1"]), max_size=40))
def test_token_soup_agrees(tokens):
    assert_same("aiwf 0.1\nw {\n" + " ".join(tokens) + "\n}\n")
