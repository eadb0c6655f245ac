"""Execution motifs inferred from a workflow's graph, and how its AI and HPC parts couple.

The six motifs of AI-coupled HPC workflows (DESIGN.md) are recognised by small
declarative rules (`RULES`) over facts of the graph alone: which phases are AI
(`training`, `inference`, a `service`) and which are HPC (`simulation`), the data edges
between them, the feedback loops with what they carry (`next`) and stop (`stop`), the
services and their clients, and the sites phases run on. A rule yields evidence, each
piece a short reason with a weight; every motif with evidence is reported, ranked by
total weight. A declared `motif` that its rule finds no evidence for at all is what
AIWF711 reports: the rules are deliberately generous, so that the warning means the
graph really lacks what the motif is about.

Nothing here reads commands or scripts: what a program does inside a phase is not
visible, so human involvement (one of the motif characteristics) is not inferred.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from aiwfc.graph import WorkflowGraph, graph_of
from aiwfc.ir import models as ir
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import RefContext, Typer

AI_KINDS = ("training", "inference", "service")
HPC_KINDS = ("simulation",)
STAGE_KINDS = ("simulation", "preprocess", "analysis", "task")
COUPLING_MODES = ("AI-in-HPC", "AI-out-HPC", "AI-about-HPC")
MAX_REASONS = 4


# ---------------------------------------------------------------- facts

@dataclass
class LoopFacts:
    """What one feedback loop does: its body and which phases feed its carries, stops and condition."""

    loop: ir.Feedback
    spawns: list[tuple[str, str, list[str]]] = field(default_factory=list)   # (phase, foreach var, producers)
    carries: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (phase, input port, producers)
    stops: list[tuple[str, list[str]]] = field(default_factory=list)         # (phase, phases its condition reads)
    reads: list[str] = field(default_factory=list)                            # phases the condition reads

    @property
    def name(self) -> str:
        return self.loop.name

    @property
    def body(self) -> list[str]:
        return self.loop.body


@dataclass
class Facts:
    """The graph as the motif rules see it."""

    workflow: ir.Workflow
    graph: WorkflowGraph
    kind: dict[str, str]
    succ: dict[str, list[str]]          # data edges (no service uses), in declaration order
    pred: dict[str, list[str]]
    loops: list[LoopFacts]
    services: list[tuple[ir.Phase, list[ir.Phase]]]   # (service, its clients)
    sites: list[str]
    in_loop: set[str]

    def is_ai(self, name: str) -> bool:
        return self.kind.get(name) in AI_KINDS

    def is_hpc(self, name: str) -> bool:
        return self.kind.get(name) in HPC_KINDS

    def phases(self, *kinds: str) -> list[str]:
        return [p.name for p in self.workflow.phases if p.kind in kinds]

    def reachable(self, starts, within: set[str] | None = None, reverse: bool = False) -> set[str]:
        """Phases reached from `starts` by one or more data edges (optionally inside `within`)."""
        adj = self.pred if reverse else self.succ
        seen: set[str] = set()
        todo = deque(starts)
        while todo:
            n = todo.popleft()
            for m in adj.get(n, ()):
                if m not in seen and (within is None or m in within):
                    seen.add(m)
                    todo.append(m)
        return seen

    def first_reaching(self, target: str, kinds: tuple[str, ...], reverse: bool) -> str | None:
        """The nearest phase of `kinds` upstream (reverse) or downstream of `target`, for reasons."""
        adj = self.pred if reverse else self.succ
        seen = {target}
        todo = deque([target])
        while todo:
            n = todo.popleft()
            for m in adj.get(n, ()):
                if m in seen:
                    continue
                if self.kind.get(m) in kinds:
                    return m
                seen.add(m)
                todo.append(m)
        return None


def _phases_read(typer: Typer, expr, rc: RefContext) -> list[str]:
    out = []
    for ref in typer.refs(expr):
        r = typer.resolve(ref, rc, report=False)
        if r is not None and r.phase and r.kind in ("port", "output") and r.phase not in out:
            out.append(r.phase)
    return out


def collect_facts(comp: Compilation, wf: ir.Workflow, graph: WorkflowGraph) -> Facts:
    """Reads the facts the rules need from the graph and the loops (silently: checks report problems)."""
    kind = {p.name: p.kind for p in wf.phases}
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.via != "uses" and e.consumer not in succ.get(e.producer, ()):
            succ.setdefault(e.producer, []).append(e.consumer)
            pred.setdefault(e.consumer, []).append(e.producer)
    typer = Typer(graph.scope)
    loops = []
    for fb in wf.feedbacks:
        lf = LoopFacts(fb)
        rc = RefContext(loop=fb)
        for cond in (fb.until, fb.while_):
            if cond is not None:
                lf.reads += [p for p in _phases_read(typer, cond, rc) if p not in lf.reads]
        for carry in fb.next:
            target_name, _, name = carry.target.partition(".")
            target = graph.scope.phases.get(target_name)
            if target is None:
                continue
            producers = _phases_read(typer, carry.value, rc)
            if target.foreach is not None and target.foreach.var == name:
                lf.spawns.append((target_name, name, producers))
            elif target.input(name) is not None:
                lf.carries.append((target_name, name, producers))
        for rule in fb.stop:
            ph = graph.scope.phases.get(rule.phase)
            if ph is not None:
                lf.stops.append((rule.phase, _phases_read(typer, rule.when, RefContext(phase=ph, loop=fb))))
        loops.append(lf)
    services = []
    for svc in wf.phases:
        if svc.kind == "service":
            services.append((svc, [p for p in wf.phases if svc.name in p.uses]))
    default = comp.site.name if comp.site is not None else "the default site"
    sites = []
    for ph in wf.phases:
        s = ph.site or default
        if s not in sites:
            sites.append(s)
    in_loop = {n for fb in wf.feedbacks for n in fb.body}
    return Facts(wf, graph, kind, succ, pred, loops, services, sites, in_loop)


# ---------------------------------------------------------------- rules

@dataclass(frozen=True)
class Evidence:
    """One reason a motif applies, and how strongly it speaks for it."""

    weight: int
    reason: str


@dataclass(frozen=True)
class MotifRule:
    """A motif, how it is recognised (`find`), and what is missing when it is declared but absent."""

    motif: str
    absent: str
    find: Callable[[Facts], list[Evidence]]


def _names(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _mixed_loops(f: Facts):
    """Loops whose body holds both a simulation and an AI phase."""
    for lf in f.loops:
        if any(f.is_hpc(n) for n in lf.body) and any(f.is_ai(n) for n in lf.body):
            yield lf


def _steers(f: Facts, lf: LoopFacts) -> bool:
    """Whether an AI phase's output is carried into a simulation in this loop."""
    return any(f.is_hpc(p) and any(f.is_ai(x) for x in prod) for p, _, prod in lf.spawns + lf.carries)


