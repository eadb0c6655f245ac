"""End to end: the real server over stdio, driven by pygls's LanguageClient.

Positions in these assertions are LSP's: 0-based lines and characters.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="pygls (the `lsp` extra) is not installed")

from lsprotocol import types as lsp  # noqa: E402

from aiwfc.fmt import format_text  # noqa: E402
from aiwfc.pipeline import analyse  # noqa: E402
from tests.lsp.client import Session, apply_edits, run  # noqa: E402


ROOT = Path(__file__).resolve().parents[2]

LIB = textwrap.dedent("""\
    aiwf 0.1

    resource small { cores = 1  memory = 1GiB  walltime = 10m }
    """)

MAIN = textwrap.dedent("""\
    aiwf 0.1
    import "std/sites/generic-slurm"
    import "lib.aiwf"

    workflow w {
      param n: int = 2
      task make {
        resources = small
        foreach i in range(n)
        out data: file = "d_${index}.txt"
        run "echo ${i} > ${data}"
      }
      task use {
        resources = smal
        in xs: list<file> = make.data
        out best: float
        run "cat ${xs} > ${best}"
      }
      feedback loop {
        body = [make, use]
        until = use.best > 1.0
      }
    }
    """)


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "lib.aiwf").write_text(LIB)
    (tmp_path / "main.aiwf").write_text(MAIN)
    return tmp_path


def summary(diags):
    return [(d.code, d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character,
             d.severity.value, d.message) for d in diags]


def test_diagnostics_on_open_and_after_edits(workspace):
    uri = (workspace / "main.aiwf").as_uri()

    async def scenario(s):
        s.open(uri, MAIN)
        first = await s.diagnostics(uri, 1)
        # fix the name: incremental change of `smal` -> `small` on line 13
        v2 = s.change(uri, start=(13, 20), end=(13, 20), new_text="l")
        second = await s.diagnostics(uri, v2)
        # a bad value, then a half-typed attribute: the recovering parser keeps the rest,
        # so the resolver still reports the bad value (the checks wait for the syntax error)
        s.change(uri, start=(14, 0), end=(14, 0), new_text='    retries = "x"\n')
        v4 = s.change(uri, start=(17, 0), end=(17, 0), new_text="    image = \n")
        third = await s.diagnostics(uri, v4)
        return first, second, third, first[0]

    first, second, third, diag = run(scenario)
    assert summary(first) == [
        ("AIWF101", 13, 16, 13, 20, 1, "resource `smal` is not defined; did you mean `small`?"),
        ("AIWF601", 18, 11, 18, 15, 1, "feedback loop `loop` has no bound"),
    ]
    assert diag.source == "aiwfc"
    assert summary(second) == [("AIWF601", 18, 11, 18, 15, 1, "feedback loop `loop` has no bound")]
    assert summary(third) == [
        ("AIWF107", 14, 14, 14, 17, 1, "`retries` must be a whole number"),
        ("AIWF001", 18, 8, 18, 29, 1, "unexpected string `\"cat ${xs} > ${be...`; expected an attribute, "
                                      "block or statement or `}`"),
    ]


def test_related_information_points_at_the_other_end(workspace):
    text = MAIN.replace("in xs: list<file> = make.data", "in xs: int = make.data")
    uri = (workspace / "main.aiwf").as_uri()

    async def scenario(s):
        s.open(uri, text)
        return await s.diagnostics(uri, 1)

    diags = run(scenario)
    edge = [d for d in diags if d.code != "AIWF601" and d.code != "AIWF101"]
    assert edge and edge[0].related_information, summary(diags)
    assert edge[0].related_information[0].location.uri == uri


def test_hover_definition_references_across_an_import(workspace):
    uri = (workspace / "main.aiwf").as_uri()
    lib_uri = (workspace / "lib.aiwf").as_uri()

    async def scenario(s):
        s.open(uri, MAIN)
        await s.diagnostics(uri, 1)
        hover_res = await s.hover(uri, 7, 18)          # `small` in `resources = small`
        hover_port = await s.hover(uri, 14, 30)        # `data` in `make.data`
        hover_kw = await s.hover(uri, 6, 3)            # the word `task`
        definition = await s.definition(uri, 7, 18)
        port_def = await s.definition(uri, 14, 30)
        refs = await s.references(uri, 7, 18)
        # from the library's side: who uses `small` (main.aiwf is open and imports it)
        s.open(lib_uri, LIB)
        await s.diagnostics(lib_uri, 1)
        lib_refs = await s.references(lib_uri, 2, 10)
        return hover_res, hover_port, hover_kw, definition, port_def, refs, lib_refs

    hover_res, hover_port, hover_kw, definition, port_def, refs, lib_refs = run(scenario)
    assert hover_res.contents.value == (
        "**resource small**\n\n1 core per task, 1GiB memory per node, walltime 10m\n\n"
        "runs on partition `debug` of site `generic_slurm` (4 nodes, 32 cores, 128GiB, max 30m)")
    assert (hover_res.range.start.line, hover_res.range.start.character, hover_res.range.end.character) == (7, 16, 21)
    assert hover_port.contents.value == (
        "**out data** of task `make`\n\ntype `file`, = `\"d_${index}.txt\"`\n\n"
        "seen from other phases as `list<file>` (one item per task of the foreach)")
    assert hover_kw.contents.value.startswith("**task** block: A generic phase.")
    assert (definition.uri, definition.range.start.line, definition.range.start.character) == (lib_uri, 2, 9)
    assert (port_def.uri, port_def.range.start.line, port_def.range.start.character) == (uri, 9, 8)
    where = sorted((r.uri, r.range.start.line, r.range.start.character) for r in refs)
    assert where == [(lib_uri, 2, 9), (uri, 7, 16)]
    assert sorted((r.uri, r.range.start.line, r.range.start.character) for r in lib_refs) == where


def test_completion_in_context(workspace):
    uri = (workspace / "main.aiwf").as_uri()
    text = MAIN.replace("    resources = smal\n", "    resources = \n    image = \n    runtime ~ 5\n"
                        "    in ys: list<file> = make.\n")

    async def scenario(s):
        s.open(uri, text)
        await s.diagnostics(uri, 1)
        return (await s.completion(uri, 13, 16), await s.completion(uri, 14, 12), await s.completion(uri, 15, 15),
                await s.completion(uri, 16, 29), await s.completion(uri, 10, 16), await s.completion(uri, 13, 0),
                await s.completion(uri, 0, 0))

    resources, images, units, ports, interp, keys, top = run(scenario)
    assert resources == ["small"]
    assert images == []  # this file defines and imports no image
    assert units == ["5ms", "5s", "5min", "5m", "5h", "5d", "5w"]
    assert ports == ["data"]
    assert interp == ["i", "data", "project", "index", "iteration", "n", "make", "use"]
    assert {"resources", "image", "foreach", "in", "out", "run", "runtime"} <= set(keys)
    assert top == ["aiwf", "import", "dataset", "image", "resource", "site", "workflow"]


def test_rename_updates_every_use(workspace):
    uri = (workspace / "main.aiwf").as_uri()

    lib_uri = (workspace / "lib.aiwf").as_uri()

    async def scenario(s):
        s.open(uri, MAIN)
        await s.diagnostics(uri, 1)
        port = await s.rename(uri, 9, 9, "files")  # the port `data` of `make`
        library = await s.rename(uri, 7, 18, "tiny")  # a resource class defined in the imported lib.aiwf
        try:
            await s.rename(uri, 7, 18, "not a name")
            refused = False
        except Exception:  # noqa: BLE001 - the server answers with an error
            refused = True
        return port, library, refused

    port, library, refused = run(scenario)
    assert list(port.changes) == [uri]
    out = apply_edits(MAIN, port.changes[uri])
    assert out == MAIN.replace("out data:", "out files:").replace("${data}", "${files}") \
        .replace("make.data", "make.files")
    assert sorted(library.changes) == sorted([uri, lib_uri])
    assert apply_edits(MAIN, library.changes[uri]) == MAIN.replace("resources = small", "resources = tiny")
    assert apply_edits(LIB, library.changes[lib_uri]) == LIB.replace("resource small", "resource tiny")
    assert refused


def test_formatting_and_code_action(workspace):
    uri = (workspace / "main.aiwf").as_uri()
    messy = MAIN.replace("  param n: int = 2", "  param   n:int=2   # count")

    async def scenario(s):
        s.open(uri, messy)
        await s.diagnostics(uri, 1)
        fmt = await s.formatting(uri)
        actions = await s.code_actions(uri, (18, 0), (18, 20))
        return fmt, actions

    fmt, actions = run(scenario)
    assert apply_edits(messy, fmt) == format_text(messy)
    assert "\n  param n: int = 2  # count\n" in apply_edits(messy, fmt)
    assert [a.title for a in actions] == ["add `max_iterations = 10`"]
    assert actions[0].diagnostics[0].code == "AIWF601"
    fixed = apply_edits(messy, actions[0].edit.changes[uri])
    assert "    until = use.best > 1.0\n    max_iterations = 10\n  }" in fixed


def test_document_symbols_outline(workspace):
    uri = (workspace / "main.aiwf").as_uri()

    async def scenario(s):
        s.open(uri, MAIN)
        await s.diagnostics(uri, 1)
        return await s.symbols(uri)

    syms = run(scenario)
    assert [(x.name, x.detail) for x in syms] == [("w", "workflow")]
    assert [(c.name, c.detail) for c in syms[0].children] == [
        ("n", "param"), ("make", "task"), ("use", "task"), ("loop", "feedback")]
    assert [c.name for c in syms[0].children[1].children] == ["i", "data"]
    assert (syms[0].range.start.line, syms[0].range.end.line) == (4, 22)


def test_examples_open_without_errors():
    """Every example, opened as an editor would, gets the diagnostics `aiwfc check` gives."""
    paths = sorted(ROOT.glob("examples/*/*.aiwf"))

    async def scenario(s):
        out = {}
        for p in paths:
            s.open(p.as_uri(), p.read_text())
            out[p] = await s.diagnostics(p.as_uri(), 1)
        return out

    got = run(scenario)
    for p in paths:
        want = [(d.code, d.span.line - 1, d.span.column - 1) for d in analyse(str(p)).sink.sorted()
                if d.span.file == str(p)]
        assert [(d.code, d.range.start.line, d.range.start.character) for d in got[p]] == want, p


def test_site_from_initialization_options(workspace):
    """`initializationOptions.site` binds a site the file does not import, as `check --site` does."""
    uri = (workspace / "lib.aiwf").as_uri()

    async def main():
        s = Session()
        await s.start(options={"site": "local"})
        try:
            s.open(uri, LIB)
            await s.diagnostics(uri, 1)
            return await s.hover(uri, 2, 10)
        finally:
            await s.stop()

    hover = asyncio.run(main())
    assert hover.contents.value == (
        "**resource small**\n\n1 core per task, 1GiB memory per node, walltime 10m\n\n"
        "runs on partition `local` of site `local` (1 node, 8 cores, 16GiB, max 7d)")


def test_half_typed_block_still_completes_and_imports_lead_to_their_file(workspace):
    uri = (workspace / "main.aiwf").as_uri()
    # a dangling `make.`: the parser's recovery loses the ports after it
    broken = MAIN.replace("    resources = smal\n", "    resources = small\n    in ys: list<file> = make.\n")

    async def scenario(s):
        s.open(uri, MAIN)
        await s.diagnostics(uri, 1)
        v = s.change(uri, broken)
        diags = await s.diagnostics(uri, v)
        # `run "cat ${` in `use`, whose block the parser could not read whole
        names = await s.completion(uri, 17, 15)
        lib = await s.definition(uri, 2, 10)  # inside "lib.aiwf" of the import
        return diags, names, lib

    diags, names, lib = run(scenario)
    assert "AIWF001" in [d.code for d in diags]
    assert names[:2] == ["ys", "project"]  # what the current text still has
    assert {"xs", "best"} <= set(names)  # from the last text that parsed
    assert (lib.uri, lib.range.start.line) == ((workspace / "lib.aiwf").as_uri(), 0)


def test_save_analyses_again_with_imports_as_they_are_on_disk(workspace):
    uri = (workspace / "main.aiwf").as_uri()
    fixed = MAIN.replace("resources = smal\n", "resources = small\n")

    async def scenario(s):
        s.open(uri, fixed)
        before = await s.diagnostics(uri, 1)
        (workspace / "lib.aiwf").write_text(LIB.replace("resource small", "resource tiny"))
        count = len(s.published[uri])
        s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(text_document=s.doc(uri)))
        while len(s.published[uri]) == count:
            await asyncio.sleep(0.01)
        return before, s.published[uri][-1].diagnostics

    before, after = run(scenario)
    assert [d.code for d in before] == ["AIWF601"]
    assert [(d.code, d.range.start.line, d.range.start.character, d.message) for d in after] == [
        ("AIWF101", 7, 16, "resource `small` is not defined"),
        ("AIWF101", 13, 16, "resource `small` is not defined"),
        ("AIWF601", 18, 11, "feedback loop `loop` has no bound"),
    ]
