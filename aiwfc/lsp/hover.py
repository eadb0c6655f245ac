"""Hover: what a name is, with its resolved details, or the page of a language word.

Details come from the IR of the last analysis (sizes after unit parsing, param
defaults after overrides) and from the bound site: a resource class says which
partition it lands on, by the same rule as the planner's partition-choice pass (the
smallest partition that fits; see plan/passes/partition_choice.py).
"""

from __future__ import annotations

import re

from aiwfc.checks.site_limits import dimensions
from aiwfc.ir import models as ir
from aiwfc.ir.units import format_duration, format_size
from aiwfc.lsp.index import Index, Symbol
from aiwfc.lsp.keywords import BUILTINS, word_doc
from aiwfc.resolve.load import Compilation
from aiwfc.semantic import Scope, Typer
from aiwfc.syntax import ast

_INF = float("inf")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def ir_node(comp: Compilation, sym: Symbol):
    """The IR node a symbol defines (None when the resolver did not build it)."""
    prog = comp.program
    if prog is None:
        return None
    wf = next((w for w in prog.workflows if w.name == sym.owner[0]), None) if sym.owner else None
    if sym.kind == "workflow":
        candidates = prog.workflows
    elif sym.kind in ("resource", "image", "dataset"):
        attr = sym.kind + "s"
        candidates = list(getattr(wf, attr)) if wf else list(getattr(prog, attr))
    elif sym.kind == "site":
        candidates = prog.sites
    elif sym.kind == "partition":
        site = next((s for s in prog.sites if s.name == sym.owner[0]), None)
        candidates = site.partitions if site else []
    elif sym.kind == "param":
        candidates = wf.params if wf else []
    elif sym.kind == "phase":
        candidates = wf.phases if wf else []
    elif sym.kind == "feedback":
        candidates = wf.feedbacks if wf else []
    elif sym.kind in ("port", "foreach"):
        ph = wf.phase(sym.owner[1]) if wf else None
        if ph is None:
            return None
        if sym.kind == "foreach":
            return ph.foreach
        candidates = ph.inputs if sym.detail == "in" else ph.outputs
    else:
        return None
    return next((n for n in candidates if n.name == sym.name and n.where("name") == sym.span), None)


def partition_for(res: ir.ResourceClass, site: ir.SiteProfile) -> tuple[ir.Partition | None, str]:
    """The partition of `site` a task of `res` lands on, and a sentence saying so."""
    if not site.partitions:
        return None, f"site `{site.name}` declares no partitions: the scheduler's default applies"
    dims = dimensions(res)

    def fits(p: ir.Partition) -> bool:
        model_ok = not (res.gpus > 0 and res.gpu_model) or (p.gpu_model or "").lower() == res.gpu_model.lower()
        return model_ok and all(d.fits(p) for d in dims if site.scheduler != "local" or d.local)

    fitting = [p for p in site.partitions if fits(p)]
    if not fitting:
        return None, f"no partition of site `{site.name}` fits it"
    best = min(fitting, key=lambda p: (p.gpus, p.cores, p.memory or _INF, p.max_walltime or _INF,
                                       p.nodes, site.partitions.index(p)))
    return best, f"runs on partition `{best.name}` of site `{site.name}` ({partition_text(best)})"


def partition_text(p: ir.Partition) -> str:
    parts = [f"{p.nodes} node{'s' if p.nodes != 1 else ''}", f"{p.cores} cores"]
    if p.memory:
        parts.append(format_size(p.memory))
    if p.gpus:
        parts.append(f"{p.gpus} GPU{'s' if p.gpus != 1 else ''}" + (f" ({p.gpu_model})" if p.gpu_model else ""))
    if p.max_walltime:
        parts.append(f"max {format_duration(p.max_walltime)}")
    return ", ".join(parts)


