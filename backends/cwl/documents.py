"""Writing CWL documents (YAML) and job-file values, deterministically.

Documents are YAML in block style with keys in the order the builders put them, and
long lines kept whole (JavaScript expressions are not folded, and single-quoted so
that they read as written), text of several lines as a literal block (`|`: a file a tool
carries reads as the file), after a comment header (`aiwfc.emitter.header_lines`:
what the file is, the source file, the compiler). `to_yaml` is checked against
PyYAML's reader by the tests (the text must load back to the same data).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiwfc.emitter import header_lines

__all__ = ["dump_document", "job_value", "to_yaml"]


_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_./:-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(value: Any) -> str:
    """A YAML scalar: plain when unambiguous, else single-quoted (readable JavaScript),
    else JSON double-quoted (control characters, newlines)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and not text.endswith(":") and text.lower() not in _RESERVED:
        return text
    if text and text.isprintable() and text == text.strip():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _literal(value: Any) -> bool:
    """Whether a string reads back exactly from a literal block scalar (`|`, one final newline
    kept): lines of printable text, the first not indented, none made of spaces alone."""
    if not isinstance(value, str) or not value.endswith("\n") or value.endswith("\n\n") or value.startswith(" "):
        return False
    lines = value[:-1].split("\n")
    return len(lines) > 1 and all(line.isprintable() and (line == "" or line.strip() != "") for line in lines)


def _block(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            if _literal(v):
                out.append(f"{pad}{_scalar(k)}: |")
                out.extend(f"{pad}  {line}" if line else "" for line in v[:-1].split("\n"))
            elif isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{_scalar(k)}:")
                _block(v, indent + 2 if isinstance(v, dict) else indent, out)
            else:
                out.append(f"{pad}{_scalar(k)}: {_inline(v)}")
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested: list[str] = []
                _block(item, indent + 2, nested)
                out.append(f"{pad}- {nested[0][indent + 2:]}")
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def to_yaml(doc: dict[str, Any]) -> str:
    """Block-style YAML of JSON-like data, keys in their order (a small, fast emitter: the
    documents are plain data, and PyYAML's pure-Python emitter dominated compile time)."""
    out: list[str] = []
    _block(doc, 0, out)
    return "\n".join(out) + "\n"


def dump_document(doc: dict[str, Any], title: str, source: str, *, shebang: bool = True) -> str:
    """The YAML text of one document, with its header."""
    lines = ["#!/usr/bin/env cwl-runner"] if shebang else []
    lines += [f"# {line}" for line in header_lines(title, source)]
    return "\n".join(lines) + "\n" + to_yaml(doc)


def job_value(type_name: str, value: Any, project_dir: Path) -> Any:
    """A param or dataset value as the job file states it (paths made absolute: relative
    paths are relative to the project directory, as in aiwf)."""
    if type_name in ("file", "dir"):
        text = str(value)
        if "://" in text:
            location = text
        else:
            location = (Path(project_dir) / text).resolve().as_uri()
        return {"class": "File" if type_name == "file" else "Directory", "location": location}
    return value
