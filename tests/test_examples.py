"""The examples check clean, their scripts really compute, and the reference's snippets check.

`LocalHarness` is a deliberately small stand-in for `aiwfc run`, used only here: it
follows the port conventions of spec/language.md (a task directory per task, JSON files
for non-file ports, list expansion, foreach, feedback loops with `next` and `stop`,
services started before their clients and stopped after them) closely enough to prove
that each example's scripts compute what the workflow says and that its loops end as
their conditions imply. It does not batch, retry, stage data or use containers.
"""

from __future__ import annotations

import json
import operator
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aiwfc.cli import main
from aiwfc.diagnostics import Severity
from aiwfc.graph import build_graph
from aiwfc.pipeline import analyse
from aiwfc.semantic import Scope, const_value
from aiwfc.syntax import ast

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "dynamic_orchestration": "steer_md.aiwf",
    "multistage_pipeline": "screen.aiwf",
    "inverse_design": "design.aiwf",
    "digital_replica": "twin.aiwf",
    "distributed_models": "federated.aiwf",
    "adaptive_training": "hpo.aiwf",
}
MOTIFS = sorted(p.stem for p in (ROOT / "stdlib" / "motifs").glob("*.aiwf"))

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod,
        "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}
_FUNCS = {"len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round, "str": str, "int": int,
          "float": float, "range": lambda *a: list(range(*a)), "mean": lambda xs: sum(xs) / len(xs)}


def _word(v) -> str:
    return json.dumps(v) if isinstance(v, bool) else str(v)


