"""Finding and reading modules: `std/...` stdlib names, relative files, cycle detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from aiwfc import codes
from aiwfc.diagnostics import DiagnosticSink
from aiwfc.ir import models as ir
from aiwfc.resolve.builder import Builder, BuildMemo
from aiwfc.resolve.suggest import did_you_mean
from aiwfc.resolve.document import is_document, load_document
from aiwfc.source import SourceFile, Span
from aiwfc.syntax.parser import parse_module

SUPPORTED_VERSIONS = ("0.1",)


def stdlib_root() -> Path:
    return Path(str(resources.files("aiwfc_stdlib")))


def stdlib_modules() -> list[str]:
    """Every importable `std/...` name, for messages and completion."""
    root = stdlib_root()
    return sorted("std/" + str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.aiwf"))


def locate(target: str, importer: str | None) -> Path | None:
    """The file an import target names, or None."""
    if target.startswith("std/"):
        p = stdlib_root() / (target[4:] + ("" if target.endswith(".aiwf") else ".aiwf"))
        return p if p.is_file() else None
    base = Path(importer).parent if importer else Path.cwd()
    p = (base / target)
    if p.is_file():
        return p
    if not p.suffix and (p.with_suffix(".aiwf")).is_file():
        return p.with_suffix(".aiwf")
    return None


@dataclass
class Loaded:
    """All modules read for one root file, each once, in import order."""

    sources: dict[str, SourceFile] = field(default_factory=dict)
    programs: dict[str, ir.Program] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


class ModuleLoader:
    """Reads a root module and, depth-first, everything it imports."""

    def __init__(self, sink: DiagnosticSink, parse=None, memo: BuildMemo | None = None):
        self.sink = sink
        self.memo = memo  # IR of blocks built by earlier analyses (the language server's)
        # how a text becomes an AST: parse_module, or a caller's equivalent that re-uses
        # earlier work (the language server's incremental parser)
        self.parse = parse or parse_module
        self.loaded = Loaded()
        self._stack: list[str] = []

    def load(self, path: Path, span: Span | None = None, text: str | None = None) -> ir.Program | None:
        key = str(path.resolve()) if text is None else str(path)
        if key in self._stack:
            cycle = " -> ".join(Path(p).name for p in self._stack[self._stack.index(key):] + [key])
            self.sink.report(codes.IMPORT_CYCLE, span or Span.point(str(path), 1, 1), cycle=cycle)
            return None
        if key in self.loaded.programs:
            return self.loaded.programs[key]
        display = str(path)
        try:
            src = SourceFile(display, text) if text is not None else SourceFile.read(path)
        except OSError as e:
            self.sink.report(codes.IMPORT_NOT_FOUND, span or Span.point(display, 1, 1),
                             target=display, detail=e.strerror or str(e))
            return None
        self.loaded.sources[display] = src
        self._stack.append(key)
        try:
            if is_document(display):
                prog = load_document(src, self.sink)
                imports = [(t, Span.point(display, 1, 1)) for t in (prog.imports if prog else [])]
            else:
                mod = self.parse(src, self.sink)
                self._check_header(mod, src)
                prog = Builder(self.sink, self.memo).module(mod)
                imports = [(i.target.text, i.target.span) for i in mod.imports]
            if prog is not None:
                for target, where in imports:
                    found = locate(target, None if text is not None and not Path(display).exists() else display)
                    if found is None:
                        hint = ""
                        if target.startswith("std/"):
                            hint = did_you_mean(target, stdlib_modules())
                        self.sink.report(codes.IMPORT_NOT_FOUND, where, target=target,
                                         detail=("no such stdlib module" if target.startswith("std/")
                                                 else "no such file") + hint)
                        continue
                    self.load(found, where)
        finally:
            self._stack.pop()
        if prog is not None:
            self.loaded.programs[key] = prog
            self.loaded.order.append(key)
        return prog

    def _check_header(self, mod, src: SourceFile) -> None:
        if mod.header is None:
            if src.text.strip() and not mod.broken:
                self.sink.report(codes.VERSION_HEADER, Span.point(src.path, 1, 1),
                                 detail="missing `aiwf 0.1` header on the first line")
        elif mod.header.version not in SUPPORTED_VERSIONS:
            self.sink.report(codes.VERSION_HEADER, mod.header.span,
                             detail=f"aiwf {mod.header.version} is not supported by this compiler "
                                    f"(it reads {', '.join(SUPPORTED_VERSIONS)})")
