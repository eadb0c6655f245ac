"""The CWL Workflow of one aiwf workflow, and one sub-workflow per feedback loop.

Steps of a workflow (the main one, or a loop body):

* `<phase>`: the phase's CommandLineTool (tools/<phase>.cwl). A `foreach` phase
  scatters (dotproduct) over its items and their `index`, which the inline
  ExpressionTool `<phase>__items` computes from the foreach source (a list value,
  `range(...)`, a dataset's files, or the list a loop carries into the next iteration).
* `<phase>__stop`: for a phase with `stop` rules, an ExpressionTool that drops the
  results of the tasks a rule would have stopped (CWL cannot end running work).
* `<loop>`: a feedback loop, the step that runs loops/<loop>.cwl under `cwltool:Loop`
  (or the v1.3.0-dev1 native `loop`). The body ends with `loop__<loop>`, an
  ExpressionTool that evaluates the condition and the carried values; the body's
  outputs feed its inputs (`loop_iteration`, `loop_done`, `carry__P__X`), and
  `loopWhen` is `!loop_done && loop_iteration < max_iterations`: aiwf's loop runs its
  body, then tests the condition (do-while), at most max_iterations times.

Task records (tool.py): the main workflow outputs each tracked phase's `aiwf_record` as
`aiwf_record__<phase>`; a loop body carries the records of its iterations so far in
`aiwf_records` (the `records__<loop>` ExpressionTool appends each iteration's), so that the
loop's last iteration yields every iteration's records (`aiwf_records__<loop>`), although
the loop outputs only its last iteration's values.

Values are named alike everywhere: a param or dataset by its name, a phase output as
`<phase>__<port>` (a workflow output, a body input or output); step inputs that only an
expression reads are `ref__<name>`. Service outputs are collected by the service's first
client (see tool.py) as `svc__<service>__<port>`.
"""

from __future__ import annotations

import json
from typing import Any

from aiwfc.ir import models as ir
from aiwfc.ir import types as T
from aiwfc.semantic import RefContext, Scope, Typer
from aiwfc.syntax import ast

from aiwfc_backends.cwl.js import EXPRESSION_LIB, ValueRef, classify, compile_expr, ref_input, with_fields
from aiwfc_backends.cwl.tool import CWLTOOL_NS, RECORD_OUTPUT, ToolSpec, project_relative
from aiwfc_backends.cwl.types import cwl_type, optional

__all__ = ["WorkflowBuilder", "Place", "workflow_requirements", "RECORDS", "FILES"]

RECORDS = "aiwf_records"
FILES = {"type": "array", "items": "File"}


def workflow_requirements() -> dict[str, Any]:
    """What every workflow document needs (its inline ExpressionTools inherit it)."""
    return {
        "InlineJavascriptRequirement": {"expressionLib": list(EXPRESSION_LIB)},
        "StepInputExpressionRequirement": {},
        "ScatterFeatureRequirement": {},
        "SubworkflowFeatureRequirement": {},
        "MultipleInputFeatureRequirement": {},
    }



class Place:
    """A workflow under construction: the main workflow (`loop` None) or a loop body."""

    def __init__(self, loop: ir.Feedback | None):
        self.loop = loop
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.steps: dict[str, Any] = {}
        self.outside: dict[str, ValueRef] = {}  # body inputs fed from the parent workflow
        self.records: list[str] = []  # its phases that write a task record

    @property
    def name(self) -> str | None:
        return self.loop.name if self.loop is not None else None


