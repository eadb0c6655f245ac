"""`aiwfc lsp`: the pygls 2 language server.

Every open document keeps its text, an incremental parser, the IR of the blocks it built
(re-used for the blocks an edit leaves alone) and the result of its last
analysis (`pipeline.analyse`, the same front end and checks as `aiwfc check`, so the
same codes). Analysis is debounced: a change after a quiet spell is analysed at once,
and a change that comes while others keep coming waits DEBOUNCE for the next one, so
a burst (fast typing, a paste sent as many edits) is analysed once, when it settles. Opening and saving analyse at once, and so does any request on a document
with changes not yet analysed: an answer never comes from stale text. Diagnostics
are published for the document and for the imported files in which the analysis
found problems (cleared when they go away).

Nothing a document holds may crash the server: every handler answers, a failure
inside one is logged and answered with nothing (tests/lsp replays random edits to
hold it to that).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from aiwfc import __version__
from aiwfc.diagnostics import Diagnostic
from aiwfc.lsp import convert
from aiwfc.lsp.incremental import IncrementalParser
from aiwfc.lsp.index import Index
from aiwfc.pipeline import analyse
from aiwfc.resolve.builder import BuildMemo
from aiwfc.resolve.imports import stdlib_root
from aiwfc.resolve.load import Compilation, load
from aiwfc.source import SourceFile, Span
from aiwfc.syntax import ast

log = logging.getLogger("aiwfc.lsp")

DEBOUNCE = 0.02  # seconds a change in a burst waits for the next one before the document is analysed
# A change handled less than QUEUED seconds after an analysis ended was already waiting
# while that analysis ran (a burst); one that comes later was sent after it (a client
# that waits for the diagnostics, a person typing) and is analysed at once.
QUEUED = 0.0005  # bench/lsp_bench.py: a client that reacts to the diagnostics comes >= 1 ms later


@dataclass
class Document:
    """One open document and what its last analysis found."""

    uri: str
    path: str
    parser: IncrementalParser
    memo: BuildMemo = field(default_factory=BuildMemo)  # IR of the blocks the last analysis built
    version: int | None = None
    analysed: str | None = None  # the text the results below are for
    comp: Compilation | None = None
    modules: dict[str, ast.Module] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    published: set[str] = field(default_factory=set)  # other URIs this document published to
    timer: asyncio.TimerHandle | None = None
    _index: Index | None = None
    seconds: float = 0.0  # how long the last analysis took
    published_version: int | None = None
    finished: float = float("-inf")  # loop time when the last analysis ended
    good_modules: dict[str, ast.Module] = field(default_factory=dict)
    _good_index: Index | None = None

    @property
    def last_good(self) -> Index | None:
        """The index of the last text without syntax errors: completion falls back on it for
        names the recovering parser lost in a half-typed block."""
        if self.good_modules is self.modules:
            return self.index
        if self._good_index is None or self._good_index.modules is not self.good_modules:
            self._good_index = Index(self.good_modules) if self.good_modules else None
        return self._good_index

    @property
    def index(self) -> Index | None:
        if self._index is None and self.modules:
            self._index = Index(self.modules)
        return self._index


class AiwfLanguageServer(LanguageServer):
    """The server: documents by URI, the site to check against (initializationOptions `site`)."""

    def __init__(self):
        super().__init__("aiwfc", __version__)
        self.documents: dict[str, Document] = {}
        self.site: str | None = None
        self.freeze_gc = False  # see tune_gc
        self._frozen = False

    def tune_gc(self) -> None:
        """Collector settings for a server process (see `tune_gc` at module level)."""
        tune_gc()
        self.freeze_gc = True

    # ------------------------------------------------------------ analysis
    def document(self, uri: str) -> Document:
        doc = self.documents.get(uri)
        if doc is None:
            path = convert.path_of(uri)
            doc = Document(uri, path, IncrementalParser(path))
            self.documents[uri] = doc
        return doc

    def text(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def schedule(self, uri: str) -> None:
        """Analyse soon: at once when the change was sent after the last analysis (one edit
        gets its diagnostics without waiting), DEBOUNCE after the last change while changes
        keep coming or were queued behind an analysis (a burst is analysed once)."""
        doc = self.document(uri)
        loop = asyncio.get_running_loop()
        gap = loop.time() - doc.finished
        busy = doc.timer is not None or gap < QUEUED
        log.debug("change to %s %.2f ms after the last analysis ended", uri, gap * 1000)
        if doc.timer is not None:
            doc.timer.cancel()
        doc.timer = loop.call_later(DEBOUNCE if busy else 0, self.refresh, uri)

    def refresh(self, uri: str) -> None:
        """Analyses the document now if its text changed since the last analysis, and publishes."""
        doc = self.documents.get(uri)
        if doc is None:
            return
        if doc.timer is not None:
            doc.timer.cancel()
            doc.timer = None
        text = self.text(uri)
        if text == doc.analysed:
            if doc.version != doc.published_version:
                self.publish(doc)  # same text, new version: the editor waits for this version's
            return
        start = time.perf_counter()
        modules: dict[str, ast.Module] = {}

        def parse(src, sink):
            module = doc.parser(src, sink)
            modules[src.path] = module
            return module

        try:
            comp = analyse(doc.path, text=text, site=self.site, parse=parse, memo=doc.memo)
        except Exception:  # noqa: BLE001 - a bug must not take the editor's server down
            log.exception("analysis of %s failed", uri)
            doc.parser, doc.memo = IncrementalParser(doc.path), BuildMemo()
            return
        doc.memo.rotate()
        doc.analysed, doc.comp, doc.modules, doc._index = text, comp, modules, None
        doc.diagnostics = comp.sink.sorted()
        if not any(d.code < "AIWF100" for d in doc.diagnostics):
            doc.good_modules = modules
        doc.seconds = time.perf_counter() - start
        self.publish(doc)
        if self.freeze_gc and not self._frozen:
            gc.collect()
            gc.freeze()
            self._frozen = True
        log.info("analysed %s v%s in %.1f ms (published after %.1f ms)", uri, doc.version, doc.seconds * 1000,
                 (time.perf_counter() - start) * 1000)
        try:
            doc.finished = asyncio.get_running_loop().time()
        except RuntimeError:  # not inside the server's loop (a direct call)
            pass

    def publish(self, doc: Document) -> None:
        codec = self.workspace.position_codec
        sources = doc.comp.sources.get if doc.comp else (lambda _p: None)
        by_uri: dict[str, list[lsp.Diagnostic]] = {doc.uri: []}
        for d in doc.diagnostics:
            if d.span.file == doc.path:
                uri = doc.uri
            elif d.span.file.startswith("<") or not Path(d.span.file).is_file():
                continue  # the command line, or nothing an editor can open
            else:
                uri = convert.uri_of(d.span.file)
                if uri in self.documents:
                    continue  # an open file publishes its own diagnostics
            by_uri.setdefault(uri, []).append(convert.to_lsp_diagnostic(d, sources, codec))
        for uri in doc.published - set(by_uri):
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        doc.published = set(by_uri) - {doc.uri}
        doc.published_version = doc.version
        for uri, items in by_uri.items():
            version = doc.version if uri == doc.uri else None
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))

    def ready(self, uri: str) -> Document:
        """The document, analysed up to its current text (for requests)."""
        self.refresh(uri)
        return self.document(uri)

    # ------------------------------------------------------------ helpers for features
    def source(self, doc: Document) -> SourceFile:
        return SourceFile(doc.path, self.text(doc.uri))

    def sources(self, doc: Document):
        """A path -> SourceFile lookup for converting spans (open documents win)."""
        def get(path: str) -> SourceFile | None:
            if doc.comp is not None and path in doc.comp.sources:
                return doc.comp.sources[path]
            try:
                return SourceFile.read(path) if Path(path).is_file() else None
            except OSError:
                return None
        return get

    def to_range(self, span: Span, sources) -> lsp.Range:
        return convert.to_range(span, sources(span.file), self.workspace.position_codec)

    def location(self, span: Span, sources) -> lsp.Location:
        return lsp.Location(uri=convert.uri_of(span.file), range=self.to_range(span, sources))

    def position(self, doc: Document, pos: lsp.Position) -> tuple[int, int]:
        """A request's position as 1-based (line, column) in the document."""
        src = self.source(doc)
        return src.position(convert.offset_of(src, pos, self.workspace.position_codec))

    def symbol_at(self, doc: Document, pos: lsp.Position):
        index = doc.index
        if index is None:
            return None
        line, column = self.position(doc, pos)
        return index.at(doc.path, line, column)

    def other_indexes(self, doc: Document) -> list[Index]:
        """Indexes of every other open document and of the .aiwf files beside this one, for
        references across imports (a library file does not know who imports it)."""
        out = []
        for other in list(self.documents.values()):
            if other is not doc:
                self.refresh(other.uri)
                if other.index is not None:
                    out.append(other.index)
        seen = {d.path for d in self.documents.values()}
        folder = Path(doc.path).parent
        if folder.is_dir() and folder != stdlib_root() and not str(folder).startswith(str(stdlib_root())):
            for p in sorted(folder.glob("*.aiwf"))[:200]:
                if str(p) in seen:
                    continue
                modules: dict[str, ast.Module] = {}
                parser = IncrementalParser(str(p))

                def parse(src, sink, parser=parser, modules=modules):
                    module = parser(src, sink)
                    modules[src.path] = module
                    return module

                try:
                    analyse_modules(str(p), parse, self.site)
                except Exception:  # noqa: BLE001
                    continue
                out.append(Index(modules))
        return out

    def references(self, doc: Document, pos: lsp.Position, declaration: bool) -> list[Span]:
        hit = self.symbol_at(doc, pos)
        if hit is None:
            return []
        sym = hit[1]
        spans = set(doc.index.uses(sym, declaration))
        for idx in self.other_indexes(doc):
            spans.update(idx.uses(sym, declaration))
        unique = {}
        for s in spans:
            unique.setdefault((str(Path(s.file).resolve()) if not s.file.startswith("<") else s.file,
                               s.line, s.column, s.end_line, s.end_column), s)
        return sorted(unique.values(), key=lambda s: (s.file, s.line, s.column))


def tune_gc() -> None:
    """An analysis allocates many short-lived objects, and the default collector thresholds
    make it walk the long-lived ones (the grammar, the parse caches) again and again. A
    larger first threshold, and moving what exists after the first analysis out of the
    collector's sight (gc.freeze, done by the server), took the 95th percentile of an
    edit's analysis from 39 to 33 ms and its worst case from 110 to 35 ms
    (bench/lsp_bench.py's document, CPU time)."""
    gc.set_threshold(20_000, 20, 20)


def analyse_modules(path: str, parse, site: str | None) -> Compilation:
    """The front end only (no checks): enough to index a file that is not open."""
    return load(path, site=site, parse=parse)
