#!/usr/bin/env python3
"""aiwf_parsl.py: runs one compiled aiwf workflow with Parsl (the engine half of `run.py`).

`aiwfc compile --target parsl` writes four files: `run.py` (what the workflow needs:
its phases, their dependencies, executors and resources, the site), this file (how to
run any workflow with Parsl, copied verbatim), and the shared task runtime
`aiwf_task.py` + `workflow.json`, which every Slurm and Parsl task goes through so that
both engines expand commands, resolve ports, evaluate conditions and record tasks the
same way. It needs Python (tested with 3.11) and parsl; never aiwfc.

    python3 run.py [--config local|slurm] [--run-dir DIR] [--workers N] [--max-parallel N]
                   [--bundle auto|off|N] [--address A] [--python EXE] [--max-blocks N]
                   [--force] [--quiet]

Configurations: `local` is one HighThroughputExecutor with a LocalProvider, as many
workers as the machine has cores (plus one per service); `slurm` is one executor per
resource class, each a SlurmProvider whose blocks (one node each) ask for the partition,
memory and GPUs of `workers` tasks, with one GPU set per worker, the site's modules
loaded in `worker_init`. Containers are started per task by the runtime (`apptainer exec`
when the phase has an image and the site's runtime is there, else a notice in the log).

How a workflow becomes Parsl work:

* Every phase (at every loop iteration) is a `join_app` that waits for the futures of the
  phases it reads, evaluates its items (`aiwf_task.Runtime.items`), and returns one
  `bash_app` per chunk of `chunk` items (`aiwf_task.py run --range A:B`: a bundle is one
  app over several items; `--bundle auto` also cuts a large scatter into about 4 apps per
  worker, each item still its own task). Chunk t waits for chunk t-N to settle when the
  phase has a throttle (or `--max-parallel N`), so an array never runs more than N at once.
* A feedback loop is a chain of join apps: iteration k's phases, then `decide` (the
  runtime's `loop` step: the condition on k's outputs, the carried values), which returns
  iteration k+1's future when the loop goes on. Phases after the loop wait for the chain.
  `stop P when ...` rules end running tasks inside the runtime (process group SIGTERM).
* A service is one bash app started before its clients: they are launched once it has
  written its `address.json` (and never when it failed first); when every client has
  settled the driver drops a stop file and the app's watcher sends SIGTERM to the
  service (a service's normal end).
* Cancellation: Parsl futures cannot be cancelled, so the driver stops launching (no new
  app is submitted after SIGINT/SIGTERM), and `RUN/.cancel` ends the
  processes already running: every app's watcher sends them SIGTERM (the runtime records
  them failed with 143, and a re-run starts them again), and an app that starts later
  exits at once. Parsl's own processes ignore SIGINT, so a Ctrl-C to the whole process
  group is handled here. A failed task does not cancel the others: what does not depend
  on it still runs (and is kept for the resume), what does is never started.
* Resume: re-running the same command re-uses the run directory; the runtime skips every
  task whose task.json is `done` with the same key (command, inputs, input file hashes,
  params, image) and reports it `cached`. Parsl's own memoization is not used: it keys on
  the app's arguments, which do not change when an input file does.

Output: progress lines per phase and iteration (done/running/failed), each loop decision
with the condition's value, a summary; RUN/run.json (the runtime's summary plus what the
engine knows: config, apps, cached tasks, retries, params, exit); exit 0 when every task
succeeded, 1 when one failed (its log tail is printed), 130 when interrupted, 2 on usage.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import aiwf_launch  # noqa: E402 - how the local executor's processes start (beside this file)
import aiwf_task  # noqa: E402 - the shared runtime beside this file

try:  # --help and a clear message work without parsl
    with aiwf_launch.WithoutBoto():
        import parsl
        from parsl.app.app import bash_app, join_app
        from parsl.config import Config
        from parsl.executors import HighThroughputExecutor
        from parsl.launchers import SingleNodeLauncher
        from parsl.providers import LocalProvider, SlurmProvider
        from parsl.addresses import address_by_hostname
        from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
except ImportError:  # pragma: no cover - checked by main()
    parsl = None

__all__ = ["main", "Driver", "build_config"]

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
WATCH_PERIOD = 0.3
APPS_PER_SLOT = 4
LIVE_PERIOD = 2.0  # seconds between writes of run.json during the run
TIMELINE = os.environ.get("AIWF_TIMELINE")  # bench/run_bench.py: where start-up milestones go


def mark(label: str) -> None:
    """Appends `<epoch seconds> <label>` to $AIWF_TIMELINE (when set): the milestones
    bench/run_bench.py puts beside Parsl's own logs to show where start-up time goes."""
    if TIMELINE:
        with open(TIMELINE, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.6f} {label}\n")


