"""Seeded random workflows for the semantics tests, as aiwf text (the real front end reads them).

Complements bench/gen.py's `random` kind with the shapes each pass looks for: chains of
element-wise scatters on one resource class (fusion), short runtimes (clustering), a
`batch`, gathers and joins, run-time lists, per-file scatters over a dataset, a
read-many dataset (staging) and a many-small-file dataset (aggregation), CPU and GPU
classes mixed, and up to two feedback loops with loop-carried scatters and stop rules.
Every workflow it returns checks without errors (the tests assert it).
"""

from __future__ import annotations

import random

HEADER = 'aiwf 0.1\nimport "std/sites/generic-slurm"\nimport "std/images/python"\n\n'
RESOURCES = ("cpu", "cpu", "cpu4", "gpu")
RUNTIMES = ("5s", "30s", "2m", "1h", None)


def random_workflow(seed: int, n: int = 8) -> str:
    """The text of workflow `rand_<seed>` with `n` phases (see the module docstring)."""
    rng = random.Random(seed)
    phases: list[dict] = []
    for i in range(n):
        phases.append(_phase(rng, i, phases))
    lines = [HEADER + f"workflow rand_{seed} {{",
             "  resource cpu { cores = 1  memory = 1GiB }",
             "  resource cpu4 { cores = 4  memory = 8GiB }",
             "  resource gpu { cores = 4  memory = 16GiB  gpus = 1 }",
             '  dataset big { path = "data/big"  size = 4GiB  files = 8  access = read_many }',
             '  dataset tiny { path = "data/tiny"  size = 30MiB  files = 3000 }',
             '  dataset few { path = "data/few"  size = 3MiB  files = 3 }']
    for ph in phases:
        lines += _render(ph)
    lines += _loops(rng, phases)
    lines += ["}", ""]
    return "\n".join(lines)


def _phase(rng: random.Random, i: int, earlier: list[dict]) -> dict:
    scatters = [p for p in earlier if p["scatter"]]
    singles = [p for p in earlier if not p["scatter"]]
    prev = earlier[-1] if earlier else None
    options = ["range", "single"]
    if scatters:
        options += ["elem", "gather"]
    if prev is not None and prev["scatter"]:
        options += ["elem_prev", "elem_prev"]      # chains for fusion
    if singles:
        options += ["dyn", "chain"]
    options.append("files")
    kind = rng.choice(options)
    res = prev["res"] if prev is not None and rng.random() < 0.6 else rng.choice(RESOURCES)
    ph = {"name": f"p{i}", "kind": kind, "scatter": kind in ("range", "elem", "elem_prev", "dyn", "files"),
          "inputs": [], "source": None, "runtime": rng.choice(RUNTIMES), "res": res, "batch": None,
          "reads": rng.random() < 0.2}
    if kind == "range":
        ph["source"] = f"range({rng.randint(1, 7)})"
        if rng.random() < 0.15:
            ph["batch"] = 2
    elif kind == "elem":
        ph["source"] = f"{rng.choice(scatters)['name']}.out"
    elif kind == "elem_prev":
        ph["source"] = f"{prev['name']}.out"
    elif kind == "dyn":
        ph["source"] = f"{rng.choice(singles)['name']}.sel"
    elif kind == "files":
        ph["source"] = "few"
    elif kind == "gather":
        ph["inputs"].append(("xs", "list<file>", f"{rng.choice(scatters)['name']}.out"))
    elif kind == "chain":
        ph["inputs"].append(("x", "file", f"{rng.choice(singles)['name']}.out"))
    if earlier and rng.random() < 0.4:
        other = rng.choice(earlier)
        if other["scatter"]:
            ph["inputs"].append(("ys", "list<float>", f"{other['name']}.score"))
        else:
            ph["inputs"].append(("y", "float", f"{other['name']}.score"))
    return ph


def _render(ph: dict) -> list[str]:
    lines = [f"  task {ph['name']} {{"]
    if ph["source"]:
        lines.append(f"    foreach v in {ph['source']}")
        if ph["batch"]:
            lines.append(f"    batch = {ph['batch']}")
    attrs = f"    image = python_numpy  resources = {ph['res']}"
    if ph["runtime"]:
        attrs += f"  runtime ~ {ph['runtime']}"
    lines.append(attrs)
    words = []
    for name, t, value in ph["inputs"]:
        lines.append(f"    in {name}: {t} = {value}")
        words.append(f"${{{name}}}")
    suffix = "_${index}" if ph["scatter"] else ""
    lines.append(f'    out out: file = "out{suffix}.dat"')
    lines.append("    out score: float")
    if not ph["scatter"]:
        lines.append("    out sel: list<int>")
        words.append("${sel}")
    if ph["source"]:
        words.append("${v}")
    if ph["reads"]:
        words.append("${big} ${tiny}")
    lines.append(f'    run "python3 ${{project}}/step.py --out ${{out}} --score ${{score}} {" ".join(words)}"')
    lines.append("  }")
    return lines


def _loops(rng: random.Random, phases: list[dict]) -> list[str]:
    """Up to two disjoint loops over contiguous runs of phases, each with a single phase
    whose score decides the condition."""
    out: list[str] = []
    start = 0
    for k in range(rng.choice((0, 1, 1, 2))):
        if start >= len(phases) - 1:
            break
        a = rng.randrange(start, len(phases) - 1)
        b = rng.randrange(a, min(len(phases), a + 4))
        body = phases[a:b + 1]
        start = b + 1
        singles = [p for p in body if not p["scatter"]]
        if not singles:
            continue
        cond = rng.choice(singles)
        out += [f"  feedback loop{k} {{",
                f"    body = [{', '.join(p['name'] for p in body)}]",
                f"    until = {cond['name']}.score >= 0.5",
                f"    max_iterations = {rng.randint(2, 3)}"]
        carried = [p for p in body if p["kind"] in ("range", "dyn")]
        if carried and rng.random() < 0.6:
            out.append(f"    next {rng.choice(carried)['name']}.v = {rng.choice(singles)['name']}.sel")
        stoppable = [p for p in body if p["scatter"]]
        if stoppable and rng.random() < 0.4:
            s = rng.choice(stoppable)
            out.append(f"    stop {s['name']} when {s['name']}.score < 0.1")
        out.append("  }")
    return out