class LocalHarness:
    """Runs one workflow's phases in dependency order as local subprocesses (see module doc)."""

    def __init__(self, path: Path, work: Path, params: dict[str, str] | None = None):
        comp = analyse(str(path), params=params)
        errors = [d for d in comp.sink.items if d.severity is Severity.ERROR]
        assert not errors, errors
        self.wf = comp.program.workflows[0]
        self.scope = Scope(comp.program, self.wf)
        self.order = build_graph(comp.program, self.wf).topo_order()
        self.project, self.work = path.parent.resolve(), work
        self.params = {p.name: const_value(p.default, self.scope.params) for p in self.wf.params}
        self.values: dict[tuple[str, str], object] = {}   # latest value of each output port
        self.history: dict[tuple[str, str], list] = {}    # every value, one per run of the phase
        self.iterations: dict[str, int] = {}
        self.stopped: list[tuple[str, int, int]] = []     # (phase, iteration, index)
        self.services: dict[str, tuple] = {}
        self.env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                        PYTHONDONTWRITEBYTECODE="1")

    def run(self) -> "LocalHarness":
        done: set[str] = set()
        for name in self.order:
            if name not in done:
                loop = self.scope.loop_of.get(name)
                names = [n for n in self.order if n in loop.body] if loop else [name]
                self.loop(loop) if loop else self.phase(self.scope.phases[name], 0, {})
                done.update(names)
                self.stop_services(done)
        return self

    def loop(self, fb) -> None:
        body = [self.scope.phases[n] for n in self.order if n in fb.body]
        carried: dict[str, dict] = {}
        for it in range(self.ev(fb.max_iterations, {})):
            for ph in body:
                self.phase(ph, it, carried.get(ph.name, {}))
            self.iterations[fb.name] = it + 1
            if (fb.until is not None and self.ev(fb.until, {})) or (fb.while_ is not None and not self.ev(fb.while_, {})):
                break
            carried = {}
            for c in fb.next:  # evaluated now, before the next iteration overwrites the values
                ph, port = c.target.split(".")
                carried.setdefault(ph, {})[port] = self.ev(c.value, {})

    def phase(self, ph, it: int, carried: dict) -> None:
        if ph.when is not None and not self.ev(ph.when, {}):
            return
        items = [None]
        if ph.foreach is not None:
            var = ph.foreach.var
            items = carried[var] if var in carried else self.ev(ph.foreach.source, {})
            items = sorted(str(p) for p in Path(items).iterdir()) if isinstance(items, str) else items
        tasks = []
        for i, item in enumerate(items):
            d = self.work / ph.name / f"iteration{it}" / f"task{i}"
            d.mkdir(parents=True)
            local = {"project": str(self.project), "index": i, "iteration": it}
            if ph.foreach is not None:
                local[ph.foreach.var] = item
            for port in ph.inputs:
                local[port.name] = carried[port.name] if port.name in carried else self.ev(port.value, local)
            for port in ph.outputs:
                path = port.type.is_path
                local[port.name] = self.text(port.value, local) if path and port.value else \
                    port.name if path else f"{port.name}.json"
            cmd = self.text(ph.command, local, shell=True)
            proc = subprocess.Popen(["bash", "-c", cmd], cwd=d, env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            tasks.append((i, d, proc, {p.name: local[p.name] for p in ph.outputs}))
        if ph.kind == "service":
            self.services[ph.name] = (ph, tasks[0])
            address = tasks[0][1] / "address.json"
            deadline = time.monotonic() + 10
            while not address.exists():
                assert tasks[0][2].poll() is None and time.monotonic() < deadline, f"service {ph.name} did not start"
                time.sleep(0.02)
            self.values[(ph.name, "address")] = json.loads(address.read_text())
            return
        rules = [s for fb in self.wf.feedbacks for s in fb.stop if s.phase == ph.name]
        stopped: set[int] = set()
        while any(p.poll() is None for _, _, p, _ in tasks):
            for i, d, p, names in tasks:  # a stop rule ends a running task as soon as its outputs say so
                if p.poll() is None and i not in stopped and self.must_stop(ph, rules, d, names):
                    os.killpg(p.pid, signal.SIGTERM)
                    stopped.add(i)
            time.sleep(0.02)
        outputs = []
        for i, d, p, names in tasks:
            log = p.stdout.read()
            if i in stopped or self.must_stop(ph, rules, d, names):  # finished before the rule was seen
                self.stopped.append((ph.name, it, i))
                continue
            assert p.returncode == 0, f"{ph.name}[{i}] failed:\n{log}"
            outputs.append(self.read(ph, d, names))
        self.store(ph, outputs)

    def must_stop(self, ph, rules, d: Path, names: dict) -> bool:
        try:
            return any(self.ev(r.when, {ph.name: self.read(ph, d, names)}) for r in rules)
        except (KeyError, OSError, ValueError):
            return False  # the values the rule reads are not written yet

    def read(self, ph, d: Path, names: dict) -> dict:
        out = {}
        for port in ph.outputs:
            if port.type.is_path:
                out[port.name] = str(d / names[port.name])
            elif (d / names[port.name]).exists():
                v = json.loads((d / names[port.name]).read_text())
                out[port.name] = [str(d / x) for x in v] if port.type.is_list and port.type.item.is_path else v
        return out

    def store(self, ph, outputs: list[dict]) -> None:
        for port in ph.outputs:
            v = [o[port.name] for o in outputs] if ph.foreach is not None else outputs[0][port.name]
            self.values[(ph.name, port.name)] = v
            self.history.setdefault((ph.name, port.name), []).append(v)

    def stop_services(self, done: set[str]) -> None:
        for name, (ph, (_, d, proc, names)) in list(self.services.items()):
            if all(p.name in done for p in self.wf.phases if name in p.uses):
                proc.send_signal(signal.SIGTERM)   # the last client has finished
                assert proc.wait(timeout=10) == 0, proc.stdout.read()
                self.store(ph, [self.read(ph, d, names)])
                del self.services[name]

    def ev(self, e, local: dict):
        if isinstance(e, ast.Literal):
            return e.value
        if isinstance(e, ast.Template):
            return self.text(e, local)
        if isinstance(e, ast.ListExpr):
            return [self.ev(x, local) for x in e.items]
        if isinstance(e, ast.UnOp):
            v = self.ev(e.operand, local)
            return (not v) if e.op == "not" else -v
        if isinstance(e, ast.BinOp):
            if e.op in ("and", "or"):
                left = self.ev(e.left, local)
                return (left and self.ev(e.right, local)) if e.op == "and" else (left or self.ev(e.right, local))
            return _OPS[e.op](self.ev(e.left, local), self.ev(e.right, local))
        if isinstance(e, ast.Call):
            return _FUNCS[e.func.text](*[self.ev(a, local) for a in e.args])
        head, *rest = [p.text for p in e.parts]
        if head in local:
            v = local[head]
        elif head in self.params:
            v = self.params[head]
        elif head in self.scope.datasets:
            v = str(self.project / self.scope.datasets[head].path)
        else:
            v = self.values[(head, rest.pop(0))]
        for f in rest:
            v = [x[f] for x in v] if isinstance(v, list) else v[f]
        return v

    def text(self, t: ast.Template, local: dict, shell: bool = False) -> str:
        out = []
        for part in t.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            v = self.ev(part, local)
            words = [_word(x) for x in v] if isinstance(v, list) else [_word(v)]
            out.append(" ".join(shlex.quote(w) for w in words) if shell else " ".join(words))
        return "".join(out)


def run_example(folder: str, tmp_path: Path, **params) -> LocalHarness:
    start = time.monotonic()
    h = LocalHarness(ROOT / "examples" / folder / EXAMPLES[folder], tmp_path,
                     {k: str(v) for k, v in params.items()}).run()
    h.seconds = time.monotonic() - start
    print(f"{folder}: {h.seconds:.2f}s")
    return h
