#!/usr/bin/env python3
"""aiwf_task.py: the task runtime of aiwf workflows (Slurm and Parsl run tasks through it).

Everything that happens on a compute node is done by this one file, so that every
backend runs, records and resumes tasks the same way: expanding a command with the
values of its inputs, running it in its task directory (inside its container when one
can be used), checking and collecting its outputs, recording what happened, evaluating
`foreach` item lists, feedback-loop conditions, loop-carried values and `stop` rules.
It needs python3's standard library only (3.6 or newer: what compute nodes have); it
never imports aiwfc. It is copied verbatim
beside `workflow.json` (the *spec*, written by `aiwfc_backends.runtime.spec.build_spec`)
into every artefact tree, and it can be imported as the module `aiwf_task`.

Commands
--------
All commands take `--spec S` (workflow.json) and `--run RUN` (the run directory, created
when missing); `--project DIR` (or $AIWF_PROJECT) replaces the project directory that
`${project}` and relative dataset/image paths refer to (default: the spec's `project`).

    python3 aiwf_task.py items --spec S --run RUN --phase P [--iteration K]
        Evaluates P's `foreach` items for iteration K (default 0) and (re)writes
        RUN/tasks/P/iK/manifest.json {"phase", "iteration", "count", "items", "foreach"},
        which every `run` of P at K then reads (so array tasks agree on their items).
        Prints the count on stdout. A phase without `foreach` has one item (count 1).
        The items come from the loop-carried value of the previous iteration when the
        loop carries P's foreach variable (`next P.var = ...`), else from the source:
        a list expression, an upstream list output (absolute paths for list<file>), or a
        dataset (its files, sorted, as absolute paths). A foreach over a foreach producer's
        per-item output (`foreach t in md.traj`, source mode `elementwise`) has the
        producer's item count, and item I is producer task I's output, resolved when task I
        runs: it needs that one task only (a fused or `aftercorr` chunk), and it is
        `skipped` when that task was stopped or skipped.

    python3 aiwf_task.py run --spec S --run RUN --phase P [--iteration K]
                              [--index I | --range A:B] [--force]
        Runs the tasks of P at iteration K: one index (default 0), or items A..B-1 in
        turn (a bundle; indices at or beyond the item count are ignored, so a backend
        may submit array tasks from an estimate). Writes `manifest.json` first when a
        foreach phase has none. For each index: the task directory
        RUN/tasks/P/iK/<I>/ is the command's cwd; inputs are resolved from the upstream
        task records; when `when` is false the task is `skipped`; the command is expanded
        (every value bash-quoted, a list as separate words) and run with `bash -c`,
        inside `apptainer|singularity exec OPTIONS --bind PROJECT,RUN[,TASKDIR] SIF` (the
        task directory's real path too when it is a link to node-local scratch) when the phase
        has an image, the site has a container runtime, the runtime is on PATH and the
        SIF exists (else on the host, with a notice in stderr.log; $AIWF_CONTAINERS=off
        always runs on the host). stdout/stderr go to stdout.log/stderr.log in the task
        directory (an earlier attempt's to stdout.attempt<N>.log/stderr.attempt<N>.log).
        A failed attempt is re-run up to the phase's `retries`. While the task runs,
        the phase's `stop ... when` rules are evaluated on its outputs so far (every
        0.2 s); when one holds, the task's process group gets SIGTERM and the task is
        `stopped` (excluded from gathers, like a skipped task). SIGTERM/SIGINT to this
        program are forwarded to the running command (a service's normal end).
        Resume: a task whose task.json says `done` (or `stopped`) with the same `key`
        (sha256 of the expanded command, input values, input file hashes, dataset
        hashes, env and image recipe) and whose outputs still exist is not run again; it
        is reported as `cached` (--force re-runs it). File hashes are computed once per
        run and file (RUN/.hashes/ keeps them while size and mtime stay the same); a
        SIGTERM before the command started records it failed with exit 143, never run.
        Environment of the command: the caller's, the phase's `env`, and AIWF_RUN,
        AIWF_PHASE, AIWF_ITERATION, AIWF_INDEX, AIWF_TASK_DIR, AIWF_PROJECT.
        $AIWF_LAUNCH (split as shell words), when set, is put before everything (before
        the container prefix): the multi-node launcher of a distributed job, e.g.
        `srun --ntasks=2 --ntasks-per-node=1`; task.json records it as `launch`.
        One line per index on stdout:
            <phase> i<K>/<I> <done|failed|skipped|stopped|cached> exit=<N>
        A failed task's error and log tail go to stderr.

    python3 aiwf_task.py loop --spec S --run RUN --loop L --iteration K
        After iteration K of loop L: evaluates `until`/`while` on the outputs of K,
        decides whether iteration K+1 runs (never beyond `max_iterations`), evaluates the
        `next` carries when it does, writes RUN/loops/L/iK.json {"loop", "iteration",
        "kind", "condition", "value", "continue", "reason", "max_iterations", "carried"}
        and prints `continue` or `stop`.

    python3 aiwf_task.py stop --spec S --run RUN --loop L --iteration K --phase P --index I
        Evaluates P's `stop ... when` rules of loop L on task I's current outputs and
        prints `true` or `false` (`false` while the values the rule reads are not written).

    python3 aiwf_task.py summary --spec S --run RUN [--out FILE]
        The run as one JSON document built from the task.json and loop records (a base
        for the backends' run.json, identical whatever engine ran the tasks):
        {"format": "aiwf-run/1", "workflow", "params", "state": "done|failed|running|empty",
         "counts": {state: n}, "phases": {P: {"iK": {state: n}}}, "loops": {L: [loop records]},
         "tasks": [{"phase", "iteration", "index", "state", "exit", "seconds", "attempts",
                    "start", "end"}], "failed": [{"phase", "iteration", "index", "exit", "error",
                    "log_tail", "log"}], "tracked": [{"phase", "iteration", "index", "values",
                    "command", "params", "datasets", "input_files", "image"}]}
        printed, or written atomically to FILE.

Exit status: 0 when every task is done, skipped, stopped or cached (and for items/loop/
stop when they could be evaluated); a failed command's own exit status (the first
failure's; 128+N for signal N); 3 when the runtime could not run or check a task (an
upstream output missing, an output not written or malformed, a condition that cannot be
evaluated) -- the message names the task and is also written to its stderr.log and
task.json; 2 for bad arguments or an unreadable spec. Never a Python traceback
(set AIWF_DEBUG=1 to see one for an internal error).

Values and conventions (as the language defines them)
-----------------------------------------------------
A `file`/`dir` output is its path template (default: the port name) under the task
directory; any other output is the JSON file `<port>.json` the command writes, and
`${port}` in the command expands to that file name. Consumers receive values: a path as an
absolute path, a number as a number, a list<file> output's relative entries made absolute
(each must exist when the task ends; every output is checked against its type then).
A foreach phase's output seen from another phase is the list over its items (done tasks
only, in item order). A reference to a phase of the same loop reads the same iteration;
any other reference reads the producer's latest iteration that has a value. `${index}` is
the item number, `${iteration}` the loop iteration (0 outside loops), `${project}` the
project directory, `${ds}` a dataset's directory ($AIWF_DATASET_<name> overrides it: a
staged copy), `${svc.address}` the JSON value a service writes to `address.json` in its
task directory (waited for up to $AIWF_SERVICE_WAIT seconds, default 120; only an address
written since the service's current task started counts). Booleans
expand to true/false, lists to separate words, maps to JSON.

task.json (RUN/tasks/P/iK/I/task.json, written atomically)
----------------------------------------------------------
{"format": "aiwf-task/1", "workflow", "phase", "kind", "iteration", "index", "item",
 "state": "running|done|failed|skipped|stopped", "exit": int|null, "error": str|null (why it
 failed), "reason": str|null (why it was skipped or stopped),
 "start", "end" (ISO 8601 UTC), "seconds", "attempts": int, "attempt_log": [{"attempt",
 "exit", "seconds", "error"}], "command": the expanded command, "params": {name: value}
 (the params the phase refers to), "inputs": {name: value}, "input_files": {path: sha256},
 "datasets": {name: {"path", "version", "sha256"}} (sha256 of a dataset read whole that declares
 no version and holds at most 1000 files / 256 MiB, else null), "outputs": {name: value}, "tracked":
 {name: value} (the phase's `track` list), "image": {"name", "recipe_hash", "sif",
 "container": bool (it ran inside), "digest": "sha256:..." of the SIF when it did} or null,
 "launch": the $AIWF_LAUNCH words or null, "key": cache key, "host", "log_tail": last lines of stderr}

Spec format (workflow.json, "format": "aiwf-runtime/1")
-------------------------------------------------------
{"format", "workflow", "source", "project": absolute dir, "container_runtime",
 "prelude": Python source defining the helpers compiled expressions call,
 "params": {name: value}, "datasets": {name: {"path", "version"}},
 "order": [phase names in dependency order],
 "schedule": [{"phase": P} | {"service": P, "clients": [...]} | {"loop": L, "phases": [...]}],
 "phases": {P: {"kind", "loop": L|null, "job", "chunk", "after": [P...], "service": bool,
     "foreach": {"var", "expr", "text", "carried": bool, "count": int|null (null: known at run time),
                 "from_port": "P.port"|null, "dataset": name|null, "sources": SOURCES} | null,
     "inputs": [{"name", "type", "expr", "text", "carried": bool, "sources": SOURCES}],
     "outputs": [{"name", "type", "path": TEMPLATE|null, "tracked": bool}],
     "command": TEMPLATE, "when": EXPR|null, "env": {}, "retries": int,
     "image": {"name", "sif", "options": [...], "recipe_hash", "prefix": [runtime, "exec",
               *options, sif] (for a backend that starts containers itself)} | null,
     "container_runtime": the phase's site's (apptainer|singularity|docker|none),
     "uses": [services], "track": [names], "params": [names], "datasets": [names read],
     "item_datasets": [datasets whose files are the items],
     "stop": [{"loop", "expr", "text"}]}},
 "loops": {L: {"phases": [...], "kind": "until|while|none", "condition": EXPR|null,
     "max_iterations": int, "carries": [{"target": "P.name", "phase", "name", "expr", "text"}],
     "stops": [{"phase", "expr", "text"}]}}}
EXPR = {"expr": Python expression, "text": the aiwf source}; TEMPLATE = a list of literal
strings and EXPRs; SOURCES = [{"phase", "port", "mode": "single|gather|elementwise"}] (the
plan's bindings, for a backend's dependencies; the runtime itself evaluates `expr`). Python expressions call R(kind, *names) for references: R("param", p),
R("dataset", d), R("local", name, *fields) (project/index/iteration, the foreach variable,
the phase's own ports), R("port", phase, port, *fields), R("service", svc, "address").
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

SPEC_FORMAT = "aiwf-runtime/1"
TASK_FORMAT = "aiwf-task/1"
EXIT_USAGE = 2
EXIT_RUNTIME = 3
STOP_POLL = 0.2
SERVICE_GRACE = 5.0
LOG_TAIL_LINES = 20
_BASH_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")

# The module API the backends' drivers use (the Parsl program imports this file): kept stable.
__all__ = ["TaskError", "UsageError", "Spec", "Runtime", "summary", "write_json", "read_json", "bash_quote",
           "main"]


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


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_path(path: Path, max_files: int = 1000, max_bytes: int = 256 << 20, file_hash=sha256_file) -> "str | None":
    """sha256 of a file, or of a directory's (relative path, file sha256) list; None when
    missing, or when a directory holds more than `max_files` files or `max_bytes` bytes
    (hashing a large dataset for every task would cost more than the task)."""
    if path.is_file():
        return file_hash(path)
    if not path.is_dir():
        return None
    files = sorted(p for p in path.rglob("*") if p.is_file())
    if len(files) > max_files or sum(p.stat().st_size for p in files) > max_bytes:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(path).as_posix()}\0{file_hash(p)}\n".encode())
    return h.hexdigest()


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _timestamp(text) -> "float | None":
    """Seconds since the epoch of a record's `start` (as `now()` writes it), or None."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


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


