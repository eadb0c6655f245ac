"""Robustness: mutated, truncated and random inputs never crash or hang `check`.

Every case must end in diagnostics or success, within a second. The corpus is every
example and stdlib module; the case counts are in the settings below (2,000 mutations
+ 1,000 truncations + 1,000 random inputs + 300 token soups per run).

Time: every case is measured by `run_check` itself (not by hypothesis' deadline, which
only fails a case that is slow twice in a row). The limit is checked on CPU time, the
work the check did, which a busy shared CI machine does not inflate: a case above
CPU_LIMIT fails at once. Wall time is recorded too, and only a case far above the
limit (WALL_LIMIT, a hang rather than noise) fails on it. The last test prints the
number of cases and the slowest ones, and re-checks the maxima.
"""

import time
from pathlib import Path

import pytest
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

COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
              database=None, derandomize=True)


CPU_LIMIT = 1.0   # seconds of CPU per case: the acceptance criterion
WALL_LIMIT = 5.0  # seconds of wall time per case: far above the limit, a hang
TIMES: list[tuple[float, float, int]] = []  # (cpu, wall, input length) of every case run


def run_check(text: str) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    comp = analyse("fuzz.aiwf", text=text)
    diags = comp.sink.sorted()
    for d in diags:
        assert d.code.startswith("AIWF") and d.span.line >= 1 and d.span.column >= 1
    render_text(diags, comp.sources)
    render_json(diags)
    render_sarif(diags)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    TIMES.append((cpu, wall, len(text)))
    assert cpu < CPU_LIMIT, f"{cpu:.2f} s of CPU for one input of {len(text)} characters"
    assert wall < WALL_LIMIT, f"{wall:.2f} s wall for one input of {len(text)} characters"


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


def test_zz_every_case_was_timed():
    """Runs last (file order): how many cases ran and how long the slowest took."""
    if not TIMES:
        pytest.skip("no fuzz case ran in this session (run the whole file)")
    cpu = sorted(t[0] for t in TIMES)
    wall = sorted(t[1] for t in TIMES)
    p99 = cpu[int(len(cpu) * 0.99) - 1]
    print(f"\nfuzz: {len(TIMES)} cases; CPU max {cpu[-1] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"median {cpu[len(cpu) // 2] * 1000:.1f} ms; wall max {wall[-1] * 1000:.0f} ms; "
          f"{sum(w > 1 for w in wall)} cases above 1 s wall")
    assert cpu[-1] < CPU_LIMIT and wall[-1] < WALL_LIMIT
