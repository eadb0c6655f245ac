"""Completion: the words that can come next where the cursor is.

The context comes from a lexical scan of the text before the cursor (`cursor.py`),
so it works while the statement is half typed; the names come from the index of the
last analysis. What is offered:

* at the start of a statement: the attributes, statements and nested block kinds
  the enclosing block allows (from resolve/specs.py), or the top-level words;
* after `KEY =`: what that attribute takes (images, resource classes, sites, phases,
  the choices of an enumerated attribute, `true`/`false`, units after a number, the
  names an expression can use);
* after `NAME.`: a phase's output ports (and `address` of a service), a metrics port's fields;
* inside `${...}`: the names a command can interpolate (ports, params, datasets,
  the foreach variable, `project`, `index`, `iteration`);
* after `import "`: the stdlib modules; after `NAME:` in a port or param: the types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types as lsp

from aiwfc.fmt import type_text
from aiwfc.ir import models as ir
from aiwfc.ir.types import parse_type
from aiwfc.lsp.cursor import Cursor, word_before
from aiwfc.lsp.index import Index
from aiwfc.lsp.keywords import BLOCKS, BUILTINS, STATEMENTS, VALUES, attribute_doc
from aiwfc.resolve.imports import stdlib_modules
from aiwfc.resolve.specs import SPECS, TOP_LEVEL

SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "KB", "MB", "GB", "TB", "PB", "B")
DURATION_UNITS = ("ms", "s", "min", "m", "h", "d", "w")
TYPES = ("file", "dir", "int", "float", "string", "bool", "list<>", "metrics {}")
FUNCTIONS = ("len", "min", "max", "sum", "mean", "range", "abs", "round", "str", "int", "float")

K = lsp.CompletionItemKind
_KEY_AT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)[ \t]*([=~])(?!=)")
_NUMBER_AT = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]*)\Z")


@dataclass(frozen=True)
class Item:
    label: str
    kind: K
    detail: str = ""
    insert: str | None = None

    def to_lsp(self) -> lsp.CompletionItem:
        return lsp.CompletionItem(label=self.label, kind=self.kind, detail=self.detail or None,
                                  insert_text=self.insert)


def complete(cur: Cursor, index: Index | None, fallback: Index | None = None) -> list[Item]:
    """The completion items for a cursor context. `fallback` is the index of the last text
    that parsed cleanly: what the recovering parser lost of a half-typed block (the ports
    after a broken line) is still offered from it, after the current names."""
    items = _complete(cur, index)
    if fallback is not None and fallback is not index:
        labels = {i.label for i in items}
        items += [i for i in _complete(cur, fallback) if i.label not in labels]
    return items


def _complete(cur: Cursor, index: Index | None) -> list[Item]:
    wf = cur.enclosing(("workflow",))
    phase = cur.enclosing(ir.PHASE_KINDS)
    sc = index.scope(wf[1]) if index is not None and wf is not None and wf[1] else None
    if cur.in_string:
        if cur.interpolation is not None:
            return _value_names(cur.interpolation, sc, phase[1] if phase else None, index, command=True)
        if re.search(r'^\s*import\s+"[^"]*\Z', cur.statement):
            return [Item(m, K.Module, "stdlib module") for m in stdlib_modules()]
        return []
    stmt = cur.statement
    if cur.block == "{":
        return []  # a map's keys or metrics fields: free names
    m = re.search(r"^\s*(?:param|in|out)\s+[A-Za-z_][A-Za-z0-9_]*\s*:\s*[A-Za-z_<]*\Z", stmt)
    if m:
        return [Item(t, K.TypeParameter, "type") for t in TYPES]
    m = re.search(r"^\s*foreach\s+[A-Za-z_][A-Za-z0-9_]*\s+in\s+(.*)\Z", stmt)
    if m:
        return _value_names(m.group(1), sc, None, index) + [Item("range", K.Function, "range(n)", "range(")]
    m = re.search(r"^\s*(?:param|in|out)\s+[A-Za-z_][A-Za-z0-9_]*\s*:[^=]*=\s*(.*)\Z", stmt, re.S)
    if m:
        return _value_names(m.group(1), sc, phase[1] if phase else None, index)
    m = _last_key(stmt)
    if m is not None and not (re.search(r"\S[ \t]+\w*\Z|\n\s*\w*\Z", m[1])
                              and not re.search(r"[\[(,+\-*/<>=]\s*\w*\Z", m[1])):
        return _values(m[0], m[1], cur, sc, phase[1] if phase else None, index)
    if re.search(r"^\s*(?:next|stop)\s+[A-Za-z0-9_.]*\Z", stmt) and sc is not None:
        return _value_names(word_before(stmt), sc, None, index, phases_only=True)
    if re.search(r"(?:^|\s)[A-Za-z_]*\Z", stmt) and re.fullmatch(r"[^=~\"]*", stmt):
        return _keys(cur.block)
    return []


def _last_key(stmt: str) -> tuple[str, str] | None:
    """The last `KEY =` of the statement and what follows it (None when there is none)."""
    found = None
    for m in _KEY_AT.finditer(stmt):
        found = m
    return None if found is None else (found.group(1), stmt[found.end():].lstrip(" \t"))


def _keys(block: str | None) -> list[Item]:
    """Words that can start a statement in `block`."""
    if block is None:
        out = [Item("aiwf", K.Keyword, STATEMENTS["aiwf"], "aiwf 0.1"),
               Item("import", K.Keyword, STATEMENTS["import"], 'import "')]
        return out + [Item(k, K.Keyword, BLOCKS.get(k, "")) for k in sorted(TOP_LEVEL)]
    spec = SPECS.get(block)
    if spec is None:
        return []
    out = [Item(a, K.Property, attribute_doc(block, a) or "", f"{a} = ") for a in spec.attrs]
    out += [Item(s, K.Keyword, STATEMENTS.get(s, "")) for s in sorted(spec.statements)]
    out += [Item(b, K.Keyword, BLOCKS.get(b, "")) for b in sorted(spec.blocks)]
    return out


def _values(key: str, typed: str, cur: Cursor, sc, phase: str | None, index: Index | None) -> list[Item]:
    """What attribute `key` of the enclosing block can take; `typed` is what is written so far."""
    spec = SPECS.get(cur.block or "")
    kind = spec.attrs.get(key) if spec else None
    last = re.split(r"[\s\[\],(]", typed)[-1]
    if kind is None:
        return []
    if kind in ("size", "duration"):
        units = SIZE_UNITS if kind == "size" else DURATION_UNITS
        num = _NUMBER_AT.search(typed)
        if num:
            return [Item(num.group(1) + u, K.Unit, kind) for u in units]
        return [Item(u, K.Unit, kind) for u in units]
    if kind == "bool":
        return [Item("true", K.Keyword), Item("false", K.Keyword)]
    if kind.startswith("choice:"):
        return [Item(v, K.EnumMember, VALUES.get(v, "")) for v in kind[7:].split("|")]
    if sc is None:
        return []
    if kind == "name" and key == "image":
        return [Item(n, K.Class, "image") for n in sc.images]
    if kind == "name" and key == "resources":
        return [Item(n, K.Class, "resource class") for n in sc.resources]
    if kind == "name" and key == "site":
        return [Item(n, K.Module, "site") for n in index.library["site"]] if index else []
    if kind == "names" and key == "uses":
        return [Item(n, K.Function, "service") for n, s in sc.phases.items() if s.detail == "service"]
    if kind == "names":
        return [Item(n, K.Function, s.detail) for n, s in sc.phases.items()]
    if kind in ("expr", "refs"):
        return _value_names(last, sc, phase, index) + \
            ([Item(f, K.Function, "function", f + "(") for f in FUNCTIONS] if "." not in last else [])
    return []


def _value_names(typed: str, sc, phase: str | None, index: Index | None, command: bool = False,
                 phases_only: bool = False) -> list[Item]:
    """Names an expression can use here; after `NAME.`, the members of NAME."""
    word = word_before(typed)
    if sc is None:
        return [Item(b, K.Variable, BUILTINS[b]) for b in BUILTINS] if command else []
    if "." in word:
        head, *mid, _ = word.split(".")
        return _members(head, mid, sc, phase)
    out: list[Item] = []
    if phase is not None and not phases_only:
        var = sc.foreach.get(phase)
        if var is not None:
            out.append(Item(var.name, K.Variable, "foreach variable"))
        for (ph, direction, name), sym in sc.ports.items():
            if ph == phase:
                out.append(Item(name, K.Field, f"{direction} port"))
        out += [Item(b, K.Variable, BUILTINS[b]) for b in BUILTINS]
    if not phases_only:
        out += [Item(n, K.Variable, "param") for n in sc.params]
        out += [Item(n, K.Folder, "dataset") for n in sc.datasets]
    out += [Item(n, K.Function, s.detail) for n, s in sc.phases.items()]
    return out


def _members(head: str, mid: list[str], sc, phase: str | None) -> list[Item]:
    if head not in sc.phases:
        return []
    ports = {name: sym for (ph, d, name), sym in sc.ports.items() if ph == head and d == "out"}
    if not mid:
        out = [Item(n, K.Field, "output of " + head) for n in ports]
        if sc.phases[head].detail == "service":
            out.append(Item("address", K.Field, "the service's address"))
        return out
    sym = ports.get(mid[0])
    if sym is None or len(mid) > 1:
        return []
    try:
        t = parse_type(type_text(sym.node.type))
    except Exception:  # noqa: BLE001 - a half-typed type offers no fields
        return []
    t = t.item if t.name == "list" and t.item is not None else t
    return [Item(name, K.Field, str(ft)) for name, ft in (t.fields or ())]