class WorkflowBuilder:
    """Builds the main workflow and the loop bodies from the phases' tools."""

    def __init__(self, scope: Scope, typer: Typer, tools: dict[str, ToolSpec], params: dict[str, Any],
                 loop_form: str = "ext", source_name=lambda f: f):
        self.scope, self.typer, self.tools = scope, typer, tools
        self.source_name = source_name
        self.wf = scope.workflow
        self.params = params
        self.loop_form = loop_form
        self.phases = {p.name: p for p in self.wf.phases}
        self.clients: dict[str, list[str]] = {}
        for p in self.wf.phases:
            for s in p.uses:
                self.clients.setdefault(s, []).append(p.name)
        self.stops: dict[str, list[ir.StopRule]] = {}
        for fb in self.wf.feedbacks:
            for rule in fb.stop:
                if rule.phase in self.phases and self.phases[rule.phase].foreach is not None:
                    self.stops.setdefault(rule.phase, []).append(rule)
        self.carries: dict[tuple[str, str], ir.LoopCarry] = {}
        for fb in self.wf.feedbacks:
            for c in fb.next:
                ph, _, name = c.target.partition(".")
                self.carries[(ph, name)] = c
        self.bodies: dict[str, Place] = {}

    def where(self, node) -> str:
        """`steer_md.aiwf:34` for a phase or loop (the source comment of its step)."""
        return f"{self.source_name(node.span.file)}:{node.span.line}" if node.span is not None else ""

    # ------------------------------------------------------------ values
    def loop_of(self, phase: str) -> ir.Feedback | None:
        ph = self.phases[phase]
        if ph.kind == "service" and self.clients.get(phase):
            return self.scope.loop_of.get(self.clients[phase][0])
        return self.scope.loop_of.get(phase)

    def value_type(self, v: ValueRef) -> Any:
        """The CWL type of a value as seen from outside its producer (without fields)."""
        if v.kind == "param":
            return cwl_type(self.scope.params[v.name].type)
        if v.kind in ("dataset",) or v.name == "project":
            return "Directory"
        if v.kind == "builtin":
            return "int"
        ph = self.phases[v.phase]
        t = ph.output(v.port).type
        if ph.foreach is not None:
            t = T.list_of(t)
        return optional(cwl_type(t)) if ph.when is not None else cwl_type(t)

    def producer(self, phase: str, port: str) -> str:
        """The source of a phase output inside the workflow that runs the phase."""
        ph = self.phases[phase]
        if ph.kind == "service":
            return f"{self.clients[phase][0]}/svc__{phase}__{port}"
        if phase in self.stops:
            return f"{phase}__stop/{port}"
        return f"{phase}/{port}"

    def source(self, place: Place, v: ValueRef) -> str:
        """The source id of a value (without fields) inside `place`."""
        if v.kind in ("param", "dataset") or (v.kind == "builtin" and v.name == "project"):
            if place.loop is not None:
                place.outside.setdefault(v.key, ValueRef(v.kind, v.name))
            return v.name
        if v.kind == "builtin":
            raise ValueError(f"built-in `{v.name}` has no source here")
        home = self.loop_of(v.phase)
        key = f"{v.phase}__{v.port}"
        if home is place.loop:
            return self.producer(v.phase, v.port)
        if place.loop is None:  # main, reading a loop's last iteration
            return f"{home.name}/{key}"
        place.outside.setdefault(key, ValueRef("port", v.phase, v.phase, v.port))
        return key

    def _expr_inputs(self, place: Place, e: ast.Expr, ctx: RefContext, step_in: dict[str, Any],
                     local=None) -> str:
        """JavaScript for `e` at workflow level: each reference becomes a hidden step input."""
        def render(ref: ast.Ref) -> str:
            v = classify(self.typer, ref, ctx)
            if local is not None:
                js = local(v)
                if js is not None:
                    return js
            if v.kind == "builtin" and v.name == "iteration":
                if place.loop is None:
                    return "0"
                step_in.setdefault("ref__iteration", "loop_iteration")
                return "inputs.ref__iteration"
            if v.kind == "builtin" and v.name == "index":  # the scattered step's own index, if it has one
                return "(inputs.index || 0)"
            if v.kind == "input":
                return with_fields(f"inputs.{v.name}", v.fields)
            if v.kind == "dataset" and project_relative(self.scope.datasets[v.name]) is not None:
                step_in.setdefault("ref__project", self.source(place, ValueRef("builtin", "project")))
                rel = project_relative(self.scope.datasets[v.name])
                return f'{{"class": "Directory", "location": inputs.ref__project.location + "/" + {json.dumps(rel)}}}'
            name = ref_input(v)
            step_in.setdefault(name, self.source(place, v))
            return with_fields(f"inputs.{name}", v.fields)
        return compile_expr(e, render)

    def bind(self, place: Place, step_in: dict[str, Any], name: str, e: ast.Expr | None,
             carry: str | None = None) -> None:
        """Feeds step input `name` with expression `e` (or the loop-carried value)."""
        ctx = RefContext(loop=place.loop)
        if e is None and carry is None:
            return
        if carry is None and isinstance(e, ast.Ref):
            v = classify(self.typer, e, ctx)
            direct = v.kind != "dataset" or project_relative(self.scope.datasets[v.name]) is None
            if not v.fields and direct and (v.kind in ("param", "dataset", "port") or v.name == "project"):
                step_in[name] = self.source(place, v)
                return
        js = self._expr_inputs(place, e, ctx, step_in) if e is not None else "null"
        if carry is not None:
            step_in[f"ref__{carry}"] = carry
            step_in.setdefault("ref__iteration", "loop_iteration")
            js = f"(inputs.ref__iteration > 0 ? inputs.ref__{carry} : {js})"
        step_in[name] = {"valueFrom": f"$({js})"}

    # ------------------------------------------------------------ steps
    def add_phase(self, place: Place, ph: ir.Phase, tool_path: str) -> None:
        spec = self.tools[ph.name]
        step_in: dict[str, Any] = {}
        scatter: list[str] = []
        for name, feed in spec.feeds.items():
            if feed.kind in ("param", "dataset", "project"):
                step_in[name] = self.source(place, ValueRef("builtin" if feed.kind == "project" else feed.kind,
                                                             feed.name or "project"))
            elif feed.kind == "index":
                if ph.foreach is not None:
                    step_in[name] = f"{ph.name}__items/index"
                    scatter.append(name)
                else:
                    step_in[name] = {"default": 0}
            elif feed.kind == "iteration":
                step_in[name] = "loop_iteration" if place.loop is not None else {"default": 0}
            elif feed.kind == "foreach":
                step_in[name] = f"{ph.name}__items/items"
                scatter.append(name)
            elif feed.kind == "value":
                step_in[name] = self.source(place, feed.ref)
            elif feed.kind == "port":
                carried = self.carry_input(place, ph.name, name)
                self.bind(place, step_in, name, ph.input(name).value, carry=carried)
            elif feed.kind == "service_port":
                svc = self.phases[feed.service]
                self.bind(place, step_in, name, svc.input(feed.name).value)
        if ph.foreach is not None:
            self.add_items(place, ph)
        step: dict[str, Any] = {"label": f"{ph.kind} {ph.name}"}
        if self.where(ph):
            step["doc"] = f"from {self.where(ph)}"
        step.update({"run": tool_path, "in": step_in, "out": list(spec.doc["outputs"])})
        if scatter:
            step["scatter"] = scatter
            if len(scatter) > 1:
                step["scatterMethod"] = "dotproduct"
        if ph.when is not None:
            step["when"] = "$(" + self._expr_inputs(place, ph.when, RefContext(phase=ph, loop=place.loop),
                                                    step_in) + ")"
        place.steps[ph.name] = step
        if RECORD_OUTPUT in spec.doc["outputs"]:
            place.records.append(ph.name)
        if ph.name in self.stops:
            self.add_stop(place, ph)

    def carry_input(self, place: Place, phase: str, name: str) -> str | None:
        """The body input carrying `next phase.name = ...`, when this body has one."""
        if place.loop is None or (phase, name) not in self.carries:
            return None
        carry = f"carry__{phase}__{name}"
        place.inputs.setdefault(carry, {"type": optional(self.carry_type(phase, name))})
        return carry

    def carry_type(self, phase: str, name: str) -> Any:
        ph = self.phases[phase]
        if ph.foreach is not None and ph.foreach.var == name:
            return cwl_type(T.list_of(self.typer.foreach_item_type(ph)))
        port = ph.input(name)
        return cwl_type(port.type) if port is not None else "Any"

    def add_items(self, place: Place, ph: ir.Phase) -> None:
        """The `<phase>__items` ExpressionTool: the foreach items and their indices."""
        step_in: dict[str, Any] = {}
        src = ph.foreach.source
        ctx = RefContext(loop=place.loop)
        tool_inputs: dict[str, Any] = {}
        requirements: dict[str, Any] = {}  # InlineJavascriptRequirement comes from the workflow
        v = classify(self.typer, src, ctx) if isinstance(src, ast.Ref) else None
        item = cwl_type(self.typer.foreach_item_type(ph))
        if v is not None and v.kind == "dataset" and not v.fields:
            rel = project_relative(self.scope.datasets[v.name])
            requirements["LoadListingRequirement"] = {"loadListing": "shallow_listing"}
            tool_inputs["ref__" + v.key] = "Directory"
            if rel is None:
                step_in["ref__" + v.key] = self.source(place, v)
                js = f"aiwf_files(inputs.ref__{v.key})"
            else:  # items are paths below `project` (see tool.project_dataset_items)
                step_in["ref__project"] = self.source(place, ValueRef("builtin", "project"))
                step_in["ref__" + v.key] = {"valueFrom": '$({"class": "Directory", "location": '
                                                         f'inputs.ref__project.location + "/" + {json.dumps(rel)}}})'}
                js = (f"aiwf_files(inputs.ref__{v.key}).map(function (f) {{ return {json.dumps(rel)} + \"/\" + "
                      "f.basename; })")
                item = "string"
        else:
            js = self._expr_inputs(place, src, ctx, step_in)
        carry = self.carry_input(place, ph.name, ph.foreach.var)
        if carry is not None:
            step_in[f"ref__{carry}"] = carry
            step_in.setdefault("ref__iteration", "loop_iteration")
            js = f"(inputs.ref__iteration > 0 ? inputs.ref__{carry} : {js})"
        for name in step_in:
            tool_inputs.setdefault(name, "Any?")
        tool = {
            "class": "ExpressionTool",
            "doc": f"The items of `foreach {ph.foreach.var} in {ast.unparse(src)}` and their indices.",
            **({"requirements": requirements} if requirements else {}),
            "inputs": {k: {"type": t} for k, t in tool_inputs.items()},
            "outputs": {"items": {"type": {"type": "array", "items": item}},
                        "index": {"type": {"type": "array", "items": "int"}}},
            "expression": "${ var items = " + js + "; return {\"items\": items, "
                          "\"index\": items.map(function (x, i) { return i; })}; }",
        }
        place.steps[f"{ph.name}__items"] = {"run": tool, "in": step_in, "out": ["items", "index"]}

    def add_stop(self, place: Place, ph: ir.Phase) -> None:
        """The `<phase>__stop` ExpressionTool: results of tasks the stop rules end are dropped."""
        step_in: dict[str, Any] = {}
        for port in ph.outputs:
            step_in[f"out__{port.name}"] = f"{ph.name}/{port.name}"

        def local(v: ValueRef) -> str | None:
            if v.kind == "port" and v.phase == ph.name:
                return with_fields(f"inputs.out__{v.port}[i]", v.fields)
            return None
        conds = [self._expr_inputs(place, rule.when, RefContext(loop=place.loop), step_in, local)
                 for rule in self.stops[ph.name]]
        first = f"inputs.out__{ph.outputs[0].name}" if ph.outputs else "[]"
        picks = ", ".join(f'"{p.name}": keep.map(function (i) {{ return inputs.out__{p.name}[i]; }})'
                          for p in ph.outputs)
        expression = ("${ var keep = []; for (var i = 0; i < " + first + ".length; i++) { if (!(" +
                      " || ".join(conds) + ")) keep.push(i); } return {" + picks + "}; }")
        tool = {
            "class": "ExpressionTool",
            "doc": "Drops the results of the tasks that a stop rule ends: "
                   + "; ".join(f"stop {r.phase} when {ast.unparse(r.when)}" for r in self.stops[ph.name])
                   + ". CWL cannot end running work: every task runs to completion.",
            "inputs": {k: {"type": "Any?"} for k in step_in},
            "outputs": {p.name: {"type": cwl_type(T.list_of(p.type))} for p in ph.outputs},
            "expression": expression,
        }
        place.steps[f"{ph.name}__stop"] = {"run": tool, "in": step_in, "out": [p.name for p in ph.outputs]}

    # ------------------------------------------------------------ loops
    def build_body(self, fb: ir.Feedback, order: list[str], tool_paths: dict[str, str]) -> Place:
        """The loop body workflow of `fb` (its phases in `order`)."""
        place = Place(fb)
        place.inputs["loop_iteration"] = {"type": "int", "default": 0}
        place.inputs["loop_done"] = {"type": "boolean", "default": False}
        for name in order:
            self.add_phase(place, self.phases[name], tool_paths[name])
        # the condition and the carried values, after the iteration
        step_in: dict[str, Any] = {"loop_iteration": "loop_iteration"}
        ctx = RefContext(loop=fb)
        cond = fb.until if fb.until is not None else fb.while_
        done = "false"
        if cond is not None:
            js = self._expr_inputs(place, cond, ctx, step_in)
            done = f"Boolean({js})" if fb.until is not None else f"!({js})"
        nexts = {}
        outputs: dict[str, Any] = {"done": {"type": "boolean"}, "iteration": {"type": "int"}}
        for c in fb.next:
            ph, _, name = c.target.partition(".")
            key = f"next__{ph}__{name}"
            nexts[key] = self._expr_inputs(place, c.value, ctx, step_in)
            outputs[key] = {"type": optional(self.carry_type(ph, name))}
        ret = ", ".join([f'"done": {done}', '"iteration": inputs.loop_iteration + 1']
                        + [f'"{k}": {js}' for k, js in nexts.items()])
        tool = {
            "class": "ExpressionTool",
            "doc": f"After each iteration of `{fb.name}`: whether it is done, and the values carried "
                   "into the next iteration.",
            "inputs": {k: {"type": "int" if k == "loop_iteration" else "Any?"} for k in step_in},
            "outputs": outputs,
            "expression": "${ return {" + ret + "}; }",
        }
        place.steps[f"loop__{fb.name}"] = {"run": tool, "in": step_in, "out": list(outputs)}
        place.outputs["loop_iteration_next"] = {"type": "int", "outputSource": f"loop__{fb.name}/iteration"}
        place.outputs["loop_done_next"] = {"type": "boolean", "outputSource": f"loop__{fb.name}/done"}
        for c in fb.next:
            ph, _, name = c.target.partition(".")
            self.carry_input(place, ph, name)
            key = f"next__{ph}__{name}"
            place.outputs[key] = {"type": optional(self.carry_type(ph, name)),
                                  "outputSource": f"loop__{fb.name}/{key}"}
        for name in order:
            ph = self.phases[name]
            for port in ph.outputs:
                v = ValueRef("port", name, name, port.name)
                place.outputs[v.key] = {"type": self.value_type(v), "outputSource": self.producer(name, port.name)}
            for svc in ph.uses:
                if self.clients.get(svc, [None])[0] == name and svc in self.phases:
                    for port in self.phases[svc].outputs:
                        v = ValueRef("port", svc, svc, port.name)
                        place.outputs[v.key] = {"type": self.value_type(v),
                                                "outputSource": self.producer(svc, port.name)}
        self.add_records(place, fb)
        self.bodies[fb.name] = place
        return place

    def add_records(self, place: Place, fb: ir.Feedback) -> None:
        """The `records__<loop>` ExpressionTool: the records carried in, then this iteration's."""
        if not place.records:
            return
        place.inputs[RECORDS] = {"type": FILES, "default": []}
        step_in: dict[str, Any] = {"previous": RECORDS}
        for name in place.records:
            step_in[f"rec__{name}"] = f"{name}/{RECORD_OUTPUT}"
        items = ", ".join(f"inputs.rec__{name}" for name in place.records)
        tool = {
            "class": "ExpressionTool",
            "doc": f"The task records of `{fb.name}`'s iterations so far: those carried in, then this "
                   "iteration's (a scattered phase's one per item, none for a skipped one).",
            "inputs": {"previous": {"type": FILES}, **{k: {"type": "Any?"} for k in step_in if k != "previous"}},
            "outputs": {"records": {"type": FILES}},
            "expression": "${ var out = inputs.previous.slice(); [" + items + "].forEach(function (r) { "
                          "[].concat(r === null ? [] : r).forEach(function (f) { if (f !== null) out.push(f); }); }); "
                          'return {"records": out}; }',
        }
        place.steps[f"records__{fb.name}"] = {"run": tool, "in": step_in, "out": ["records"]}
        place.outputs[f"{RECORDS}_next"] = {"type": FILES, "outputSource": f"records__{fb.name}/records"}

    def add_loop(self, main: Place, fb: ir.Feedback, body: Place, body_path: str) -> None:
        """The step that runs a loop body until its condition or bound says stop."""
        step_in: dict[str, Any] = {"loop_iteration": {"default": 0}, "loop_done": {"default": False}}
        for name in body.inputs:
            if name.startswith("carry__"):
                step_in[name] = {"default": None}
        ctx = RefContext(loop=None)

        def render_max(ref: ast.Ref) -> str:
            v = classify(self.typer, ref, ctx)
            self.source(body, v)  # makes it a body input
            return with_fields(f"inputs.{v.key}", v.fields)
        max_js = compile_expr(fb.max_iterations, render_max) if fb.max_iterations is not None else "1"
        for key, v in sorted(body.outside.items(), key=lambda kv: kv[0]):
            body.inputs.setdefault(key, {"type": self.value_type(v)})
            step_in[key] = self.source(main, v)
        when = f"$(!inputs.loop_done && inputs.loop_iteration < {max_js})"
        feeds = {"loop_iteration": "loop_iteration_next", "loop_done": "loop_done_next"}
        if RECORDS in body.inputs:
            step_in[RECORDS] = {"default": []}
            feeds[RECORDS] = f"{RECORDS}_next"
        for c in fb.next:
            ph, _, name = c.target.partition(".")
            feeds[f"carry__{ph}__{name}"] = f"next__{ph}__{name}"
        step: dict[str, Any] = {"label": f"feedback {fb.name}"}
        if self.where(fb):
            step["doc"] = f"from {self.where(fb)}"
        step.update({"run": body_path, "in": step_in, "out": list(body.outputs)})
        if self.loop_form == "native":
            step["when"] = when
            step["loop"] = {k: {"outputSource": v} for k, v in feeds.items()}
            step["outputMethod"] = "last_iteration"
        else:
            step["requirements"] = {"cwltool:Loop": {"loopWhen": when, "loop": feeds, "outputMethod": "last"}}
        main.steps[fb.name] = step

    # ------------------------------------------------------------ documents
    def document(self, place: Place, *, label: str, doc: str, version: str = "v1.2") -> dict[str, Any]:
        out: dict[str, Any] = {"cwlVersion": version, "class": "Workflow", "label": label, "doc": doc}
        if place.loop is None and self.wf.feedbacks and self.loop_form == "ext":
            out["$namespaces"] = {"cwltool": CWLTOOL_NS}
        out["requirements"] = workflow_requirements()
        out["inputs"] = place.inputs
        out["outputs"] = place.outputs
        out["steps"] = place.steps
        return out

