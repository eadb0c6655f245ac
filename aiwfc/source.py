"""Source text and positions.

Every position inside aiwfc is 1-based (line and column), end-exclusive in column;
only the language server converts to LSP's 0-based positions.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path


@dataclass(order=True, unsafe_hash=True, slots=True)
class Span:
    """A region of one source file; the unit every diagnostic and IR node points at."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @classmethod
    def point(cls, file: str, line: int, column: int) -> "Span":
        """A span one character wide, for places with no natural extent."""
        return cls(file, line, column, line, column + 1)

    def merge(self, other: "Span | None") -> "Span":
        """The smallest span covering both (same file assumed)."""
        if other is None:
            return self
        start = min((self.line, self.column), (other.line, other.column))
        end = max((self.end_line, self.end_column), (other.end_line, other.end_column))
        return Span(self.file, start[0], start[1], end[0], end[1])


_PLUS_ONE = (1).__add__


class SourceFile:
    """The text of one input with a line index, for carets and offset<->position maps."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        # offset of each line's first character: 0, then one past each newline (the
        # running sum of the lines' lengths, newline included, computed without a loop)
        starts = [0]
        starts += accumulate(map(_PLUS_ONE, map(len, text.split("\n"))))
        starts.pop()
        self._line_starts = starts

    @classmethod
    def read(cls, path: str | Path) -> "SourceFile":
        """Reads a file as UTF-8, replacing undecodable bytes so any input can be diagnosed."""
        data = Path(path).read_bytes()
        return cls(str(path), data.decode("utf-8", errors="replace"))

    def line_text(self, line: int) -> str:
        """The text of a 1-based line without its newline ('' when out of range)."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character offset."""
        offset = max(0, min(offset, len(self.text)))
        lo = bisect_right(self._line_starts, offset) - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def offset(self, line: int, column: int) -> int:
        """0-based character offset of a 1-based (line, column)."""
        line = max(1, min(line, len(self._line_starts)))
        return self._line_starts[line - 1] + column - 1

    def span(self, start: int, end: int) -> Span:
        """The span of the 0-based offset range [start, end)."""
        l1, c1 = self.position(start)
        l2, c2 = self.position(max(start, end))
        return Span(self.path, l1, c1, l2, c2)

    def end_span(self) -> Span:
        line = self.line_count
        col = len(self.line_text(line)) + 1
        return Span(self.path, line, col, line, col + 1)