def _dynamic_orchestration(f: Facts) -> list[Evidence]:
    """A loop with a simulation and an AI phase in its body that terminates running
    simulations (`stop SIM when ...`, the strongest sign) or spawns the next ones (`next
    SIM.VAR` into the simulation's `foreach` variable): the AI steers an ensemble."""
    out = []
    for lf in _mixed_loops(f):
        for phase, var, producers in lf.spawns:
            if f.is_hpc(phase):
                who = _names(producers) if producers else "the loop"
                out.append(Evidence(2, f"{who} chooses the next runs of `{phase}` in loop `{lf.name}` "
                                       f"(`next {phase}.{var}`)"))
        for phase, _ in lf.stops:
            if f.is_hpc(phase):
                out.append(Evidence(3, f"loop `{lf.name}` stops runs of `{phase}` early (`stop {phase}`)"))
    return out


def _multistage_pipeline(f: Facts) -> list[Evidence]:
    """An AI phase outside any loop with a pipeline stage (simulation, preprocess,
    analysis, task) upstream and another downstream: the AI filters between stages.
    An AI phase after stages only (a model trained or applied at the end) is weak
    evidence of a pipeline too."""
    stages = f.phases(*STAGE_KINDS)
    below = f.reachable(stages)                 # phases with a stage upstream
    above = f.reachable(stages, reverse=True)   # phases with a stage downstream
    out = []
    for name in f.phases("training", "inference"):
        if name in f.in_loop or name not in below:
            continue
        up = f.first_reaching(name, STAGE_KINDS, reverse=True)
        if name in above:
            down = f.first_reaching(name, STAGE_KINDS, reverse=False)
            out.append(Evidence(3 if f.kind[name] == "inference" else 2,
                                f"`{name}` ({f.kind[name]}) sits between stages `{up}` and `{down}`"))
        else:
            out.append(Evidence(1, f"`{name}` ({f.kind[name]}) is a later stage after `{up}`"))
    return out


