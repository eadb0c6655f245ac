"""A tiny line emitter for the text backends, and quoting for each target language.

Backends write their artefacts line by line through `Emitter` (as Jinja's code
generator does) instead of concatenating strings across functions: indentation is a
context manager, a comment is one call, and `source()` puts a `# from steer.aiwf:41`
comment above the lines a source position produced and remembers the mapping.

Quoting is per target and total: `bash_quote` is safe for any text a shell argument can
hold (quotes, `$()`, backticks, newlines, `;`, unicode); `python_literal` writes a Python
expression that evaluates back to the value; JSON (and so YAML, a superset) goes
through `json_literal`.

Nothing here reads a clock: artefacts are byte-identical run after run, and the source
names in headers are relative to the project directory (see `source_name`), so they do
not change between checkouts either.
"""

from __future__ import annotations

import json
import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from aiwfc import __version__
from aiwfc.resolve.imports import stdlib_root
from aiwfc.source import Span

__all__ = ["Emitter", "bash_quote", "python_literal", "json_literal", "shell_env_value", "docker_quote",
           "source_name", "header_lines", "COMPILER"]

COMPILER = f"aiwfc {__version__}"

# Characters that never need quoting in a bash word (the set shlex.quote leaves alone);
# anything else is single-quoted.
_BASH_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def bash_quote(text: str) -> str:
    """One bash word whose value is exactly `text`.

    Plain words stay as they are (`numpy==2.1.3`); anything else is put in single quotes,
    inside which bash interprets nothing, with each `'` written as `'"'"'`. A newline
    inside single quotes is kept literally. The only text that cannot be a shell word is
    one containing a NUL character, which no argv can carry: that is refused.
    """
    if "\x00" in text:
        raise ValueError("a shell word cannot contain a NUL character")
    if _BASH_SAFE.match(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


_VAR_REF = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


def _double_quote(text: str, special: str, keep_vars: bool) -> str:
    out, i = [], 0
    while i < len(text):
        m = _VAR_REF.match(text, i) if keep_vars else None
        if m:
            out.append(m.group())
            i = m.end()
            continue
        out.append("\\" + text[i] if text[i] in special else text[i])
        i += 1
    return '"' + "".join(out) + '"'


def shell_env_value(text: str) -> str:
    """A double-quoted shell word for an environment value: `$NAME` and `${NAME}` still
    refer to variables (so `PATH = "/opt/x/bin:$PATH"` works, as in a Dockerfile's ENV);
    every other character, `$(...)` and backticks included, is literal."""
    return _double_quote(text, '\\"`$', keep_vars=True)


def docker_quote(text: str, keep_vars: bool = False) -> str:
    """A double-quoted Dockerfile word (ENV, LABEL): `\\`, `"` and `$` escaped, except
    `$NAME`/`${NAME}` references when `keep_vars` (the ENV meaning of `shell_env_value`)."""
    return _double_quote(text, '\\"$', keep_vars=keep_vars)


def python_literal(value) -> str:
    """Python source that evaluates to `value` (str, int, float, bool, None, list, tuple,
    dict with such keys and values); deterministic: dicts keep their order, sets are sorted."""
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(python_literal(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (set, frozenset)):
        items = sorted(value, key=repr)
        return "set()" if not items else "{" + ", ".join(python_literal(v) for v in items) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def json_literal(value, **kw) -> str:
    """JSON text of `value` (also valid YAML); non-ASCII kept as is, keys in given order."""
    return json.dumps(value, ensure_ascii=False, **kw)


def source_name(file: str, project_dir: str | Path) -> str:
    """The name a header or source comment uses for a source file.

    Relative to the project directory (the directory of the root .aiwf file), so that
    output does not depend on where the checkout lives; stdlib modules are named as they
    are imported (`std/images/python.aiwf`); anything else by its path relative to the
    project directory. Always with forward slashes.
    """
    if not file or file.startswith("<"):
        return file
    path = Path(file).resolve()
    project = Path(project_dir).resolve()
    try:
        return "std/" + path.relative_to(stdlib_root().resolve()).as_posix()
    except ValueError:
        pass
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, project)).as_posix()


def header_lines(title: str, source: str, *, extra: tuple[str, ...] = ()) -> list[str]:
    """The comment text every artefact starts with: what it is, the source file (as
    `source_name` gives it) and the compiler version. No timestamp: output must be
    byte-identical on re-run. Returned without comment markers."""
    return [title, f"Generated by {COMPILER} from {source}; do not edit, recompile instead.", *extra]


class Emitter:
    """Collects output lines with indentation, comments and source positions.

    `comment_prefix` is the target's line comment (`#` for bash, Python, YAML,
    Dockerfiles and Apptainer definitions). `names` turns a source file into the name
    shown in source comments (usually `source_name` bound to the project directory).
    """

    def __init__(self, comment_prefix: str = "#", indent_unit: str = "  ", names=None):
        self.comment_prefix = comment_prefix
        self.indent_unit = indent_unit
        self.lines: list[str] = []
        self.level = 0
        self.names = names or (lambda f: f)
        # (1-based output line, source file name, source line) for each source() call
        self.source_map: list[tuple[int, str, int]] = []

    @contextmanager
    def indent(self, levels: int = 1) -> Iterator[None]:
        """Lines emitted inside the `with` block are indented one more level."""
        self.level += levels
        try:
            yield
        finally:
            self.level -= levels

    def line(self, text: str = "") -> None:
        """One output line (no indentation on an empty line, no trailing spaces)."""
        if "\n" in text:
            raise ValueError("Emitter.line takes one line; quote the value or call line() per line")
        self.lines.append((self.indent_unit * self.level + text).rstrip() if text else "")

    def comment(self, text: str = "") -> None:
        """A comment line; multi-line text becomes several comment lines."""
        for part in (text.split("\n") if text else [""]):
            self.line(f"{self.comment_prefix} {part}".rstrip())

    def header(self, title: str, source: str, *, extra: tuple[str, ...] = ()) -> None:
        """The standard artefact header (see `header_lines`) as comments."""
        for text in header_lines(title, source, extra=extra):
            self.comment(text)

    def source_ref(self, span: Span | None) -> str:
        """`steer.aiwf:41` for a span ('' when there is none)."""
        if span is None:
            return ""
        return f"{self.names(span.file)}:{span.line}"

    def source(self, span: Span | None, what: str = "") -> None:
        """A `# from steer.aiwf:41` comment for the lines that follow, recorded in
        `source_map`; `what` names the construct (`# image sim from steer.aiwf:12`)."""
        if span is None:
            return
        ref = self.source_ref(span)
        self.comment(f"{what} from {ref}" if what else f"from {ref}")
        self.source_map.append((len(self.lines) + 1, self.names(span.file), span.line))

    def extend(self, lines) -> None:
        for text in lines:
            self.line(text)

    def text(self) -> str:
        """The output: lines joined with `\\n`, ending in exactly one newline."""
        return "\n".join(self.lines).rstrip("\n") + "\n"
