"""aiwf_values.py: where a run keeps its tasks, and the values a task's expressions see.

`ValuesMixin` is the part of `aiwf_task.Runtime` that finds values: the run directory's
layout (RUN/tasks/P/iK/I/), `foreach` item lists and their manifests (loop-carried,
elementwise over a producer's items, a list expression or a dataset's files), which
iteration of a producer a consumer reads, port values from upstream task records (a
gather over a foreach producer, skipped and stopped tasks left out), dataset
directories, service addresses, the `R(kind, *names)` resolver compiled expressions
call, command and path templates, and a task's outputs read back against their types.
It reads records and writes manifests only; running commands is aiwf_exec.py's part.
It relies on the attributes `Runtime.__init__` sets: `spec` (aiwf_base.Spec) and `run`.
"""

import datetime
import json
import os
import time
from pathlib import Path

if __package__:  # imported as aiwfc_backends.runtime.<module> (aiwfc's own tools and tests)
    from .aiwf_base import (TaskError, Unavailable, bash_quote, check_type, is_path_type, read_json, type_of, word,
                            words, write_json)
else:  # beside aiwf_task.py in an artefact tree: its directory is sys.path[0]
    from aiwf_base import (TaskError, Unavailable, bash_quote, check_type, is_path_type, read_json, type_of, word,
                           words, write_json)

SERVICE_GRACE = 5.0

__all__ = ["ValuesMixin", "SERVICE_GRACE"]


def _timestamp(text) -> "float | None":
    """Seconds since the epoch of a record's `start` (as `now()` writes it), or None."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


class ValuesMixin:
    """Runtime's layout, item lists, port values, references and templates (see the module doc)."""

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

    def bind_inputs(self, phase: str, ph: dict, k: int, R, local: dict, values: "dict | None" = None,
                    strict: bool = True) -> None:
        """A task's inputs (carried into this iteration, else evaluated), put in `values` as
        they are found (a failure leaves the earlier ones there, for the record) and bound in
        `local` for the expressions after them; without `strict`, one that cannot be
        evaluated yet is left out instead of raising TaskError."""
        carried = self.carried(phase, k)
        for port in ph["inputs"]:
            try:
                v = carried[port["name"]] if port["name"] in carried else self.spec.evaluate(port, R)
            except TaskError:
                if strict:
                    raise
                continue
            local[port["name"]] = v
            if values is not None:
                values[port["name"]] = v

    def output_names(self, ph: dict, R, local: dict, strict: bool = True) -> dict:
        """The file each output of a task is written to, in its task directory: its `path`
        (a template over the task's values), else its name (`NAME.json` for a value); each
        is bound in `local` as its name.  Without `strict`, a path that cannot be made yet
        falls back to the output's name."""
        names = {}
        for port in ph["outputs"]:
            name = port["name"]
            if port.get("path"):
                try:
                    names[name] = self.template(port["path"], R, shell=False)
                except TaskError:
                    if strict:
                        raise
                    names[name] = name
            else:
                names[name] = name if is_path_type(port["type"]) else f"{name}.json"
            local[name] = names[name]
        return names

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
