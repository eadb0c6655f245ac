"""The workflow and its plan as pictures: Graphviz DOT and Mermaid (`aiwfc graph`).

Both pictures are first built as one small neutral `Diagram` (nodes, edges, clusters)
and then written by a DOT writer and a Mermaid writer, so the two formats always show
the same thing:

* the workflow (`workflow_diagram`, from the -O0 plan, whose steps are exactly the
  phases with their port bindings): a node per phase (a scatter shows its `foreach`),
  a node per dataset read, one edge per producer output read (labelled with the
  ports; `each` for element-wise, `all` for a gather), loops as clusters with their
  bound and condition and a dashed `next` edge per loop-carried value, services with
  dotted edges to their clients;
* the plan (`plan_diagram`): a node per job (kind, array tasks, chunk, throttle,
  submissions, partition, the steps of a fused job), a node per data operation
  (stage-in, stage-out, unpack, aggregate, clean-up) beside the job that performs it,
  dependencies labelled all-of / element-wise / after-any, loops and services as above.

Output is deterministic (plan order throughout). Mermaid ids are sanitised names
(`[A-Za-z0-9_]`), labels are quoted; DOT ids are quoted strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiwfc.ir.units import format_duration, format_size
from aiwfc.plan.models import Plan, PlanJob
from aiwfc.syntax.ast import unparse


@dataclass
class Node:
    id: str
    label: list[str]
    shape: str = "box"  # box, array, dataset, data_op, service


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""
    style: str = "solid"  # solid, dashed, dotted


@dataclass
class Cluster:
    id: str
    label: str
    members: list[str] = field(default_factory=list)


@dataclass
class Diagram:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)

    def node(self, node_id: str, label: list[str], shape: str = "box") -> None:
        if all(n.id != node_id for n in self.nodes):
            self.nodes.append(Node(node_id, label, shape))


_DEP = {"all_of": "all-of", "elementwise": "element-wise", "after_any": "after-any"}
_MODE = {"single": "", "elementwise": "each", "gather": "all"}


def _loop_label(plan: Plan, name: str) -> str:
    loop = next(lp for lp in plan.loops if lp.name == name)
    cond = f"; {loop.condition_kind} {unparse(loop.condition)}" if loop.condition is not None else ""
    return f"loop {loop.name}: at most {loop.max_iterations}x{cond}"


def _carry_edges(plan: Plan, d: Diagram, node_of: dict[str, str]) -> None:
    for loop in plan.loops:
        for c in loop.carries:
            head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", unparse(c.value))
            target = node_of.get(c.target.split(".")[0])
            source = node_of.get(head.group(0)) if head else None
            if source and target:
                d.edges.append(Edge(source, target, f"next {c.target}", "dashed"))


def _services(plan: Plan, d: Diagram, node_of: dict[str, str], clients_of) -> None:
    for svc in plan.services:
        for client in clients_of(svc):
            if svc.service in node_of and client in node_of:
                d.edges.append(Edge(node_of[svc.service], node_of[client], f"{svc.coupling} coupling", "dotted"))


def workflow_diagram(baseline: Plan) -> Diagram:
    """The workflow's phases, data flow, datasets, loops and services (see module doc)."""
    d = Diagram(baseline.workflow)
    node_of = {}
    for job in baseline.jobs:
        for step in job.steps:
            label = [f"{step.kind} {step.phase}"]
            if step.items is not None:
                label.append(f"foreach {step.items.var} in {unparse(step.items.source)}")
            shape = "service" if job.role == "service" else "array" if step.items is not None else "box"
            d.node(step.phase, label, shape)
            node_of[step.phase] = step.phase
    for job in baseline.jobs:
        for step in job.steps:
            for use in step.datasets:
                ds = baseline.dataset(use.dataset)
                d.node(f"dataset.{use.dataset}", [f"dataset {use.dataset}", _dataset_note(ds)], "dataset")
                d.edges.append(Edge(f"dataset.{use.dataset}", step.phase, "per file" if use.mode == "per_item" else ""))
            flows: dict[str, list[str]] = {}
            for b in step.inputs:
                for s in b.sources:
                    mode = _MODE[s.mode]
                    flows.setdefault(s.phase, []).append(f"{s.port}{' (' + mode + ')' if mode else ''}")
            for producer, ports in flows.items():
                d.edges.append(Edge(producer, step.phase, ", ".join(dict.fromkeys(ports))))
    for loop in baseline.loops:
        d.clusters.append(Cluster(f"loop.{loop.name}", _loop_label(baseline, loop.name), list(loop.phases)))
    _carry_edges(baseline, d, node_of)
    _services(baseline, d, node_of, lambda svc: svc.client_phases)
    return d


def _dataset_note(ds) -> str:
    if ds is None:
        return ""
    bits = [ds.tier]
    if ds.size is not None:
        bits.append(format_size(ds.size))
    if ds.files is not None:
        bits.append(f"{ds.files:,} files")
    if ds.access:
        bits.append(ds.access)
    return ", ".join(bits)


def _job_label(job: PlanJob) -> list[str]:
    head = f"{job.id} ({job.kind}{', distributed' if job.distributed else ''})" if job.role == "compute" \
        else f"{job.id} ({job.role})"
    out = [head + (f" @ {job.site}" if job.site else "")]
    a = job.array
    if a is not None:
        items = f"{a.estimate:,} items" if a.count is not None else f"~{a.estimate:,} items"
        if job.kind == "array":
            throttle = f" %{a.throttle:,}" if a.throttle else ""
            out.append(f"array {a.tasks:,} tasks x {a.chunk}, {a.submissions:,} sub{throttle} ({items})")
        else:
            out.append(f"{a.tasks:,} jobs x {a.chunk} ({items})")
    if len(job.steps) > 1:
        out.append("steps: " + " → ".join(job.phases))
    r = job.resources
    where = f"{r.partition}, " if r.partition else ""
    gpus = f", {r.gpus} GPU" if r.gpus else ""
    out.append(f"{where}{r.cores * r.tasks_per_node}c{gpus}, {format_duration(r.walltime)}"
               + (", scratch" if job.workdir == "scratch" else ""))
    return out


