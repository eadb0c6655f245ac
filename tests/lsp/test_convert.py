"""1-based spans to LSP's 0-based positions, in the encoding the client negotiated."""

from __future__ import annotations

import pytest

pytest.importorskip("pygls", reason="pygls (the `lsp` extra) is not installed")

from lsprotocol import types as lsp  # noqa: E402
from pygls.workspace.position_codec import PositionCodec  # noqa: E402

from aiwfc import codes  # noqa: E402
from aiwfc.diagnostics import DiagnosticSink, Related  # noqa: E402
from aiwfc.lsp.convert import offset_of, to_lsp_diagnostic, to_range  # noqa: E402
from aiwfc.source import SourceFile, Span  # noqa: E402

TEXT = 'aiwf 0.1\n  doc = "😋é" x\n'
SRC = SourceFile("/w/a.aiwf", TEXT)
X = Span("/w/a.aiwf", 2, 14, 2, 15)  # the `x` after the string: column 14 in characters


@pytest.mark.parametrize("encoding, character", [
    (lsp.PositionEncodingKind.Utf16, 14),  # the emoji is two UTF-16 units
    (lsp.PositionEncodingKind.Utf8, 17),   # four bytes, and `é` two
    (lsp.PositionEncodingKind.Utf32, 13),
])
def test_columns_count_the_negotiated_units(encoding, character):
    codec = PositionCodec(encoding)
    rng = to_range(X, SRC, codec)
    assert (rng.start.line, rng.start.character, rng.end.line, rng.end.character) == \
        (1, character, 1, character + 1)
    assert TEXT[offset_of(SRC, rng.start, codec)] == "x"


def test_a_diagnostic_keeps_code_notes_and_related_positions():
    sink = DiagnosticSink()
    d = sink.report(codes.UNDEFINED_NAME, X, kind="resource", name="x", hint="",
                    related=[Related(Span("/w/a.aiwf", 1, 1, 1, 5), "defined here")], notes=["a note"])
    out = to_lsp_diagnostic(d, {"/w/a.aiwf": SRC}.get, PositionCodec())
    assert (out.code, out.source, out.severity) == ("AIWF101", "aiwfc", lsp.DiagnosticSeverity.Error)
    assert out.message == "resource `x` is not defined\nnote: a note"
    rel = out.related_information[0]
    assert (rel.location.uri, rel.location.range.start.character, rel.message) == \
        ("file:///w/a.aiwf", 0, "defined here")
