"""The incremental parser gives what `parse_module` gives: the same AST, spans included,
and the same diagnostics, edit after edit (so the server's diagnostics are exactly
those of `aiwfc check`), while re-using the fragments an edit did not touch."""

from __future__ import annotations

import random
from pathlib import Path

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.lsp.incremental import IncrementalParser
from aiwfc.pipeline import analyse
from aiwfc.resolve.builder import Builder, BuildMemo
from aiwfc.source import SourceFile
from aiwfc.syntax.parser import parse_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/*.aiwf"))
FRAGMENTS = ["\n", "  ", "# note\n", "x", "}", "{", '"', "= 1", "\n  task extra { run \"true\" }\n",
             "\n\n\n", "cores = 2\n", "out q: int\n", "${", "(", "é"]


def random_edit(text: str, rng: random.Random) -> str:
    """One keystroke-sized edit at a random offset: a fragment typed, or a run deleted."""
    a = rng.randrange(len(text) + 1)
    if rng.random() < 0.6:
        return text[:a] + rng.choice(FRAGMENTS) + text[a:]
    return text[:a] + text[a + rng.randint(1, 40):]


def both(parser: IncrementalParser, text: str):
    src = SourceFile(parser.path, text)
    inc_sink, full_sink = DiagnosticSink(), DiagnosticSink()
    inc = parser(src, inc_sink)
    full = parse_module(src, full_sink)
    return inc, full, inc_sink.sorted(), full_sink.sorted()


def test_random_edit_sequences_match_a_full_parse():
    rng = random.Random(7)
    checked = 0
    for path in EXAMPLES:
        text = path.read_text()
        parser = IncrementalParser(str(path))
        for _ in range(25):
            text = random_edit(text, rng)
            inc, full, inc_diags, full_diags = both(parser, text)
            assert inc == full, (path, text)
            assert inc_diags == full_diags, (path, text)
            checked += 1
    assert checked == 25 * len(EXAMPLES)


def test_an_edit_reuses_the_untouched_fragments():
    path = EXAMPLES[0]
    text = path.read_text()
    parser = IncrementalParser(str(path))
    both(parser, text)
    before = dict(parser.stats)
    lines = text.split("\n")
    k = next(i for i, ln in enumerate(lines) if "runtime ~" in ln)
    lines.insert(k, "    retries = 2")  # one line more in one phase: the rest is shifted, not parsed
    inc, full, _, _ = both(parser, "\n".join(lines))
    assert inc == full
    parsed = parser.stats["parsed"] - before["parsed"]
    reused = parser.stats["reused"] - before["reused"]
    assert parser.stats["full"] == before["full"]
    assert parsed == 1 and reused >= 5, parser.stats


def _analysed(path: str, text: str, parser=None, memo=None):
    comp = analyse(path, text=text, parse=parser, memo=memo)
    if memo is not None:
        memo.rotate()
    if comp.program is None:
        return None, comp.sink.sorted()
    program = comp.program.model_dump(mode="json")
    # spans are not part of the dump: every node's own and its attributes' are compared too
    spans = [(n.span, sorted(n.spans.items())) for wf in comp.program.workflows
             for n in [*wf.phases, *[p for ph in wf.phases for p in ph.inputs + ph.outputs],
                       *wf.resources, *wf.datasets, *wf.images, *wf.feedbacks]]
    return program, spans, comp.sink.sorted()


def test_reused_ir_gives_the_analysis_of_a_fresh_build():
    """The server's BuildMemo re-uses the IR of blocks an edit left alone: the program and
    the diagnostics must be exactly those of a cold analysis, edit after edit."""
    rng = random.Random(11)
    checked = 0
    for path in EXAMPLES:
        text = path.read_text()
        parser, memo = IncrementalParser(str(path)), BuildMemo()
        for _ in range(12):
            text = random_edit(text, rng)
            assert _analysed(str(path), text, parser, memo) == _analysed(str(path), text), (path, text)
            checked += 1
    assert checked == 12 * len(EXAMPLES)


def test_an_edit_in_one_phase_builds_only_that_phase():
    path = str(ROOT / "examples/multistage_pipeline/screen.aiwf")
    text = Path(path).read_text()
    parser, memo = IncrementalParser(path), BuildMemo()
    _analysed(path, text, parser, memo)
    built = []
    original = Builder._phase

    def counting(self, block, spec):
        built.append(block.name.text)
        return original(self, block, spec)

    Builder._phase = counting
    try:
        k = text.index("runtime ~")
        edited = text[:k] + "retries = 2  " + text[k:]
        _analysed(path, edited, parser, memo)
    finally:
        Builder._phase = original
    phase = analyse(path, text=edited).program.workflows[0]
    changed = [p.name for p in phase.phases if p.retries == 2]
    assert built == changed and len(changed) == 1
