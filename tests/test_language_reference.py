"""The language reference's snippets check: every ```aiwf block of spec/language.md is a
whole file that checks clean, or gives exactly the diagnostics its first line names
(`# expect: AIWF201 ...`, in line order). The reference must exist and show every
construct of the language.
"""

import re
from pathlib import Path

import pytest

from aiwfc.pipeline import analyse

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "spec" / "language.md"
TEXT = REFERENCE.read_text() if REFERENCE.is_file() else ""
BLOCKS = re.findall(r"^```aiwf\n(.*?)^```", TEXT, re.S | re.M)

# what the reference must show in a checked snippet (issue 2, "an example per construct")
CONSTRUCTS = {
    "version header": r"^aiwf 0\.1$", "import": r'^import "std/', "param": r"\bparam \w+: ",
    "resource class": r"\bresource \w+ \{", "image": r"\bimage \w+ \{", "dataset": r"\bdataset \w+ \{",
    **{f"{kind} phase": rf"\b{kind} \w+ \{{" for kind in
       ("simulation", "preprocess", "training", "inference", "analysis", "task", "service")},
    "input port": r"\bin \w+: ", "output port": r"\bout \w+: ", "list type": r"list<",
    "metrics type": r"metrics \{", "dir type": r": dir\b", "template": r"\$\{", "multi-line string": '"""',
    "foreach": r"\bforeach \w+ in ", "batch": r"\bbatch = ", "runtime estimate": r"\bruntime ~ ",
    "retries": r"\bretries = ", "track": r"\btrack = \[", "when": r"\bwhen = ",
    "uses": r"\buses = \[", "coupling": r"\bcoupling = ", "feedback": r"\bfeedback \w+ \{",
    "until": r"\buntil = ", "while": r"\bwhile = ", "max_iterations": r"\bmax_iterations = ",
    "next": r"\bnext \w+\.\w+ = ", "stop": r"\bstop \w+ when ", "motif": r"\bmotif = ",
    "site profile": r"^site \w+ \{", "partition": r"\bpartition \w+ \{", "size unit": r"\d(GiB|MiB)\b",
    "duration unit": r"\d(m|h|s|d)\b", "launcher": r"\blauncher = ", "suppression": r"# aiwf: ignore\[",
}


def test_reference_exists_and_has_snippets():
    assert REFERENCE.is_file(), "spec/language.md is missing"
    assert len(BLOCKS) >= 25


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_every_construct_has_a_checked_example(construct):
    assert any(re.search(CONSTRUCTS[construct], b, re.M) for b in BLOCKS), \
        f"no ```aiwf snippet in spec/language.md shows {construct}"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_snippet_checks_as_its_comment_says(index):
    block = BLOCKS[index]
    first = block.splitlines()[0]
    expected = first.split(":", 1)[1].split() if first.startswith("# expect:") else []
    comp = analyse(str(ROOT / "spec" / f"language-snippet-{index}.aiwf"), text=block)
    got = [(d.code, d.span.line) for d in comp.sink.sorted()]
    assert [code for code, _ in got] == expected, f"snippet {index}:\n{block}\ngave {got}"
