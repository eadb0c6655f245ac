"""Generated workflows, as aiwf TEXT, so they go through the real front end.

`generate(kind, n, seed=0) -> str` returns the source of one workflow (it imports
`std/sites/generic-slurm`, so it is planned for that site). Kinds:

* `sweep`      — an n-item parameter sweep (`foreach i in range(n)`, 30 s items) and a
                 gather that summarises it: the job-array and clustering case.
* `pipeline`   — an n-stage multistage pipeline: 16 samples flow element-wise through n
                 stages, every tenth an AI filter on a GPU, the others CPU simulation
                 stages, after a preprocess that reads a 50 GiB dataset and writes the
                 sample table the first stage reads: the fusion case.
* `smallfiles` — a training set of n small files (64 KiB each, read many times) read by
                 a preprocess, a GPU training and an evaluation: the aggregation case.
* `hpo`        — a hyper-parameter search: n GPU trials per round reading a read-many
                 dataset, a selection, a feedback loop that proposes the next trials,
                 and a final retraining: the loop and staging case.
* `layered`    — n phases in about sqrt(n) layers with random links to the previous
                 layer, a mix of scatters, gathers, CPU and GPU phases: the size case
                 (planning time for 10,000 phases).
* `random`     — a small random workflow of n phases (seeded): scatters over ranges,
                 run-time lists, dataset files, element-wise chains, gathers, joins,
                 datasets read whole, an optional feedback loop with loop-carried
                 scatters and stop rules, an optional service: the semantics tests.

Every kind yields a workflow without errors (warnings are allowed: generated
workflows are not always good practice, which is the point for the optimiser).
"""

from __future__ import annotations

import math
import random

KINDS = ("sweep", "pipeline", "smallfiles", "hpo", "layered", "random")

HEADER = 'aiwf 0.1\nimport "std/sites/generic-slurm"\nimport "std/images/python"\nimport "std/images/cuda"\n\n'


