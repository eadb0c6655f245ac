"""aiwf_records.py: what a run records about its tasks: task.json, hashes, the run summary.

`RecordsMixin` is the part of `aiwf_task.Runtime` that writes a task's record: a new
task.json before anything happens, a failure the runtime itself found, the content
hashes of its input files and datasets (each file hashed once per run: RUN/.hashes/),
the cache key that decides whether a done task is still current, and its tracked
values. `summary` builds the run's one JSON document from the task and loop records
(the base of a backend's run.json, identical whatever engine ran the tasks), and
`sha256_path` is the directory hash aiwfc's other record writers must match.
The module functions (`task_record`, `dataset_record`, `input_files`, `task_key`,
`tracked_values`) build a record from values, without a Runtime: the methods call them,
and so does the task record script of the CWL backend's tools (aiwfc_backends.cwl.tool),
which ships this module and aiwf_base.py into each tracked tool's directory.
It relies on the attributes `Runtime.__init__` sets (`spec`, `run`) and on
`ValuesMixin.dataset_dir`.
"""

import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path

if __package__:  # imported as aiwfc_backends.runtime.<module> (aiwfc's own tools and tests)
    from .aiwf_base import EXIT_RUNTIME, TaskError, now, read_json, tail, type_of, write_json
else:  # beside aiwf_task.py in an artefact tree: its directory is sys.path[0]
    from aiwf_base import EXIT_RUNTIME, TaskError, now, read_json, tail, type_of, write_json

TASK_FORMAT = "aiwf-task/1"

__all__ = ["TASK_FORMAT", "RecordsMixin", "sha256_file", "sha256_path", "summary", "task_record", "dataset_record",
           "input_files", "task_key", "tracked_values"]


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


def task_record(workflow: str, phase: str, kind: str, k: int, i: int, item, params: dict) -> dict:
    """A task.json record before anything happened (see the module doc for the fields)."""
    return {"format": TASK_FORMAT, "workflow": workflow, "phase": phase, "kind": kind,
            "iteration": k, "index": i, "item": item, "state": "running", "exit": None, "error": None,
            "reason": None, "start": now(), "end": None, "seconds": 0.0, "attempts": 0, "attempt_log": [],
            "command": None, "params": params,
            "inputs": {}, "input_files": {}, "datasets": {}, "outputs": {}, "tracked": {},
            "image": None, "launch": None, "key": None, "host": socket.gethostname(), "log_tail": ""}


def dataset_record(path: str, version, whole: bool, file_hash=sha256_file) -> dict:
    """Path, declared version and content hash of one dataset a phase reads: hashed when read
    whole without a declared version, else not (its items' hashes are in `input_files`)."""
    return {"path": path, "version": version,
            "sha256": sha256_path(Path(path), file_hash=file_hash) if whole and version is None else None}


def input_files(ph: dict, inputs: dict, item, file_hash=sha256_file) -> dict:
    """sha256 of every file an input (or a path item) names; `ph` is the phase's spec entry."""
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
            out[p] = sha256_path(Path(p), file_hash=file_hash)
    return out


def task_key(rec: dict, env: dict) -> str:
    """The cache key of a record: what decides whether a done task is still current (see
    Resume in aiwf_task.py's module doc); `env` is the phase's environment."""
    doc = {"command": rec["command"], "inputs": rec["inputs"], "input_files": rec["input_files"],
           "datasets": {n: v["sha256"] for n, v in rec["datasets"].items()},
           "image": rec["image"]["recipe_hash"] if rec["image"] else None, "item": rec["item"],
           "env": env}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def tracked_values(names, scope: dict, params: dict) -> dict:
    """The values of `track = [...]` names: `scope` (the phase's own ports and foreach
    variable, as in commands) first, then params; `metrics.loss` is a field of a value."""
    out = {}
    for name in names:
        head, *fields = name.split(".")
        if head in scope:
            value = scope[head]
        elif head in params:
            value = params[head]
        else:
            continue
        try:
            for f in fields:
                value = value[f]
        except (KeyError, TypeError):
            continue  # the check reported the name; nothing to record
        out[name] = value
    return out


class RecordsMixin:
    """Runtime's task records, input and dataset hashes, cache keys and tracked values (see the module doc)."""

    def new_record(self, phase: str, ph: dict, k: int, i: int, item) -> dict:
        """A task.json record before anything happened (see the module doc for the fields)."""
        return task_record(self.spec.workflow, phase, ph["kind"], k, i, item,
                           {p: self.spec.params.get(p) for p in ph.get("params", [])})

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

    def dataset_records(self, ph: dict) -> dict:
        """Path, declared version and content hash of the datasets a phase reads. A dataset
        the phase reads whole is hashed unless it declares a version; one whose files are the
        items is not (each item's file hash is in `input_files`)."""
        out = {}
        for n in ph.get("datasets", []):
            if n not in self.spec.datasets:
                continue
            out[n] = dataset_record(self.dataset_dir(n), self.spec.datasets[n].get("version"),
                                    n not in ph.get("item_datasets", []), self.file_hash)
        return out

    def input_files(self, ph: dict, inputs: dict, item) -> dict:
        """sha256 of every file an input (or a path item) names."""
        return input_files(ph, inputs, item, self.file_hash)

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

    def cache_key(self, rec: dict) -> str:
        """What decides whether a done task is still current (see Resume in the module doc)."""
        return task_key(rec, self.spec.phases[rec["phase"]].get("env", {}))

    def tracked(self, ph, phase, k, local, outputs) -> dict:
        """The values of the phase's `track = [...]` names: its own ports and foreach variable
        first (as in commands), then params."""
        return tracked_values(ph.get("track", []), dict(local, **outputs), self.spec.params)


def summary(rt: "Runtime") -> dict:
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