def resource_text(r: ir.ResourceClass) -> str:
    parts = []
    if r.nodes != 1:
        parts.append(f"{r.nodes} nodes")
    if r.tasks_per_node != 1:
        parts.append(f"{r.tasks_per_node} tasks per node")
    parts.append(f"{r.cores} core{'s' if r.cores != 1 else ''} per task")
    if r.memory is not None:
        parts.append(f"{format_size(r.memory)} memory per node")
    if r.gpus:
        parts.append(f"{r.gpus} GPU{'s' if r.gpus != 1 else ''}" + (f" ({r.gpu_model})" if r.gpu_model else ""))
    if r.walltime is not None:
        parts.append(f"walltime {format_duration(r.walltime)}")
    if r.launcher != "none":
        parts.append(f"launcher {r.launcher}")
    return ", ".join(parts)


def describe(comp: Compilation, sym: Symbol) -> str:
    """The hover text of a name (markdown)."""
    node = ir_node(comp, sym)
    where = f" in workflow `{sym.owner[0]}`" if sym.owner and sym.kind != "partition" else ""
    if sym.kind == "port":
        head = f"**{sym.detail} {sym.name}** of {_phase_label(comp, sym)}"
    elif sym.kind == "phase":
        head = f"**{sym.detail} {sym.name}**{where}"
    else:
        head = f"**{sym.kind} {sym.name}**{where}"
    lines = [head]
    if node is None:
        return "\n\n".join(lines)
    if isinstance(node, ir.ResourceClass):
        lines.append(resource_text(node))
        if comp.site is not None:
            lines.append(partition_for(node, comp.site)[1])
        else:
            lines.append("no site bound: import a site profile or pass `--site`")
    elif isinstance(node, ir.Param):
        default = f" = {ast.unparse(node.default)}" if node.default is not None else ""
        lines.append(f"`{node.name}: {node.type}{default}`")
    elif isinstance(node, ir.Port):
        lines.append(f"type `{node.type}`" + (f", = `{ast.unparse(node.value)}`" if node.value is not None else ""))
        ph = _phase(comp, sym)
        if ph is not None and ph.foreach is not None and sym.detail == "out":
            lines.append(f"seen from other phases as `list<{node.type}>` (one item per task of the foreach)")
    elif isinstance(node, ir.Foreach):
        ph = _phase(comp, sym)
        item = _foreach_type(comp, sym, ph)
        lines.append(f"`foreach {node.var} in {ast.unparse(node.source)}`" + (f": items of type `{item}`" if item else ""))
    elif isinstance(node, ir.Phase):
        lines += _phase_lines(comp, sym, node)
    elif isinstance(node, ir.Dataset):
        facts = [f"path `{node.path}`", f"tier {node.tier}"]
        facts += [f"size {format_size(node.size)}"] if node.size else []
        facts += [f"{node.files} files"] if node.files is not None else []
        facts += [f"access {node.access}"] if node.access else []
        facts += [f"staged to {node.stage}"] if node.stage else []
        lines.append(", ".join(facts))
    elif isinstance(node, ir.Image):
        facts = [f"from `{node.base}`"]
        for attr in ("pip", "apt", "conda"):
            if getattr(node, attr):
                facts.append(f"{attr}: " + ", ".join(f"`{x}`" for x in getattr(node, attr)))
        facts += [f"CUDA {node.cuda}"] if node.cuda else []
        lines.append("; ".join(facts))
    elif isinstance(node, ir.Feedback):
        cond = node.until or node.while_
        word = "until" if node.until is not None else "while"
        lines.append(f"body [{', '.join(node.body)}]" + (f", {word} `{ast.unparse(cond)}`" if cond is not None else "")
                     + (f", at most `{ast.unparse(node.max_iterations)}` iterations"
                        if node.max_iterations is not None else ""))
    elif isinstance(node, ir.SiteProfile):
        lines.append(f"scheduler {node.scheduler}; partitions: "
                     + (", ".join(f"`{p.name}`" + (" (default)" if p.default else "") for p in node.partitions)
                        or "none"))
    elif isinstance(node, ir.Partition):
        lines.append(partition_text(node))
    elif isinstance(node, ir.Workflow):
        facts = [f"motif {node.motif}"] if node.motif else []
        facts.append(f"{len(node.phases)} phases")
        lines.append(", ".join(facts))
    doc = getattr(node, "doc", None)
    if doc:
        lines.append(doc)
    return "\n\n".join(lines)


