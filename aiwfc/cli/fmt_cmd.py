"""`aiwfc fmt [--check] [--diff] PATH...`: rewrite files in the canonical style (aiwfc/fmt.py).

Files are rewritten in place, atomically (a temporary file beside it, then a rename),
and only when their text changes. `--check` writes nothing and lists the files that
would change; `--diff` writes nothing and prints what would change. A directory
stands for every `*.aiwf` file under it; `-` formats standard input to standard
output. A file with syntax errors is left alone and its diagnostics are printed.

Exit status: 0 nothing to do or all written; 1 a file has syntax errors, or (with
--check) would change; 2 a file cannot be read or written.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path

from aiwfc.fmt import FormatError, format_source
from aiwfc.render import render_text
from aiwfc.source import SourceFile


def add_parser(sub) -> None:
    p = sub.add_parser("fmt", help="format .aiwf files in the canonical style",
                       description="Rewrite .aiwf files in the canonical style (comments kept, "
                                   "meaning unchanged). Directories are searched for *.aiwf files.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".aiwf file, directory, or - for stdin")
    p.add_argument("--check", action="store_true",
                   help="write nothing; list files that would change and exit 1 if any")
    p.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    p.set_defaults(run=run)


def expand(paths: list[str]) -> list[str]:
    """The files PATH... stands for: files as given, directories searched for *.aiwf (sorted)."""
    out = []
    for p in paths:
        if p != "-" and Path(p).is_dir():
            out += sorted(str(f) for f in Path(p).rglob("*.aiwf") if f.is_file())
        else:
            out.append(p)
    return out


def write_atomically(path: Path, text: str) -> None:
    """Replaces `path` by `text` in one rename, keeping the file's permission bits."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: str) -> SourceFile:
    if path == "-":
        return SourceFile("<stdin>", sys.stdin.read())
    data = Path(path).read_bytes()
    return SourceFile(path, data.decode("utf-8"))  # strict: never write back replaced bytes


def run(args: argparse.Namespace) -> int:
    status = 0
    changed = []
    for path in expand(args.paths):
        try:
            src = _read(path)
        except UnicodeDecodeError as e:
            print(f"aiwfc: {path}: not UTF-8 text ({e.reason} at byte {e.start}); left unchanged",
                  file=sys.stderr)
            status = max(status, 2)
            continue
        except OSError as e:
            print(f"aiwfc: {path}: {e.strerror or e}", file=sys.stderr)
            status = max(status, 2)
            continue
        try:
            text = format_source(src)
        except FormatError as e:
            sys.stderr.write(render_text(e.diagnostics, {src.path: src}))
            print(f"aiwfc: {e}", file=sys.stderr)
            status = max(status, 1)
            continue
        if path == "-":
            sys.stdout.write(text if not (args.check or args.diff) else "")
            if text != src.text:
                changed.append(path)
                if args.diff:
                    sys.stdout.writelines(_diff(src.text, text, path))
            continue
        if text == src.text:
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.writelines(_diff(src.text, text, path))
        if args.check:
            print(f"would reformat {path}")
        elif not args.diff:
            try:
                write_atomically(Path(path), text)
            except OSError as e:
                print(f"aiwfc: {path}: cannot write: {e.strerror or e}", file=sys.stderr)
                status = max(status, 2)
                continue
            print(f"reformatted {path}")
    if args.check and changed:
        status = max(status, 1)
    return status


def _diff(old: str, new: str, path: str):
    return difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                fromfile=f"{path} (original)", tofile=f"{path} (formatted)")
