"""Compile time of `aiwfc compile --target cwl` against `cwltool --validate` of its output.

For generated workflows (bench/gen.py, kind `layered`: phases in about sqrt(n) layers
with scatters, gathers, CPU and GPU phases) of 100 and 1,000 phases, prints the wall
time of both commands, each a fresh process as a user would run it, and their ratio.
cwltool may exceed Python's default recursion limit on large workflows (see
/work/shared/notes/ENGINES.md); it is run with a raised limit, and a failure is printed.

    python bench/cwl_bench.py [--sizes 100 1000] [--kind layered] [--repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen import generate  # noqa: E402

CWLTOOL = ("import sys; sys.setrecursionlimit(100000); "
           "from cwltool.main import run; sys.argv[0] = 'cwltool'; sys.exit(run())")


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def bench(kind: str, n: int, work: Path, repeat: int) -> tuple[float, float, bool]:
    src = work / f"{kind}_{n}.aiwf"
    src.write_text(generate(kind, n))
    out = work / f"out_{n}"
    compile_times = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        seconds, status, log = timed([sys.executable, "-m", "aiwfc", "compile", str(src), "--target", "cwl",
                                      "-o", str(out)], work)
        if status != 0:
            raise SystemExit(f"compile failed ({status}):\n{log[-3000:]}")
        compile_times.append(seconds)
    workflow = out / f"{kind}_{n}.cwl"
    validate_times, ok = [], True
    for _ in range(repeat):
        seconds, status, log = timed([sys.executable, "-c", CWLTOOL, "--validate", "--enable-ext", str(workflow)],
                                     work)
        validate_times.append(seconds)
        if status != 0 or "is valid CWL" not in log:
            ok = False
            print(f"  cwltool --validate failed ({status}): {log.strip().splitlines()[-1][:300]}")
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"  {n} phases -> {files} files")
    return min(compile_times), min(validate_times), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--kind", default="layered")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement (the minimum is printed)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cwl-bench-") as tmp:
        for n in args.sizes:
            compile_s, validate_s, ok = bench(args.kind, n, Path(tmp), args.repeat)
            rows.append((n, compile_s, validate_s, ok))
    print(f"\n{'phases':>7}  {'aiwfc compile (s)':>18}  {'cwltool --validate (s)':>23}  {'validate/compile':>16}")
    for n, c, v, ok in rows:
        print(f"{n:>7}  {c:>18.2f}  {v:>23.2f}  {v / c:>15.1f}x{'' if ok else '  (validation FAILED)'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