def plan_diagram(plan: Plan) -> Diagram:
    """The plan's jobs, data operations, dependencies, loops and services (see module doc)."""
    d = Diagram(plan.workflow)
    node_of = {}
    for job in plan.jobs:
        shape = "service" if job.role == "service" else "array" if job.array is not None else \
            "data_op" if job.role in ("data", "cleanup") else "box"
        d.node(job.id, _job_label(job), shape)
        for phase in job.phases:
            node_of[phase] = job.id
        node_of[job.id] = job.id
    ops = {op.id: op for op in plan.data_ops}
    for job in plan.jobs:
        chain = []  # operations before the steps run in order: stage_in -> unpack -> job
        for op_id in job.data_ops:
            op = ops[op_id]
            if job.role in ("data", "cleanup"):
                if op.dataset:
                    d.node(f"dataset.{op.dataset}", [f"dataset {op.dataset}", _dataset_note(plan.dataset(op.dataset))],
                           "dataset")
                    if op.kind == "aggregate":
                        d.edges.append(Edge(f"dataset.{op.dataset}", job.id, "archive"))
                continue
            size = f", {format_size(op.bytes)}" if op.bytes is not None else ""
            d.node(op.id, [f"{op.kind} {op.dataset or op.phase}", f"{op.source} → {op.target}{size}"], "data_op")
            if op.when == "before":
                chain.append(op.id)
            else:
                d.edges.append(Edge(job.id, op.id, f"per {op.per}"))
        for a, b in zip(chain, chain[1:] + [job.id]):
            d.edges.append(Edge(a, b, "per task" if b == job.id else ""))
    for dep in plan.dependencies:
        style = "dashed" if dep.kind == "elementwise" else "dotted" if dep.kind == "after_any" else "solid"
        d.edges.append(Edge(dep.source, dep.target, _DEP[dep.kind], style))
    for loop in plan.loops:
        members = list(loop.jobs) + [op for j in loop.jobs for op in (plan.job(j).data_ops if plan.job(j) else [])]
        d.clusters.append(Cluster(f"loop.{loop.name}", _loop_label(plan, loop.name), members))
    _carry_edges(plan, d, node_of)
    _services(plan, d, node_of, lambda svc: svc.clients)
    return d


# ------------------------------------------------------------------ writers

_DOT_SHAPE = {"box": "box", "array": "box3d", "dataset": "cylinder", "data_op": "hexagon", "service": "ellipse"}
_DOT_STYLE = {"solid": "", "dashed": ", style=dashed", "dotted": ", style=dotted"}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(d: Diagram) -> str:
    """Graphviz DOT (`dot -Tsvg` draws it)."""
    lines = [f"digraph {_dot_quote(d.name)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
    clustered = {m: c for c in d.clusters for m in c.members}

    def node_line(n: Node, indent: str) -> str:
        label = "\\n".join(_dot_quote(part)[1:-1] for part in n.label if part)
        return f'{indent}{_dot_quote(n.id)} [label="{label}", shape={_DOT_SHAPE[n.shape]}];'

    for n in d.nodes:
        if n.id not in clustered:
            lines.append(node_line(n, "  "))
    for c in d.clusters:
        lines.append(f"  subgraph {_dot_quote('cluster_' + c.id)} {{")
        lines.append(f"    label={_dot_quote(c.label)};")
        lines.append("    style=dashed;")
        lines += [node_line(n, "    ") for n in d.nodes if clustered.get(n.id) is c]
        lines.append("  }")
    for e in d.edges:
        label = f"label={_dot_quote(e.label)}" if e.label else 'label=""'
        lines.append(f"  {_dot_quote(e.source)} -> {_dot_quote(e.target)} [{label}{_DOT_STYLE[e.style]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPE = {"box": ('["', '"]'), "array": ('[["', '"]]'), "dataset": ('[("', '")]'),
                  "data_op": ('{{"', '"}}'), "service": ('(["', '"])')}
_MERMAID_ARROW = {"solid": "-->", "dashed": "-.->", "dotted": "-.->"}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(d: Diagram) -> str:
    """A Mermaid flowchart (GitHub and GitLab render it in Markdown)."""
    ids: dict[str, str] = {}
    for name in [n.id for n in d.nodes] + [c.id for c in d.clusters]:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "n"
        candidate, k = base, 2
        while candidate in ids.values():
            candidate, k = f"{base}_{k}", k + 1
        ids[name] = candidate
    lines = ["flowchart TB"]
    clustered = {m: c for c in d.clusters for m in c.members}

    def node_line(n: Node, indent: str) -> str:
        left, right = _MERMAID_SHAPE[n.shape]
        return f"{indent}{ids[n.id]}{left}{'<br/>'.join(_mermaid_text(p) for p in n.label if p)}{right}"

    for n in d.nodes:
        if n.id not in clustered:
            lines.append(node_line(n, "  "))
    for c in d.clusters:
        lines.append(f'  subgraph {ids[c.id]}["{_mermaid_text(c.label)}"]')
        lines += [node_line(n, "    ") for n in d.nodes if clustered.get(n.id) is c]
        lines.append("  end")
    for e in d.edges:
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
        lines.append(f"  {ids[e.source]} {_MERMAID_ARROW[e.style]}{label} {ids[e.target]}")
    return "\n".join(lines) + "\n"
