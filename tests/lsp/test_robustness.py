"""The server answers every request and never dies, whatever the text becomes.

Replays, against one real server over stdio: the examples truncated at the start of
every line and in the middle of it, and 300 seeded random edit sequences (insertions
of grammar fragments and noise, deletions, truncations) at random offsets of the
examples. After every edit a request is made that forces an analysis of that exact
text (document symbols, hover, completion, definition in turn); each must be
answered, and at the end the server still publishes the diagnostics of the last
version. About 30 s on the CI machine.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="pygls (the `lsp` extra) is not installed")

from tests.lsp.client import run  # noqa: E402


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/*.aiwf"))
FRAGMENTS = ["{", "}", '"', '"""', "${", "= ", "\n", "#", " foreach x in ", "out p: list<", "metrics {",
             "resource r { cores = ", "task t {", "feedback f { body = [", "16GiB", "1.5e", "é", "😋", "\t",
             "import \"", "stop md when ", "next md.seed = ", "(((", "]", "->", "\\", "\x00"]
SEQUENCES = 300


def _positions(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def test_truncations_at_every_line_and_random_edit_sequences():
    rng = random.Random(20261123)

    async def scenario(s):
        answered = 0
        for n, path in enumerate(EXAMPLES):
            uri = f"file:///robustness/{n}.aiwf"
            full = path.read_text()
            s.open(uri, full)
            starts = [0] + [i + 1 for i, ch in enumerate(full) if ch == "\n"]
            for i, start in enumerate(starts):
                for cut in (start, (start + starts[i + 1]) // 2 if i + 1 < len(starts) else len(full)):
                    s.change(uri, full[:cut])
                    assert await s.symbols(uri) is not None
                    answered += 1
        for k in range(SEQUENCES):
            path = rng.choice(EXAMPLES)
            uri = f"file:///robustness/seq{k % 7}.aiwf"
            text = path.read_text()
            if uri not in s.versions:
                s.open(uri, text)
            else:
                s.change(uri, text)
            for step in range(rng.randint(1, 4)):
                op = rng.choice(("insert", "insert", "delete", "truncate"))
                a = rng.randrange(len(text) + 1)
                if op == "insert":
                    frag = rng.choice(FRAGMENTS)
                    start = _positions(text, a)
                    s.change(uri, start=start, end=start, new_text=frag)
                    text = text[:a] + frag + text[a:]
                elif op == "delete":
                    b = min(len(text), a + rng.randint(1, 200))
                    s.change(uri, start=_positions(text, a), end=_positions(text, b))
                    text = text[:a] + text[b:]
                else:
                    s.change(uri, text[:a])
                    text = text[:a]
                line, char = _positions(text, rng.randrange(len(text) + 1))
                request = (s.symbols, s.hover, s.completion, s.definition)[(k + step) % 4]
                args = (uri,) if request == s.symbols else (uri, line, char)
                await request(*args)  # an answer (possibly empty), not an error or a hang
                answered += 1
            assert s.alive, f"the server died in sequence {k}"
        last = s.change(uri, text + "\n")
        await s.diagnostics(uri, last)
        return answered

    answered = run(scenario, timeout=400)
    assert answered > 1000
