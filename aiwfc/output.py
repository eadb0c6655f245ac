"""Writing artefacts into `-o DIR`, atomically.

The contract (DESIGN.md): a failed compile leaves DIR exactly as it was, and existing
files are not overwritten without `--force`. So nothing is written until every
artefact exists: the compile command emits all targets first, then calls
`write_artefacts`, which

1. refuses, before touching anything, when a file it would write exists and `force`
   is false (or when a path it needs is taken by something of the other kind);
2. writes every file into a temporary directory beside DIR (same file system);
3. moves it into place: when DIR does not exist, by renaming the whole temporary
   directory (one atomic step); otherwise file by file with `os.replace`, keeping each
   replaced file aside and putting everything back if any move fails.

Files in DIR that the compile does not produce are left alone, also with `--force`
(they may be the user's). Modes are 0755 for executable artefacts, 0644 otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiwfc.backend import Artefacts

__all__ = ["OutputConflict", "write_artefacts", "WriteResult"]

FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755


class OutputConflict(Exception):
    """An artefact would overwrite an existing file (without --force), or a path is taken."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class WriteResult:
    """What was written: every file, and which of them replaced an existing one."""

    written: list[Path]
    replaced: list[Path]


def _conflicts(out: Path, artefacts: Artefacts, force: bool) -> list[Path]:
    """Raises OutputConflict for the first problem; returns the files that will be replaced."""
    if out.exists() and not out.is_dir():
        raise OutputConflict(out, "exists and is not a directory")
    replaced = []
    for rel in artefacts:
        target = out / rel
        for parent in list(Path(rel).parents)[:-1][::-1]:
            p = out / parent
            if p.exists() and not p.is_dir():
                raise OutputConflict(p, "exists and is not a directory")
        if target.is_dir() and not target.is_symlink():
            raise OutputConflict(target, "exists and is a directory")
        if target.exists() or target.is_symlink():
            if not force:
                raise OutputConflict(target, "already exists (use --force to overwrite)")
            replaced.append(target)
    return replaced


def _write_tree(root: Path, artefacts: Artefacts) -> None:
    for rel, (content, executable) in artefacts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, EXEC_MODE if executable else FILE_MODE)
    for dirpath, _, _ in os.walk(root):  # mkdtemp made the root 0700
        os.chmod(dirpath, DIR_MODE)


def write_artefacts(artefacts: Artefacts, out_dir: str | Path, force: bool = False) -> WriteResult:
    """Writes the artefacts under `out_dir` as described in the module docstring.

    Raises OutputConflict (nothing written) or OSError (nothing left changed)."""
    out = Path(out_dir)
    replaced = _conflicts(out, artefacts, force)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.aiwfc-", dir=parent))
    try:
        _write_tree(tmp, artefacts)
        written = [out / rel for rel in artefacts]
        if not out.exists():
            os.rename(tmp, out)
            return WriteResult(written, [])
        _merge(tmp, out, artefacts)
        return WriteResult(written, replaced)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _merge(tmp: Path, out: Path, artefacts: Artefacts) -> None:
    """Moves each file of `tmp` to `out`, undoing every step if one fails."""
    backup = tmp / ".aiwfc-replaced"
    done: list[tuple[str, Path, Path | None]] = []  # ("dir", path, None) | ("file", target, backup)
    try:
        for rel in artefacts:
            target = out / rel
            for parent in list(Path(rel).parents)[:-1][::-1]:
                d = out / parent
                if not d.exists():
                    d.mkdir(mode=DIR_MODE)
                    os.chmod(d, DIR_MODE)
                    done.append(("dir", d, None))
            saved = None
            if target.exists() or target.is_symlink():
                saved = backup / rel
                saved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, saved)
            done.append(("file", target, saved))
            os.replace(tmp / rel, target)
    except BaseException:
        for kind, path, saved in reversed(done):
            try:
                if kind == "dir":
                    path.rmdir()
                else:
                    if path.exists() or path.is_symlink():
                        path.unlink()
                    if saved is not None:
                        os.replace(saved, path)
            except OSError:
                pass
        raise