# ---------------------------------------------------------------- the runtime

class Runtime:
    """One run directory of one workflow: where tasks live and how values are found."""

    def __init__(self, spec: Spec, run: str):
        self.spec = spec
        self.run = Path(run).resolve()
        self.run.mkdir(parents=True, exist_ok=True)
        self._terminated = False
        self._child: "subprocess.Popen | None" = None

    # ------------------------------------------------------------ layout

    def iteration_dir(self, phase: str, k: int) -> Path:
        return self.run / "tasks" / phase / f"i{k}"

    def task_dir(self, phase: str, k: int, index: int) -> Path:
        return self.iteration_dir(phase, k) / str(index)

    def record(self, phase: str, k: int, index: int) -> "dict | None":
        return read_json(self.task_dir(phase, k, index) / "task.json")

    def loop_record(self, loop: str, k: int) -> "dict | None":
        return read_json(self.run / "loops" / loop / f"i{k}.json")

    def iterations(self, phase: str) -> "list[int]":
        """Iterations of a phase that have a directory, newest first."""
        base = self.run / "tasks" / phase
        found = [int(p.name[1:]) for p in base.glob("i*") if p.name[1:].isdigit()] if base.is_dir() else []
        return sorted(found, reverse=True)

    # ------------------------------------------------------------ values

    def carried(self, phase: str, k: int) -> dict:
        """Values the phase's loop carries into iteration k: {name: value}."""
        loop = self.spec.phases[phase].get("loop")
        if loop is None or k == 0:
            return {}
        rec = self.loop_record(loop, k - 1)
        if rec is None:
            raise TaskError(f"loop `{loop}` has no record of iteration {k - 1} "
                            f"({self.run / 'loops' / loop / f'i{k - 1}.json'}): run `loop` after each iteration")
        if not rec.get("continue"):
            raise TaskError(f"loop `{loop}` stopped after iteration {k - 1}; iteration {k} does not run")
        prefix = phase + "."
        return {t[len(prefix):]: v for t, v in rec.get("carried", {}).items() if t.startswith(prefix)}

    def items(self, phase: str, k: int, write: bool = True, refresh: bool = False) -> list:
        """The items of a phase at iteration k: from its manifest (made when missing), or
        evaluated again with `refresh` (the `items` command: params may have changed since)."""
        path = self.iteration_dir(phase, k) / "manifest.json"
        manifest = None if refresh else read_json(path)
        if manifest is not None:
            return manifest["items"]
        ph = self.spec.phase(phase)
        fe = ph.get("foreach")
        if fe is None:
            values = [None]
        else:
            carried = self.carried(phase, k)
            pairs = self.elementwise(ph)
            if fe["var"] in carried:
                values = carried[fe["var"]]
            elif pairs:
                values = self.elementwise_items(phase, ph, k, pairs[0])
            else:
                values = self.spec.evaluate(fe, self.resolver(phase, k, {"project": str(self.spec.project),
                                                                         "iteration": k}))
            if isinstance(values, str):  # a dataset: its files
                d = Path(values)
                if not d.is_dir():
                    raise TaskError(f"foreach of `{phase}` iterates over the files of {d}, which is not a directory")
                values = sorted(str(p) for p in d.iterdir() if not p.name.startswith("."))
            if not isinstance(values, list):
                raise TaskError(f"foreach of `{phase}` needs a list, got {word(values)!r} "
                                f"from `{fe.get('text')}`")
        if write:
            write_json(path, {"phase": phase, "iteration": k, "foreach": fe is not None,
                              "count": len(values), "items": values})
        return values

    @staticmethod
    def elementwise(ph: dict) -> "list[str]":
        """The producer a foreach scatters over one to one (`foreach t in md.traj`), if any."""
        fe = ph.get("foreach") or {}
        return [src["phase"] for src in fe.get("sources", []) if src.get("mode") == "elementwise"]

    def elementwise_items(self, phase: str, ph: dict, k: int, producer: str) -> list:
        """Item i is producer task i's output, so that item i can run as soon as that task
        is done (a fused or `aftercorr` chunk), without waiting for the whole gather. The
        manifest holds the values known now (None for the others); `run` resolves each
        item again."""
        pk = self.producer_iterations(producer, ph.get("loop"), k)[0]
        manifest = read_json(self.iteration_dir(producer, pk) / "manifest.json")
        if manifest is None:
            raise TaskError(f"the items of `{phase}` are those of `{producer}`, which has no item list for "
                            f"iteration {pk} ({self.iteration_dir(producer, pk) / 'manifest.json'} is missing)")
        return [self.elementwise_item(phase, ph, k, producer, i, quiet=True) for i in range(manifest["count"])]

    def elementwise_item(self, phase: str, ph: dict, k: int, producer: str, i: int, quiet: bool = False):
        local = {"project": str(self.spec.project), "iteration": k, "index": i}
        try:
            return self.spec.evaluate(ph["foreach"], self.resolver(phase, k, local, item_of={producer: i}))
        except TaskError:
            if quiet:
                return None
            raise

    def producer_iterations(self, producer: str, consumer_loop: "str | None", k: int) -> "list[int]":
        """The producer iterations to read, preferred first: the consumer's own iteration in
        the same loop, 0 outside loops, else from the iteration the loop ended after down to 0
        (a phase skipped in the last iteration still has its latest value)."""
        loop = self.spec.phases[producer].get("loop")
        if loop is None:
            return [0]
        if loop == consumer_loop:
            return [k]
        for last in range(self.spec.loops[loop]["max_iterations"]):  # the iteration the loop ended after
            rec = self.loop_record(loop, last)
            if rec is None:
                break
            if not rec.get("continue"):
                return list(range(last, -1, -1))
        return self.iterations(producer) or [0]

    def port_value(self, producer: str, port: str, consumer_loop: "str | None", k: int):
        """The value of `producer.port` as a consumer in `consumer_loop` at iteration k sees it."""
        if producer not in self.spec.phases:
            raise TaskError(f"no phase `{producer}`")
        last: "TaskError | None" = None
        for pk in self.producer_iterations(producer, consumer_loop, k):
            try:
                return self._port_value_at(producer, port, pk)
            except Unavailable as e:
                last = e  # skipped there: the latest value is older
        raise last or TaskError(f"output {producer}.{port} is not available: `{producer}` has not run")

    def _port_value_at(self, producer: str, port: str, k: int):
        ph = self.spec.phases[producer]
        where = f"{producer}.{port} (iteration {k})"
        if ph.get("foreach") is None:
            rec = self.record(producer, k, 0)
            return self._output_of(rec, producer, port, k, 0, where)
        manifest = read_json(self.iteration_dir(producer, k) / "manifest.json")
        if manifest is None:
            raise TaskError(f"output {where} is not available: `{producer}` has no item list for "
                            f"iteration {k} ({self.iteration_dir(producer, k) / 'manifest.json'} is missing)")
        out, skipped = [], 0
        for i in range(manifest["count"]):
            rec = self.record(producer, k, i)
            try:
                out.append(self._output_of(rec, producer, port, k, i, where))
            except Unavailable:
                skipped += rec.get("state") == "skipped"  # left out of the gather, as a stopped item
        if manifest["count"] and skipped == manifest["count"]:
            raise Unavailable(f"output {where} is not available: every task of `{producer}` was skipped")
        return out

    def _output_of(self, rec: "dict | None", producer: str, port: str, k: int, i: int, where: str):
        task = f"{producer}[{i}] (iteration {k})"
        if rec is None:
            raise TaskError(f"output {where} is not available: task {task} has not run "
                            f"(no {self.task_dir(producer, k, i) / 'task.json'})")
        state = rec.get("state")
        if state in ("skipped", "stopped"):
            raise Unavailable(f"output {where} is not available: task {task} was {state}")
        if state != "done":
            raise TaskError(f"output {where} is not available: task {task} is {state}"
                            + (f" ({rec['error']})" if rec.get("error") else ""))
        outputs = rec.get("outputs", {})
        if port not in outputs:
            raise TaskError(f"output {where} is not available: task {task} has no output `{port}`")
        return outputs[port]

    def dataset_dir(self, name: str) -> str:
        staged = os.environ.get(f"AIWF_DATASET_{name}")
        if staged:
            return str(Path(staged).resolve())
        ds = self.spec.datasets.get(name)
        if ds is None:
            raise TaskError(f"no dataset `{name}`")
        return str((self.spec.project / ds["path"]).resolve())

    def service_address(self, service: str, consumer_loop: "str | None", k: int):
        """The value a running service wrote to `address.json` in its task directory, waited
        for. Only an address written since the service's current task started counts (a
        previous run's is stale); a service recorded as ended is given $AIWF_SERVICE_GRACE
        seconds (default 5) to start again (a resumed run starts it just before its clients)
        before that is an error."""
        ks = self.producer_iterations(service, consumer_loop, k)
        d = self.task_dir(service, ks[0], 0)
        path = d / "address.json"
        wait = float(os.environ.get("AIWF_SERVICE_WAIT", "120"))
        deadline, ended_since = time.monotonic() + wait, None
        while True:
            rec = self.record(service, ks[0], 0)
            state = rec.get("state") if rec is not None else None
            if state in (None, "running"):
                ended_since = None
                try:
                    value, mtime = read_json(path), path.stat().st_mtime
                except (TaskError, OSError):
                    value = None  # not there yet, or being written by a service that does not write atomically
                started = _timestamp(rec.get("start")) if rec is not None else None
                if value is not None and (started is None or mtime >= started - 1):
                    return value
            elif ended_since is None:
                ended_since = time.monotonic()
            elif time.monotonic() - ended_since >= float(os.environ.get("AIWF_SERVICE_GRACE", SERVICE_GRACE)):
                raise TaskError(f"service `{service}` ended ({state}) without writing {path}")
            if time.monotonic() >= deadline:
                raise TaskError(f"service `{service}` wrote no address ({path}) within {wait:g} s")
            time.sleep(0.05)

    def resolver(self, phase: "str | None", k: int, local: dict, own: "dict | None" = None,
                 item_of: "dict | None" = None):
        """R(kind, *names) for expressions of `phase` at iteration k; `own` replaces the
        phase's outputs with a running task's values (stop rules); `item_of` {producer: i}
        reads one item's output of a foreach producer instead of the gather (elementwise)."""
        loop = self.spec.phases[phase].get("loop") if phase else None

        def R(kind, *names):
            head, rest = names[0], list(names[1:])
            if kind == "local":
                if head not in local:
                    raise TaskError(f"`{head}` has no value here")
                v = local[head]
            elif kind == "param":
                if head not in self.spec.params:
                    raise TaskError(f"no param `{head}`")
                v = self.spec.params[head]
            elif kind == "dataset":
                v = self.dataset_dir(head)
            elif kind == "service":
                return self.service_address(head, loop, k)
            elif kind == "port":
                port = rest.pop(0)
                if own is not None and head == phase:
                    if port not in own:
                        raise Unavailable(f"{head}.{port} is not written yet")
                    v = own[port]
                elif item_of and head in item_of:
                    pk, i = self.producer_iterations(head, loop, k)[0], item_of[head]
                    rec = self.record(head, pk, i)
                    if rec is not None and rec.get("state") in ("skipped", "stopped"):
                        raise Unavailable(f"task {head}[{i}] (iteration {pk}), whose output is its item, "
                                          f"was {rec['state']}")
                    v = self._output_of(rec, head, port, pk, i, f"{head}.{port}[{i}] (iteration {pk})")
                else:
                    v = self.port_value(head, port, loop, k)
            else:
                raise TaskError(f"unknown reference kind {kind}")
            for f in rest:
                try:
                    v = [x[f] for x in v] if isinstance(v, list) else v[f]
                except (KeyError, TypeError, IndexError):
                    raise TaskError(f"`{'.'.join(names)}`: the value has no field `{f}`") from None
            return v
        return R

    # ------------------------------------------------------------ expansion

    def template(self, parts: list, resolve, shell: bool) -> str:
        """A TEMPLATE's text; with `shell`, every value is quoted as bash words."""
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            ws = words(self.spec.evaluate(part, resolve))
            out.append(" ".join(bash_quote(w) for w in ws) if shell else " ".join(ws))
        return "".join(out)

    def read_outputs(self, ph: dict, d: Path, names: dict, strict: bool) -> dict:
        """The outputs of a task as consumers see them; with `strict`, a missing or malformed
        output is a TaskError, else it is left out (a task still running)."""
        out = {}
        for port in ph["outputs"]:
            name, typ = port["name"], port["type"]
            path = d / names[name]
            if is_path_type(typ):
                if path.exists():
                    out[name] = str(path)
                elif strict:
                    raise TaskError(f"output `{name}` ({names[name]}) was not written")
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    value = json.load(f)
            except FileNotFoundError:
                if strict:
                    raise TaskError(f"output `{name}` ({names[name]}) was not written") from None
                continue
            except (ValueError, OSError) as e:
                if strict:
                    raise TaskError(f"output `{name}` ({names[name]}) is not valid JSON: {e}") from None
                continue
            problem = check_type(value, typ)
            if problem:
                if strict:
                    raise TaskError(f"output `{name}` ({names[name]}) should be {typ}: {problem}")
                continue
            base, item = type_of(typ)
            if base == "list" and item in ("file", "dir"):
                value = [str(d / x) for x in value]
                missing = [x for x in value if not os.path.exists(x)]
                if missing and strict:
                    raise TaskError(f"output `{name}` ({names[name]}) names {os.path.relpath(missing[0], d)}, "
                                    "which was not written")
            out[name] = value
        return out

    # ------------------------------------------------------------ run

    def run_tasks(self, phase: str, k: int, indices: range, force: bool = False) -> int:
        """Runs the given indices of a phase in turn; returns the exit status (see doc)."""
        ph = self.spec.phase(phase)
        try:
            items = self.items(phase, k)
        except TaskError as e:  # the item list itself cannot be made: every requested task fails
            for i in indices:
                d = self.task_dir(phase, k, i)
                d.mkdir(parents=True, exist_ok=True)
                self.fail(d, self.new_record(phase, ph, k, i, None), time.monotonic(), str(e), None)
                print(f"{phase} i{k}/{i} failed exit={EXIT_RUNTIME}", flush=True)
            return EXIT_RUNTIME
        status = 0
        for i in indices:
            if i >= len(items):
                if ph.get("foreach") is None or indices.stop - indices.start == 1:
                    print(f"{phase} i{k}/{i} none: iteration {k} has {len(items)} item(s)")
                break
            state, code = self.run_task(phase, ph, k, i, items[i], force)
            print(f"{phase} i{k}/{i} {state} exit={'' if code is None else code}", flush=True)
            if state == "failed" and status == 0:
                status = code if code else EXIT_RUNTIME
            if self._terminated:
                return status  # the rest of a bundle does not start after SIGTERM
        return status

    def new_record(self, phase: str, ph: dict, k: int, i: int, item) -> dict:
        """A task.json record before anything happened (see the module doc for the fields)."""
        return {"format": TASK_FORMAT, "workflow": self.spec.workflow, "phase": phase, "kind": ph["kind"],
                "iteration": k, "index": i, "item": item, "state": "running", "exit": None, "error": None,
                "reason": None, "start": now(), "end": None, "seconds": 0.0, "attempts": 0, "attempt_log": [],
                "command": None, "params": {p: self.spec.params.get(p) for p in ph.get("params", [])},
                "inputs": {}, "input_files": {}, "datasets": {}, "outputs": {}, "tracked": {},
                "image": None, "launch": None, "key": None, "host": socket.gethostname(), "log_tail": ""}

    def run_task(self, phase: str, ph: dict, k: int, i: int, item, force: bool) -> "tuple[str, int | None]":
        """One task: resolve everything first (a problem is recorded before anything runs),
        then skip it when its record is current, else run its attempts. Returns (state, exit)."""
        d = self.task_dir(phase, k, i)
        d.mkdir(parents=True, exist_ok=True)
        rec = self.new_record(phase, ph, k, i, item)
        started = time.monotonic()
        try:
            previous = read_json(d / "task.json")
        except TaskError:
            previous = None  # a damaged record: the task runs again
        try:
            local = {"project": str(self.spec.project), "index": i, "iteration": k}
            fe = ph.get("foreach")
            pairs = self.elementwise(ph)
            if pairs and fe["var"] not in self.carried(phase, k):
                try:
                    item = rec["item"] = self.elementwise_item(phase, ph, k, pairs[0], i)
                except Unavailable as e:
                    rec.update(state="skipped", end=now(), reason=str(e))
                    write_json(d / "task.json", rec)
                    return "skipped", None
            if fe is not None:
                local[fe["var"]] = item
            R = self.resolver(phase, k, local)
            if ph.get("when") is not None and not self.spec.evaluate(ph["when"], R):
                rec.update(state="skipped", end=now(), reason=f"`when` is false: {ph['when'].get('text')}")
                write_json(d / "task.json", rec)
                return "skipped", None
            carried = self.carried(phase, k)
            for port in ph["inputs"]:
                v = carried[port["name"]] if port["name"] in carried else self.spec.evaluate(port, R)
                local[port["name"]] = rec["inputs"][port["name"]] = v
            names = {}
            for port in ph["outputs"]:
                if port.get("path"):
                    names[port["name"]] = self.template(port["path"], R, shell=False)
                else:
                    names[port["name"]] = port["name"] if is_path_type(port["type"]) else f"{port['name']}.json"
                local[port["name"]] = names[port["name"]]
            command = self.template(ph.get("command") or [], R, shell=True)
            rec["command"] = command
            rec["input_files"] = self.input_files(ph, rec["inputs"], item)
            rec["datasets"] = self.dataset_records(ph)
            image = ph.get("image")
            rec["image"] = None if image is None else {"name": image["name"], "recipe_hash": image["recipe_hash"],
                                                       "sif": image["sif"], "container": False}
            rec["key"] = self.cache_key(rec)
        except TaskError as e:
            return self.fail(d, rec, started, str(e), None)
        if not force and previous and previous.get("state") in ("done", "stopped") \
                and previous.get("key") == rec["key"]:
            try:
                if previous["state"] == "done":
                    self.read_outputs(ph, d, names, strict=True)
                return "cached", previous.get("exit")
            except TaskError:
                pass  # an output went missing: run again
        write_json(d / "task.json", rec)
        return self.attempts(phase, ph, k, i, d, rec, local, names, started)

    def dataset_records(self, ph: dict) -> dict:
        """Path, declared version and content hash of the datasets a phase reads. A dataset
        the phase reads whole is hashed unless it declares a version; one whose files are the
        items is not (each item's file hash is in `input_files`)."""
        out = {}
        for n in ph.get("datasets", []):
            if n not in self.spec.datasets:
                continue
            path, version = self.dataset_dir(n), self.spec.datasets[n].get("version")
            whole = n not in ph.get("item_datasets", [])
            out[n] = {"path": path, "version": version,
                      "sha256": sha256_path(Path(path), file_hash=self.file_hash) if whole and version is None
                      else None}
        return out

    def input_files(self, ph: dict, inputs: dict, item) -> dict:
        """sha256 of every file an input (or a path item) names."""
        out = {}
        paths = []
        for port in ph["inputs"]:
            v = inputs.get(port["name"])
            base, inner = type_of(port["type"])
            if base in ("file", "dir") and isinstance(v, str):
                paths.append(v)
            elif base == "list" and inner in ("file", "dir") and isinstance(v, list):
                paths += [x for x in v if isinstance(x, str)]
        if isinstance(item, str) and os.path.isabs(item) and os.path.exists(item):
            paths.append(item)
        for p in paths:
            if p not in out:
                out[p] = sha256_path(Path(p), file_hash=self.file_hash)
        return out

    def cache_key(self, rec: dict) -> str:
        """What decides whether a done task is still current (see Resume in the module doc)."""
        doc = {"command": rec["command"], "inputs": rec["inputs"], "input_files": rec["input_files"],
               "datasets": {n: v["sha256"] for n, v in rec["datasets"].items()},
               "image": rec["image"]["recipe_hash"] if rec["image"] else None, "item": rec["item"],
               "env": self.spec.phases[rec["phase"]].get("env", {})}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()

    def fail(self, d: Path, rec: dict, started: float, error: str, code: "int | None") -> "tuple[str, int]":
        """Records a task the runtime could not run or check, with the message in its log."""
        rec.update(state="failed", exit=code, error=error, end=now(),
                   seconds=round(time.monotonic() - started, 3))
        with open(d / "stderr.log", "a", encoding="utf-8") as f:
            f.write(f"aiwf: {rec['phase']}[{rec['index']}] (iteration {rec['iteration']}): {error}\n")
        rec["log_tail"] = tail(d / "stderr.log")
        write_json(d / "task.json", rec)
        print(f"aiwf: task {rec['phase']}[{rec['index']}] (iteration {rec['iteration']}) failed: {error}",
              file=sys.stderr, flush=True)
        return "failed", code if code else EXIT_RUNTIME

    def argv(self, ph: dict, command: str, rec: dict, notices: "list[str]") -> "list[str]":
        """$AIWF_LAUNCH (a multi-node launcher the job script builds, outermost), then the
        container's exec prefix when one can be used, then bash -c COMMAND."""
        launch = shlex.split(os.environ.get("AIWF_LAUNCH", ""))
        rec["launch"] = launch or None
        return launch + self.container_argv(ph, command, rec, notices)

    def container_argv(self, ph: dict, command: str, rec: dict, notices: "list[str]") -> "list[str]":
        """bash -c COMMAND, inside the phase's container when one can be used."""
        image = ph.get("image")
        runtime = ph.get("container_runtime") or self.spec.doc.get("container_runtime") or "apptainer"
        if image is None or runtime == "none" or os.environ.get("AIWF_CONTAINERS", "") == "off":
            return ["bash", "-c", command]
        if runtime not in ("apptainer", "singularity"):
            notices.append(f"aiwf: image {image['name']}: the {runtime} runtime is not supported by tasks; "
                           "running on the host")
            return ["bash", "-c", command]
        exe = shutil.which(runtime) or (shutil.which("singularity") if runtime == "apptainer" else None)
        sif = Path(image["sif"]) if os.path.isabs(image["sif"]) else self.spec.project / image["sif"]
        if exe is None:
            notices.append(f"aiwf: image {image['name']}: {runtime} is not on PATH; running on the host")
            return ["bash", "-c", command]
        if not sif.exists():
            notices.append(f"aiwf: image {image['name']}: {sif} does not exist (build it with the "
                           "apptainer artefacts); running on the host")
            return ["bash", "-c", command]
        rec["image"]["container"] = True
        rec["image"]["digest"] = "sha256:" + self.file_hash(sif)
        binds = [str(self.spec.project), str(self.run)]
        real = os.path.realpath(self.task_dir(rec["phase"], rec["iteration"], rec["index"]))
        if not real.startswith(str(self.run) + os.sep):  # a task directory linked to node-local scratch
            binds.append(real)
        return [exe, "exec", *image.get("options", []), "--bind", ",".join(binds), str(sif), "bash", "-c", command]

    def file_hash(self, path: Path) -> str:
        """sha256 of a file, computed once per run while its size and modification time stay
        the same (RUN/.hashes/ remembers it): a large input read by every task of an array is
        hashed once, not once per task. Concurrent writers write the same content atomically."""
        st = path.stat()
        key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
        cache = self.run / ".hashes" / f"{key}.json"
        try:
            known = read_json(cache)
        except TaskError:
            known = None
        stamp = [str(path.resolve()), st.st_size, st.st_mtime_ns]
        if known and known.get("stamp") == stamp:
            return known["sha256"]
        digest = sha256_file(path)
        write_json(cache, {"stamp": stamp, "sha256": digest})
        return digest

    def attempts(self, phase, ph, k, i, d: Path, rec: dict, local: dict, names: dict, started: float):
        """Runs the command up to 1 + retries times, watching stop rules, then checks and
        records the outputs. A stopped task is final (not retried); so is one ended by SIGTERM."""
        rules = ph.get("stop", [])
        env = dict(os.environ, **{k2: str(v) for k2, v in ph.get("env", {}).items()})
        env.update(AIWF_RUN=str(self.run), AIWF_PHASE=phase, AIWF_ITERATION=str(k), AIWF_INDEX=str(i),
                   AIWF_TASK_DIR=str(d), AIWF_PROJECT=str(self.spec.project))
        tries = 1 + int(ph.get("retries", 0))
        state, code, error = "failed", None, None
        for attempt in range(1, tries + 1):
            if attempt > 1:
                for name in ("stdout", "stderr"):
                    if (d / f"{name}.log").exists():
                        os.replace(d / f"{name}.log", d / f"{name}.attempt{attempt - 1}.log")
            self.clear_outputs(d, names)
            if ph.get("service"):
                try:
                    (d / "address.json").unlink()  # a previous run's address is not this one's
                except OSError:
                    pass
            notices: "list[str]" = []
            argv = self.argv(ph, rec["command"], rec, notices)
            t0 = time.monotonic()
            with open(d / "stdout.log", "wb") as out, open(d / "stderr.log", "wb") as err:
                for n in notices:
                    err.write((n + "\n").encode())
                err.flush()
                stopped = None
                proc = None
                try:
                    if self._terminated:
                        code, error = 143, "terminated before the command started"
                    else:
                        proc = subprocess.Popen(argv, cwd=d, env=env, stdout=out, stderr=err,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
                except OSError as e:
                    code, error = 127, f"cannot start {argv[0]}: {e}"
                if proc is not None:
                    self._child = proc
                    if self._terminated:  # the signal came while it was being started
                        self.terminate()
                    stopped = self.wait(proc, ph, phase, k, local, d, names, rules)
                    self._child = None
                    code = exit_code(proc.returncode)
            if proc is not None:
                error = None
                if stopped is None and rules:  # it may have ended before the rule was seen
                    stopped = self.must_stop(ph, phase, k, local, d, names, rules)
            if stopped is not None:
                state = "stopped"
                rec["reason"] = f"stop rule `{stopped.get('text')}` holds"
            elif code == 0 or (ph.get("service") and self._terminated and code in (143, 130)):
                try:
                    rec["outputs"] = self.read_outputs(ph, d, names, strict=True)
                    state = "done"
                except TaskError as e:
                    state, error = "failed", str(e)
                    with open(d / "stderr.log", "a", encoding="utf-8") as f:
                        f.write(f"aiwf: {phase}[{i}] (iteration {k}): {error}\n")
            else:
                state = "failed"
                if error is None:
                    error = f"the command exited with status {code}"
            rec["attempts"] = attempt
            rec["attempt_log"].append({"attempt": attempt, "exit": code, "seconds": round(time.monotonic() - t0, 3),
                                       "error": error if state == "failed" else None})
            if state != "failed" or self._terminated:
                break
        if state == "stopped":
            rec["outputs"] = self.read_outputs(ph, d, names, strict=False)
        rec.update(state=state, exit=code, error=error if state == "failed" else None, end=now(),
                   seconds=round(time.monotonic() - started, 3))
        if state == "done":
            rec["tracked"] = self.tracked(ph, phase, k, local, rec["outputs"])
        rec["log_tail"] = tail(d / "stderr.log") if state == "failed" else ""
        write_json(d / "task.json", rec)
        if state == "failed":
            print(f"aiwf: task {phase}[{i}] (iteration {k}) failed after {rec['attempts']} attempt(s): {error}\n"
                  f"--- {d / 'stderr.log'} (last lines)\n{rec['log_tail']}", file=sys.stderr, flush=True)
            if code == 0:
                code = EXIT_RUNTIME
        return state, code

    def clear_outputs(self, d: Path, names: dict) -> None:
        """Removes what an earlier run left at the output paths, so that a stale value is
        never taken for a new one; never anything outside the task directory."""
        for rel in names.values():
            p = d / rel
            if not os.path.abspath(p).startswith(str(d) + os.sep):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif p.exists() or p.is_symlink():
                p.unlink()

    def wait(self, proc, ph, phase, k, local, d, names, rules) -> "dict | None":
        """Waits for the command; returns the stop rule that ended it, if one did."""
        if not rules:
            while True:
                try:
                    proc.wait()
                    return None
                except KeyboardInterrupt:
                    self.terminate()
        next_check = time.monotonic() + STOP_POLL
        while proc.poll() is None:
            if time.monotonic() >= next_check and not self._terminated:
                rule = self.must_stop(ph, phase, k, local, d, names, rules)
                if rule is not None:
                    self.kill(proc)
                    return rule
                next_check = time.monotonic() + STOP_POLL
            time.sleep(0.02)
        return None

    def must_stop(self, ph, phase, k, local, d, names, rules) -> "dict | None":
        """The first stop rule that holds on the task's outputs so far, or None."""
        own = self.read_outputs(ph, d, names, strict=False)
        for rule in rules:
            try:
                if self.spec.evaluate(rule, self.resolver(phase, k, dict(local, **own), own=own)):
                    return rule
            except TaskError:
                continue  # the values the rule reads are not written yet
        return None

    @staticmethod
    def kill(proc, grace: float = 10.0) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()

    def terminate(self, *_):
        """SIGTERM/SIGINT: end the running command's process group (a service's normal end)."""
        self._terminated = True
        if self._child is not None and self._child.poll() is None:
            try:
                os.killpg(self._child.pid, signal.SIGTERM)
            except OSError:
                pass

    def tracked(self, ph, phase, k, local, outputs) -> dict:
        """The values of the phase's `track = [...]` names: its own ports and foreach variable
        first (as in commands), then params."""
        out = {}
        scope = dict(local, **outputs)
        for name in ph.get("track", []):
            head, *fields = name.split(".")   # `metrics.loss`: a field of a metrics output
            if head in scope:
                value = scope[head]
            elif head in self.spec.params:
                value = self.spec.params[head]
            else:
                continue
            try:
                for f in fields:
                    value = value[f]
            except (KeyError, TypeError):
                continue  # the check reported the name; nothing to record
            out[name] = value
        return out

    # ------------------------------------------------------------ loops

    def loop_step(self, loop: str, k: int) -> bool:
        """Decides whether iteration k+1 of `loop` runs and records it (see `loop`)."""
        lp = self.spec.loop(loop)
        first = lp["phases"][0] if lp["phases"] else None
        R = self.resolver(first, k, {"project": str(self.spec.project), "iteration": k})
        value = None
        if lp.get("condition") is not None:
            value = self.spec.evaluate(lp["condition"], R)
        if lp["kind"] == "until" and value:
            go, reason = False, "the `until` condition holds"
        elif lp["kind"] == "while" and not value:
            go, reason = False, "the `while` condition no longer holds"
        elif k + 1 >= lp["max_iterations"]:
            go, reason = False, f"max_iterations ({lp['max_iterations']}) reached"
        else:
            go, reason = True, ("the `until` condition does not hold yet" if lp["kind"] == "until" else
                                "the `while` condition holds" if lp["kind"] == "while" else "no condition")
        carried = {}
        if go:
            for c in lp.get("carries", []):
                carried[c["target"]] = self.spec.evaluate(c, self.resolver(c["phase"], k, {
                    "project": str(self.spec.project), "iteration": k}))
        write_json(self.run / "loops" / loop / f"i{k}.json",
                   {"loop": loop, "iteration": k, "kind": lp["kind"],
                    "condition": (lp.get("condition") or {}).get("text"), "value": value, "continue": go,
                    "reason": reason, "max_iterations": lp["max_iterations"], "carried": carried, "time": now()})
        return go

    def stop_rule(self, loop: str, k: int, phase: str, index: int) -> "dict | None":
        lp = self.spec.loop(loop)
        ph = self.spec.phase(phase)
        rules = [r for r in lp.get("stops", []) if r["phase"] == phase]
        items = self.items(phase, k, write=False)
        local = {"project": str(self.spec.project), "index": index, "iteration": k}
        if ph.get("foreach") is not None and index < len(items):
            local[ph["foreach"]["var"]] = items[index]
        d = self.task_dir(phase, k, index)
        names = {p["name"]: (p["name"] if is_path_type(p["type"]) else f"{p['name']}.json") for p in ph["outputs"]
                 if not p.get("path")}
        for p in ph["outputs"]:
            if p.get("path"):
                try:
                    names[p["name"]] = self.template(p["path"], self.resolver(phase, k, local), shell=False)
                except TaskError:
                    names[p["name"]] = p["name"]
        return self.must_stop(ph, phase, k, local, d, names, rules)


def summary(rt: Runtime) -> dict:
    """The `summary` document (see the module doc), in phase order, then iteration and index."""
    order = {p: n for n, p in enumerate(rt.spec.doc.get("order") or rt.spec.phases)}
    recs = []
    for f in rt.run.glob("tasks/*/i*/*/task.json"):
        try:
            r = read_json(f)
        except TaskError:
            r = {"phase": f.parts[-4], "iteration": int(f.parts[-3][1:]), "index": int(f.parts[-2]),
                 "state": "failed", "error": f"{f} is damaged"}
        if r is not None and f.parts[-2].isdigit():
            recs.append(r)
    recs.sort(key=lambda r: (order.get(r["phase"], len(order)), r["iteration"], r["index"]))
    counts: dict = {}
    phases: dict = {}
    for r in recs:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
        per = phases.setdefault(r["phase"], {}).setdefault(f"i{r['iteration']}", {})
        per[r["state"]] = per.get(r["state"], 0) + 1
    loops = {}
    for name in rt.spec.loops:
        loops[name] = [x for x in (read_json(p) for p in sorted(
            (rt.run / "loops" / name).glob("i*.json"), key=lambda p: int(p.stem[1:]))) if x is not None]
    state = "empty" if not recs else "failed" if counts.get("failed") else \
        "running" if counts.get("running") else "done"
    return {
        "format": "aiwf-run/1", "workflow": rt.spec.workflow, "params": rt.spec.params, "state": state,
        "counts": counts, "phases": phases, "loops": loops,
        "tasks": [{k: r.get(k) for k in ("phase", "iteration", "index", "state", "exit", "seconds", "attempts",
                                         "start", "end")} for r in recs],
        "failed": [dict({k: r.get(k) for k in ("phase", "iteration", "index", "exit", "error", "log_tail")},
                        log=str(rt.task_dir(r["phase"], r["iteration"], r["index"]) / "stderr.log"))
                   for r in recs if r["state"] == "failed"],
        "tracked": [dict({k: r.get(k) for k in ("phase", "iteration", "index", "command", "params", "datasets",
                                                "input_files", "image")}, values=r["tracked"])
                    for r in recs if r.get("tracked")],
    }


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


# ---------------------------------------------------------------- command line

def _parse_range(text: str) -> range:
    m = re.fullmatch(r"(\d+):(\d+)", text)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise UsageError(f"--range must be A:B with 0 <= A <= B, not {text!r}")
    return range(int(m.group(1)), int(m.group(2)))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="aiwf_task.py", description="The aiwf task runtime (see the module doc).")
    sub = ap.add_subparsers(dest="cmd")
    sub.required = True  # (the keyword needs Python 3.7)

    def common(p):
        p.add_argument("--spec", required=True)
        p.add_argument("--run", required=True)
        p.add_argument("--project")
        p.add_argument("--iteration", type=int, default=0)

    p = sub.add_parser("items")
    common(p)
    p.add_argument("--phase", required=True)
    p = sub.add_parser("run")
    common(p)
    p.add_argument("--phase", required=True)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--index", type=int)
    g.add_argument("--range")
    p.add_argument("--force", action="store_true", help="re-run tasks recorded as done")
    p = sub.add_parser("loop")
    common(p)
    p.add_argument("--loop", required=True)
    p = sub.add_parser("summary")
    common(p)
    p.add_argument("--out")
    p = sub.add_parser("stop")
    common(p)
    p.add_argument("--loop", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--index", type=int, default=0)
    return ap


def main(argv: "list[str] | None" = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else 0
    try:
        if args.iteration < 0 or (getattr(args, "index", None) or 0) < 0:
            raise UsageError("--iteration and --index must be >= 0")
        spec = Spec(args.spec, args.project)
        rt = Runtime(spec, args.run)
        if args.cmd == "items":
            spec.phase(args.phase)
            print(len(rt.items(args.phase, args.iteration, refresh=True)))
            return 0
        if args.cmd == "run":
            ph = spec.phase(args.phase)
            if ph.get("loop") is None and args.iteration != 0:
                raise UsageError(f"phase `{args.phase}` is in no loop: its only iteration is 0")
            indices = _parse_range(args.range) if args.range else range(args.index or 0, (args.index or 0) + 1)
            if threading.current_thread() is threading.main_thread():  # main() may run in a worker thread
                signal.signal(signal.SIGTERM, rt.terminate)
                signal.signal(signal.SIGINT, rt.terminate)
            return rt.run_tasks(args.phase, args.iteration, indices, args.force)
        if args.cmd == "loop":
            print("continue" if rt.loop_step(args.loop, args.iteration) else "stop")
            return 0
        if args.cmd == "summary":
            doc = summary(rt)
            if args.out:
                write_json(Path(args.out), doc)
            else:
                print(json.dumps(doc, indent=2, sort_keys=True))
            return 0
        if args.cmd == "stop":
            print("true" if rt.stop_rule(args.loop, args.iteration, args.phase, args.index) is not None else "false")
            return 0
    except UsageError as e:
        print(f"aiwf_task: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TaskError as e:
        print(f"aiwf_task: {args.cmd}: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:  # stdout closed early (`... | head`): nothing left to say
        return 0
    except Exception as e:  # noqa: BLE001 - never a traceback for a user
        if os.environ.get("AIWF_DEBUG"):
            traceback.print_exc()
        print(f"aiwf_task: internal error: {type(e).__name__}: {e} (AIWF_DEBUG=1 shows where)", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
