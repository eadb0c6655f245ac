"""Rendering diagnostics: text with carets (colour on a TTY), JSON, and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Iterable

from aiwfc import __version__
from aiwfc.codes import lookup
from aiwfc.diagnostics import Diagnostic, Severity
from aiwfc.source import SourceFile

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36", Severity.HINT: "32"}


def _c(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def render_text(diags: Iterable[Diagnostic], sources: dict[str, SourceFile], colour: bool = False) -> str:
    """`file:line:col: severity[CODE]: message`, the source line and a caret underline."""
    out = []
    for d in diags:
        s = d.span
        head = f"{s.file}:{s.line}:{s.column}: {_c(d.severity.value, _COLOURS[d.severity], colour)}" \
               f"[{d.code}]: {d.message}"
        out.append(_c(head, "1", colour) if colour else head)
        src = sources.get(s.file)
        if src is not None and 1 <= s.line <= src.line_count:
            text = src.line_text(s.line).replace("\t", " ")
            width = (s.end_column - s.column) if s.end_line == s.line else len(text) - s.column + 1
            width = max(1, width)
            gutter = str(s.line)
            out.append(f"  {gutter} | {text}")
            label = f" {d.fix.description}" if d.fix else ""
            out.append(f"  {' ' * len(gutter)} | {' ' * (s.column - 1)}"
                       + _c("^" * width + label, _COLOURS[d.severity], colour))
        for r in d.related:
            out.append(f"  note: {r.span.file}:{r.span.line}:{r.span.column}: {r.message}")
        for n in d.notes:
            out.append(f"  note: {n}")
    return "\n".join(out) + ("\n" if out else "")


def summary(diags: list[Diagnostic]) -> str:
    counts = {sev: sum(1 for d in diags if d.severity is sev) for sev in Severity}
    parts = [f"{counts[s]} {s.value}{'s' if counts[s] != 1 else ''}" for s in Severity if counts[s]]
    return ", ".join(parts) if parts else "no problems"


def render_json(diags: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}


def render_sarif(diags: list[Diagnostic]) -> str:
    """SARIF 2.1.0 for code scanning: one run, rules from the registry."""
    used = sorted({d.code for d in diags})
    rules = []
    for cid in used:
        code = lookup(cid)
        rules.append({
            "id": cid, "name": code.name if code else cid,
            "shortDescription": {"text": code.summary if code else cid},
            "fullDescription": {"text": code.why if code else cid},
            "help": {"text": code.explain() if code else cid, "markdown": code.explain() if code else cid},
            "defaultConfiguration": {"level": _SARIF_LEVEL[code.severity] if code else "warning"},
        })
    index = {cid: i for i, cid in enumerate(used)}
    results = []
    for d in diags:
        s = d.span
        res = {
            "ruleId": d.code, "ruleIndex": index[d.code], "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": s.file},
                "region": {"startLine": s.line, "startColumn": s.column,
                           "endLine": s.end_line, "endColumn": s.end_column}}}],
        }
        if d.related:
            res["relatedLocations"] = [
                {"id": i, "message": {"text": r.message}, "physicalLocation": {
                    "artifactLocation": {"uri": r.span.file},
                    "region": {"startLine": r.span.line, "startColumn": r.span.column,
                               "endLine": r.span.end_line, "endColumn": r.span.end_column}}}
                for i, r in enumerate(d.related)]
        results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "aiwfc", "version": __version__,
                                      "informationUri": "https://aiwf.dev", "rules": rules}},
                  "results": results}],
    }
    return json.dumps(doc, indent=2) + "\n"
