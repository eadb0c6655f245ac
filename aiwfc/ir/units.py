"""Quantities with units: memory and data sizes in bytes, durations in seconds."""

from __future__ import annotations

import math
import re
from functools import lru_cache

_BYTES = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50,
}
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")

SIZE_PATTERN = r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)$"
DURATION_PATTERN = r"^\d+(\.\d+)?\s*(ms|s|m|min|h|d|w)$"


@lru_cache(maxsize=4096)  # a workflow repeats the same few quantities thousands of times
def split_quantity(text: str) -> tuple[float, str] | None:
    m = _QUANTITY.match(text)
    if not m:
        return None
    return float(m.group(1)), m.group(2)


def unit_kind(unit: str) -> str | None:
    """'size', 'duration' or None for an unknown unit."""
    if unit in _BYTES:
        return "size"
    if unit in _SECONDS:
        return "duration"
    return None


def parse_size(text: str) -> int:
    """`16GiB` -> bytes; raises ValueError with a readable reason."""
    q = split_quantity(text)
    if not q or q[1] not in _BYTES:
        raise ValueError(f"`{text}` is not a size (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    return int(round(q[0] * _BYTES[q[1]]))


def parse_duration(text: str) -> int:
    """`90m` -> seconds (rounded up to whole seconds); raises ValueError with a readable reason."""
    q = split_quantity(text)
    if not q or q[1] not in _SECONDS:
        raise ValueError(f"`{text}` is not a duration (use ms, s, m, h, d, w)")
    return int(math.ceil(q[0] * _SECONDS[q[1]]))


def format_size(n: int | float | None) -> str:
    """Bytes in the largest binary unit that keeps the number readable (`1.5GiB`)."""
    if n is None:
        return "-"
    for unit in ("PiB", "TiB", "GiB", "MiB", "KiB"):
        if n >= _BYTES[unit]:
            v = n / _BYTES[unit]
            return f"{v:.0f}{unit}" if v == int(v) else f"{v:.1f}{unit}"
    return f"{int(n)}B"


def format_duration(seconds: int | float | None) -> str:
    """Seconds as Slurm-like readable text (`1h30m`, `45s`)."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    out = (f"{d}d" if d else "") + (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"
