"""What `aiwf_task.py` costs per task, against running the same commands with a plain shell loop.

    python bench/runtime_overhead.py [N]

Compiles a one-phase workflow with N items (default 200) whose command is trivial
(`echo X > v.json`), then times: a bash loop running the N commands in N task
directories; `aiwf_task.py run --range 0:N` (one runtime process for a bundle of N
items, as a chunked array task does); N separate `aiwf_task.py run --index I` processes
(one array task per item); N calls of `aiwf_task.main()` in one Python process (how a
Parsl app can call it); and the resume of the bundle (every task cached). The
per-task cost of the runtime is what it adds on top of the shell: reading the spec,
resolving inputs, hashing, two atomic task.json writes, the output check.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiwfc.backend import EmitContext  # noqa: E402
from aiwfc.pipeline import analyse  # noqa: E402
from aiwfc.plan import build_plan  # noqa: E402
from aiwfc_backends.runtime import runtime_files  # noqa: E402

WORKFLOW = """aiwf 0.1
workflow bench {
  param n: int = %d
  task work {
    foreach x in range(n)
    out v: int
    run "echo ${x} > ${v}"
  }
}
"""


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "b.aiwf").write_text(WORKFLOW % n)
        comp = analyse(str(base / "b.aiwf"))
        wf = comp.program.workflows[0]
        for name, text in runtime_files(EmitContext(comp=comp, workflow=wf, plan=build_plan(comp, wf))).items():
            (base / name).write_text(text)
        task = [sys.executable, str(base / "aiwf_task.py")]

        def shell():
            script = (f"for i in $(seq 0 {n - 1}); do mkdir -p {base}/sh/$i && "
                      f"(cd {base}/sh/$i && bash -c \"echo $i > v.json\"); done")
            subprocess.run(["bash", "-c", script], check=True)

        def common(run):
            return ["--spec", str(base / "workflow.json"), "--run", str(base / run)]

        def bundle():
            subprocess.run([*task, "items", *common("b"), "--phase", "work"], check=True, capture_output=True)
            subprocess.run([*task, "run", *common("b"), "--phase", "work", "--range", f"0:{n}"], check=True,
                           capture_output=True)

        def separate():
            subprocess.run([*task, "items", *common("s"), "--phase", "work"], check=True, capture_output=True)
            for i in range(n):
                subprocess.run([*task, "run", *common("s"), "--phase", "work", "--index", str(i)], check=True,
                               capture_output=True)

        def in_process():
            sys.path.insert(0, str(base))
            import aiwf_task
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                assert aiwf_task.main(["items", *common("p"), "--phase", "work"]) == 0
                for i in range(n):
                    assert aiwf_task.main(["run", *common("p"), "--phase", "work", "--index", str(i)]) == 0

        t_shell, t_bundle, t_separate, t_resume = timed(shell), timed(bundle), timed(separate), timed(bundle)
        t_in = timed(in_process)
        assert json.loads((base / "b/tasks/work/i0" / str(n - 1) / "task.json").read_text())["outputs"] == \
            {"v": n - 1}
        print(f"{n} trivial tasks on {os.cpu_count()} cores, python {sys.version.split()[0]}")
        print(f"  bash loop                         {t_shell:7.2f} s  ({1000 * t_shell / n:6.1f} ms/task)")
        print(f"  aiwf_task.py run --range (bundle) {t_bundle:7.2f} s  ({1000 * t_bundle / n:6.1f} ms/task)"
              f"  {t_bundle / t_shell:4.1f}x")
        print(f"  aiwf_task.py run --index, each    {t_separate:7.2f} s  ({1000 * t_separate / n:6.1f} ms/task)"
              f"  {t_separate / t_shell:4.1f}x")
        print(f"  aiwf_task.main() in-process, each {t_in:7.2f} s  ({1000 * t_in / n:6.1f} ms/task)"
              f"  {t_in / t_shell:4.1f}x")
        print(f"  resume of the bundle (all cached) {t_resume:7.2f} s  ({1000 * t_resume / n:6.1f} ms/task)")


if __name__ == "__main__":
    main()
