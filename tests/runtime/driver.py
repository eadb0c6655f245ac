"""A tiny sequential driver of `aiwf_task.py`, standing in for the Slurm and Parsl backends.

It compiles a workflow's run spec the way a backend does (analyse -> build_plan ->
EmitContext -> runtime_files), writes the runtime files to a directory, and walks the
spec's `schedule`: a phase = `items` then `run --range 0:N`; a loop = its phases per
iteration, then `loop` until it prints `stop`; a service = `run` in the background,
ended with SIGTERM once its clients are done. Every call is a real subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from aiwfc.backend import EmitContext
from aiwfc.diagnostics import Severity
from aiwfc.pipeline import analyse
from aiwfc.plan import build_plan
from aiwfc_backends.runtime import runtime_files

ROOT = Path(__file__).resolve().parents[2]


def compile_runtime(path: Path, out: Path, params: dict[str, str] | None = None) -> dict:
    """Writes aiwf_task.py and workflow.json for `path` into `out`; returns the spec."""
    comp = analyse(str(path), params=params)
    errors = [d for d in comp.sink.items if d.severity is Severity.ERROR]
    assert not errors, errors
    wf = comp.program.workflows[0]
    ctx = EmitContext(comp=comp, workflow=wf, plan=build_plan(comp, wf))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in runtime_files(ctx).items():
        (out / name).write_text(text, encoding="utf-8")
    return json.loads((out / "workflow.json").read_text())


class Driver:
    """Runs a compiled spec sequentially with `aiwf_task.py` subprocesses (see module doc)."""

    def __init__(self, out: Path, run: Path, env: dict | None = None, bundled: bool = False,
                 python: str = sys.executable):
        self.out, self.run_dir, self.bundled, self.python = out, run, bundled, python
        self.spec = json.loads((out / "workflow.json").read_text())
        env = dict(os.environ, **(env or {}))
        self.env = dict(env, PATH=os.path.dirname(sys.executable) + os.pathsep + env["PATH"],
                        PYTHONDONTWRITEBYTECODE="1")
        self.iterations: dict[str, int] = {}
        self.calls: list[list[str]] = []

    def task(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        argv = [self.python, str(self.out / "aiwf_task.py"), args[0], "--spec", str(self.out / "workflow.json"),
                "--run", str(self.run_dir), *args[1:]]
        self.calls.append(list(args))
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env)
        if check:
            assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def popen(self, *args: str) -> subprocess.Popen:
        argv = [self.python, str(self.out / "aiwf_task.py"), args[0], "--spec", str(self.out / "workflow.json"),
                "--run", str(self.run_dir), *args[1:]]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)

    def phase(self, name: str, k: int = 0, check: bool = True) -> subprocess.CompletedProcess:
        """`items`, then every item: one `run --index I` each, concurrently (as array tasks
        would), or one `run --range 0:N` (a bundle) when the driver is `bundled`."""
        n = int(self.task("items", "--phase", name, "--iteration", str(k), check=True).stdout)
        if self.bundled or n <= 1:
            return self.task("run", "--phase", name, "--iteration", str(k), "--range", f"0:{n}", check=check)
        procs = [self.popen("run", "--phase", name, "--iteration", str(k), "--index", str(i)) for i in range(n)]
        results = [(p, *p.communicate()) for p in procs]
        out = subprocess.CompletedProcess(procs[0].args, max(p.returncode for p in procs),
                                          "".join(r[1] for r in results), "".join(r[2] for r in results))
        if check:
            assert out.returncode == 0, f"{name} i{k}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def run(self) -> "Driver":
        services: dict[str, tuple[subprocess.Popen, list[str]]] = {}
        done: set[str] = set()
        for step in self.spec["schedule"]:
            if "phase" in step:
                self.phase(step["phase"])
                done.add(step["phase"])
            elif "service" in step:
                self.task("items", "--phase", step["service"], check=True)
                services[step["service"]] = (self.popen("run", "--phase", step["service"]), step["clients"])
            else:
                loop = self.spec["loops"][step["loop"]]
                for k in range(loop["max_iterations"]):
                    for name in step["phases"]:
                        self.phase(name, k)
                    verdict = self.task("loop", "--loop", step["loop"], "--iteration", str(k), check=True)
                    self.iterations[step["loop"]] = k + 1
                    if verdict.stdout.strip() == "stop":
                        break
                done.update(step["phases"])
            for name, (proc, clients) in list(services.items()):
                if all(c in done for c in clients):
                    proc.send_signal(signal.SIGTERM)
                    out, err = proc.communicate(timeout=30)
                    assert proc.returncode == 0, f"service {name}: {out}\n{err}"
                    del services[name]
                    done.add(name)
        return self

    def record(self, phase: str, k: int = 0, index: int = 0) -> dict:
        return json.loads((self.run_dir / "tasks" / phase / f"i{k}" / str(index) / "task.json").read_text())

    def loop_record(self, loop: str, k: int) -> dict:
        return json.loads((self.run_dir / "loops" / loop / f"i{k}.json").read_text())

    def task_dir(self, phase: str, k: int = 0, index: int = 0) -> Path:
        return self.run_dir / "tasks" / phase / f"i{k}" / str(index)
