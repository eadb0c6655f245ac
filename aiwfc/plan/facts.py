"""What the planner needs to know about a workflow, computed once from the IR.

Item spaces of scatters (static counts, run-time lists, loop-carried lists), runtime
estimates, which inputs read which producer outputs and how (one value, one per item,
all of them), which datasets a phase reads, who consumes each output (later phases,
the loop controller, experiment tracking), and which phases are clients of which
service. Everything goes through `aiwfc.semantic` (Scope, Typer, const_value) and
`aiwfc.graph`; nothing here reads the AST beyond the expression objects the IR holds.
Cost is linear in the size of the workflow: the planner runs on 10,000-phase inputs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from aiwfc.graph import WorkflowGraph, build_graph
from aiwfc.ir import models as ir
from aiwfc.plan import estimates as E
from aiwfc.plan.models import DatasetUse, ItemSpace, OutputSpec
from aiwfc.semantic import RefContext, Scope, Typer, const_value
from aiwfc.syntax import ast

#: Output types whose value is a path in the task directory (the rest are JSON files).
_PATH_TYPES = ("file", "dir")


@dataclass(frozen=True)
class Read:
    """A reference from `consumer` to `producer.port` through `via` (an input, `foreach`...)."""

    producer: str
    port: str
    consumer: str
    via: str
    expr: object


@dataclass
class WorkflowFacts:
    """Facts about one workflow on one site, shared by lowering, passes and the cost model."""

    workflow: ir.Workflow
    program: ir.Program | None
    scope: Scope
    graph: WorkflowGraph
    params: dict[str, object]
    order: list[str]
    items: dict[str, ItemSpace | None] = field(default_factory=dict)
    runtime: dict[str, tuple[int, str]] = field(default_factory=dict)
    reads: dict[str, list[Read]] = field(default_factory=dict)
    datasets: dict[str, list[DatasetUse]] = field(default_factory=dict)
    outputs: dict[str, list[OutputSpec]] = field(default_factory=dict)
    consumers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    controller_reads: set[tuple[str, str]] = field(default_factory=set)
    clients: dict[str, list[str]] = field(default_factory=dict)

    def phase(self, name: str) -> ir.Phase:
        return self.scope.phases[name]

    def loop_of(self, name: str) -> str | None:
        fb = self.scope.loop_of.get(name)
        return fb.name if fb is not None else None


def collect_facts(program: ir.Program | None, wf: ir.Workflow, graph: WorkflowGraph | None = None) -> WorkflowFacts:
    """Computes every fact of `wf` (resolving silently: the checks already reported);
    `graph` is the workflow's graph when the caller has it (aiwfc.graph.graph_of)."""
    graph = graph if graph is not None else build_graph(program, wf)
    scope = graph.scope
    params = {p.name: _param_value(p, scope) for p in wf.params}
    facts = WorkflowFacts(wf, program, scope, graph, params, _topo_order(wf, graph))
    typer = Typer(scope)
    edges: dict[str, list] = {}
    for e in graph.edges:
        if e.via != "uses":
            edges.setdefault(e.consumer, []).append(e)
    for name in facts.order:
        ph = scope.phases[name]
        facts.runtime[name] = _runtime(ph, scope)
        facts.reads[name] = _reads(ph, edges.get(name, []))
        facts.datasets[name] = _dataset_uses(ph, scope, typer)
        facts.outputs[name] = _outputs(ph)
    carried = {c.target: c for fb in wf.feedbacks for c in fb.next}
    for name in facts.order:
        facts.items[name] = _item_space(facts, scope.phases[name], carried)
    for name, reads in facts.reads.items():
        for r in reads:
            facts.consumers.setdefault((r.producer, r.port), set()).add(r.consumer)
            if r.port == "address" and scope.phases[r.producer].kind == "service":
                facts.clients.setdefault(r.producer, [])
                if r.consumer not in facts.clients[r.producer]:
                    facts.clients[r.producer].append(r.consumer)
    for name in facts.order:
        for svc in scope.phases[name].uses:
            if svc in scope.phases and name not in facts.clients.setdefault(svc, []):
                facts.clients[svc].append(name)
    facts.controller_reads = _controller_reads(wf, scope, typer)
    return facts


