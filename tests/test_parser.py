"""The parser: positions, recovery, strings and expressions."""

from aiwfc.diagnostics import DiagnosticSink
from aiwfc.source import SourceFile
from aiwfc.syntax import ast
from aiwfc.syntax.parser import parse_module, parse_expression_text


def parse(text: str):
    sink = DiagnosticSink()
    mod = parse_module(SourceFile("t.aiwf", text), sink)
    return mod, [(d.code, d.span.line, d.span.column, d.message) for d in sink.sorted()]


def expr(text: str):
    sink = DiagnosticSink()
    e = parse_expression_text(text, sink)
    assert not sink.items, sink.items
    return e


def test_block_structure_and_spans():
    mod, diags = parse('aiwf 0.1\nworkflow w {\n  resource cpu { cores = 4 }\n}\n')
    assert diags == []
    assert mod.header.version == "0.1"
    wf = mod.blocks[0]
    assert (wf.kind.text, wf.name.text) == ("workflow", "w")
    res = wf.items[0]
    assert (res.span.line, res.span.column, res.span.end_line, res.span.end_column) == (3, 3, 3, 29)
    attr = res.items[0]
    assert attr.key.text == "cores" and attr.value.value == 4
    assert (attr.value.span.line, attr.value.span.column) == (3, 26)


def test_recovery_reports_independent_errors_on_several_lines():
    text = ('aiwf 0.1\nworkflow w {\n  resource cpu { cores = }\n  resource gpu { cores = 4; gpus = 1 }\n'
            '  task t {\n    run "echo ${x"\n  }\n  task u {\n    run "open\n  }\n}\n')
    mod, diags = parse(text)
    assert diags == [
        ("AIWF001", 3, 26, "unexpected `}`; expected a value"),
        ("AIWF002", 4, 27, "unexpected character ';'"),
        ("AIWF005", 6, 15, "`${` is not closed by `}`"),
        ("AIWF003", 9, 9, "string is not closed before the end of the line"),
    ]
    # the structure around the errors survives: all four blocks are there
    names = [b.name.text for b in mod.blocks[0].items]
    assert names == ["cpu", "gpu", "t", "u"]


def test_early_end_of_file_keeps_what_was_parsed():
    mod, diags = parse('aiwf 0.1\nworkflow w {\n  resource cpu { cores = 4\n')
    assert [d[0] for d in diags] == ["AIWF001"]
    assert diags[0][1:3] == (4, 1)
    assert mod.blocks[0].items[0].name.text == "cpu"


def test_string_escapes_and_interpolation_positions():
    mod, diags = parse('aiwf 0.1\nworkflow w {\n  task t {\n    run "a \\"q\\" ${x.y} \\${z}"\n  }\n}\n')
    assert diags == []
    cmd = mod.blocks[0].items[0].items[0].command
    assert cmd.parts[0] == 'a "q" '
    ref = cmd.parts[1]
    assert isinstance(ref, ast.Ref) and ref.dotted == "x.y"
    assert (ref.span.line, ref.span.column, ref.span.end_column) == (4, 20, 23)
    assert cmd.parts[2] == " ${z}"


def test_triple_quoted_string_spans_lines():
    mod, diags = parse('aiwf 0.1\nworkflow w {\n  task t {\n    run """line1\n"quoted" ${n}"""\n  }\n}\n')
    assert diags == []
    cmd = mod.blocks[0].items[0].items[0].command
    assert cmd.parts[0] == 'line1\n"quoted" '
    assert cmd.parts[1].span.line == 5


def test_precedence_and_unparse():
    e = expr("a + b * c >= 2 and not d or e")
    assert ast.unparse(e) == "a + b * c >= 2 and not d or e"
    assert isinstance(e, ast.BinOp) and e.op == "or"
    assert ast.unparse(expr("(a + b) * c")) == "(a + b) * c"
    assert ast.unparse(expr("-x - (y - z)")) == "-x - (y - z)"
    assert ast.unparse(expr("len([1, 2.5, 16GiB]) > max(a, 3)")) == "len([1, 2.5, 16GiB]) > max(a, 3)"


def test_quantities_and_keywords_as_names():
    mod, diags = parse('aiwf 0.1\nworkflow w {\n  resource r { memory = 1.5GiB  walltime = 90m }\n'
                       '  task t { out metrics: metrics { loss: float, acc: float }  run "x" }\n}\n')
    assert diags == []
    r = mod.blocks[0].items[0]
    assert [(a.key.text, a.value.kind, a.value.value) for a in r.items] == [
        ("memory", "quantity", "1.5GiB"), ("walltime", "quantity", "90m")]
    port = mod.blocks[0].items[1].items[0]
    assert port.name.text == "metrics"
    assert [f[0].text for f in port.type.fields] == ["loss", "acc"]


def test_deep_nesting_is_a_diagnostic_not_a_crash():
    mod, diags = parse("aiwf 0.1\nworkflow w { param x: int = " + "[" * 3000 + "1" + "]" * 3000 + " }\n")
    assert diags == [("AIWF001", 1, 1, "unexpected nesting deeper than the parser supports; expected a flatter structure")]
    # parentheses do not nest the tree: deep ones are fine
    mod, diags = parse("aiwf 0.1\nworkflow w { param x: int = " + "(" * 3000 + "1" + ")" * 3000 + " }\n")
    assert diags == []
