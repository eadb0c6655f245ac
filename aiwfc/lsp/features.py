"""The LSP features of `aiwfc lsp`, registered on a fresh server by `create_server`.

Each handler converts positions at its edges only (LSP's 0-based positions in, 1-based
spans inside, see convert.py) and is guarded: an unexpected failure is logged and
answered with an empty result, so one bad request never ends the session.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from lsprotocol import types as lsp

from aiwfc.fmt import FormatError, format_text
from aiwfc.lsp import convert
from aiwfc.lsp.completion import complete
from aiwfc.lsp.cursor import cursor_at
from aiwfc.lsp.hover import hover_text
from aiwfc.lsp.server import AiwfLanguageServer
from aiwfc.lsp.symbols import document_symbols
from aiwfc.lsp.index import contains
from aiwfc.resolve.imports import locate, stdlib_root
from aiwfc.source import Span

log = logging.getLogger("aiwfc.lsp")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = frozenset({"true", "false", "and", "or", "not", "in", "out", "param", "foreach", "run", "next",
                      "stop", "when", "import", "aiwf", "as"})
TRIGGERS = [".", "{", "$", '"', "=", " ", ":"]


def guarded(default=None):
    """Logs an exception in a handler and answers `default` instead of failing the request."""
    def wrap(fn):
        @functools.wraps(fn)
        def handler(ls: AiwfLanguageServer, params):
            try:
                return fn(ls, params)
            except Exception:  # noqa: BLE001 - see the module docstring
                log.exception("%s failed", fn.__name__)
                return default
        return handler
    return wrap


def create_server() -> AiwfLanguageServer:
    """A server with every feature registered (a new one per process, or per test)."""
    ls = AiwfLanguageServer()

    @ls.feature(lsp.INITIALIZE)
    @guarded()
    def initialize(ls: AiwfLanguageServer, params: lsp.InitializeParams):
        opts = params.initialization_options
        if isinstance(opts, dict) and isinstance(opts.get("site"), str):
            ls.site = opts["site"]

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @guarded()
    def did_open(ls: AiwfLanguageServer, params: lsp.DidOpenTextDocumentParams):
        doc = ls.document(params.text_document.uri)
        doc.version = params.text_document.version
        ls.refresh(doc.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @guarded()
    def did_change(ls: AiwfLanguageServer, params: lsp.DidChangeTextDocumentParams):
        doc = ls.document(params.text_document.uri)
        doc.version = params.text_document.version
        ls.schedule(doc.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @guarded()
    def did_save(ls: AiwfLanguageServer, params: lsp.DidSaveTextDocumentParams):
        doc = ls.document(params.text_document.uri)
        doc.analysed = None  # imports may have changed on disk: analyse again
        ls.refresh(doc.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @guarded()
    def did_close(ls: AiwfLanguageServer, params: lsp.DidCloseTextDocumentParams):
        doc = ls.documents.pop(params.text_document.uri, None)
        if doc is not None:
            if doc.timer is not None:
                doc.timer.cancel()
            for uri in doc.published | {doc.uri}:
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    @guarded()
    def hover(ls: AiwfLanguageServer, params: lsp.HoverParams):
        doc = ls.ready(params.text_document.uri)
        line, column = ls.position(doc, params.position)
        text = ls.text(doc.uri)
        found = hover_text(doc.index, doc.comp, text, doc.path, line, column, doc.modules.get(doc.path))
        if found is None:
            return None
        markdown, (l, c1, c2) = found
        rng = ls.to_range(Span(doc.path, l, c1, l, c2), ls.sources(doc))
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=markdown), range=rng)

    @ls.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=TRIGGERS))
    @guarded(lsp.CompletionList(is_incomplete=False, items=[]))
    def completion(ls: AiwfLanguageServer, params: lsp.CompletionParams):
        doc = ls.ready(params.text_document.uri)
        src = ls.source(doc)
        offset = convert.offset_of(src, params.position, ls.workspace.position_codec)
        items = complete(cursor_at(src.text, offset), doc.index, doc.last_good)
        seen, out = set(), []
        for it in items:
            if it.label not in seen:
                seen.add(it.label)
                out.append(it.to_lsp())
        return lsp.CompletionList(is_incomplete=False, items=out)

    @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @guarded()
    def definition(ls: AiwfLanguageServer, params: lsp.DefinitionParams):
        doc = ls.ready(params.text_document.uri)
        hit = ls.symbol_at(doc, params.position)
        if hit is not None:
            return ls.location(hit[1].span, ls.sources(doc))
        line, column = ls.position(doc, params.position)
        module = doc.modules.get(doc.path)
        for imp in module.imports if module is not None else ():
            if contains(imp.target.span, line, column):  # an import's string: the module it names
                found = locate(imp.target.text, doc.path if Path(doc.path).exists() else None)
                if found is not None:
                    start = lsp.Position(0, 0)
                    return lsp.Location(uri=convert.uri_of(str(found)), range=lsp.Range(start, start))
        return None

    @ls.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @guarded([])
    def references(ls: AiwfLanguageServer, params: lsp.ReferenceParams):
        doc = ls.ready(params.text_document.uri)
        spans = ls.references(doc, params.position, params.context.include_declaration)
        sources = ls.sources(doc)
        return [ls.location(s, sources) for s in spans]

    @ls.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded([])
    def symbols(ls: AiwfLanguageServer, params: lsp.DocumentSymbolParams):
        doc = ls.ready(params.text_document.uri)
        module = doc.modules.get(doc.path)
        if module is None:
            return []
        sources = ls.sources(doc)
        return document_symbols(module, lambda span: ls.to_range(span, sources))

    @ls.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    @guarded()
    def prepare_rename(ls: AiwfLanguageServer, params: lsp.PrepareRenameParams):
        doc = ls.ready(params.text_document.uri)
        hit = ls.symbol_at(doc, params.position)
        if hit is None or _in_stdlib(hit[1].span.file):
            return None
        return ls.to_range(hit[0], ls.sources(doc))

    @ls.feature(lsp.TEXT_DOCUMENT_RENAME)
    def rename(ls: AiwfLanguageServer, params: lsp.RenameParams):
        new = params.new_name
        if not _NAME.match(new) or new in RESERVED:
            raise ValueError(f"`{new}` is not a valid name")
        try:
            doc = ls.ready(params.text_document.uri)
            hit = ls.symbol_at(doc, params.position)
            if hit is None:
                return None
            if _in_stdlib(hit[1].span.file):
                raise ValueError(f"`{hit[1].name}` is defined in the standard library and cannot be renamed")
            spans = ls.references(doc, params.position, True)
        except ValueError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("rename failed")
            return None
        sources = ls.sources(doc)
        changes: dict[str, list[lsp.TextEdit]] = {}
        for s in spans:
            changes.setdefault(convert.uri_of(s.file), []).append(
                lsp.TextEdit(range=ls.to_range(s, sources), new_text=new))
        return lsp.WorkspaceEdit(changes=changes)

    @ls.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    @guarded()
    def formatting(ls: AiwfLanguageServer, params: lsp.DocumentFormattingParams):
        doc = ls.document(params.text_document.uri)
        text = ls.text(doc.uri)
        try:
            out = format_text(text, doc.path)
        except FormatError as e:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, str(e)))
            return None
        if out == text:
            return []
        src = ls.source(doc)
        end = convert.position(src, src.line_count, len(src.line_text(src.line_count)) + 1,
                               ls.workspace.position_codec)
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=out)]

    @ls.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    @guarded([])
    def code_action(ls: AiwfLanguageServer, params: lsp.CodeActionParams):
        doc = ls.ready(params.text_document.uri)
        sources = ls.sources(doc)
        codec = ls.workspace.position_codec
        want = params.range
        actions = []
        for d in doc.diagnostics:
            if d.fix is None or not d.fix.edits or d.span.file != doc.path:
                continue
            rng = ls.to_range(d.span, sources)
            if (rng.end.line, rng.end.character) < (want.start.line, want.start.character) or \
                    (rng.start.line, rng.start.character) > (want.end.line, want.end.character):
                continue
            changes: dict[str, list[lsp.TextEdit]] = {}
            for e in d.fix.edits:
                changes.setdefault(convert.uri_of(e.span.file), []).append(
                    lsp.TextEdit(range=ls.to_range(e.span, sources), new_text=e.new_text))
            actions.append(lsp.CodeAction(
                title=d.fix.description, kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[convert.to_lsp_diagnostic(d, sources, codec)],
                is_preferred=d.fix.applicability.value == "safe",
                edit=lsp.WorkspaceEdit(changes=changes)))
        return actions

    return ls


def _in_stdlib(path: str) -> bool:
    try:
        return Path(path).resolve().is_relative_to(stdlib_root().resolve())
    except (OSError, ValueError):
        return False
