"""The types of ports, params and expressions.

`file`, `dir`, `string`, `int`, `float`, `bool`, `size`, `duration`, `list<T>` and
`metrics { name: T ... }`.  A phase's output seen from outside a `foreach` phase is a
`list` of its element type (scatter/gather), which is what makes edges checkable.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALARS = ("file", "dir", "string", "int", "float", "bool", "size", "duration")


@dataclass(unsafe_hash=True)
class Type:
    """An aiwf type; `name` is a scalar name, 'list', 'metrics', 'any' or 'error'."""

    name: str
    item: "Type | None" = None
    fields: tuple[tuple[str, "Type"], ...] | None = None

    def __str__(self) -> str:
        if self.name == "list":
            return f"list<{self.item}>"
        if self.name == "metrics":
            inner = ", ".join(f"{k}: {v}" for k, v in (self.fields or ()))
            return f"metrics {{ {inner} }}" if inner else "metrics {}"
        return self.name

    @property
    def is_list(self) -> bool:
        return self.name == "list"

    @property
    def is_numeric(self) -> bool:
        return self.name in ("int", "float")

    @property
    def is_path(self) -> bool:
        return self.name in ("file", "dir")

    def field(self, name: str) -> "Type | None":
        for k, v in self.fields or ():
            if k == name:
                return v
        return None


ANY = Type("any")
ERROR = Type("error")  # the type of an expression that already has a diagnostic
INT, FLOAT, BOOL, STRING, FILE, DIR = (Type(n) for n in ("int", "float", "bool", "string", "file", "dir"))
SIZE, DURATION = Type("size"), Type("duration")


def list_of(t: Type) -> Type:
    return Type("list", item=t)


def assignable(source: Type, target: Type) -> bool:
    """Whether a value of `source` may flow into a port or param of `target`."""
    if source.name in ("any", "error") or target.name in ("any", "error"):
        return True
    if source == target:
        return True
    if target.name == "float" and source.name == "int":
        return True
    if target.name == "string" and source.name in ("file", "dir", "int", "float", "bool"):
        return True
    if target.name == "file" and source.name == "string":
        return True
    if target.name == "list" and source.name == "list":
        return assignable(source.item, target.item)
    if target.name == "metrics" and source.name == "metrics":
        have = dict(source.fields or ())
        return all(k in have and assignable(have[k], v) for k, v in target.fields or ())
    return False


def parse_type(text: str) -> Type:
    """Parses the textual form used in JSON/YAML documents (`list<file>`, `metrics{loss: float}`)."""
    t, rest = _parse(text.strip())
    if rest.strip():
        raise ValueError(f"unexpected `{rest.strip()}` after type `{t}`")
    return t


def _parse(text: str) -> tuple[Type, str]:
    i = 0
    while i < len(text) and (text[i].isalnum() or text[i] == "_"):
        i += 1
    name, rest = text[:i], text[i:].lstrip()
    if not name:
        raise ValueError(f"expected a type name at `{text}`")
    if name == "list":
        if not rest.startswith("<"):
            raise ValueError("`list` needs an element type: list<T>")
        item, rest = _parse(rest[1:].lstrip())
        rest = rest.lstrip()
        if not rest.startswith(">"):
            raise ValueError("`list<` is not closed by `>`")
        return list_of(item), rest[1:]
    if name == "metrics":
        fields = []
        if rest.startswith("{"):
            rest = rest[1:].lstrip()
            while not rest.startswith("}"):
                j = 0
                while j < len(rest) and (rest[j].isalnum() or rest[j] == "_"):
                    j += 1
                fname, rest = rest[:j], rest[j:].lstrip()
                if not fname or not rest.startswith(":"):
                    raise ValueError("metrics fields are written `name: type`")
                ftype, rest = _parse(rest[1:].lstrip())
                fields.append((fname, ftype))
                rest = rest.lstrip().lstrip(",").lstrip()
                if not rest:
                    raise ValueError("`metrics {` is not closed by `}`")
            rest = rest[1:]
        return Type("metrics", fields=tuple(fields)), rest
    if name not in SCALARS:
        raise ValueError(f"unknown type `{name}` (types: {', '.join(SCALARS)}, list<T>, metrics {{...}})")
    return Type(name), rest
