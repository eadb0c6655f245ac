"""Runs every example on the local Slurm cluster, one at a time, and prints per example the
`sbatch` calls the run made against one-job-per-task (the tasks it ran) and its wall time.

    python bench/slurm_examples.py [-O LEVEL]

Needs what tests/integration needs (root, Debian Slurm packages; the cluster is started
here when none is running). The examples are resized for the one-node cluster as in the
tests (tests/integration/slurm_examples.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engines.slurm_cluster import cluster_or_skip  # noqa: E402
from tests.integration.slurm_examples import EXAMPLES, example_copy  # noqa: E402


def run_one(folder: str, base: Path, env: dict, level: int) -> tuple[int, int, float, str]:
    path = example_copy(folder, base / "src")
    art, run = base / "art" / folder, base / "runs" / folder
    proc = subprocess.run(["aiwfc", "compile", str(path), "--site", "test-slurm",
                           "--target", "slurm", f"-O{level}", "-o", str(art)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    start = time.monotonic()
    subprocess.run([str(art / "submit.sh"), "--run", str(run)], env=env, check=True, capture_output=True)
    while True:
        proc = subprocess.run([str(run / "slurm" / "status.sh"), str(run)], env=env, capture_output=True, text=True)
        if proc.returncode != 3:
            break
        time.sleep(0.2)
    seconds = time.monotonic() - start
    doc = json.loads((run / "run.json").read_text())
    tasks = sum(n for counts in doc["tasks"].values() for n in counts.values())
    return len(doc["jobs"]), tasks, seconds, doc["state"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-O", dest="level", type=int, default=1)
    args = ap.parse_args()
    cluster = cluster_or_skip()
    print(f"{'example':<24} {'sbatch':>6} {'tasks':>6} {'seconds':>8}  state")
    with tempfile.TemporaryDirectory() as tmp:
        for folder in EXAMPLES:
            calls, tasks, seconds, state = run_one(folder, Path(tmp), cluster.env, args.level)
            print(f"{folder:<24} {calls:>6} {tasks:>6} {seconds:>8.1f}  {state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
