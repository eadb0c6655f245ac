"""Robustness: mutated, truncated and random inputs never crash or hang `check`.

Every case must end in diagnostics or success, within a second (hypothesis' deadline).
The corpus is every example and stdlib module; the case counts are in the settings
below (2,000 mutations + 1,000 truncations + 1,000 random inputs per run).
"""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiwfc.pipeline import analyse
from aiwfc.render import render_json, render_sarif, render_text

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(p for pattern in ("examples/*/*.aiwf", "stdlib/**/*.aiwf") for p in ROOT.glob(pattern))
TEXTS = [p.read_text() for p in CORPUS]
# pieces of the language that make mutations likely to reach deep parts of the front end
TOKENS = ["{", "}", "[", "]", "(", ")", "=", "~", ":", ",", ".", '"', '"""', "${", "#", "\n", " ",
          "workflow", "simulation", "training", "feedback", "service", "param", "in", "out", "foreach",
          "run", "next", "stop", "when", "until", "max_iterations", "body", "resources", "list<",
          "metrics {", ">", "16GiB", "90m", "1e9", "-", "not", "and", "len(", "\x00", "é", "\t"]

COMMON = dict(deadline=1000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
              database=None, derandomize=True)


def run_check(text: str) -> None:
    comp = analyse("fuzz.aiwf", text=text)
    diags = comp.sink.sorted()
    for d in diags:
        assert d.code.startswith("AIWF") and d.span.line >= 1 and d.span.column >= 1
    render_text(diags, comp.sources)
    render_json(diags)
    render_sarif(diags)


def test_corpus_is_not_empty():
    assert len(TEXTS) >= 4


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + draw(st.integers(1, 10)):]
        else:
            end = min(len(text), pos + draw(st.integers(1, 200)))
            text = text[:end] + text[pos:end] + text[end:]
    return text


@settings(max_examples=2000, **COMMON)
@given(mutated())
def test_mutations(text):
    run_check(text)


@settings(max_examples=1000, **COMMON)
@given(st.sampled_from(TEXTS), st.floats(0, 1))
def test_truncations(text, fraction):
    run_check(text[: int(len(text) * fraction)])


@settings(max_examples=1000, **COMMON)
@given(st.binary(max_size=400))
def test_random_bytes(data):
    run_check(data.decode("utf-8", errors="replace"))


@settings(max_examples=300, **COMMON)
@given(st.lists(st.sampled_from(TOKENS + ["a", "b", "1", "2.5"]), max_size=120))
def test_token_soup(tokens):
    run_check("aiwf 0.1\n" + " ".join(tokens))
