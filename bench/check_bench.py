"""`aiwfc check` on generated workflows of 100, 1,000 and 10,000 phases: time and memory.

    python bench/check_bench.py [--sizes 100,1000,10000] [--kind layered] [--repeat 3]

For each size it writes the workflow (bench/gen.py, kind `layered` by default: phases in
about sqrt(n) layers with random links, scatters, CPU and GPU phases) to a temporary
directory and measures:

* in-process: `analyse()` + sorting the diagnostics, i.e. what `aiwfc check` does before
  printing, best of `--repeat` runs in one warm interpreter (imports and grammar loaded),
  wall and CPU time (CPU time is the fairer figure on a machine shared with other work);
* peak memory of one in-process run (tracemalloc: Python allocations only);
* subprocess: `python -m aiwfc check FILE` wall time (interpreter start, imports and
  output included) and its peak RSS (resource.getrusage of the child);
* the ratio of each size's in-process time to the previous size's, per 10x phases:
  10.0 means time grows linearly;
* before and after the table, the time of a fixed pure-Python loop (best of 7): this
  VM's speed varies with its host by up to 1.5x within minutes, and the reference says
  how fast the machine was while the figures were taken.

The issue's target: 10,000 phases checked in under 2 s on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen import generate  # noqa: E402  (bench/ is not a package)

from aiwfc.pipeline import analyse  # noqa: E402


def check_in_process(path: str) -> tuple[float, float, int]:
    """Wall and CPU seconds for one in-process check, and the number of diagnostics."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    comp = analyse(path)
    diags = comp.sink.sorted()
    return time.perf_counter() - t, time.process_time() - c, len(diags)


def peak_memory(path: str) -> int:
    """Peak bytes allocated by Python during one in-process check (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        analyse(path).sink.sorted()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_MEASURE = """import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
print(wall, rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def check_subprocess(path: str) -> tuple[float, int, int]:
    """Wall seconds, exit status and peak RSS (bytes) of `python -m aiwfc check PATH`.

    Started from a small helper process: a child forked from this (large) benchmark
    process would count the parent's pages in its peak RSS."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "aiwfc", "check", path],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def reference_ms() -> float:
    """Best of 7 runs of a fixed pure-Python loop, in milliseconds (a machine-speed gauge)."""
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        sum(i * i for i in range(10**6))
        best = min(best, time.perf_counter() - t)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--kind", default="layered")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-subprocess", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"aiwfc check benchmark: kind={args.kind}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, best of {args.repeat} in-process runs")
    print(f"machine-speed reference (sum of 10**6 squares, best of 7): {reference_ms():.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.aiwf"
        warm.write_text(generate(args.kind, 10))
        analyse(str(warm))  # imports, grammar and check registry loaded once, as in a long-lived process
        header = (f"{'phases':>7} {'lines':>7} {'KiB':>6} {'diags':>6} {'in-proc s':>10} {'cpu s':>6} {'x prev':>7} "
                  f"{'us/phase':>9} {'peak MiB':>9} {'subproc s':>10} {'RSS MiB':>8} {'exit':>4}")
        print(header)
        print("-" * len(header))
        prev = None
        for n in sizes:
            text = generate(args.kind, n)
            path = Path(tmp) / f"{args.kind}_{n}.aiwf"
            path.write_text(text)
            runs = [check_in_process(str(path)) for _ in range(args.repeat)]
            best = min(r[0] for r in runs)
            cpu = min(r[1] for r in runs)
            ndiag = runs[0][2]
            peak = peak_memory(str(path))
            ratio = f"{best / prev[1] * (prev[0] * 10 / n):7.1f}" if prev else f"{'':>7}"
            if args.no_subprocess:
                sub = f"{'-':>10} {'-':>8} {'-':>4}"
            else:
                wall, rc, rss = check_subprocess(str(path))
                sub = f"{wall:10.3f} {rss / 2**20:8.1f} {rc:>4}"
            print(f"{n:>7} {text.count(chr(10)):>7} {len(text) // 1024:>6} {ndiag:>6} {best:10.3f} {cpu:6.3f} {ratio} "
                  f"{best / n * 1e6:9.0f} {peak / 2**20:9.1f} {sub}")
            prev = (n, best)
    print("x prev: in-process time relative to the previous size, scaled to a 10x step (10.0 = linear)")
    print(f"machine-speed reference after the runs: {reference_ms():.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
