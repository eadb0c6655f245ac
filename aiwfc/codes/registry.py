"""The one registry of diagnostic codes.

A code is defined once, with its readable name, default severity, message template
and user documentation (what it does, why it matters, an example, what to write
instead).  `aiwfc explain CODE` and `spec/diagnostics.md` are generated from here.
A code is never reused: retire it by leaving it defined with `retired=True`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiwfc.diagnostics import Severity

FAMILIES = {
    0: "syntax",
    1: "names",
    2: "types",
    3: "graph",
    4: "resources and site",
    5: "data",
    6: "feedback",
    7: "practices and motifs",
    8: "containers",
    9: "backend capability",
}


@dataclass(frozen=True)
class Code:
    """One diagnostic code and everything a person needs to understand it."""

    id: str
    name: str
    severity: Severity
    message: str
    summary: str
    why: str
    example: str = ""
    instead: str = ""
    retired: bool = False

    @property
    def family(self) -> str:
        return FAMILIES[int(self.id[4])]

    def format(self, **args) -> str:
        """Fills the message template; missing arguments are a programming error."""
        return self.message.format(**args)

    def explain(self) -> str:
        """The page `aiwfc explain` prints (Markdown)."""
        parts = [f"# {self.id} {self.name}", "",
                 f"Family: {self.family}. Default severity: {self.severity.value}.", "",
                 "## What it does", "", self.summary, "", "## Why it matters", "", self.why]
        if self.example:
            parts += ["", "## Example", "", "```aiwf", self.example.strip("\n"), "```"]
        if self.instead:
            parts += ["", "## Use instead", "", "```aiwf", self.instead.strip("\n"), "```"]
        return "\n".join(parts) + "\n"


REGISTRY: dict[str, Code] = {}
_BY_NAME: dict[str, Code] = {}
_ID = re.compile(r"^AIWF\d{3}$")


def define(id: str, name: str, severity: Severity, message: str, *, summary: str,
           why: str, example: str = "", instead: str = "") -> Code:
    """Adds a code to the registry; ids and names must be unique."""
    if not _ID.match(id):
        raise ValueError(f"bad code id {id}")
    if id in REGISTRY or name in _BY_NAME:
        raise ValueError(f"code {id}/{name} defined twice")
    code = Code(id, name, severity, message, summary, why, example, instead)
    REGISTRY[id] = code
    _BY_NAME[name] = code
    return code


def lookup(key: str) -> Code | None:
    """Finds a code by id (`AIWF101`, case-insensitive, `101` accepted) or by name."""
    k = key.strip()
    if k.isdigit():
        k = "AIWF" + k.zfill(3)
    return REGISTRY.get(k.upper()) or _BY_NAME.get(k.lower())


def all_codes() -> list[Code]:
    return [REGISTRY[k] for k in sorted(REGISTRY)]
