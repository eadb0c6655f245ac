"""aiwf_base.py: what every module of the aiwf task runtime shares (see aiwf_task.py).

The vocabulary the other runtime modules are written in: the spec format and exit
statuses, the errors a task or command reports (never a traceback), atomic JSON I/O,
values as command words (bash quoting included), aiwf types as they reach the runtime
(`type_of`, `check_type`) and `Spec`, workflow.json with its expressions compiled once.
It sits at the bottom so that the other modules import it and never each other.
Standard library only (python3.6 or newer), like every aiwf_*.py module here.
"""

import datetime
import json
import os
import re
import threading
from pathlib import Path

SPEC_FORMAT = "aiwf-runtime/1"
EXIT_USAGE = 2
EXIT_RUNTIME = 3
LOG_TAIL_LINES = 20
_BASH_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")

__all__ = ["SPEC_FORMAT", "EXIT_USAGE", "EXIT_RUNTIME", "TaskError", "Unavailable", "UsageError", "bash_quote",
           "word", "words", "now", "write_json", "read_json", "tail", "exit_code", "type_of", "is_path_type",
           "check_type", "Spec"]


class TaskError(Exception):
    """A problem reported as a message (in the task log and on stderr), never a traceback."""


class Unavailable(TaskError):
    """A value that does not exist by design (a skipped or stopped producer)."""


class UsageError(Exception):
    """Bad arguments or an unreadable spec: exit status 2."""


# ---------------------------------------------------------------- small helpers

def bash_quote(text: str) -> str:
    """One bash word whose value is exactly `text` (as aiwfc.emitter.bash_quote)."""
    if "\x00" in text:
        raise TaskError("a shell word cannot contain a NUL character")
    if _BASH_SAFE.match(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def word(value) -> str:
    """A scalar value as the text a command sees."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def words(value) -> "list[str]":
    return [word(v) for v in value] if isinstance(value, (list, tuple)) else [word(value)]


def now(t: "float | None" = None) -> str:
    """The time `t` (seconds since the epoch; default: now) as records write times: ISO 8601
    UTC to the millisecond. Also the CWL tools' task records (aiwfc_backends.cwl.tool) use it."""
    utc = datetime.timezone.utc
    when = datetime.datetime.now(utc) if t is None else datetime.datetime.fromtimestamp(t, utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json(path: Path, doc) -> None:
    """Writes JSON atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: Path):
    """The JSON in `path`, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise TaskError(f"{path} is not valid JSON: {e}") from None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def exit_code(returncode: int) -> int:
    """A Popen return code as a shell reports it (signal N -> 128+N)."""
    return 128 - returncode if returncode < 0 else returncode


def type_of(text: str) -> "tuple[str, str | None]":
    """`list<file>` -> ("list", "file"); `metrics { a: float }` -> ("metrics", None)."""
    text = text.strip()
    if text.startswith("list<") and text.endswith(">"):
        return "list", text[5:-1].strip()
    return text.split("{")[0].strip() or text, None


def is_path_type(text: str) -> bool:
    return type_of(text)[0] in ("file", "dir")


def check_type(value, typ: str) -> "str | None":
    """Why a JSON value does not fit an aiwf type, or None."""
    base, item = type_of(typ)
    if base == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"got {json.dumps(value)}"
    if base == "float" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        return f"got {json.dumps(value)}"
    if base == "bool" and not isinstance(value, bool):
        return f"got {json.dumps(value)}"
    if base == "string" and not isinstance(value, str):
        return f"got {json.dumps(value)}"
    if base == "list":
        if not isinstance(value, list):
            return f"got {json.dumps(value)[:80]}"
        for x in value:
            problem = check_type(x, item or "any")
            if problem:
                return f"an item {problem[4:] if problem.startswith('got ') else problem}"
    if base in ("file", "dir") and not isinstance(value, str):
        return f"got {json.dumps(value)[:80]}"
    if base == "metrics":
        if not isinstance(value, dict):
            return f"got {json.dumps(value)[:80]}"
        for field in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", typ):
            if field not in value:
                return f"field `{field}` is missing"
    return None


# ---------------------------------------------------------------- the spec

class Spec:
    """workflow.json, with its expressions compiled once."""

    def __init__(self, path: str, project: "str | None" = None):
        try:
            with open(path, encoding="utf-8") as f:
                self.doc = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read the spec {path}: {e}") from None
        if not isinstance(self.doc, dict) or self.doc.get("format") != SPEC_FORMAT:
            raise UsageError(f"{path} is not an aiwf runtime spec (format {SPEC_FORMAT})")
        self.workflow = self.doc["workflow"]
        self.phases: dict = self.doc["phases"]
        self.loops: dict = self.doc.get("loops", {})
        self.params: dict = self.doc.get("params", {})
        self.datasets: dict = self.doc.get("datasets", {})
        self.project = Path(project or os.environ.get("AIWF_PROJECT") or self.doc["project"]).resolve()
        self.globals: dict = {"__builtins__": __builtins__}
        exec(compile(self.doc.get("prelude", ""), "<aiwf prelude>", "exec"), self.globals)
        self._code: "dict[str, object]" = {}

    def phase(self, name: str) -> dict:
        if name not in self.phases:
            raise UsageError(f"no phase `{name}` in workflow {self.workflow} "
                             f"(phases: {', '.join(self.doc.get('order') or self.phases)})")
        return self.phases[name]

    def loop(self, name: str) -> dict:
        if name not in self.loops:
            raise UsageError(f"no feedback loop `{name}` in workflow {self.workflow}")
        return self.loops[name]

    def evaluate(self, expr: dict, resolve) -> object:
        """Evaluates a compiled expression; `resolve(kind, *names)` supplies references."""
        code = self._code.get(expr["expr"])
        if code is None:
            code = self._code[expr["expr"]] = compile(expr["expr"], "<aiwf>", "eval")
        scope = dict(self.globals, R=resolve)
        try:
            return eval(code, scope)  # noqa: S307 - the compiler wrote it from checked aiwf
        except TaskError:
            raise
        except Exception as e:  # noqa: BLE001 - a run-time value the checks could not see
            raise TaskError(f"cannot evaluate `{expr.get('text', expr['expr'])}`: {type(e).__name__}: {e}") from None
