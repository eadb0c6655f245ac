"""Writing CWL documents (YAML) and job-file values, deterministically.

Documents are YAML in block style with keys in the order the builders put them, and
long lines kept whole (JavaScript expressions are not folded), after a comment header
(`aiwfc.emitter.header_lines`: what the file is, the source file, the compiler).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aiwfc.emitter import header_lines

__all__ = ["dump_document", "job_value"]


class _Dumper(yaml.SafeDumper):
    """SafeDumper that never emits anchors/aliases (CWL readers resolve them, people do not)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_document(doc: dict[str, Any], title: str, source: str, *, shebang: bool = True) -> str:
    """The YAML text of one document, with its header."""
    lines = ["#!/usr/bin/env cwl-runner"] if shebang else []
    lines += [f"# {line}" for line in header_lines(title, source)]
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9,
                     default_flow_style=False)
    return "\n".join(lines) + "\n" + body


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
