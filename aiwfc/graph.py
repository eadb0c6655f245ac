"""The workflow as a graph: data edges between phases, service uses, loop membership.

Built once per workflow from the IR and shared by checks, the motif inference and the
planner.  An edge says "consumer reads producer.port", with the expression (and span)
that said so, so that a diagnostic can point at both ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiwfc.ir import models as ir
from aiwfc.semantic import RefContext, Scope, Typer
from aiwfc.source import Span
from aiwfc.syntax import ast


@dataclass(unsafe_hash=True)
class Edge:
    """A data dependency: `consumer` reads `producer.port` through `via` (an input, foreach, ...)."""

    producer: str
    port: str
    consumer: str
    via: str  # "input:<name>" | "foreach" | "when" | "uses" | "carry" | "command"
    span: Span | None
    elementwise: bool = False  # consumer scatters over producer's per-item output


@dataclass
class WorkflowGraph:
    """Phases, edges and loops of one workflow, plus helpers the checks need."""

    workflow: ir.Workflow
    scope: Scope
    edges: list[Edge] = field(default_factory=list)
    loop_edges: list[Edge] = field(default_factory=list)  # carried into the next iteration
    # dataset name -> the phases whose bindings, scatter, guard or command read it (in order)
    dataset_reads: dict[str, list[ir.Phase]] = field(default_factory=dict)

    def preds(self, name: str) -> set[str]:
        return {e.producer for e in self.edges if e.consumer == name}

    def succs(self, name: str) -> set[str]:
        return {e.consumer for e in self.edges if e.producer == name}

    def topo_order(self) -> list[str] | None:
        """Phases in dependency order, or None when the graph has a cycle."""
        names = [p.name for p in self.workflow.phases]
        indeg = {n: 0 for n in names}
        out: dict[str, set[str]] = {n: set() for n in names}
        for e in self.edges:
            if e.producer in indeg and e.consumer in indeg and e.consumer not in out[e.producer]:
                out[e.producer].add(e.consumer)
                indeg[e.consumer] += 1
        ready = [n for n in names if indeg[n] == 0]
        order = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for m in sorted(out[n], key=names.index):
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        return order if len(order) == len(names) else None

    def find_cycle(self) -> list[str] | None:
        """One dependency cycle (as a list of phase names), for the diagnostic."""
        adj: dict[str, list[str]] = {}
        for e in self.edges:
            adj.setdefault(e.producer, []).append(e.consumer)
        color: dict[str, int] = {}
        stack: list[str] = []
        for start in [p.name for p in self.workflow.phases]:
            if color.get(start):
                continue
            it = [(start, iter(adj.get(start, [])))]
            color[start] = 1
            stack = [start]
            while it:
                node, children = it[-1]
                nxt = next(children, None)
                if nxt is None:
                    color[node] = 2
                    it.pop()
                    stack.pop()
                    continue
                if color.get(nxt) == 1:
                    return stack[stack.index(nxt):] + [nxt]
                if not color.get(nxt):
                    color[nxt] = 1
                    stack.append(nxt)
                    it.append((nxt, iter(adj.get(nxt, []))))
        return None


def graph_of(comp, wf: ir.Workflow) -> WorkflowGraph:
    """The graph of one workflow of a Compilation, built on first use and then shared
    (the checks, the motif inference, the planner and the backends all need it, and
    building it resolves every reference of every phase)."""
    hit = comp.graphs.get(id(wf))
    if hit is not None and hit.workflow is wf:
        return hit
    graph = build_graph(comp.program, wf)
    comp.graphs[id(wf)] = graph
    return graph


def build_graph(program: ir.Program | None, wf: ir.Workflow) -> WorkflowGraph:
    """Collects every edge the workflow's expressions imply (resolving silently)."""
    scope = Scope(program, wf)
    typer = Typer(scope)
    g = WorkflowGraph(wf, scope)
    reads = g.dataset_reads

    def add(consumer: ir.Phase, expr, via: str, elementwise: bool = False, target=None):
        ctx = RefContext(phase=consumer, loop=scope.loop_of.get(consumer.name))
        local = scope.local_names(consumer)
        for ref in typer.refs(expr):
            if ref.parts[0].text in local:
                # the phase's own port, foreach variable, `index` or own name: never an
                # edge (it is not another phase) nor a dataset read (it shadows any dataset)
                continue
            r = typer.resolve(ref, ctx, report=False)
            if r is None:
                continue
            if r.kind in ("port", "address") and r.phase != consumer.name:
                (target if target is not None else g.edges).append(
                    Edge(r.phase, r.port, consumer.name, via, ref.span, elementwise))
            elif r.kind == "dataset" and target is None:
                readers = reads.setdefault(ref.parts[0].text, [])
                if not readers or readers[-1] is not consumer:
                    readers.append(consumer)

    for ph in wf.phases:
        for port in ph.inputs:
            if port.value is not None:
                add(ph, port.value, f"input:{port.name}")
        if ph.foreach is not None:
            src = ph.foreach.source
            add(ph, src, "foreach", elementwise=isinstance(src, ast.Ref))
        if ph.when is not None:
            add(ph, ph.when, "when")
        if ph.command is not None:
            add(ph, ph.command, "command")
        for svc in ph.uses:
            if svc in scope.phases:
                g.edges.append(Edge(svc, "address", ph.name, "uses", ph.where("uses")))
    for fb in wf.feedbacks:
        for carry in fb.next:
            target = scope.phases.get(carry.target.split(".")[0])
            if target is not None:
                add(target, carry.value, "carry", target=g.loop_edges)
    return g