# ------------------------------------------------------------------ helpers

def _param_value(p: ir.Param, scope: Scope):
    """A param's value as JSON data (quantities as their text, None when it has none)."""
    if p.default is None:
        return None
    if isinstance(p.default, ast.Literal) and p.default.kind == "quantity":
        return p.default.text
    return const_value(p.default, scope.params)


def _topo_order(wf: ir.Workflow, graph: WorkflowGraph) -> list[str]:
    """Phases in dependency order, ties in source order (source order if there is a cycle)."""
    names = [p.name for p in wf.phases]
    index = {n: i for i, n in enumerate(names)}
    out: dict[str, set[str]] = {n: set() for n in names}
    indeg = dict.fromkeys(names, 0)
    for e in graph.edges:
        if e.producer in index and e.consumer in index and e.producer != e.consumer \
                and e.consumer not in out[e.producer]:
            out[e.producer].add(e.consumer)
            indeg[e.consumer] += 1
    ready = [index[n] for n in names if indeg[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = names[heapq.heappop(ready)]
        order.append(n)
        for m in out[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                heapq.heappush(ready, index[m])
    return order if len(order) == len(names) else names


def _runtime(ph: ir.Phase, scope: Scope) -> tuple[int, str]:
    """Seconds one item takes: the declared estimate, else the resource walltime, else a default."""
    if ph.runtime is not None:
        return max(1, ph.runtime), "declared"
    res = scope.resource_of(ph)
    if res is not None and res.walltime:
        return res.walltime, "walltime"
    return E.DEFAULT_RUNTIME_S, "default"


def _exprs(ph: ir.Phase):
    """(via, expression) of everything evaluated for a task of the phase."""
    for port in ph.inputs:
        if port.value is not None:
            yield f"input:{port.name}", port.value
    if ph.foreach is not None:
        yield "foreach", ph.foreach.source
    if ph.when is not None:
        yield "when", ph.when
    if ph.command is not None:
        yield "command", ph.command


def _reads(ph: ir.Phase, edges) -> list[Read]:
    """The phase's reads of other phases' outputs: the graph's edges into it (which
    resolved the same references in the same order: inputs, foreach, when, command),
    without service `uses` and without repeats, each with the expression it sits in."""
    exprs = dict(_exprs(ph))
    out, seen = [], set()
    for e in edges:
        key = (e.producer, e.port, e.via)
        if key not in seen:
            seen.add(key)
            out.append(Read(e.producer, e.port, ph.name, e.via, exprs.get(e.via)))
    return out


def _dataset_uses(ph: ir.Phase, scope: Scope, typer: Typer) -> list[DatasetUse]:
    loop = scope.loop_of.get(ph.name)
    uses: list[DatasetUse] = []
    fe = ph.foreach
    for via, expr in _exprs(ph):
        ctx = RefContext(phase=ph, loop=loop, in_command=(via == "command"))
        for ref in typer.refs(expr):
            name = ref.parts[0].text
            if name not in scope.datasets:
                continue
            r = typer.resolve(ref, ctx, report=False)
            if r is None or r.kind != "dataset":
                continue
            per_item = via == "foreach" and fe is not None and isinstance(fe.source, ast.Ref) \
                and len(fe.source.parts) == 1
            use = DatasetUse(dataset=name, mode="per_item" if per_item else "whole")
            if all((u.dataset, u.mode) != (use.dataset, use.mode) for u in uses):
                uses.append(use)
    return uses


def _outputs(ph: ir.Phase) -> list[OutputSpec]:
    out = []
    for port in ph.outputs:
        t = port.type
        if t.name == "file":
            size, files = E.FILE_OUTPUT_BYTES, 1
        elif t.name == "dir":
            size, files = E.DIR_OUTPUT_BYTES, E.DIR_OUTPUT_FILES
        else:
            size, files = E.VALUE_OUTPUT_BYTES, 1
        path = port.value if t.name in _PATH_TYPES and isinstance(port.value, ast.Template) else None
        out.append(OutputSpec(port=port.name, type=t, path=path, bytes=size, files=files,
                              tracked=port.name in ph.track))
    return out


def _static_count(src, scope: Scope) -> int | None:
    """The number of items of a constant list expression, without building big ranges."""
    if isinstance(src, ast.Call) and src.func.text == "range" and 1 <= len(src.args) <= 2:
        bounds = [const_value(a, scope.params) for a in src.args]
        if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return len(range(*bounds))
        return None
    value = const_value(src, scope.params)
    return len(value) if isinstance(value, list) else None


def _item_space(facts: WorkflowFacts, ph: ir.Phase, carried: dict) -> ItemSpace | None:
    fe = ph.foreach
    if fe is None:
        return None
    scope = facts.scope
    src = fe.source
    space = dict(var=fe.var, source=src, root=ph.name)
    head = src.parts[0].text if isinstance(src, ast.Ref) else None
    if isinstance(src, ast.Ref) and len(src.parts) == 1 and head in scope.datasets and head not in scope.params:
        ds = scope.datasets[head]
        if ds.files is not None:
            space.update(count=ds.files, estimate=ds.files, estimate_reason="the dataset's `files`")
        else:
            space.update(estimate=E.DYNAMIC_ITEMS, from_port=None,
                         estimate_reason=f"files of dataset `{head}` listed at run time; assumed {E.DYNAMIC_ITEMS}")
        space["per_item_dataset"] = head
    else:
        port_reads = [r for r in facts.reads[ph.name] if r.via == "foreach"]
        count = _static_count(src, scope) if not port_reads else None
        if count is not None:
            space.update(count=count, estimate=count)
        elif port_reads and isinstance(src, ast.Ref) and facts.items.get(port_reads[0].producer) is not None:
            q = port_reads[0].producer
            qs = facts.items[q]
            same_loop = facts.loop_of(q) == facts.loop_of(ph.name)
            space["root"] = qs.root
            if qs.count is not None and (same_loop or qs.carried_from is None):
                space.update(count=qs.count, estimate=qs.count, estimate_reason=f"one per item of `{q}`")
            else:
                space.update(from_port=f"{q}.{port_reads[0].port}", estimate=qs.estimate,
                             estimate_reason=f"as many as `{q}` has at run time; assumed {qs.estimate}")
        else:
            origin = f"{port_reads[0].producer}.{port_reads[0].port}" if port_reads else None
            what = f"items of `{origin}`" if origin else f"items of `{ast.unparse(src)}`"
            space.update(from_port=origin, estimate=E.DYNAMIC_ITEMS,
                         estimate_reason=f"{what} known at run time; assumed {E.DYNAMIC_ITEMS}")
    carry = carried.get(f"{ph.name}.{fe.var}")
    if carry is not None:
        space["carried_from"] = ast.unparse(carry.value)
        if space.get("count") is not None:
            space["estimate_reason"] = "first iteration's count, assumed for every iteration"
    return ItemSpace(**space)


def _controller_reads(wf: ir.Workflow, scope: Scope, typer: Typer) -> set[tuple[str, str]]:
    """(phase, port) pairs a loop condition, bound, carry or stop rule reads between tasks."""
    out: set[tuple[str, str]] = set()
    for fb in wf.feedbacks:
        exprs = [(e, None) for e in (fb.until, fb.while_, fb.max_iterations) if e is not None]
        exprs += [(c.value, c.target.split(".")[0]) for c in fb.next]
        exprs += [(s.when, s.phase) for s in fb.stop]
        for expr, phase_name in exprs:
            ctx = RefContext(phase=scope.phases.get(phase_name) if phase_name else None, loop=fb)
            for ref in typer.refs(expr):
                r = typer.resolve(ref, ctx, report=False)
                if r is not None and r.phase and r.port and r.kind in ("port", "output"):
                    out.add((r.phase, r.port))
    return out
