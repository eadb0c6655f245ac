#!/usr/bin/env python3
"""Overhead of `aiwfc run` (Parsl + the task runtime) against a plain shell loop.

A 200-item scatter plus a gather (201 tasks) is run with `aiwfc run`; then the very same
commands (the expanded `command` of every task.json) run one after the other in a bash
loop, each in a fresh directory. Printed: wall-clock seconds of both, the start-up of
`aiwfc run` (a one-item workflow, the fixed cost: compiling, Parsl's interchange and
workers, shutting down; the median of `--startup-runs` runs, with the CPU seconds its
processes used, which depend less on what else the machine runs, and where the time of
the median run went), and whether `aiwfc run` stays under 2x the loop plus 3 s.

    python bench/run_bench.py [--tasks 200] [--work 200000] [--workers N] [-O 1] [--bundle auto|off|N]
                              [--startup-runs 5] [--startup-only]

The breakdown comes from the milestones `aiwfc run` and the program append to
$AIWF_TIMELINE, Parsl's interchange and worker pool logs, and the task records.

`--work` sets how much each task computes (a Python sum over range(work)): the smaller
it is, the more the per-task cost of the runtime (a python3 start per task) shows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKFLOW = """aiwf 0.1

workflow bench {{
  param n: int = {tasks}
  param work: int = {work}

  task step {{
    foreach i in range(n)
    runtime ~ 1s
    out v: int
    run "python3 -c 'import sys; print(sum(range(int(sys.argv[1]) + int(sys.argv[2]))) % 97)' ${{work}} ${{i}} > ${{v}}"
  }}

  task total {{
    in vs: list<int> = step.v
    out sum: int
    run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${{vs}} > ${{sum}}"
  }}
}}
"""


def aiwfc_run(src: Path, run_dir: Path, extra: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "aiwfc", "run", str(src), "--run-dir", str(run_dir), "--quiet",
                        *extra], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"aiwfc run failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return seconds


# (stage, milestone that ends it): each stage runs from the previous milestone found
STAGES = [
    ("python + aiwfc imports", "aiwfc: run"),
    ("check + plan + compile", "aiwfc: compiled"),
    ("waiting for parsl's import", "driver: main"),
    ("interchange start", "driver: parsl loaded"),
    ("worker pool start + register", "interchange: worker pool registered"),
    ("tasks (2, dispatch included)", "driver: all settled"),
    ("parsl shutdown + exit", "aiwfc: program ended"),
    ("RO-Crate + aiwfc exit", "exit"),
]


def milestones(run_dir: Path, timeline: Path) -> dict[str, float]:
    """Epoch seconds of the start-up milestones (the first of each)."""
    found: dict[str, float] = {}

    def first_line(path: str, label: str, contains: str = "") -> None:
        for line in Path(path).read_text(errors="replace").splitlines():
            if contains in line:
                try:
                    found.setdefault(label, float(line.split()[0]))
                    return
                except (ValueError, IndexError):
                    continue
    if timeline.exists():
        for line in timeline.read_text().splitlines():
            when, label = line.split(" ", 1)
            found.setdefault(label, float(when))
    for log in run_dir.glob(".parsl/*/local/interchange.log"):
        first_line(str(log), "interchange: worker pool registered", "Registered manager")
    for f in run_dir.glob("tasks/*/i*/*/task.json"):
        rec = json.loads(f.read_text())
        if rec.get("start"):
            start = datetime.datetime.fromisoformat(rec["start"].replace("Z", "+00:00")).timestamp()
            found["task: first start"] = min(start, found.get("task: first start", start))
    return found


def measure_startup(one: Path, base: Path, extra: list[str], runs: int) -> tuple[float, float, list[tuple[str, float]]]:
    """Median wall and CPU seconds of `runs` one-task runs, and the stages of the median run."""
    results = []
    for i in range(runs):
        timeline = base / f"timeline-{i}"
        env = dict(os.environ, AIWF_TIMELINE=str(timeline))
        before = os.times()
        t0 = time.time()
        wall = aiwfc_run(one, base / f"run-one-{i}", extra, env)
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        marks = milestones(base / f"run-one-{i}", timeline)
        marks["exit"] = t0 + wall
        stages, last = [], t0
        for name, milestone in STAGES:
            if milestone in marks:
                stages.append((name, marks[milestone] - last))
                last = marks[milestone]
        results.append((wall, cpu, stages))
    results.sort(key=lambda r: r[0])
    median = results[len(results) // 2]
    return median[0], statistics.median(r[1] for r in results), median[2]


def shell_loop(run_dir: Path, work: Path) -> tuple[float, int]:
    """The commands of every task, in order, in a bash loop (one fresh dir per task)."""
    records = sorted((json.loads(f.read_text()) for f in run_dir.glob("tasks/*/i0/*/task.json")),
                     key=lambda r: (r["phase"] != "step", r["index"]))
    script = ["set -e"]
    for r in records:
        d = work / f"{r['phase']}_{r['index']}"
        d.mkdir(parents=True)
        # the gather reads the scatter's outputs from the aiwfc run (same paths as its command says)
        script.append(f"cd {d} && {r['command']}")
    t0 = time.perf_counter()
    # the PATH the tasks had: `aiwfc run` puts its interpreter's directory first (without it,
    # `python3` may be a slow wrapper such as a pyenv shim, and the loop would look worse)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run(["bash", "-c", "\n".join(script)], check=True, env=env)
    return time.perf_counter() - t0, len(records)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--work", type=int, default=200000)
    ap.add_argument("--workers", type=int, default=None, help="aiwfc run --workers (default: all cores)")
    ap.add_argument("-O", dest="level", default="1")
    ap.add_argument("--bundle", default="auto", help="aiwfc run --bundle (auto, off or N)")
    ap.add_argument("--startup-runs", type=int, default=5, help="one-task runs for the start-up median")
    ap.add_argument("--startup-only", action="store_true", help="only the start-up, not the 200-task run")
    args = ap.parse_args()
    extra = ["-O", args.level, "--bundle", args.bundle] + (["--workers", str(args.workers)] if args.workers else [])
    with tempfile.TemporaryDirectory(prefix="aiwf-run-bench-") as tmp:
        base = Path(tmp)
        one = base / "one.aiwf"
        one.write_text(WORKFLOW.format(tasks=1, work=1))
        load = os.getloadavg()[0]
        startup_s, startup_cpu, stages = measure_startup(one, base, extra, max(1, args.startup_runs))
        print(f"machine: {os.cpu_count()} cores, load {load:.1f} before, {os.getloadavg()[0]:.1f} after the "
              f"start-up runs; workers: {args.workers or 'all'}; -O{args.level}; bundle {args.bundle}")
        print(f"aiwfc run start-up (1 task, median of {max(1, args.startup_runs)}): {startup_s:5.2f} s wall, "
              f"{startup_cpu:5.2f} s CPU (user+sys, every process); target 3 s: "
              f"{'meets' if startup_s < 3 else 'misses'} it")
        for name, seconds in stages:
            print(f"  {name:32s} {seconds:6.3f} s")
        if args.startup_only:
            return 0
        startup = startup_s
        src = base / "bench.aiwf"
        src.write_text(WORKFLOW.format(tasks=args.tasks, work=args.work))
        t_run = aiwfc_run(src, base / "run", extra)
        t_cached = aiwfc_run(src, base / "run", extra)
        t_loop, n = min(shell_loop(base / "run", base / f"loop{i}") for i in range(2))  # the better of two
        budget = 2 * t_loop + 3
        print(f"load now {os.getloadavg()[0]:.1f}; work per task: sum(range({args.work}))")
        print(f"aiwfc run, {n} tasks:             {t_run:7.2f} s")
        print(f"aiwfc run again (all cached):      {t_cached:7.2f} s")
        print(f"plain bash loop, same {n} commands: {t_loop:7.2f} s")
        print(f"per-task overhead beyond the loop: {(t_run - startup - t_loop) / n * 1000:7.1f} ms "
              f"(sequential equivalent; the run uses parallel workers)")
        verdict = "meets" if t_run <= budget else "misses"
        print(f"target 2 x loop + 3 s = {budget:.2f} s: aiwfc run {verdict} it ({t_run / t_loop:.2f}x the loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
