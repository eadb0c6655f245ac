"""Positions and diagnostics in LSP terms.

Inside aiwfc positions are 1-based (line, column in characters, end-exclusive); LSP
wants 0-based lines and columns counted in the negotiated encoding (UTF-16 code units
unless the client offers another). This module is the one place that converts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from lsprotocol import types as lsp
from pygls import uris
from pygls.workspace.position_codec import PositionCodec

from aiwfc.diagnostics import Diagnostic, Severity
from aiwfc.source import SourceFile, Span

SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFO: lsp.DiagnosticSeverity.Information,
    Severity.HINT: lsp.DiagnosticSeverity.Hint,
}

LineSource = Callable[[str], "SourceFile | None"]  # file path -> its text, to count code units


def path_of(uri: str) -> str:
    """The file path a URI names (the URI itself for an unsaved `untitled:` document)."""
    return uris.to_fs_path(uri) or uri if uri.startswith("file:") else uri


def uri_of(path: str) -> str:
    """The URI of a file path as spans carry it (relative paths resolved)."""
    if ":" in path.split("/", 1)[0] and not Path(path).is_absolute():
        return path  # already a URI (an unsaved document)
    return uris.from_fs_path(str(Path(path).resolve())) or path


def position(src: SourceFile | None, line: int, column: int, codec: PositionCodec) -> lsp.Position:
    """The LSP position of a 1-based (line, column); columns past the line end are kept."""
    if src is None or codec.encoding == lsp.PositionEncodingKind.Utf32:
        return lsp.Position(max(0, line - 1), max(0, column - 1))
    text = src.line_text(line)
    head = text[:max(0, column - 1)]
    extra = max(0, column - 1 - len(text))
    return lsp.Position(max(0, line - 1), codec.client_num_units(head) + extra)


def to_range(span: Span, src: SourceFile | None, codec: PositionCodec) -> lsp.Range:
    return lsp.Range(position(src, span.line, span.column, codec),
                     position(src, span.end_line, span.end_column, codec))


def offset_of(src: SourceFile, pos: lsp.Position, codec: PositionCodec) -> int:
    """The 0-based character offset in `src` of an LSP position."""
    line = pos.line + 1
    if line > src.line_count:
        return len(src.text)
    text = src.line_text(line)
    units = 0
    for i, ch in enumerate(text):
        if units >= pos.character:
            return src.offset(line, i + 1)
        units += codec.client_num_units(ch)
    return src.offset(line, len(text) + 1)


def to_lsp_diagnostic(d: Diagnostic, sources: LineSource, codec: PositionCodec) -> lsp.Diagnostic:
    """One aiwfc diagnostic for the editor: code, severity, notes in the message,
    related positions as related information, the fix's title kept in `data`."""
    message = d.message + "".join(f"\nnote: {n}" for n in d.notes)
    related = [lsp.DiagnosticRelatedInformation(
        lsp.Location(uri_of(r.span.file), to_range(r.span, sources(r.span.file), codec)), r.message)
        for r in d.related]
    return lsp.Diagnostic(
        range=to_range(d.span, sources(d.span.file), codec),
        message=message,
        severity=SEVERITY[d.severity],
        code=d.code,
        source="aiwfc",
        related_information=related or None,
        data={"name": d.name, "fix": d.fix.description} if d.fix else {"name": d.name},
    )