def _inverse_design(f: Facts) -> list[Evidence]:
    """A loop in which an inference phase's output becomes the inputs of the next
    simulations (`next SIM.INPUT = ...` or the designs a `foreach` runs, `next SIM.VAR
    = ...`): the AI iteratively infers simulation inputs. A training phase's output
    carried the same way, or a one-off AI output bound to a simulation's input, is
    weaker evidence (often state, such as the model, rather than a proposal)."""
    out = []
    for lf in _mixed_loops(f):
        for phase, name, producers in lf.carries + lf.spawns:
            if not f.is_hpc(phase):
                continue
            for p in producers:
                if f.kind.get(p) == "inference":
                    out.append(Evidence(3, f"`{p}` infers `{phase}.{name}` for the next iteration of loop "
                                           f"`{lf.name}`"))
                elif f.is_ai(p):
                    out.append(Evidence(1, f"`{p}` feeds `{phase}.{name}` in the next iteration of loop "
                                           f"`{lf.name}`"))
    for e in f.graph.edges:
        if e.via.startswith("input:") and f.is_ai(e.producer) and f.is_hpc(e.consumer):
            out.append(Evidence(1, f"`{e.producer}` infers the input `{e.via[6:]}` of `{e.consumer}`"))
    return out


def _digital_replica(f: Facts) -> list[Evidence]:
    """A service (a surrogate, a twin) that a simulation uses while it runs: the two are
    concurrent and coupled. A service only other phases use, beside simulations, is
    weaker evidence."""
    out = []
    sims = f.phases(*HPC_KINDS)
    for svc, clients in f.services:
        coupled = [c.name for c in clients if c.kind in HPC_KINDS]
        if coupled:
            out.append(Evidence(3, f"service `{svc.name}` runs beside simulation {_names(coupled)} "
                                   f"({svc.coupling or 'semi'} coupling)"))
        elif clients and sims:
            out.append(Evidence(1, f"service `{svc.name}` runs concurrently with the workflow "
                                   f"(used by {_names(c.name for c in clients)})"))
    return out


def _distributed_models(f: Facts) -> list[Evidence]:
    """Phases bound to more than one site (`site = NAME`): components on distributed resources."""
    if len(f.sites) < 2:
        return []
    return [Evidence(3, f"phases run on {len(f.sites)} sites: {_names(f.sites)}")]


def _adaptive_training(f: Facts) -> list[Evidence]:
    """Simulations that produce the data a model is (re)trained on: in a loop (the model
    improves as the simulations go), or feeding a hyper-parameter sweep (a `foreach`
    training phase, HPO/NAS). Weaker evidence: a sweep alone, simulation data trained on
    once, and a loop whose AI output also steers the simulations (there the training
    serves the steering, which the other motifs describe better)."""
    out = []
    for lf in f.loops:
        body = set(lf.body)
        steering = _steers(f, lf)
        for sim in [n for n in lf.body if f.is_hpc(n)]:
            trained = [n for n in f.reachable([sim], within=body) if f.kind.get(n) == "training"]
            if trained:
                out.append(Evidence(1 if steering else 3,
                                    f"simulation `{sim}` in loop `{lf.name}` produces the data that "
                                    f"retrains {_names(trained)}" + (" as the AI steers it" if steering else "")))
    from_sims = f.reachable(f.phases(*HPC_KINDS))
    for ph in f.workflow.phases:
        if ph.kind != "training":
            continue
        fed = ph.name in from_sims
        if ph.foreach is not None:
            out.append(Evidence(2 if fed else 1, f"`{ph.name}` sweeps hyper-parameters (`foreach "
                                                 f"{ph.foreach.var}`)" + (" on simulation data" if fed else "")))
        elif fed and ph.name not in f.in_loop:
            src = f.first_reaching(ph.name, HPC_KINDS, reverse=True)
            out.append(Evidence(1, f"simulation `{src}` produces the training data of `{ph.name}`"))
    return out


