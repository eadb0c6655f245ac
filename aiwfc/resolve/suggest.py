"""'Did you mean' hints."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`, did you mean `x`?` for the closest candidate, or '' when none is close."""
    match = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""
