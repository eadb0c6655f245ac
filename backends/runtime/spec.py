"""The run spec (`workflow.json`) that `aiwf_task.py` executes, built from the checked IR and the plan.

The Slurm and Parsl backends both run every task through `aiwf_task.py`, so that a
workflow behaves and records the same on either engine. This module is the compile-time
half: it resolves every name once, compiles every expression to Python with
`aiwfc.exprcompile.to_python` (references become `R(kind, *names)` calls that the
runtime answers from its task records), and writes down what the runtime cannot know
without aiwfc: param values after `-p` overrides, dataset paths, output path templates,
the image each phase runs in (with the exec options and recipe hash of `aiwfc.images`),
loop bounds, carries and stop rules. The format is documented in `aiwf_task.py`'s
module docstring (the file users see beside it), and `SPEC_FORMAT` names its version.

A reference is classified here, not at run time, by the same precedence as the port
conventions: a name local to the phase (`project`, `index`, `iteration`, the foreach
variable, its own ports) first, then params, datasets, and other phases' outputs
(`svc.address` of a service is its published address, not a port).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from aiwfc import __version__
from aiwfc.backend import EmitContext
from aiwfc.exprcompile import PYTHON_PRELUDE, to_python
from aiwfc.graph import WorkflowGraph, graph_of
from aiwfc.images import ImageBuild, exec_options, image_builds, site_of
from aiwfc.ir import models as ir
from aiwfc.plan import PlanJob, build_plan
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import Scope, const_value
from aiwfc.syntax import ast

__all__ = ["SPEC_FORMAT", "RUNTIME_FILE", "RUNTIME_MODULES", "SPEC_FILE", "build_spec", "runtime_files",
           "runtime_source", "spec_text"]

SPEC_FORMAT = "aiwf-runtime/1"
RUNTIME_FILE = "aiwf_task.py"
# Every module of the runtime (the command line first), copied together into each artefact tree:
# aiwf_task.py imports the others from its own directory. The one list backends derive theirs from.
RUNTIME_MODULES = (RUNTIME_FILE, "aiwf_base.py", "aiwf_values.py", "aiwf_records.py", "aiwf_exec.py", "aiwf_loop.py")
SPEC_FILE = "workflow.json"
BUILTINS = ("project", "index", "iteration")


def runtime_source(name: str = RUNTIME_FILE) -> str:
    """The text of one runtime module (default `aiwf_task.py`), copied verbatim into artefact trees."""
    return (Path(__file__).resolve().parent / name).read_text(encoding="utf-8")


def runtime_files(ctx: EmitContext) -> dict[str, str]:
    """{module: its source for each of RUNTIME_MODULES, "workflow.json": the spec} for a backend's Artefacts."""
    files = {name: runtime_source(name) for name in RUNTIME_MODULES}
    files[SPEC_FILE] = spec_text(build_spec(ctx))
    return files


def spec_text(spec: dict) -> str:
    """The spec as the text of `workflow.json` (deterministic: sorted keys)."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value):
    return str(value)


class _Compiler:
    """Compiles the expressions of one workflow with its names classified (see module doc)."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def kind_of(self, parts: list[str], local: Iterable[str]) -> tuple:
        head = parts[0]
        if head in local:
            return ("local", *parts)
        if head in self.scope.params:
            return ("param", *parts)
        if head in self.scope.datasets:
            return ("dataset", head)
        ph = self.scope.phases.get(head)
        if ph is not None and ph.kind == "service" and parts[1:2] == ["address"]:
            return ("service", head, "address")
        if ph is not None and len(parts) > 1:
            return ("port", *parts)
        return ("local", *parts)

    def expr(self, e, local: Iterable[str]) -> dict:
        local = frozenset(local)

        def render(ref: ast.Ref) -> str:
            args = ", ".join(repr(x) for x in self.kind_of([p.text for p in ref.parts], local))
            return f"R({args})"
        return {"expr": to_python(e, render), "text": ast.unparse(e)}

    def template(self, t, local: Iterable[str]) -> list:
        """A TEMPLATE: literal strings and compiled expressions, in order."""
        if t is None:
            return []
        if not isinstance(t, ast.Template):
            return [self.expr(t, local)]
        return [p if isinstance(p, str) else self.expr(p, local) for p in t.parts]