RULES: tuple[MotifRule, ...] = (
    MotifRule("dynamic_orchestration",
              "no feedback loop lets an AI phase spawn or stop simulation runs "
              "(`next SIM.VAR = ...` or `stop SIM when ...` in a loop with a model)", _dynamic_orchestration),
    MotifRule("multistage_pipeline",
              "no AI phase follows a simulation, preprocess, analysis or task stage outside a loop",
              _multistage_pipeline),
    MotifRule("inverse_design",
              "no AI phase infers the inputs of a simulation (`next SIM.INPUT = MODEL.OUTPUT` in a loop)",
              _inverse_design),
    MotifRule("digital_replica",
              "no service runs beside a simulation (a `service` that the simulation `uses`)", _digital_replica),
    MotifRule("distributed_models",
              "all its phases run on one site (give phases `site = NAME` to spread them)", _distributed_models),
    MotifRule("adaptive_training",
              "no simulation produces data that trains a model in a loop or a sweep", _adaptive_training),
)
RULE_OF = {r.motif: r for r in RULES}  # tests/test_motifs.py: one rule per motif of the IR


# ---------------------------------------------------------------- report

@dataclass
class MotifMatch:
    """A recognised motif, its total weight and its reasons (strongest first)."""

    motif: str
    score: int
    reasons: list[str]


@dataclass
class MotifReport:
    """Everything inferred about one workflow's execution motif and coupling."""

    workflow: str
    declared: str | None
    motifs: list[MotifMatch]
    coupling_mode: str | None
    characteristics: dict[str, str]

    @property
    def primary(self) -> str | None:
        return self.motifs[0].motif if self.motifs else None

    @property
    def contradiction(self) -> str | None:
        """Why the declared motif does not fit the graph, or None when it does (or none is declared)."""
        if self.declared is None or any(m.motif == self.declared for m in self.motifs):
            return None
        return RULE_OF[self.declared].absent

    def to_json(self) -> dict:
        return {
            "workflow": self.workflow,
            "declared": self.declared,
            "motifs": [{"motif": m.motif, "score": m.score, "reasons": m.reasons} for m in self.motifs],
            "coupling_mode": self.coupling_mode,
            "characteristics": dict(self.characteristics),
        }


def infer_motifs(comp: Compilation, wf: ir.Workflow, graph: WorkflowGraph | None = None) -> MotifReport:
    """Runs every rule over the workflow's graph and characterises its coupling."""
    graph = graph if graph is not None else graph_of(comp, wf)
    f = collect_facts(comp, wf, graph)
    matches = []
    for rule in RULES:
        evidence = sorted(rule.find(f), key=lambda e: -e.weight)
        if evidence:
            reasons = list(dict.fromkeys(e.reason for e in evidence))[:MAX_REASONS]
            matches.append(MotifMatch(rule.motif, sum(e.weight for e in evidence), reasons))
    matches.sort(key=lambda m: (-m.score, ir.MOTIFS.index(m.motif)))
    chars = characteristics(f)
    return MotifReport(wf.name, wf.motif, matches, coupling_mode(f, chars), chars)


def _ai_steers_hpc(f: Facts) -> bool:
    for lf in f.loops:
        hpc_body = any(f.is_hpc(n) for n in lf.body)
        if hpc_body and any(f.is_ai(n) for n in lf.reads):
            return True
        if any(f.is_hpc(p) and any(f.is_ai(x) for x in prod) for p, _, prod in lf.spawns + lf.carries):
            return True
        if any(f.is_hpc(p) and any(f.is_ai(x) for x in reads) for p, reads in lf.stops):
            return True
    return any(e.via == "when" and f.is_ai(e.producer) and f.is_hpc(e.consumer) for e in f.graph.edges)