class Cancelled(Exception):
    """The run was interrupted before this work started."""


# ---------------------------------------------------------------- configuration

def _walltime(seconds: int) -> str:
    seconds = max(60, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def local_workers(program: dict, requested: int | None) -> int:
    """Workers of the local executor: the machine's cores, plus one per service (a service
    holds a worker for as long as its clients run)."""
    services = sum(1 for p in program["PHASES"].values() if p["service"])
    return (requested or os.cpu_count() or 1) + services


def build_config(program: dict, args, run_dir: Path):
    """The Parsl Config chosen at start: `local` (one HighThroughputExecutor with a
    LocalProvider sized to the machine) or `slurm` (one executor per resource class, a
    SlurmProvider each, from the site profile)."""
    parsl_dir = str(run_dir / ".parsl")
    python_bin = os.path.dirname(args.python)
    if args.config == "local":
        interchange_cmd, pool_cmd = local_launch_commands(args.python)
        executor = HighThroughputExecutor(
            label="local", address=args.address or "127.0.0.1", encrypted=False,
            max_workers_per_node=local_workers(program, args.workers), cores_per_worker=1e-6,
            heartbeat_period=5, heartbeat_threshold=30, poll_period=5,
            launch_cmd=pool_cmd, interchange_launch_cmd=interchange_cmd,
            provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1,
                                   worker_init=f"export PATH={python_bin}:$PATH"),
            worker_logdir_root=parsl_dir)
        # the worker pool's block is submitted at the first strategy poll, one period after
        # start; a poll asks the interchange for its task count (a local round trip)
        return Config(executors=[executor], run_dir=parsl_dir, strategy_period=0.1, max_idletime=3600,
                      internal_tasks_max_threads=8, initialize_logging=False)
    site = program["SITE"]
    executors = []
    for label, res in program["EXECUTORS"].items():
        workers, gpus = max(1, res.get("workers", 1)), res.get("gpus") or 0
        memory = res.get("block_memory") or res.get("memory")
        options = [f"#SBATCH --mem={max(1, memory // (1 << 20))}M"] if memory else []
        gres, accelerators = None, ()
        if gpus:
            block_gpus = res.get("block_gpus") or gpus
            if site.get("gpu_request") == "gpus_per_node":
                options.append(f"#SBATCH --gpus-per-node={block_gpus}")
            else:
                gres = f"gpu:{res['gpu_model'] + ':' if res.get('gpu_model') else ''}{block_gpus}"
            # each worker gets its own GPUs (CUDA_VISIBLE_DEVICES), `gpus` of them
            accelerators = [",".join(str(w * gpus + j) for j in range(gpus)) for w in range(block_gpus // gpus)]
        init = [f"module load {m}" for m in site.get("modules", [])] + [
            f"export PATH={python_bin}:$PATH", f"export PYTHONPATH={HERE}:$PYTHONPATH"]
        provider = SlurmProvider(
            partition=res.get("partition"), account=site.get("account"), qos=site.get("qos"),
            nodes_per_block=1, init_blocks=0, min_blocks=0, max_blocks=args.max_blocks,
            walltime=_walltime(res.get("walltime") or 3600), scheduler_options="\n".join(options),
            gres=gres, worker_init="\n".join(init), exclusive=False, launcher=SingleNodeLauncher(),
            cmd_timeout=30)
        executors.append(HighThroughputExecutor(
            label=label, address=args.address or _default_address(), cores_per_worker=res.get("cores", 1),
            max_workers_per_node=workers, available_accelerators=accelerators, heartbeat_period=5,
            heartbeat_threshold=60,
            provider=provider, worker_logdir_root=parsl_dir, encrypted=False))
    return Config(executors=executors, run_dir=parsl_dir, strategy_period=0.5, max_idletime=3600,
                  internal_tasks_max_threads=8, initialize_logging=False)


def _default_address() -> str:
    try:
        return address_by_hostname()
    except Exception:  # noqa: BLE001 - no resolvable host name: the loopback still serves one node
        return "127.0.0.1"


# ---------------------------------------------------------------- progress

class Tally:
    """What is known about one phase at one iteration: items, and each task's state."""

    def __init__(self, phase: str, k: int):
        self.phase, self.k = phase, k
        self.items: int | None = None
        self.states: dict[int, str] = {}      # index -> done|cached|failed|skipped|stopped
        self.launched: dict[tuple[int, int], bool] = {}  # (a, b) -> finished
        self.error: str | None = None

    def counts(self, run: Path, since: str) -> dict[str, int]:
        """Tasks by state: from the runtime's lines of finished apps, and for the items of
        apps still running (a bundle) from their task.json written since `since`."""
        out = {"running": 0}
        for state in self.states.values():
            out[state] = out.get(state, 0) + 1
        for (a, b), finished in list(self.launched.items()):
            if finished:
                continue
            for i in range(a, b):
                rec = _read(run / "tasks" / self.phase / f"i{self.k}" / str(i) / "task.json")
                if rec is None or i in self.states:
                    continue
                if rec.get("state") == "running":
                    out["running"] += 1
                elif (rec.get("end") or "") >= since:
                    out[rec["state"]] = out.get(rec["state"], 0) + 1
        return out

    def line(self, run: Path, since: str) -> str:
        c = self.counts(run, since)
        total = "?" if self.items is None else self.items
        states = ("done", "cached", "stopped", "skipped", "failed")
        parts = ", ".join(f"{c[s]} {s}" for s in states if c.get(s)) or "none yet"
        finished = sum(c.get(s, 0) for s in states)
        return f"{self.phase} i{self.k}: {finished}/{total} finished ({parts}), {c['running']} running"


def _read(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- the driver

class Driver:
    """One run of the workflow described by `program` (run.py's globals) with Parsl."""

    def __init__(self, program: dict, args):
        self.program, self.args = program, args
        self.phases: dict = program["PHASES"]
        self.spec = aiwf_task.Spec(str(HERE / "workflow.json"))
        self.run = Path(args.run_dir).resolve()
        self.rt = aiwf_task.Runtime(self.spec, str(self.run))
        self.cancel_file = self.run / ".cancel"
        self.logs = self.run / "logs"
        self.lock = threading.Lock()
        self.cancelled = False
        self.tallies: dict[tuple[str, int], Tally] = {}
        self.apps_log: list[dict] = []
        self.loop_lines: list[str] = []
        self.apps: dict = {}
        self.started = time.time()
        # task records that ended after this are this run's (the runtime's ISO 8601 UTC form)
        self.since = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")[:23] + "Z"

    # ------------------------------------------------------------ output

    def say(self, text: str) -> None:
        if not self.args.quiet:
            print(f"[{time.time() - self.started:6.1f}s] {text}", flush=True)

    def tally(self, phase: str, k: int) -> Tally:
        with self.lock:
            key = (phase, k)
            if key not in self.tallies:
                self.tallies[key] = Tally(phase, k)
            return self.tallies[key]

    # ------------------------------------------------------------ apps

    def setup_apps(self, dfk) -> None:
        def command(cmd, inputs=(), stdout=None, stderr=None):
            return cmd
        labels = {p["executor"] for p in self.phases.values()}
        for label in labels:
            target = "local" if self.args.config == "local" else label
            self.apps[label] = bash_app(command, data_flow_kernel=dfk, executors=[target])
        self.expand_app = join_app(self._expand, data_flow_kernel=dfk)
        self.iteration_app = join_app(self._iteration, data_flow_kernel=dfk)
        self.decide_app = join_app(self._decide, data_flow_kernel=dfk)

    def task_command(self, phase: str, k: int, a: int, b: int, stop_file: Path | None = None) -> str:
        """The bash text of one app: the runtime over items a..b-1, with a watcher that
        sends it SIGTERM when the run is cancelled (or, for a service, told to stop)."""
        q = aiwf_task.bash_quote
        # -S: the runtime needs the standard library only, and starts faster without site
        run = [q(self.args.python), "-S", q(str(HERE / "aiwf_task.py")), "run", "--spec", q(str(HERE / "workflow.json")),
               "--run", q(str(self.run)), "--phase", q(phase), "--iteration", str(k), "--range", f"{a}:{b}"]
        if self.args.force:
            run.append("--force")
        files = [q(str(self.cancel_file))] + ([q(str(stop_file))] if stop_file is not None else [])
        test = " || ".join(f"[ -e {f} ]" for f in files)
        return (f"[ -e {files[0]} ] && exit 143\n"
                f"{' '.join(run)} &\np=$!\n"
                f"( while kill -0 $p 2>/dev/null; do if {test}; then kill -TERM $p; break; fi; "
                f"sleep {WATCH_PERIOD}; done ) &\nw=$!\n"
                "wait $p; rc=$?; kill $w 2>/dev/null; exit $rc\n")

    def submit(self, phase: str, k: int, a: int, b: int, deps: list, stop_file: Path | None = None) -> Future:
        if self.cancelled:
            raise Cancelled(f"{phase} i{k}: the run was interrupted")
        tally = self.tally(phase, k)
        stem = self.logs / f"{phase}.i{k}.{a}-{b}"
        self.logs.mkdir(parents=True, exist_ok=True)
        for suffix in (".out", ".err"):  # bash_app appends: one run's output per file
            Path(str(stem) + suffix).unlink(missing_ok=True)
        entry = {"phase": phase, "iteration": k, "range": [a, b], "executor": self.phases[phase]["executor"],
                 "stdout": str(stem) + ".out", "stderr": str(stem) + ".err", "state": "launched", "exit": None}
        with self.lock:
            tally.launched[(a, b)] = False
            self.apps_log.append(entry)
        app = self.apps[self.phases[phase]["executor"]]
        fut = app(self.task_command(phase, k, a, b, stop_file), inputs=deps,
                  stdout=entry["stdout"], stderr=entry["stderr"])
        fut.add_done_callback(lambda f: self.finished(entry, tally, f))
        return fut

    def finished(self, entry: dict, tally: Tally, fut) -> None:
        """Reads the runtime's per-task lines (`P iK/I state exit=N`) from the app's stdout."""
        exc = fut.exception()
        code = 0 if exc is None else getattr(exc, "exitcode", None)
        try:
            lines = Path(entry["stdout"]).read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        with self.lock:
            for text in lines:
                parts = text.split()
                if len(parts) >= 3 and parts[0] == tally.phase and "/" in parts[1]:
                    idx = parts[1].split("/", 1)[1]
                    if idx.isdigit():
                        tally.states[int(idx)] = parts[2]
            tally.launched[tuple(entry["range"])] = True
            entry.update(state="ok" if exc is None else "failed", exit=code,
                         error=None if exc is None else f"{type(exc).__name__}: {exc}"[:500])

    # ------------------------------------------------------------ phases and loops

    def _expand(self, phase: str, k: int, inputs=()):
        """After the phase's inputs are ready: its items, then one app per chunk."""
        if self.cancelled:
            raise Cancelled(f"{phase} i{k}: the run was interrupted")
        tally = self.tally(phase, k)
        try:
            n = len(self.rt.items(phase, k, refresh=True))
        except aiwf_task.TaskError as e:  # the app records the failure in the task's record
            tally.error, n = str(e), 1
        tally.items = n
        info = self.phases[phase]
        chunk = bundle_size(n, int(info.get("chunk") or 1), self.args.bundle, self.worker_slots(info["executor"]))
        window = info.get("throttle") or self.args.max_parallel
        futures: list = []
        for a in range(0, n, chunk):
            deps = [settled(futures[-window])] if window and len(futures) >= window else []
            futures.append(self.submit(phase, k, a, min(a + chunk, n), deps))
        return futures

    def worker_slots(self, label: str) -> int:
        """Tasks the phase's executor can run at once."""
        if self.args.config == "local":
            return local_workers(self.program, self.args.workers)
        return max(1, self.program["EXECUTORS"].get(label, {}).get("workers", 1)) * self.args.max_blocks

    def launch(self, phase: str, k: int, deps: list) -> Future:
        return self.expand_app(phase, k, inputs=deps)

    def _iteration(self, loop: str, k: int, inputs=()):
        """Iteration k of a loop: its phases wired among themselves, then `decide`."""
        if self.cancelled:
            raise Cancelled(f"loop {loop}: the run was interrupted")
        body = self.spec.loops[loop]["phases"]
        self.say(f"loop {loop}: iteration {k} starts")
        futs: dict[str, Future] = {}
        for name in body:
            deps = [futs[p] for p in self.phases[name]["after"] if p in futs]
            futs[name] = self.launch(name, k, deps)
        return self.decide_app(loop, k, inputs=list(futs.values()))

    def _decide(self, loop: str, k: int, inputs=()):
        """The runtime's loop step: condition on iteration k, carried values; the next
        iteration's future when the loop goes on."""
        go = self.rt.loop_step(loop, k)
        rec = self.rt.loop_record(loop, k) or {}
        value = json.dumps(rec.get("value"))
        line = (f"loop {loop}: iteration {k}: `{rec.get('condition')}` = {value} -> "
                f"{'continue' if go else 'stop'} ({rec.get('reason')})")
        with self.lock:
            self.loop_lines.append(line)
        self.say(line)
        if go and not self.cancelled:
            return self.iteration_app(loop, k + 1)
        return []

    # ------------------------------------------------------------ the schedule

    def start(self) -> dict[str, Future]:
        """Launches the whole schedule (workflow.json's `schedule`); returns phase -> future."""
        futures: dict[str, Future] = {}
        ready: dict[str, Future] = {}  # a service's address is published
        services = {s["service"]: list(s["clients"]) for s in self.spec.doc["schedule"] if "service" in s}

        def deps_of(consumers: list[str]) -> list:
            """Futures of what `consumers` read from outside themselves; a client of a
            service does not wait for the service to end, only for its address."""
            out = []
            for c in consumers:
                for p in self.phases[c]["after"]:
                    if p in consumers or p not in futures or p in self.phases[c]["uses"]:
                        continue
                    out.append(futures[p])
                out.extend(ready[s] for s in self.phases[c]["uses"] if s in ready)
            return list(dict.fromkeys(out))

        for step in self.spec.doc["schedule"]:
            if "phase" in step:
                name = step["phase"]
                futures[name] = self.launch(name, 0, deps_of([name]))
            elif "service" in step:
                name = step["service"]
                stop = self.run / f".stop-{name}"
                stop.unlink(missing_ok=True)
                self.tally(name, 0).items = 1
                (self.rt.task_dir(name, 0, 0) / "address.json").unlink(missing_ok=True)  # not this run's
                futures[name] = self.submit(name, 0, 0, 1, deps_of([name]), stop)
                ready[name] = self.published(name, futures[name])
                self.say(f"service {name} submitted (clients: {', '.join(step['clients']) or 'none'})")
            else:
                body = step["phases"]
                fut = self.iteration_app(step["loop"], 0, inputs=deps_of(body))
                for name in body:
                    futures[name] = fut
        for svc, clients in services.items():
            self.stop_after(svc, list(dict.fromkeys(futures[c] for c in clients if c in futures)))
        return futures

    def published(self, service: str, fut: Future) -> Future:
        """A future that succeeds once the service has written its `address.json` (its
        clients start then), and fails when the service failed before publishing one (its
        clients then never start, instead of waiting for an address that cannot come)."""
        out: Future = Future()
        address = self.rt.task_dir(service, 0, 0) / "address.json"

        def watch():
            while not (address.exists() or fut.done() or self.cancelled):
                time.sleep(0.05)
            if address.exists():
                self.say(f"service {service} is up: {address.read_text().strip()}")
                out.set_result(None)
            elif fut.done() and fut.exception() is not None:  # its clients do not start at all
                out.set_exception(RuntimeError(f"service {service} ended without an address: {fut.exception()}"))
            elif self.cancelled:
                out.set_exception(Cancelled(f"service {service}: the run was interrupted"))
            else:
                out.set_result(None)  # it ended cleanly without one: the runtime tells its clients why
        threading.Thread(target=watch, name=f"aiwf-service-{service}", daemon=True).start()
        return out

    def stop_after(self, service: str, client_futures: list) -> None:
        """Drops the service's stop file once every client has settled."""
        remaining = [len(client_futures)]
        stop = self.run / f".stop-{service}"

        def one_done(_f):
            with self.lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                stop.touch()
                self.say(f"service {service}: its clients are done, stopping it")
        if not client_futures:
            stop.touch()
        for f in client_futures:
            f.add_done_callback(one_done)

    def cancel(self, why: str) -> None:
        """Stops launching work and ends what runs (see the module doc)."""
        if self.cancelled:
            return
        self.cancelled = True
        self.cancel_file.touch()
        self.say(f"{why}: cancelling (no new task starts; running tasks get SIGTERM)")


def bundle_size(n: int, chunk: int, bundle: str, slots: int) -> int:
    """Items per app. The plan's chunk (`batch`, or its own bundling) at least; with
    `--bundle auto` a large scatter is cut into about APPS_PER_SLOT apps per worker slot,
    because every app starts a Python for the runtime (~0.1-0.3 s) while the items of a
    bundle share one (each item is still its own task, record and resume unit)."""
    chunk = max(1, chunk)
    if bundle == "off":
        return chunk
    if bundle != "auto":
        return max(chunk, int(bundle))
    return max(chunk, -(-n // (APPS_PER_SLOT * max(1, slots))))


def settled(fut: Future) -> Future:
    """A future that succeeds when `fut` ends however it ends (a throttle's slot is free
    again even when the task in it failed)."""
    out: Future = Future()
    fut.add_done_callback(lambda _f: out.set_result(None))
    return out


# ---------------------------------------------------------------- running and reporting

def parse_args(program: dict, argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="run.py", description=f"Run the aiwf workflow `{program['WORKFLOW']}` "
                                 "with Parsl (see aiwf_parsl.py).")
    ap.add_argument("--config", choices=("local", "slurm"), default="local",
                    help="local: this machine (default); slurm: one Slurm-backed executor per resource class")
    ap.add_argument("--run-dir", default=None, help=f"run directory (default: runs/{program['WORKFLOW']})")
    ap.add_argument("--workers", type=int, default=None, help="local workers (default: the machine's cores)")
    ap.add_argument("--max-parallel", type=int, default=None,
                    help="at most N tasks of one phase at once (default: the plan's throttle, else unbounded)")
    ap.add_argument("--address", default=None, help="address workers reach the interchange on")
    ap.add_argument("--python", default=sys.executable, help="python3 that runs aiwf_task.py on the workers")
    ap.add_argument("--max-blocks", type=int, default=1, help="slurm: blocks (jobs) per executor at most")
    ap.add_argument("--bundle", default="auto", metavar="auto|off|N",
                    help="items per app: auto (default: a large scatter becomes about 4 apps per worker), "
                         "off (the plan's chunk), or N")
    ap.add_argument("--force", action="store_true", help="re-run tasks even when their record says done")
    ap.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    track = ap.add_mutually_exclusive_group()
    track.add_argument("--track", metavar="mlflow[:URI]", default=program.get("TRACK"),
                       help="log the run to MLflow when it ends (default: as compiled, "
                            f"{program.get('TRACK') or 'none'}; the store defaults to RUN/mlruns)")
    track.add_argument("--no-track", dest="track", action="store_const", const=None,
                       help="no MLflow logging (the task records remain)")
    args = ap.parse_args(argv)
    if args.track is not None and args.track.partition(":")[0] != "mlflow":
        ap.error(f"--track expects mlflow or mlflow:URI, not {args.track!r}")
    if args.run_dir is None:
        args.run_dir = str(Path("runs") / program["WORKFLOW"])
    if args.bundle not in ("auto", "off") and not (args.bundle.isdigit() and int(args.bundle) >= 1):
        ap.error(f"--bundle must be auto, off or a number >= 1, not {args.bundle!r}")
    for name in ("workers", "max_parallel", "max_blocks"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def wait_all(driver: Driver, futures: dict[str, Future], interrupted: list) -> None:
    """Waits for every future, printing a phase's progress line whenever it changes."""
    shown: dict[tuple[str, int], tuple[str, float]] = {}
    pending = list(dict.fromkeys(futures.values()))
    grace_end = None
    next_write = time.monotonic() + LIVE_PERIOD
    while True:
        if time.monotonic() >= next_write:  # run.json while it runs (state `running`, exit null)
            write_run_json(driver, futures, None, driver.args.config)
            next_write = time.monotonic() + LIVE_PERIOD
        if interrupted and not driver.cancelled:
            driver.cancel(interrupted[0])
        with driver.lock:
            tallies = sorted(driver.tallies.values(), key=lambda t: (t.k, driver.spec.doc["order"].index(t.phase)))
        for t in tallies:
            text = t.line(driver.run, driver.since)
            before, when = shown.get((t.phase, t.k), ("", 0.0))
            finished_changed = before.rsplit(",", 1)[0] != text.rsplit(",", 1)[0]
            if text != before and (finished_changed or time.monotonic() - when >= 1.0):
                shown[(t.phase, t.k)] = (text, time.monotonic())
                driver.say(text)
        if all(f.done() for f in pending):
            with driver.lock:
                idle = all(all(t.launched.values()) for t in driver.tallies.values())
            if idle:
                return
        if driver.cancelled:
            grace_end = grace_end or time.monotonic() + 30
            if time.monotonic() > grace_end:
                return
        # woken as soon as a phase settles (the run's end is noticed at once), else every 0.2 s
        waiting = [f for f in pending if not f.done()]
        if waiting:
            futures_wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
        else:  # settled: the last apps' done callbacks are about to mark them finished
            time.sleep(0.01)


def write_run_json(driver: Driver, futures: dict[str, Future], status: int | None, config: str) -> dict:
    """RUN/run.json: the runtime's summary, each task with its retries, params and whether
    this run found it cached, plus the engine's view (apps, loop decisions, exit; None and
    state `running` while the run goes on)."""
    doc = aiwf_task.summary(driver.rt)
    if status is None:
        doc["state"] = "running"
    with driver.lock:
        states = {(t.phase, t.k, i): s for t in driver.tallies.values() for i, s in t.states.items()}
        apps = [dict(a) for a in driver.apps_log]
    for task in doc["tasks"]:
        rec = driver.rt.record(task["phase"], task["iteration"], task["index"]) or {}
        task["retries"] = max(0, (task.get("attempts") or 0) - 1)
        task["params"] = rec.get("params", {})
        task["cached"] = states.get((task["phase"], task["iteration"], task["index"])) == "cached"
        task["this_run"] = (task["phase"], task["iteration"], task["index"]) in states
    doc.update(engine="parsl", config=config, exit=status, started=driver.started, seconds=round(
        time.time() - driver.started, 3), apps=apps, loop_decisions=list(driver.loop_lines),
        phase_errors={p: _describe(f) for p, f in futures.items() if f.done() and f.exception() is not None})
    aiwf_task.write_json(driver.run / "run.json", doc)
    return doc


def _describe(fut: Future) -> str:
    exc = fut.exception()
    return f"{type(exc).__name__}: {exc}"[:300]


def print_summary(driver: Driver, doc: dict, status: int) -> None:
    this = [t for t in doc["tasks"] if t["this_run"]]
    cached = sum(1 for t in this if t["cached"])
    counts: dict[str, int] = {}
    for t in this:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    verdict = {0: "done", EXIT_FAILED: "FAILED", EXIT_INTERRUPTED: "INTERRUPTED"}.get(status, "FAILED")
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"aiwf: {doc['workflow']} {verdict} in {doc['seconds']:.1f}s: {len(this)} tasks ({parts or 'none'}"
          f"{f'; {cached} cached' if cached else ''})", flush=True)
    for name, recs in doc["loops"].items():
        if recs:
            last = recs[-1]
            print(f"  loop {name}: {len(recs)} iteration(s), last `{last.get('condition')}` = "
                  f"{json.dumps(last.get('value'))} ({last.get('reason')})")
    last: dict[str, dict] = {}  # each phase's tracked values at its latest iteration (first item)
    for t in doc["tracked"]:
        if t["phase"] not in last or t["iteration"] > last[t["phase"]]["iteration"]:
            last[t["phase"]] = t
    for phase, t in last.items():
        values = " ".join(f"{k}={json.dumps(v)}" for k, v in t["values"].items())
        print(f"  tracked {phase} (iteration {t['iteration']}, item {t['index']}): {values}"[:300])
    if status != 0 and not doc["failed"]:  # the runtime could not even record a task: the app's own log
        for app in (a for a in doc["apps"] if a["state"] == "failed"):
            print(f"aiwf: app {app['phase']}[{app['range'][0]}:{app['range'][1]}] (iteration {app['iteration']}) "
                  f"failed: {app.get('error')}\n--- {app['stderr']} (last lines)\n{_tail(app['stderr'])}",
                  file=sys.stderr)
    failed = doc["failed"]
    if status == EXIT_INTERRUPTED:  # tasks the interrupt ended are not failures to explain
        ended = [t for t in failed if t.get("exit") in (130, 143)]
        failed = [t for t in failed if t not in ended]
        if ended:
            print(f"  {len(ended)} running task(s) were ended by the interrupt; run the same command again "
                  "to resume (completed tasks are not run again)")
    for t in failed:
        print(f"aiwf: task {t['phase']}[{t['index']}] (iteration {t['iteration']}) failed: {t.get('error')}\n"
              f"--- {t['log']} (last lines)\n{(t.get('log_tail') or '').rstrip()}", file=sys.stderr)
    print(f"  run directory: {driver.run} (run.json, tasks/<phase>/i<iteration>/<index>/)")


def _tail(path: str, lines: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def local_launch_commands(python: str) -> tuple[list[str] | None, str | None]:
    """The local executor's interchange and worker pool commands: aiwf_launch.py's client
    (see there) with the arguments Parsl gives them; (None, None), Parsl's defaults, when
    this Parsl starts its pool otherwise."""
    head, _, rest = DEFAULT_LAUNCH_CMD.partition(" ")
    if head != "process_worker_pool.py":  # pragma: no cover - another Parsl release
        return None, None
    client = [python, "-S", str(HERE / "aiwf_launch.py")]
    return [*client, "interchange"], " ".join(shlex.quote(w) for w in [*client, "pool"]) + " " + rest


def main(argv: list[str], program: dict) -> int:
    mark("driver: main")
    args = parse_args(program, argv)
    if parsl is None:
        print("aiwf: this program needs parsl (pip install parsl)", file=sys.stderr)
        return EXIT_USAGE
    os.environ["PATH"] = os.path.dirname(args.python) + os.pathsep + os.environ.get("PATH", "")
    # Workers unpickle the bash app's function by reference to this module.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    try:
        driver = Driver(program, args)
    except (aiwf_task.UsageError, aiwf_task.TaskError) as e:
        print(f"aiwf: {e}", file=sys.stderr)
        return EXIT_USAGE
    driver.cancel_file.unlink(missing_ok=True)
    interrupted: list[str] = []

    def on_signal(signum, _frame):
        interrupted.append(signal.Signals(signum).name)
    # Parsl's interchange and workers inherit an ignored SIGINT: a Ctrl-C to the terminal's
    # process group reaches this driver, which cancels cleanly, instead of killing them.
    old = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
           signal.SIGTERM: signal.signal(signal.SIGTERM, on_signal)}
    driver.say(f"{program['WORKFLOW']}: starting Parsl ({args.config}), run directory {driver.run}")
    # before Parsl starts a thread: the fork that starts the interchange and the worker pool
    # (with the interpreter that runs tasks: another --python gets Parsl's own commands)
    same_python = os.path.realpath(args.python) == os.path.realpath(sys.executable)
    os.environ.pop(aiwf_launch.ENV, None)  # never an outer run's launcher
    launcher = aiwf_launch.Launcher.start() if args.config == "local" and same_python else None
    mark("driver: parsl.load")
    try:
        dfk = parsl.load(build_config(program, args, driver.run))
    except BaseException:
        if launcher is not None:
            launcher.stop()
        raise
    mark("driver: parsl loaded")
    signal.signal(signal.SIGINT, on_signal)
    futures: dict[str, Future] = {}
    try:
        driver.setup_apps(dfk)
        futures = driver.start()
        wait_all(driver, futures, interrupted)
        mark("driver: all settled")
    finally:
        if interrupted:
            driver.cancel(interrupted[0])
        failed = [f for f in set(futures.values()) if not f.done() or f.exception() is not None]
        status = EXIT_INTERRUPTED if interrupted else EXIT_FAILED if failed else 0
        doc = write_run_json(driver, futures, status, args.config)
        if doc["failed"] and status == 0:
            status = EXIT_FAILED
        try:
            mark("driver: cleanup")
            dfk.cleanup()
        finally:
            mark("driver: cleaned up")
            parsl.clear()
            if launcher is not None:
                launcher.stop()
            for s, h in old.items():
                signal.signal(s, h)
    print_summary(driver, doc, status)
    if args.track is not None:
        log_to_mlflow(driver.run, args.track.partition(":")[2] or None)
    mark("driver: end")
    return status


def log_to_mlflow(run: Path, uri: str | None) -> None:
    """The finished run's records logged to MLflow (aiwfc.tracking, as a Slurm run's last
    job does) where this program ran; where aiwfc or mlflow cannot be imported, a notice,
    and the task records remain. Never changes the run's exit status: it is a record."""
    try:
        from aiwfc.tracking import track_run  # optional here: the program itself needs only parsl
    except ImportError:
        print("aiwf: no MLflow tracking: python cannot import aiwfc here (pip install 'aiwfc[track]'); "
              "the task records remain", flush=True)
        return
    try:
        print(f"  {track_run(run, uri)}", flush=True)
    except Exception as e:  # noqa: BLE001 - a failed upload must not turn a finished run into a failure
        print(f"aiwf: logging the run to MLflow failed ({type(e).__name__}: {e}); the task records remain", flush=True)