def build_spec(ctx: EmitContext) -> dict:
    """The run spec of `ctx.workflow` (see the module docstring and aiwf_task.py's)."""
    comp, wf = ctx.comp, ctx.workflow
    plan = ctx.plan.plan if ctx.plan is not None else build_plan(comp, wf).plan
    graph = graph_of(comp, wf)  # the one the checks and the planner used
    scope = graph.scope
    order = graph.topo_order() or [p.name for p in wf.phases]
    c = _Compiler(scope)
    loop_of = {n: fb.name for fb in wf.feedbacks for n in fb.body}
    job_of = plan.job_of_phase()
    builds = image_builds(comp, wf)
    site = comp.site
    params = dict(plan.params) if plan.params else {p.name: const_value(p.default, scope.params) for p in wf.params}
    known = _Known(comp, wf, scope, graph, builds, c)
    phases = {name: _phase(known, scope.phases[name], loop_of.get(name), plan.job(job_of.get(name, name)))
              for name in order}
    loops = {}
    for fb in wf.feedbacks:
        region = next((lp for lp in plan.loops if lp.name == fb.name), None)
        body = [n for n in order if n in fb.body]
        cond, kind = (fb.until, "until") if fb.until is not None else \
            (fb.while_, "while") if fb.while_ is not None else (None, "none")
        loop_local = ("project", "iteration")
        loops[fb.name] = {
            "phases": body, "kind": kind,
            "condition": c.expr(cond, loop_local) if cond is not None else None,
            "max_iterations": region.max_iterations if region is not None else 1,
            "carries": [dict(c.expr(n.value, loop_local), target=n.target, phase=n.target.split(".")[0],
                             name=n.target.split(".", 1)[1]) for n in fb.next],
            "stops": [dict(c.expr(s.when, loop_local), phase=s.phase) for s in fb.stop],
        }
    datasets = {name: {"path": ds.path, "version": ds.version} for name, ds in sorted(scope.datasets.items())
                if any(name in p["datasets"] for p in phases.values())}
    return {
        "format": SPEC_FORMAT,
        "generator": f"aiwfc {__version__}",
        "workflow": wf.name,
        "source": ctx.source,
        "project": str(ctx.project_dir),
        "container_runtime": site.container_runtime if site is not None else "apptainer",
        "prelude": PYTHON_PRELUDE,
        "params": params,
        "datasets": datasets,
        "order": order,
        "schedule": _schedule(order, scope, loop_of, wf),
        "phases": phases,
        "loops": loops,
    }


@dataclass
class _Known:
    """What every phase's entry is built from."""

    comp: Compilation
    wf: ir.Workflow
    scope: Scope
    graph: WorkflowGraph
    builds: dict[str, ImageBuild]
    compiler: _Compiler


