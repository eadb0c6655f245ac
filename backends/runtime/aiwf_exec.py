"""aiwf_exec.py: running a task's command: resolve, resume, launch, attempts, signals.

`ExecMixin` is the part of `aiwf_task.Runtime` that runs tasks (the `run` command): a
bundle of indices in turn, each task resolved completely before anything runs (a
problem is recorded, not raised), skipped when its record is current (resume), its
command put inside $AIWF_LAUNCH and the phase's container when one can be used, run
with bash in its task directory up to 1 + retries times while its stop rules are
watched, its outputs checked, and SIGTERM/SIGINT forwarded to the command's process
group. Values come from aiwf_values.py, records from aiwf_records.py and stop rules
from aiwf_loop.py, through `self`; it relies on the attributes `Runtime.__init__` sets
(`spec`, `run`, `_terminated`, `_child`).
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__:  # imported as aiwfc_backends.runtime.<module> (aiwfc's own tools and tests)
    from .aiwf_base import (EXIT_RUNTIME, TaskError, Unavailable, exit_code, now, read_json, tail,
                            write_json)
else:  # beside aiwf_task.py in an artefact tree: its directory is sys.path[0]
    from aiwf_base import (EXIT_RUNTIME, TaskError, Unavailable, exit_code, now, read_json, tail,
                           write_json)

STOP_POLL = 0.2

__all__ = ["ExecMixin", "STOP_POLL"]


class ExecMixin:
    """Runtime's task runs: bundles, resume, container and launcher argv, attempts, signals."""

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
            self.bind_inputs(phase, ph, k, R, local, rec["inputs"])
            names = self.output_names(ph, R, local)
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