def generate(kind: str, n: int, seed: int = 0) -> str:
    """The source text of a generated workflow of `kind` and size `n` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind `{kind}`; kinds: {', '.join(KINDS)}")
    if n < 1:
        raise ValueError("n must be at least 1")
    return {"sweep": _sweep, "pipeline": _pipeline, "smallfiles": _smallfiles, "hpo": _hpo,
            "layered": _layered, "random": _random}[kind](n, seed)


def _sweep(n: int, seed: int) -> str:
    return HEADER + f"""workflow sweep_{n} {{
  param n_items: int = {n}
  resource cpu_task {{ cores = 1  memory = 2GiB }}
  resource cpu_wide {{ cores = 16  memory = 64GiB }}
  simulation run {{
    foreach i in range(n_items)
    image = python_numpy  resources = cpu_task  runtime ~ 30s
    out result: file = "result_${{index}}.json"
    run "python3 ${{project}}/scripts/run.py --index ${{i}} --out ${{result}}"
  }}
  analysis collect {{
    image = python_numpy  resources = cpu_wide  runtime ~ 20m
    in results: list<file> = run.result
    out summary: file = "summary.csv"
    run "python3 ${{project}}/scripts/collect.py --out ${{summary}} ${{results}}"
  }}
}}
"""


def _pipeline(n: int, seed: int) -> str:
    lines = [HEADER + f"workflow pipeline_{n} {{", "  motif = multistage_pipeline",
             "  param n_samples: int = 16",
             "  resource cpu_task { cores = 4  memory = 8GiB }",
             "  resource gpu_task { cores = 8  memory = 32GiB  gpus = 1 }",
             '  dataset raw { path = "data/raw"  tier = shared  size = 50GiB  files = 64  access = sequential }',
             "  preprocess split {",
             "    image = python_numpy  resources = cpu_task  runtime ~ 5m",
             '    out table: file = "samples.csv"',
             '    run "python3 ${project}/scripts/split.py --raw ${raw} --n ${n_samples} --out ${table}"',
             "  }"]
    for i in range(1, n + 1):
        gpu = i % 10 == 0
        kind, res = ("inference", "gpu_task") if gpu else ("simulation", "cpu_task")
        source = "range(n_samples)" if i == 1 else f"s{i - 1}.data"
        lines += [f"  {kind} s{i} {{",
                  f"    foreach x in {source}"]
        if i == 1:
            lines.append("    in table: file = split.table")
        lines += [
                  f"    image = {'cuda_numpy' if gpu else 'python_numpy'}  resources = {res}"
                  f"  runtime ~ {'1m' if gpu else '2m'}",
                  '    out data: file = "data_${index}.npz"',
                  f'    run "python3 ${{project}}/scripts/stage.py --stage {i} --in ${{x}} --out ${{data}}'
                  + (' --table ${table}' if i == 1 else '') + '"',
                  "  }"]
    lines += ["  analysis report {",
              "    image = python_numpy  resources = cpu_task  runtime ~ 5m",
              f"    in results: list<file> = s{n}.data",
              '    out summary: file = "summary.csv"',
              '    run "python3 ${project}/scripts/report.py --out ${summary} ${results}"',
              "  }", "}", ""]
    return "\n".join(lines)


def _smallfiles(n: int, seed: int) -> str:
    size = n * 64  # KiB
    return HEADER + f"""workflow smallfiles_{n} {{
  param epochs: int = 10
  resource cpu_task {{ cores = 8  memory = 32GiB }}
  resource gpu_task {{ cores = 8  memory = 64GiB  gpus = 1 }}
  dataset frames {{ path = "data/frames"  tier = shared  files = {n}  size = {size}KiB  access = read_many }}
  preprocess scan {{
    image = python_numpy  resources = cpu_task  runtime ~ 10m
    out catalogue: file = "catalogue.json"
    run "python3 ${{project}}/scripts/scan.py --frames ${{frames}} --out ${{catalogue}}"
  }}
  training fit {{
    image = cuda_numpy  resources = gpu_task  runtime ~ 2h
    in catalogue: file = scan.catalogue
    out model: file = "model.pt"
    out metrics: metrics {{ loss: float }}
    track = [epochs, metrics]
    run "python3 ${{project}}/scripts/fit.py --frames ${{frames}} --epochs ${{epochs}} --index ${{catalogue}} --out ${{model}} --metrics ${{metrics}}"
  }}
  inference evaluate {{
    image = cuda_numpy  resources = gpu_task  runtime ~ 20m
    in model: file = fit.model
    out accuracy: float
    run "python3 ${{project}}/scripts/evaluate.py --frames ${{frames}} --model ${{model}} --out ${{accuracy}}"
  }}
}}
"""


def _hpo(n: int, seed: int) -> str:
    return HEADER + f"""workflow hpo_{n} {{
  motif = adaptive_training
  param n_trials: int = {n}
  param target: float = 0.05
  param rounds: int = 4
  resource cpu_task {{ cores = 2  memory = 4GiB }}
  resource gpu_task {{ cores = 8  memory = 64GiB  gpus = 1 }}
  dataset train {{ path = "data/train"  tier = shared  size = 20GiB  files = 200  format = "npz"  access = read_many }}
  training trial {{
    foreach config in range(n_trials)
    image = cuda_numpy  resources = gpu_task  runtime ~ 30m
    out model: file = "model_${{index}}.pt"
    out metrics: metrics {{ loss: float }}
    track = [n_trials, metrics, model]
    run "python3 ${{project}}/scripts/trial.py --data ${{train}} --config ${{config}} --out ${{model}} --metrics ${{metrics}}"
  }}
  analysis select {{
    image = python_numpy  resources = cpu_task  runtime ~ 1m
    in losses: list<float> = trial.metrics.loss
    out best_loss: float
    out next_configs: list<int>
    run "python3 ${{project}}/scripts/select.py --best ${{best_loss}} --next ${{next_configs}} ${{losses}}"
  }}
  feedback search {{
    body = [trial, select]
    until = select.best_loss < target
    max_iterations = rounds
    next trial.config = select.next_configs
  }}
  training retrain {{
    image = cuda_numpy  resources = gpu_task  runtime ~ 2h
    in best: float = select.best_loss
    out model: file = "final.pt"
    out metrics: metrics {{ loss: float }}
    track = [target, metrics]
    run "python3 ${{project}}/scripts/retrain.py --data ${{train}} --best ${{best}} --out ${{model}} --metrics ${{metrics}}"
  }}
}}
"""


def _layered(n: int, seed: int) -> str:
    rng = random.Random(seed)
    width = max(1, int(math.sqrt(n)))
    lines = [HEADER + f"workflow layered_{n} {{",
             "  resource cpu_task { cores = 1  memory = 2GiB }",
             "  resource gpu_task { cores = 8  memory = 32GiB  gpus = 1 }",
             '  dataset ref { path = "data/ref"  tier = shared  size = 2GiB  files = 20  access = read_many }']
    scatter: dict[str, bool] = {}
    prev: list[str] = []
    i = 0
    while i < n:
        layer = []
        for _ in range(min(width, n - i)):
            name = f"p{i}"
            i += 1
            parents = rng.sample(prev, min(len(prev), rng.choice((1, 1, 2)))) if prev else []
            is_scatter = rng.random() < 0.2
            gpu = rng.random() < 0.1
            body = [f"  {'training' if gpu else 'task'} {name} {{"]
            elem = [p for p in parents if scatter[p]]
            if is_scatter:
                src = f"{elem[0]}.out" if elem and rng.random() < 0.5 else f"range({rng.randint(2, 50)})"
                body.append(f"    foreach x in {src}")
            body.append(f"    image = {'cuda_numpy' if gpu else 'python_numpy'}  resources = {'gpu_task' if gpu else 'cpu_task'}"
                        f"  runtime ~ {rng.choice(('20s', '1m', '5m', '30m'))}")
            words = []
            for k, p in enumerate(parents):
                if is_scatter and body[1].endswith(f"{p}.out"):
                    continue
                t = "list<file>" if scatter[p] else "file"
                body.append(f"    in i{k}: {t} = {p}.out")
                words.append(f"${{i{k}}}")
            if gpu:
                body.append("    out metrics: metrics { loss: float }")
                body.append("    track = [metrics, out]")
            body.append(f'    out out: file = "out{"_${index}" if is_scatter else ""}.dat"')
            ref = " ${ref}" if rng.random() < 0.05 else ""
            extra = " --m ${metrics}" if gpu else ""
            body.append(f'    run "python3 ${{project}}/s.py --out ${{out}}{extra}{ref} {" ".join(words)}"')
            body.append("  }")
            lines += body
            scatter[name] = is_scatter
            layer.append(name)
        prev = layer
    lines += ["}", ""]
    return "\n".join(lines)


def _random(n: int, seed: int) -> str:
    return _RandomWorkflow(n, seed).text()


class _RandomWorkflow:
    """A seeded random workflow that passes the front end (see `generate`)."""

    RUNTIMES = ("10s", "30s", "2m", "20m", None)

    def __init__(self, n: int, seed: int):
        self.rng = random.Random(seed)
        self.n = n
        self.seed = seed
        self.phases: list[dict] = []

    def text(self) -> str:
        rng = self.rng
        service = rng.random() < 0.3
        for i in range(self.n):
            self.phases.append(self._phase(i))
        loop = self._loop() if self.n >= 2 and rng.random() < 0.6 else None
        lines = [HEADER + f"workflow random_{self.seed}_{self.n} {{",
                 "  resource cpu { cores = 1  memory = 1GiB }",
                 "  resource cpu4 { cores = 4  memory = 8GiB }",
                 "  resource gpu { cores = 4  memory = 16GiB  gpus = 1 }",
                 '  dataset big { path = "data/big"  size = 4GiB  files = 8  access = read_many }',
                 '  dataset tiny { path = "data/tiny"  size = 30MiB  files = 3000 }',
                 '  dataset few { path = "data/few"  size = 3MiB  files = 3 }']
        if service:
            lines += ['  service svc { coupling = semi  resources = cpu  run "python3 ${project}/serve.py" }']
            for ph in rng.sample(self.phases, min(2, len(self.phases))):
                ph["uses"] = True
        for ph in self.phases:
            lines += self._render(ph)
        if loop is not None:
            lines += loop
        lines += ["}", ""]
        return "\n".join(lines)

    def _phase(self, i: int) -> dict:
        rng = self.rng
        earlier = self.phases
        scatters = [p for p in earlier if p["scatter"]]
        singles = [p for p in earlier if not p["scatter"]]
        options = ["range", "single"]
        if scatters:
            options += ["elem", "elem", "gather"]
        if singles:
            options += ["dyn", "single"]
        options.append("files")
        kind = rng.choice(options)
        ph = {"name": f"p{i}", "index": i, "kind": kind, "scatter": kind in ("range", "elem", "dyn", "files"),
              "inputs": [], "source": None, "runtime": rng.choice(self.RUNTIMES),
              "res": rng.choice(("cpu", "cpu", "cpu4", "gpu")), "batch": None, "uses": False,
              "reads": rng.random() < 0.25}
        if kind == "range":
            ph["source"] = f"range({rng.randint(1, 5)})"
            if rng.random() < 0.2:
                ph["batch"] = 2
        elif kind == "elem":
            ph["source"] = f"{rng.choice(scatters)['name']}.out"
        elif kind == "dyn":
            ph["source"] = f"{rng.choice(singles)['name']}.sel"
        elif kind == "files":
            ph["source"] = "few"
        elif kind == "gather":
            ph["inputs"].append(("xs", "list<file>", f"{rng.choice(scatters)['name']}.out"))
        if earlier and rng.random() < 0.6:
            other = rng.choice(earlier)
            if other["scatter"]:
                ph["inputs"].append(("ys", "list<float>", f"{other['name']}.score"))
            else:
                ph["inputs"].append(("y", "file", f"{other['name']}.out"))
        return ph

    def _render(self, ph: dict) -> list[str]:
        lines = [f"  task {ph['name']} {{"]
        if ph["source"]:
            lines.append(f"    foreach v in {ph['source']}")
            if ph["batch"]:
                lines.append(f"    batch = {ph['batch']}")
        image = "cuda_numpy" if ph["res"] == "gpu" else "python_numpy"
        attrs = f"    image = {image}  resources = {ph['res']}"
        if ph["runtime"]:
            attrs += f"  runtime ~ {ph['runtime']}"
        if ph["uses"]:
            attrs += "  uses = [svc]"
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
        if ph["uses"]:
            words.append("--server ${svc.address}")
        lines.append(f'    run "python3 ${{project}}/step.py --out ${{out}} --score ${{score}} {" ".join(words)}"')
        lines.append("  }")
        return lines

    def _loop(self) -> list[str] | None:
        rng = self.rng
        n = len(self.phases)
        a = rng.randrange(0, n - 1)
        b = rng.randrange(a + 1, n)
        body = self.phases[a:b + 1]
        singles = [p for p in body if not p["scatter"]]
        if not singles:
            return None
        cond = rng.choice(singles)
        lines = ["  feedback loop {",
                 f"    body = [{', '.join(p['name'] for p in body)}]",
                 f"    until = {cond['name']}.score >= 0.5",
                 f"    max_iterations = {rng.randint(2, 3)}"]
        carried = [p for p in body if p["kind"] in ("range", "dyn")]
        if carried and rng.random() < 0.6:
            target = rng.choice(carried)
            lines.append(f"    next {target['name']}.v = {rng.choice(singles)['name']}.sel")
        stoppable = [p for p in body if p["scatter"]]
        if stoppable and rng.random() < 0.4:
            s = rng.choice(stoppable)
            lines.append(f"    stop {s['name']} when {s['name']}.score < 0.1")
        lines.append("  }")
        return lines