def _phase(known: _Known, ph: ir.Phase, loop: str | None, job: PlanJob | None) -> dict:
    """One phase's entry of the spec (see aiwf_task.py's docstring for its keys)."""
    c, scope, wf, comp, graph, builds = known.compiler, known.scope, known.wf, known.comp, known.graph, known.builds
    base = list(BUILTINS) + ([ph.foreach.var] if ph.foreach is not None else [])
    with_inputs = base + [p.name for p in ph.inputs]
    full = with_inputs + [p.name for p in ph.outputs]
    carried = {n.target.split(".", 1)[1] for fb in wf.feedbacks for n in fb.next
               if n.target.split(".", 1)[0] == ph.name}
    foreach = None
    step = next((s for s in (job.steps if job is not None else []) if s.phase == ph.name), None)
    if ph.foreach is not None:
        items = step.items if step is not None else None
        foreach = dict(c.expr(ph.foreach.source, BUILTINS), var=ph.foreach.var,
                       carried=ph.foreach.var in carried, count=items.count if items is not None else None,
                       from_port=items.from_port if items is not None else None,
                       dataset=items.per_item_dataset if items is not None else None,
                       sources=_sources(step, "foreach"))
    exprs = [p.value for p in ph.inputs if p.value is not None] + [ph.command, ph.when] + \
        [p.value for p in ph.outputs if p.value is not None]
    local = set(full)
    source = ph.foreach.source if ph.foreach is not None else None
    used_params, whole, per_item = set(), set(), set()
    for e in exprs + [source]:
        for ref in ast.refs_in(e) if e is not None else ():
            head = ref.parts[0].text
            if head in local:
                continue
            if head in scope.params:
                used_params.add(head)
            elif head in scope.datasets:
                (per_item if e is source else whole).add(head)   # a foreach over a dataset's files
    used_params |= {t for t in ph.track if t in scope.params and t not in local}
    image = None
    build = builds.get(ph.image) if ph.image else None
    phase_site = site_of(comp.site, comp.program, ph)
    runtime = phase_site.container_runtime if phase_site is not None else "apptainer"
    if build is not None:
        options = exec_options(build, scope.resource_of(ph))
        image = {"name": build.name, "sif": build.sif, "recipe_hash": build.recipe_hash, "options": options,
                 "prefix": [runtime, "exec", *options, build.sif] if runtime in ("apptainer", "singularity")
                 else []}
    return {
        "kind": ph.kind,
        "service": ph.kind == "service",
        "loop": loop,
        "job": job.id if job is not None else ph.name,
        "chunk": job.array.chunk if job is not None and job.array is not None else 1,
        "after": sorted(graph.preds(ph.name)),
        "site": ph.site,
        "container_runtime": runtime,
        "foreach": foreach,
        "inputs": [dict(c.expr(p.value, with_inputs) if p.value is not None else {"expr": "None", "text": ""},
                        name=p.name, type=str(p.type), carried=p.name in carried, sources=_sources(step, p.name))
                   for p in ph.inputs],
        "outputs": [{"name": p.name, "type": str(p.type), "tracked": p.name in ph.track,
                     "path": c.template(p.value, with_inputs) if p.value is not None else None}
                    for p in ph.outputs],
        "command": c.template(ph.command, full),
        "when": c.expr(ph.when, base) if ph.when is not None else None,
        "env": dict(ph.env),
        "retries": ph.retries,
        "image": image,
        "uses": list(ph.uses),
        "track": list(ph.track),
        "params": sorted(used_params),
        "datasets": sorted(whole | per_item),
        "item_datasets": sorted(per_item - whole),
        "stop": [dict(c.expr(s.when, BUILTINS), loop=fb.name) for fb in wf.feedbacks for s in fb.stop
                 if s.phase == ph.name],
    }


def _sources(step, name: str) -> list[dict]:
    """The producer outputs an input (or the foreach source) reads, as the plan binds them:
    `single` (one value), `gather` (the list over a foreach producer's items) or
    `elementwise` (the consumer's items are the producer's, one to one)."""
    if step is None:
        return []
    return [{"phase": src.phase, "port": src.port, "mode": src.mode}
            for b in step.inputs if b.input == name for src in b.sources]


def _schedule(order: list[str], scope: Scope, loop_of: dict[str, str], wf: ir.Workflow) -> list[dict]:
    """The order a sequential driver runs things in: phases, whole loops, services."""
    out, seen = [], set()
    for name in order:
        if name in seen:
            continue
        loop = loop_of.get(name)
        if loop is not None:
            body = [n for n in order if loop_of.get(n) == loop]
            out.append({"loop": loop, "phases": body})
            seen.update(body)
        elif scope.phases[name].kind == "service":
            out.append({"service": name, "clients": [p.name for p in wf.phases if name in p.uses]})
            seen.add(name)
        else:
            out.append({"phase": name})
            seen.add(name)
    return out