def _phase(comp: Compilation, sym: Symbol) -> ir.Phase | None:
    wf = next((w for w in comp.workflows if w.name == sym.owner[0]), None)
    return wf.phase(sym.owner[1]) if wf is not None and len(sym.owner) > 1 else None


def _phase_label(comp: Compilation, sym: Symbol) -> str:
    ph = _phase(comp, sym)
    return f"{ph.kind} `{ph.name}`" if ph is not None else f"phase `{sym.owner[-1]}`"


def _foreach_type(comp: Compilation, sym: Symbol, ph: ir.Phase | None) -> str | None:
    wf = next((w for w in comp.workflows if w.name == sym.owner[0]), None)
    if wf is None or ph is None or ph.foreach is None:
        return None
    t = Typer(Scope(comp.program, wf)).foreach_item_type(ph)
    return None if t.name in ("any", "error") else str(t)


def _phase_lines(comp: Compilation, sym: Symbol, ph: ir.Phase) -> list[str]:
    out = []
    facts = []
    if ph.foreach is not None:
        facts.append(f"foreach {ph.foreach.var} in `{ast.unparse(ph.foreach.source)}`")
    if ph.image:
        facts.append(f"image `{ph.image}`")
    if ph.resources:
        facts.append(f"resources `{ph.resources}`")
    if ph.runtime is not None:
        facts.append(f"runtime ~{format_duration(ph.runtime)}")
    if facts:
        out.append(", ".join(facts))
    ports = [f"in {p.name}: {p.type}" for p in ph.inputs] + [f"out {p.name}: {p.type}" for p in ph.outputs]
    if ports:
        out.append("ports: " + ", ".join(f"`{p}`" for p in ports))
    wf = next((w for w in comp.workflows if w.name == sym.owner[0]), None)
    if wf is not None and ph.resources and comp.site is not None:
        res = Scope(comp.program, wf).resource_of(ph)
        if res is not None:
            out.append(partition_for(res, comp.site)[1])
    return out


def hover_text(index: Index | None, comp: Compilation | None, text: str, file: str, line: int, column: int,
               module: ast.Module | None) -> tuple[str, tuple[int, int, int]] | None:
    """Markdown and the 1-based (line, start column, end column) it is about, or None."""
    if index is not None and comp is not None:
        hit = index.at(file, line, column)
        if hit is not None:
            span, sym = hit
            return describe(comp, sym), (span.line, span.column, span.end_column)
    line_text = text.split("\n")[line - 1] if 0 < line <= text.count("\n") + 1 else ""
    for m in _WORD.finditer(line_text):
        if m.start() + 1 <= column <= m.end() + 1:
            word = m.group()
            doc = BUILTINS.get(word) if _in_interpolation(line_text, m.start()) else None
            doc = doc or word_doc(word, _block_at(module, line, column) if _is_key(line_text, m) else None)
            return (doc, (line, m.start() + 1, m.end() + 1)) if doc else None
    return None


def _is_key(line_text: str, m: re.Match) -> bool:
    return re.match(r"\s*[=~]", line_text[m.end():]) is not None


def _in_interpolation(line_text: str, pos: int) -> bool:
    opened = line_text.rfind("${", 0, pos)
    return opened >= 0 and line_text.find("}", opened, pos) < 0


def _block_at(module: ast.Module | None, line: int, column: int) -> str | None:
    """The kind of the innermost block whose body holds the position."""
    if module is None:
        return None
    found = None
    items = list(module.blocks)
    while items:
        b = items.pop()
        if isinstance(b, ast.Block) and (b.span.line, b.span.column) <= (line, column) \
                <= (b.span.end_line, b.span.end_column):
            found = b.kind.text
            items = list(b.items)
    return found