def _hpc_steers_ai(f: Facts) -> bool:
    for lf in f.loops:
        if any(f.is_ai(n) for n in lf.body) and any(f.is_hpc(n) for n in lf.reads):
            return True
        if any(f.is_ai(p) and any(f.is_hpc(x) for x in reads) for p, reads in lf.stops):
            return True
    return any(e.via == "when" and f.is_hpc(e.producer) and f.is_ai(e.consumer) for e in f.graph.edges)


def characteristics(f: Facts) -> dict[str, str]:
    """Data-flow and control-flow direction, dynamism, concurrency, federation, coupling."""
    ai, hpc = f.phases(*AI_KINDS), f.phases(*HPC_KINDS)
    service_links = [(svc.name, c.name) for svc, clients in f.services for c in clients if c.kind in HPC_KINDS]
    to_ai = bool(f.reachable(hpc) & set(ai)) or bool(service_links)
    carried = {(p, t) for lf in f.loops for t, _, prod in lf.spawns + lf.carries for p in prod}
    to_hpc = bool(f.reachable(ai) & set(hpc)) or bool(service_links) or \
        any(f.is_ai(p) and f.is_hpc(t) for p, t in carried)
    a2h, h2a = _ai_steers_hpc(f), _hpc_steers_ai(f)
    spawn = any(lf.spawns for lf in f.loops)
    stop = any(lf.stops for lf in f.loops)
    couplings = [svc.coupling or "semi" for svc, clients in f.services if any(c.kind in HPC_KINDS for c in clients)]
    if couplings:
        coupling = min(couplings, key=("tight", "semi", "loose").index)
    else:
        coupling = "loose" if ai and hpc and (to_ai or to_hpc) else "none"
    return {
        "data_flow": _direction(to_ai, to_hpc),
        "control_flow": _direction(h2a, a2h),
        "dynamism": "spawn and terminate" if spawn and stop else "spawn" if spawn else
                    "terminate" if stop else "static",
        "concurrency": "real-time" if any(clients for _, clients in f.services) else "post-hoc",
        "federation": "one site" if len(f.sites) < 2 else f"{len(f.sites)} sites ({', '.join(f.sites)})",
        "coupling": coupling,
    }


def _direction(hpc_to_ai: bool, ai_to_hpc: bool) -> str:
    if hpc_to_ai and ai_to_hpc:
        return "both"
    return "HPC->AI" if hpc_to_ai else "AI->HPC" if ai_to_hpc else "none"


def coupling_mode(f: Facts, chars: dict[str, str]) -> str | None:
    """AI-in-HPC when a surrogate is coupled tightly into a simulation; AI-out-HPC when the
    AI steers the simulations from outside (control flows AI->HPC); AI-about-HPC when it
    runs beside them or after them, analysing their output; None without AI and HPC parts."""
    if chars["coupling"] == "tight":
        return "AI-in-HPC"
    if chars["control_flow"] in ("AI->HPC", "both"):
        return "AI-out-HPC"
    if chars["coupling"] in ("semi", "loose") or chars["data_flow"] != "none":
        return "AI-about-HPC" if f.phases(*AI_KINDS) and f.phases(*HPC_KINDS) else None
    return None


def format_motifs(report: MotifReport) -> str:
    """The readable block `aiwfc check --motifs` prints for one workflow."""
    head = f"workflow `{report.workflow}`"
    if report.declared:
        head += f" (declares {report.declared})"
    lines = [head + ":"]
    if report.motifs:
        lines.append("  motifs:")
        for i, m in enumerate(report.motifs, 1):
            lines.append(f"    {i}. {m.motif} (score {m.score})")
            lines += [f"       - {r}" for r in m.reasons]
    else:
        lines.append("  motifs: none recognised")
    if report.contradiction:
        lines.append(f"  declared motif {report.declared} is not supported: {report.contradiction}")
    c = report.characteristics
    lines.append(f"  coupling mode: {report.coupling_mode or 'none'}")
    lines.append(f"  data flow: {c['data_flow']}; control flow: {c['control_flow']}; dynamism: {c['dynamism']}")
    lines.append(f"  concurrency: {c['concurrency']}; federation: {c['federation']}; coupling: {c['coupling']}")
    return "\n".join(lines) + "\n"
