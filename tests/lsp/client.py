"""A test client: pygls's LanguageClient driving the real `python -m aiwfc lsp` over stdio.

It records every publishDiagnostics by URI so a test can wait for the diagnostics of
a given document version, and wraps the requests the tests make.
"""

from __future__ import annotations

import asyncio
import sys
import time

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

SERVER = [sys.executable, "-m", "aiwfc", "lsp"]


class Session:
    """One server process and a client connected to it."""

    def __init__(self):
        self.client = LanguageClient("aiwf-tests", "1")
        self.published: dict[str, list[lsp.PublishDiagnosticsParams]] = {}
        self.arrivals: list[tuple[float, lsp.PublishDiagnosticsParams]] = []
        self.versions: dict[str, int] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams):
            self.published.setdefault(params.uri, []).append(params)
            self.arrivals.append((time.perf_counter(), params))

    async def start(self, *args: str, options: dict | None = None) -> lsp.InitializeResult:
        await self.client.start_io(*SERVER, *args)
        result = await self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), initialization_options=options))
        self.client.initialized(lsp.InitializedParams())
        return result

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    @property
    def alive(self) -> bool:
        server = self.client._server
        return server is not None and server.returncode is None

    # ------------------------------------------------------------ documents
    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.versions[uri] = version
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="aiwf", version=version, text=text)))

    def change(self, uri: str, text: str | None = None, *, start=None, end=None, new_text: str = "") -> int:
        """A full change (`text`) or an incremental one (replace start..end, 0-based (line, char))."""
        self.versions[uri] += 1
        if text is not None:
            change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        else:
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(*start), lsp.Position(*end)), text=new_text)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]), [change]))
        return self.versions[uri]

    async def diagnostics(self, uri: str, version: int | None = None, timeout: float = 20.0) -> list[lsp.Diagnostic]:
        """The diagnostics published for `uri` (for `version`, when given), waiting for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in reversed(self.published.get(uri, [])):
                if version is None or p.version == version:
                    return p.diagnostics
            await asyncio.sleep(0.002)
        raise TimeoutError(f"no diagnostics for {uri} version {version}")

    # ------------------------------------------------------------ requests
    @staticmethod
    def doc(uri: str) -> lsp.TextDocumentIdentifier:
        return lsp.TextDocumentIdentifier(uri=uri)

    async def hover(self, uri, line, char):
        return await self.client.text_document_hover_async(
            lsp.HoverParams(text_document=self.doc(uri), position=lsp.Position(line, char)))

    async def completion(self, uri, line, char) -> list[str]:
        result = await self.client.text_document_completion_async(
            lsp.CompletionParams(text_document=self.doc(uri), position=lsp.Position(line, char)))
        items = result.items if isinstance(result, lsp.CompletionList) else (result or [])
        return [i.label for i in items]

    async def definition(self, uri, line, char):
        return await self.client.text_document_definition_async(
            lsp.DefinitionParams(text_document=self.doc(uri), position=lsp.Position(line, char)))

    async def references(self, uri, line, char, declaration=True):
        return await self.client.text_document_references_async(lsp.ReferenceParams(
            text_document=self.doc(uri), position=lsp.Position(line, char),
            context=lsp.ReferenceContext(include_declaration=declaration)))

    async def rename(self, uri, line, char, new_name):
        return await self.client.text_document_rename_async(lsp.RenameParams(
            text_document=self.doc(uri), position=lsp.Position(line, char), new_name=new_name))

    async def formatting(self, uri):
        return await self.client.text_document_formatting_async(lsp.DocumentFormattingParams(
            text_document=self.doc(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))

    async def code_actions(self, uri, start, end):
        return await self.client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=self.doc(uri), range=lsp.Range(lsp.Position(*start), lsp.Position(*end)),
            context=lsp.CodeActionContext(diagnostics=[])))

    async def symbols(self, uri):
        return await self.client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=self.doc(uri)))


def run(coro_fn, *args, timeout: float = 120.0):
    """Runs `coro_fn(session, *args)` against a fresh server, always stopping it."""
    async def main():
        s = Session()
        await s.start()
        try:
            return await asyncio.wait_for(coro_fn(s, *args), timeout)
        finally:
            try:
                await asyncio.wait_for(s.stop(), 10)
            except Exception:  # noqa: BLE001 - a server that already died is the test's finding
                pass
    return asyncio.run(main())


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Applies LSP text edits (ASCII text: characters are UTF-16 units) back to front."""
    lines = text.split("\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)

    def offset(p: lsp.Position) -> int:
        if p.line >= len(lines):
            return len(text)
        return starts[p.line] + min(p.character, len(lines[p.line]))

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text
