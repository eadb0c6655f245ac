"""The one diagnostic model, and the sink that collects diagnostics.

Diagnostics are collected, never raised: a stage reports what it found and the
pipeline goes on while later stages still make sense (see STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Iterable

from aiwfc.source import Span

if TYPE_CHECKING:
    from aiwfc.codes import Code


class Severity(str, Enum):
    """How much a diagnostic matters; errors fail `check` and `compile`."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"

    @property
    def rank(self) -> int:
        return ["error", "warning", "info", "hint"].index(self.value)


class Applicability(str, Enum):
    """Whether a fix can be applied without a person looking (as in ruff)."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class TextEdit:
    """Replace the text of `span` with `new_text` (an insertion when the span is empty)."""

    span: Span
    new_text: str


@dataclass(frozen=True)
class Fix:
    """A suggested change, shown to people and offered as an editor code action."""

    description: str
    edits: tuple[TextEdit, ...] = ()
    applicability: Applicability = Applicability.SAFE


@dataclass(frozen=True)
class Related:
    """Another position that contributed to a diagnostic (the other end of an edge)."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable code, a severity, a message, a main span and its context."""

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    notes: tuple[str, ...] = ()
    fix: Fix | None = None

    def sort_key(self):
        s = self.span
        return (s.file, s.line, s.column, self.code, self.message)

    def to_json(self) -> dict:
        """The `--format json` object (DESIGN.md fixes the first eight keys)."""
        s = self.span
        out = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": s.file,
            "line": s.line,
            "column": s.column,
            "end_line": s.end_line,
            "end_column": s.end_column,
            "name": self.name,
        }
        if self.related:
            out["related"] = [
                {"file": r.span.file, "line": r.span.line, "column": r.span.column,
                 "end_line": r.span.end_line, "end_column": r.span.end_column,
                 "message": r.message}
                for r in self.related
            ]
        if self.notes:
            out["notes"] = list(self.notes)
        if self.fix:
            out["fix"] = {
                "description": self.fix.description,
                "applicability": self.fix.applicability.value,
                "edits": [
                    {"line": e.span.line, "column": e.span.column,
                     "end_line": e.span.end_line, "end_column": e.span.end_column,
                     "new_text": e.new_text}
                    for e in self.fix.edits
                ],
            }
        return out


@dataclass
class DiagnosticSink:
    """Collects diagnostics from every stage; sorted and de-duplicated on the way out."""

    items: list[Diagnostic] = field(default_factory=list)

    def report(self, code: "Code", span: Span, *, related: Iterable[Related] = (),
               notes: Iterable[str] = (), fix: Fix | None = None,
               severity: Severity | None = None, **args) -> Diagnostic:
        """Records one diagnostic of `code`, its message filled from the registry template."""
        diag = Diagnostic(
            code=code.id,
            name=code.name,
            severity=severity or code.severity,
            message=code.format(**args),
            span=span,
            related=tuple(related),
            notes=tuple(notes),
            fix=fix,
        )
        self.items.append(diag)
        return diag

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        """Sorted by position and de-duplicated, as CUE prints its errors."""
        seen = set()
        out = []
        for d in sorted(self.items, key=Diagnostic.sort_key):
            key = (d.code, d.span, d.message)
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out
