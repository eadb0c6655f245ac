"""The formatter: exact canonical output, comments kept, idempotent, meaning unchanged.

Meaning is checked two ways: the AST without positions is the same (which also covers
inputs the resolver rejects), and the IR (`Program.model_dump(by_alias=True)` of
`load`) is the same, for every example and stdlib module and for generated inputs:
random programs derived from the grammar, and the examples' tokens re-joined with
random whitespace and comments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiwfc.cli import main
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.fmt import FormatError, format_text, strip_spans
from aiwfc.resolve.load import load
from aiwfc.source import SourceFile
from aiwfc.syntax.larkparse import _lark
from aiwfc.syntax.parser import parse_module

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(p for pattern in ("examples/*/*.aiwf", "stdlib/**/*.aiwf") for p in ROOT.glob(pattern))
COMMON = dict(deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MESSY = '''# header comment

aiwf   0.1 # version
import "std/sites/generic-slurm"   # the site
# about images
import "std/images/python"
workflow w { # the workflow
  motif=dynamic_orchestration
  # a param

  param n:int=4 # count
  param xs : list< int > = [1, 2, # two
     3]
  resource cpu {cores=1 memory=1GiB}
  resource big { cores = 1  memory = 1GiB  gpus = 0  walltime = 1h  nodes = 1 }
  image im { from = "docker.io/library/python:3.11-slim"  env = {A = "1" "b-c" = "2"} }
  task t { image = im  resources = cpu   # placement
    out m: metrics { loss: float acc: float }
    run """python x.py
      --flag ${n}"""   # multi
    # dangling
  }
  task empty {}
  feedback f { body = [t]
    until = ((n + 1) * 2 > 3) and not false
      or n == 1 # long cond
    max_iterations = 3 }
}
# trailing comment
'''

CANONICAL = '''# header comment

aiwf 0.1  # version

import "std/sites/generic-slurm"  # the site
# about images
import "std/images/python"

workflow w {  # the workflow
  motif = dynamic_orchestration
  # a param

  param n: int = 4  # count
  param xs: list<int> = [
    1,
    2,  # two
    3,
  ]
  resource cpu { cores = 1  memory = 1GiB }

  resource big {
    cores = 1
    memory = 1GiB
    gpus = 0
    walltime = 1h
    nodes = 1
  }

  image im { from = "docker.io/library/python:3.11-slim"  env = { A = "1"  "b-c" = "2" } }

  task t {
    image = im
    resources = cpu  # placement
    out m: metrics { loss: float, acc: float }
    run """python x.py
      --flag ${n}"""  # multi
    # dangling
  }

  task empty {}

  feedback f {
    body = [t]
    until = (n + 1) * 2 > 3 and not false or n == 1  # long cond
    max_iterations = 3
  }
}
# trailing comment
'''


def ast_of(text: str):
    sink = DiagnosticSink()
    mod = parse_module(SourceFile("t.aiwf", text), sink)
    assert not sink.items, [d.message for d in sink.items]
    return strip_spans(mod)


def comments_of(text: str) -> list[str]:
    found = []
    parse_module(SourceFile("t.aiwf", text), DiagnosticSink(), found)
    return [c.rstrip() for _, c in found]


def ir_of(text: str, path: Path) -> dict:
    comp = load(str(path), text=text)
    return comp.program.model_dump(by_alias=True) if comp.program else {}


def assert_same_meaning(original: str, path: Path = ROOT / "t.aiwf") -> str:
    out = format_text(original, str(path))
    assert format_text(out, str(path)) == out, "not idempotent"
    assert ast_of(out) == ast_of(original)
    assert comments_of(out) == comments_of(original)
    assert ir_of(out, path) == ir_of(original, path)
    return out


# ---------------------------------------------------------------- exact output

def test_canonical_layout_and_comments():
    assert format_text(MESSY) == CANONICAL
    assert format_text(CANONICAL) == CANONICAL
    assert_same_meaning(MESSY)


def test_trailing_comments_on_consecutive_lines_are_aligned():
    text = ('aiwf 0.1\nworkflow w {\n  param a: int = 1 # one\n  param long_name: float = 2.5 # two\n'
            '  param c: int = 3\n  param d: int = 4   # four\n}\n')
    assert format_text(text) == (
        'aiwf 0.1\n\nworkflow w {\n'
        '  param a: int = 1' + ' ' * 14 + '# one\n'
        '  param long_name: float = 2.5  # two\n'
        '  param c: int = 3\n'
        '  param d: int = 4  # four\n}\n')


def test_long_lists_are_written_one_item_per_line():
    pins = ", ".join(f'"package{i}==1.{i}.0"' for i in range(6))
    text = f'aiwf 0.1\nimage big {{ from = "x"  pip = [{pins}] }}\n'
    assert format_text(text) == (
        'aiwf 0.1\n\nimage big {\n  from = "x"\n  pip = [\n'
        + "".join(f'    "package{i}==1.{i}.0",\n' for i in range(6)) + '  ]\n}\n')


def test_one_line_blocks_follow_the_documented_rule():
    five = "resource r { cores = 1  memory = 1GiB  gpus = 0  walltime = 1h  nodes = 1 }"
    assert format_text("aiwf 0.1\n" + five + "\n").count("\n") == 9   # five attributes: expanded
    four = "resource r {\n  cores = 1\n  memory = 1GiB\n  gpus = 0\n  walltime = 1h\n}\n"
    assert format_text(four) == "resource r { cores = 1  memory = 1GiB  gpus = 0  walltime = 1h }\n"
    with_comment = "resource r {\n  cores = 1  # one\n}\n"
    assert format_text(with_comment) == with_comment                # a comment inside: expanded
    phase = "aiwf 0.1\nworkflow w { task t { resources = r } }\n"   # phases are never one line
    assert format_text(phase) == "aiwf 0.1\n\nworkflow w {\n  task t {\n    resources = r\n  }\n}\n"


def test_strings_and_numbers_are_kept_as_written():
    text = ('aiwf 0.1\nworkflow w {\n  param x: float = 1.5e3\n  param s: string = "a\\tb \\"q\\" \\${x} $${x}"\n\n'
            '  task t {\n    run """first\n  second "quoted" ${x}"""\n  }\n}\n')
    assert format_text(text) == "aiwf 0.1\n\n" + text[len("aiwf 0.1\n"):]


def test_expressions_get_only_the_parentheses_they_need():
    text = "aiwf 0.1\nworkflow w {\n  feedback f {\n    until = (a - (b - c)) * ((d)) >= -(-e) and (not x == y)\n  }\n}\n"
    out = format_text(text)
    assert "    until = (a - (b - c)) * d >= --e and not x == y\n" in out
    assert_same_meaning(text)


def test_refuses_syntax_errors():
    with pytest.raises(FormatError) as e:
        format_text("aiwf 0.1\nresource r { cores = }\n", "bad.aiwf")
    assert [(d.code, d.span.line, d.span.column) for d in e.value.diagnostics] == [("AIWF001", 2, 22)]


# ---------------------------------------------------------------- the command

def test_cli_rewrites_checks_and_diffs(tmp_path, capsys):
    messy = tmp_path / "w.aiwf"
    messy.write_text(MESSY)
    messy.chmod(0o640)
    clean = tmp_path / "sub" / "clean.aiwf"
    clean.parent.mkdir()
    clean.write_text(CANONICAL)
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY
    assert main(["fmt", "--diff", str(messy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--- {messy} (original)\n+++ {messy} (formatted)\n@@ ")
    assert "-aiwf   0.1 # version\n-import \"std/sites/generic-slurm\"   # the site\n" \
           "+aiwf 0.1  # version\n+\n" in out
    assert messy.read_text() == MESSY
    assert main(["fmt", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"reformatted {messy}\n"
    assert messy.read_text() == CANONICAL and clean.read_text() == CANONICAL
    assert oct(messy.stat().st_mode & 0o777) == "0o640"
    assert sorted(os.listdir(tmp_path)) == ["sub", "w.aiwf"]       # no temporary file left
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_cli_refuses_a_file_with_syntax_errors(tmp_path, capsys):
    bad = tmp_path / "bad.aiwf"
    bad.write_text("aiwf 0.1\nresource r { cores = }\n")
    assert main(["fmt", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:2:22: error[AIWF001]: unexpected `}}`; expected a value\n")
    assert err.endswith(f"aiwfc: {bad}: not formatted: it has syntax errors\n")
    assert bad.read_text() == "aiwf 0.1\nresource r { cores = }\n"
    assert main(["fmt", str(tmp_path / "missing.aiwf")]) == 2


def test_cli_formats_stdin_to_stdout():
    proc = subprocess.run([sys.executable, "-c", "import sys; from aiwfc.cli import main; sys.exit(main())",
                           "fmt", "-"], input=MESSY, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, CANONICAL, "")


# ---------------------------------------------------------------- meaning, on real and generated inputs

def test_corpus_is_not_empty():
    assert len(CORPUS) >= 4


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(ROOT)) for p in CORPUS])
def test_examples_and_stdlib_keep_their_meaning(path):
    assert_same_meaning(path.read_text(), path)


NAMES = ["a", "b2", "cpu_task", "md", "seed", "fit", "x_y"]
KINDS = ["workflow", "resource", "image", "dataset", "simulation", "training", "task", "feedback",
         "site", "partition", "service"]
ATTRS = ["cores", "memory", "doc", "until", "body", "env", "pip", "path", "tier", "when"]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n  ", "\t", "\n\n", " # note\n", "\n# own line\n", "  #x\n  "]
STRINGS = ['"plain"', '"with \\"quotes\\" and \\\\ and \\t"', '"${a} and ${md.traj}"', '"\\${not} $${a}"',
           '"${a + 1}"', '""', '"""multi\nline "q" ${seed}"""', '"é ü 漢字"', '"#not a comment"']
LITERALS = ["0", "42", "1.5", "2e3", "16GiB", "1.5TB", "90m", "500ms", "true", "false"]


@st.composite
def expr_tokens(draw, depth: int = 0) -> list[str]:
    """An expression derived from the grammar, as a token list (parentheses where drawn)."""
    choice = draw(st.integers(0, 9 if depth < 3 else 3))
    if choice == 0:
        return [draw(st.sampled_from(LITERALS))]
    if choice == 1:
        return [draw(st.sampled_from(STRINGS))]
    if choice in (2, 3):
        parts = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
        return [" . ".join(parts).replace(" . ", ".")]
    if choice == 4:
        args = draw(st.lists(expr_tokens(depth + 1), max_size=3))
        out = [draw(st.sampled_from(["len", "min", "range"])), "("]
        for i, a in enumerate(args):
            out += ([","] if i else []) + a
        return out + [")"]
    if choice == 5:
        items = draw(st.lists(expr_tokens(depth + 1), max_size=4))
        out = ["["]
        for i, a in enumerate(items):
            out += ([","] if i else []) + a
        return out + ([","] if items and draw(st.booleans()) else []) + ["]"]
    if choice == 6:
        out = ["{"]
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(NAMES + ['"b-c"', '"1x"', '"a b"']))
            out += [key, "="] + draw(expr_tokens(depth + 1)) + ([","] if draw(st.booleans()) else [])
        return out + ["}"]
    if choice == 7:
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", "and", "or"]))
        return _paren(draw(expr_tokens(depth + 1))) + [op] + _paren(draw(expr_tokens(depth + 1)))
    if choice == 8:
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        return _paren(draw(expr_tokens(depth + 1))) + [op] + _paren(draw(expr_tokens(depth + 1)))
    return [draw(st.sampled_from(["-", "not"]))] + _paren(draw(expr_tokens(depth + 1)))


def _paren(tokens: list[str]) -> list[str]:
    return ["("] + tokens + [")"] if len(tokens) > 1 else tokens


@st.composite
def type_tokens(draw, depth: int = 0) -> list[str]:
    kind = draw(st.integers(0, 2 if depth < 2 else 0))
    if kind == 0:
        return [draw(st.sampled_from(["file", "dir", "int", "float", "string", "bool"]))]
    if kind == 1:
        return ["list", "<"] + draw(type_tokens(depth + 1)) + [">"]
    out = ["metrics", "{"]
    for _ in range(draw(st.integers(0, 3))):
        out += [draw(st.sampled_from(NAMES)), ":"] + draw(type_tokens(depth + 1)) + \
               ([","] if draw(st.booleans()) else [])
    return out + ["}"]


@st.composite
def item_tokens(draw, depth: int) -> list[str]:
    choice = draw(st.integers(0, 7 if depth < 2 else 6))
    if choice in (0, 1):
        return [draw(st.sampled_from(ATTRS)), draw(st.sampled_from(["=", "~"]))] + draw(expr_tokens())
    if choice == 2:
        out = ["param", draw(st.sampled_from(NAMES)), ":"] + draw(type_tokens())
        return out + (["="] + draw(expr_tokens()) if draw(st.booleans()) else [])
    if choice == 3:
        out = [draw(st.sampled_from(["in", "out"])), draw(st.sampled_from(NAMES)), ":"] + draw(type_tokens())
        return out + (["="] + draw(expr_tokens()) if draw(st.booleans()) else [])
    if choice == 4:
        return ["foreach", draw(st.sampled_from(NAMES)), "in"] + draw(expr_tokens())
    if choice == 5:
        return ["run", draw(st.sampled_from(STRINGS))]
    if choice == 6:
        return draw(st.sampled_from([["next", "md.seed", "="], ["stop", "md", "when"]])) + draw(expr_tokens())
    return draw(block_tokens(depth + 1))


@st.composite
def block_tokens(draw, depth: int = 0) -> list[str]:
    out = [draw(st.sampled_from(KINDS))] + ([draw(st.sampled_from(NAMES))] if draw(st.booleans()) else [])
    out.append("{")
    for _ in range(draw(st.integers(0, 5))):
        out += draw(item_tokens(depth))
    return out + ["}"]


@st.composite
def program_text(draw) -> str:
    tokens = ["aiwf", "0.1"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 2))):
        tokens += ["import", draw(st.sampled_from(['"std/sites/local"', '"std/images/python"']))]
    for _ in range(draw(st.integers(1, 3))):
        tokens += draw(block_tokens())
    return join(draw, tokens)


def join(draw, tokens: list[str]) -> str:
    text = draw(st.sampled_from(["", "# leading\n", "\n"]))
    for tok in tokens:
        text += tok + draw(st.sampled_from(SEPARATORS))
    return text


@settings(max_examples=200, **COMMON)
@given(program_text())
def test_generated_programs_keep_their_meaning(text):
    assert_same_meaning(text)


EXAMPLE_TOKENS = [[str(t) for t in _lark().lex(p.read_text())] for p in CORPUS]


@settings(max_examples=60, **COMMON)
@given(st.integers(0, len(CORPUS) - 1), st.data())
def test_examples_rewhitespaced_keep_their_meaning(index, data):
    text = join(data.draw, EXAMPLE_TOKENS[index])
    out = assert_same_meaning(text, CORPUS[index])
    assert ir_of(out, CORPUS[index]) == ir_of(CORPUS[index].read_text(), CORPUS[index])


# Generated programs that mean something: bench/gen.py's `random` workflows (seeded; scatters,
# gathers, feedback loops, services, datasets, all without errors), their tokens re-joined with
# random whitespace and comments. The draws above rarely resolve (random kinds and attributes),
# so it is here that the IR comparison has phases, ports and loops to compare.
sys.path.insert(0, str(ROOT / "bench"))
from gen import generate  # noqa: E402


@settings(max_examples=40, **COMMON)
@given(st.integers(0, 10_000), st.integers(2, 12), st.data())
def test_generated_workflows_keep_their_ir(seed, size, data):
    original = generate("random", size, seed)
    text = join(data.draw, [str(t) for t in _lark().lex(original)])
    path = ROOT / "generated.aiwf"
    comp = load(str(path), text=text)
    assert not comp.sink.has_errors, [d.message for d in comp.sink.items]
    before = ir_of(text, path)
    assert before["workflows"][0]["phases"], "the generator gave a workflow without phases"
    out = assert_same_meaning(text, path)
    assert ir_of(out, path) == before == ir_of(original, path)


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(ROOT)) for p in CORPUS])
def test_examples_and_stdlib_are_in_the_canonical_layout(path):
    """What the project ships is written the way `aiwfc fmt` writes it (the examples are
    what people copy), so `aiwfc fmt --check` on them is clean."""
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text, f"run: aiwfc fmt {path.relative_to(ROOT)}"
