"""A real, single-node Slurm cluster that the test suite starts by itself.

Why this exists: aiwfc emits Slurm batch scripts, and the only convincing test of a
batch script is to submit it to a real ``slurmctld``/``slurmd`` and look at what
Slurm did with it (states, exit codes, arrays, dependencies, GRES).  The machines
this project runs on are Debian 12 containers without systemd, so nothing starts the
daemons for us: this module installs the Debian packages when they are missing,
writes its *own* configuration, and starts ``munged``, ``slurmctld`` and ``slurmd``
itself.

Isolation.  Everything lives under one directory (``$AIWF_SLURM_DIR``, default
``<tmp>/aiwf-slurm``): the generated ``slurm.conf``/``gres.conf``, the state and spool
directories, the logs, the pid files, and a private ``munged`` socket.  Clients find
the cluster through ``SLURM_CONF`` (see :attr:`SlurmCluster.env`), so a system-wide
Slurm or munge on the same machine is never used or disturbed, and the ports are
chosen free at start.  The only system-wide things touched are the Debian packages
and, if missing, the munge key ``/etc/munge/munge.key`` (``munged`` insists that the
key belongs to the ``munge`` user).

Ownership.  A daemon is "ours" when the pid file in our directory names a live
process whose ``/proc/PID/comm`` is the expected daemon *and* whose command line
names our config file / munge socket.  We only ever signal such processes, never
anything found by name.  A healthy cluster left running by another (or a crashed)
session with the same configuration is reused; anything else of ours is stopped and
the state is wiped before a fresh start.  Several pytest processes may share one
cluster: each holds a shared ``flock`` while it uses it, and only the last one to
leave stops the daemons.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

__all__ = ["SlurmCluster", "SlurmClusterError", "cluster_or_skip", "unavailable_reason"]

#: Debian packages that provide the daemons and the client commands.
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
#: Commands that must exist before we can run a cluster.
REQUIRED_COMMANDS = [
    "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/sbin/mungekey",
    "sbatch", "squeue", "scancel", "sacct", "sinfo", "scontrol",
]
#: Where the machine's provisioning may be installing packages in the background.
BACKGROUND_APT_LOG = Path("/tmp/apt.log")
MUNGE_KEY = Path("/etc/munge/munge.key")
#: Squeue states meaning "not finished yet" (anything else is final).
ACTIVE_STATES = {
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
    "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
    "RESV_DEL_HOLD", "SPECIAL_EXIT",
}
#: Minimum CPUs the node advertises (tests run arrays and multi-core jobs on 2 cores).
MIN_CPUS = 8
#: Memory advertised, at most: small enough that any ``--mem`` in tests fits anywhere.
MAX_REAL_MEMORY_MB = 8000

_apt_updated = False  # ``apt-get update`` runs at most once per process


class SlurmClusterError(RuntimeError):
    """The cluster could not be started or a client command failed."""


# --------------------------------------------------------------------------- helpers
def _which(cmd: str) -> str | None:
    return cmd if cmd.startswith("/") and os.access(cmd, os.X_OK) else shutil.which(cmd)


def _missing_commands() -> list[str]:
    return [c for c in REQUIRED_COMMANDS if not _which(c)]


def _proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def _pid_alive(pid: int) -> bool:
    """True unless the process is gone (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"    ({path}: {exc.strerror})"
    return "\n".join("    " + line for line in text[-lines:]) or f"    ({path} is empty)"


def _sort_key(job_label: str) -> tuple:
    """Order "9" < "10" and "4_2" < "4_10" numerically."""
    return tuple(int(p) if p.isdigit() else 10**12 for p in re.split(r"[_\[\]]", job_label)
                 if p) + (job_label,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _apt_busy() -> bool:
    """Whether apt or dpkg is running (we scan /proc read-only; we never kill them)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _proc_comm(int(entry.name)) in {"apt-get", "apt", "dpkg"}:
            return True
    return False


def _detect_node() -> dict[str, int]:
    """The real hardware as ``slurmd -C`` sees it, scaled up to at least MIN_CPUS CPUs.

    We keep the real board/socket/thread layout and add cores per socket, so the
    layout stays self-consistent; ``SlurmdParameters=config_overrides`` makes slurmd
    accept the larger node instead of draining it.
    """
    out = subprocess.run(["/usr/sbin/slurmd", "-C"], capture_output=True, text=True).stdout
    hw = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}
    boards = hw.get("Boards", 1)
    sockets = hw.get("SocketsPerBoard", 1)
    threads = hw.get("ThreadsPerCore", 1)
    cores = hw.get("CoresPerSocket", max(1, os.cpu_count() or 1))
    while boards * sockets * cores * threads < MIN_CPUS:
        cores += 1
    return {
        "CPUs": boards * sockets * cores * threads,
        "Boards": boards,
        "SocketsPerBoard": sockets,
        "CoresPerSocket": cores,
        "ThreadsPerCore": threads,
        "RealMemory": min(MAX_REAL_MEMORY_MB, hw.get("RealMemory", MAX_REAL_MEMORY_MB)),
    }


# ----------------------------------------------------------------- installation
def _ensure_installed(log: Path) -> str | None:
    """Install the Slurm packages if needed.  Returns a reason string when impossible."""
    global _apt_updated
    if not _missing_commands():
        return None
    # Provisioning may be installing them right now: wait for it rather than fight it
    # for the dpkg lock.
    if BACKGROUND_APT_LOG.exists():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and _missing_commands():
            text = BACKGROUND_APT_LOG.read_text(errors="replace")
            if re.search(r"^done\b", text, re.M) or not _apt_busy():
                break
            time.sleep(1)
        if not _missing_commands():
            return None
    missing = ", ".join(_missing_commands())
    if os.geteuid() != 0:
        return f"Slurm is not installed (missing {missing}) and installing it needs root"
    if not shutil.which("apt-get"):
        return f"Slurm is not installed (missing {missing}) and there is no apt-get"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    log.parent.mkdir(parents=True, exist_ok=True)
    steps = []
    if not _apt_updated:
        steps.append(["apt-get", *lock, "update"])
    steps.append(["apt-get", *lock, "install", "-y", "--no-install-recommends", *PACKAGES])
    with open(log, "a") as out:
        for cmd in steps:
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
            if "update" in cmd:
                _apt_updated = True
            if rc != 0:
                return f"`{' '.join(cmd)}` failed with exit {rc}; log {log}:\n{_tail(log)}"
    if _missing_commands():
        return f"installed {PACKAGES} but still missing {', '.join(_missing_commands())}"
    return None


def unavailable_reason(install: bool = True) -> str | None:
    """Why a local Slurm cluster cannot run here, or None when it can.

    Only environmental impossibilities count (opt-out, not root, no packages and no way
    to install them); a cluster that is installed but fails to start is a real error and
    is raised by :meth:`SlurmCluster.start` instead of being hidden behind a skip.
    """
    if os.environ.get("AIWF_SKIP_SLURM"):
        return "AIWF_SKIP_SLURM is set"
    if sys.platform != "linux":
        return f"the local Slurm cluster needs Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return f"running slurmd and munged needs root (euid is {os.geteuid()})"
    if install:
        return _ensure_installed(SlurmCluster.default_base() / "apt.log")
    missing = _missing_commands()
    return f"Slurm is not installed (missing {', '.join(missing)})" if missing else None


# ------------------------------------------------------------------- the cluster
class SlurmCluster:
    """One ``munged`` + ``slurmctld`` + ``slurmd`` on this machine, configured for tests.

    Partitions: ``debug`` (default) and ``gpu`` (unlimited time), ``short`` (MaxTime 1
    minute, with ``EnforcePartLimits=ALL`` so longer ``--time`` is rejected at submit).
    The node advertises at least 8 CPUs, ``RealMemory<=8000`` MB and two fake GPUs
    (``--gres=gpu:N`` sets ``CUDA_VISIBLE_DEVICES``).
    """

    CLUSTER_NAME = "aiwftest"
    DEFAULT_PARTITION = "debug"
    GPU_PARTITION = "gpu"
    SHORT_PARTITION = "short"
    SHORT_MAX_TIME_MIN = 1
    GPUS = 2

    def __init__(self, base: str | os.PathLike | None = None):
        self.base = Path(base) if base else self.default_base()
        self.etc = self.base / "etc"
        self.conf = self.etc / "slurm.conf"
        self.munge_dir = self.base / "munge"
        self.munge_socket = self.munge_dir / "munge.socket.2"
        self.log_dir = self.base / "log"
        self.run_dir = self.base / "run"
        self.state_dir = self.base / "state"
        self.spool_dir = self.base / "spool"
        self.jobcomp = self.base / "jobcomp.txt"
        self.meta_file = self.base / "cluster.json"
        self.pid_files = {
            "munged": self.munge_dir / "munged.pid",
            "slurmctld": self.run_dir / "slurmctld.pid",
            "slurmd": self.run_dir / "slurmd.pid",
        }
        self.logs = {
            "munged": self.munge_dir / "munged.log",
            "slurmctld": self.log_dir / "slurmctld.log",
            "slurmd": self.log_dir / "slurmd.log",
        }
        self.node = (subprocess.run(["hostname", "-s"], capture_output=True, text=True)
                     .stdout.strip() or socket.gethostname().split(".")[0])
        self.partitions = [self.DEFAULT_PARTITION, self.GPU_PARTITION, self.SHORT_PARTITION]
        #: True when this object started the daemons (False when it reused a cluster).
        self.started_here = False
        #: Seconds the last :meth:`start` took.
        self.startup_seconds: float | None = None
        self._users_fd: int | None = None
        self._job_ids: list[str] = []

    @staticmethod
    def default_base() -> Path:
        return Path(os.environ.get("AIWF_SLURM_DIR")
                    or Path(tempfile.gettempdir()) / "aiwf-slurm")

    # ------------------------------------------------------------------ public API
    @property
    def env(self) -> dict[str, str]:
        """Environment for client commands: ``os.environ`` plus ``SLURM_CONF``.

        Pass it as ``env=`` to any subprocess that runs sbatch/squeue/scancel/sacct.
        Inherited ``SLURM_*`` job variables are dropped so that tests run inside a Slurm
        job don't aim at the outer cluster or inherit its options.
        """
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_", "SQUEUE_")))}
        env["SLURM_CONF"] = str(self.conf)
        return env

    @property
    def running(self) -> bool:
        return self._users_fd is not None

    def run(self, cmd: list[str], check: bool = False, timeout: float = 60,
            **kw) -> subprocess.CompletedProcess:
        """Run a client command against this cluster (text, captured output)."""
        kw.setdefault("env", self.env)
        return subprocess.run(cmd, text=True, capture_output=True, check=check,
                              timeout=timeout, **kw)

    def sbatch(self, script_path: str | os.PathLike, *args: str,
               cwd: str | os.PathLike | None = None) -> str:
        """Submit a batch script with ``--parsable``; returns the job id (``"42"``).

        Extra ``args`` go before the script (they are sbatch options).  Raises
        SlurmClusterError with sbatch's stderr when the submission is refused.  The id
        is remembered so that :meth:`stop` can cancel leftovers.
        """
        cmd = ["sbatch", "--parsable", *args, str(script_path)]
        proc = self.run(cmd, cwd=cwd)
        if proc.returncode != 0:
            raise SlurmClusterError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        job_id = proc.stdout.strip().splitlines()[-1].split(";")[0]
        self._job_ids.append(job_id)
        return job_id

    def active(self, job_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Jobs (array tasks too) still pending/running: ``{squeue JobID: state}``.

        ``job_ids`` may name plain jobs, array jobs (``"42"`` covers ``42_3``) or tasks.
        """
        proc = self.run(["squeue", "-h", "-t", "all", "-o", "%i|%A|%F|%T"])
        if proc.returncode != 0:
            raise SlurmClusterError(f"squeue failed: {proc.stderr.strip()}")
        wanted = None if job_ids is None else {str(j) for j in job_ids}
        # A task id "42_3" is also covered by a not-yet-split record "42_[3-9%2]".
        task_arrays = {w.split("_", 1)[0] for w in wanted or () if "_" in w}
        found = {}
        for line in proc.stdout.splitlines():
            shown, job_id, array_id, state = line.strip().split("|")
            if state not in ACTIVE_STATES:
                continue
            if wanted is None or wanted & {shown, job_id, array_id} or (
                    array_id in task_arrays and "[" in shown):
                found[shown] = state
        return found

    def wait(self, job_ids: str | Iterable[str], timeout: float = 60,
             poll: float = 0.1) -> dict[str, tuple[str, str]]:
        """Wait until none of ``job_ids`` is pending or running; return final states.

        The result merges :meth:`states` of every id (array tasks included).  Raises
        TimeoutError listing what is still active (and their squeue reasons).
        """
        ids = [job_ids] if isinstance(job_ids, str) else [str(j) for j in job_ids]
        deadline = time.monotonic() + timeout
        while self.active(ids):
            if time.monotonic() > deadline:
                detail = self.run(["squeue", "-t", "all", "-o", "%i %T %r %j"]).stdout
                raise TimeoutError(f"jobs {ids} still active after {timeout}s:\n{detail}")
            time.sleep(poll)
        # The completion record is written by slurmctld when the job ends; give it a
        # moment to appear rather than return a partial answer.
        deadline = max(deadline, time.monotonic() + 10)
        while True:
            per_id = {job_id: self.states(job_id) for job_id in ids}
            if all(per_id.values()):
                result: dict[str, tuple[str, str]] = {}
                for found in per_id.values():
                    result.update(found)
                return result
            if time.monotonic() > deadline:
                missing = [j for j, found in per_id.items() if not found]
                raise TimeoutError(f"jobs {missing} are not active but have no completion "
                                   f"record in {self.jobcomp} (unknown job ids?)")
            time.sleep(poll)

    def states(self, job_id: str) -> dict[str, tuple[str, str]]:
        """Final ``{JobID: (State, ExitCode)}`` of an ended job, array tasks included.

        States and exit codes come from ``sacct -c`` (there is no slurmdbd, so
        ``JobCompType=jobcomp/filetxt`` records each job when it ends).  Slurm 22.05's
        sacct cannot read the array fields of that file (that is the harmless "Unknown
        type ArrayJobId" on stderr) and lists tasks under their raw ids, so the array
        mapping is read from the file itself, and for array records that never split
        into tasks (e.g. a whole array cancelled while pending) from ``scontrol``.

        Keys: ``"42"`` for a plain job, ``"42_3"`` per task of array 42, and
        ``"42_[1-4]"`` for array tasks that ended without ever running (only while
        slurmctld still remembers the job, MinJobAge=300 s; after that ``"42"``).
        ``job_id`` may be a plain job, an array job (all its tasks) or one task
        (``"42_3"``).  State is the first word only (``CANCELLED``, not
        ``CANCELLED by 0``).  A job that has not ended yet is absent.
        """
        job_id = str(job_id)
        array_of = self._jobcomp_array_ids()
        base_id = job_id.split("_", 1)[0]
        for info in self._scontrol_jobs(base_id):
            raw, arr, task = info.get("JobId"), info.get("ArrayJobId"), info.get("ArrayTaskId")
            if raw and arr and task and raw not in array_of:
                array_of[raw] = (arr, task)

        def label(raw: str) -> str:
            if raw not in array_of:
                return raw
            arr, task = array_of[raw]
            return f"{arr}_{task}" if task.isdigit() else f"{arr}_[{task}]"

        if "_" in job_id:
            wanted = [r for r in array_of if label(r) == job_id]
        else:
            wanted = [r for r, (arr, _) in array_of.items() if arr == job_id]
            wanted += [job_id] if job_id not in wanted else []
        if not wanted:
            return {}
        proc = self.run(["sacct", "-c", "-j", ",".join(wanted), "-n", "-P",
                         "-o", "JobIDRaw,State,ExitCode"])
        if proc.returncode != 0:
            raise SlurmClusterError(f"sacct -c -j {job_id} failed: {proc.stderr.strip()}")
        result = {}
        for line in proc.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 3 and parts[0] in wanted:
                result[label(parts[0])] = (parts[1].split()[0] if parts[1] else "", parts[2])
        return dict(sorted(result.items(), key=lambda kv: _sort_key(kv[0])))

    def _jobcomp_array_ids(self) -> dict[str, tuple[str, str]]:
        """``{raw job id: (ArrayJobId, ArrayTaskId)}`` for array tasks in the jobcomp file."""
        found = {}
        try:
            text = self.jobcomp.read_text(errors="replace")
        except OSError:
            return found
        for m in re.finditer(r"^JobId=(\d+) .*? ArrayJobId=(\d+) ArrayTaskId=(\S+) ",
                             text, re.M):
            found[m.group(1)] = (m.group(2), m.group(3))
        return found

    def _scontrol_jobs(self, job_id: str) -> list[dict[str, str]]:
        """``scontrol show job -o`` as dicts (empty once slurmctld forgot the job)."""
        proc = self.run(["scontrol", "show", "job", "-o", job_id])
        if proc.returncode != 0:
            return []
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in proc.stdout.splitlines()
                if line.strip()]

    # --------------------------------------------------------------- start / stop
    def start(self, timeout: float = 60) -> "SlurmCluster":
        """Start the cluster (or join a healthy one of ours) and wait for an idle node.

        Idempotent.  Raises SlurmClusterError with the daemons' log tails on failure.
        Call :func:`unavailable_reason` first (or use :func:`cluster_or_skip`) to
        install the packages.
        """
        if self.running:
            return self
        t0 = time.monotonic()
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        with self._start_lock():
            if self._healthy_and_current():
                self.started_here = False
            else:
                self._stop_daemons()
                try:
                    self._start_fresh(timeout)
                except BaseException:
                    self._stop_daemons()  # leave nothing half-started; logs stay for reading
                    raise
                self.started_here = True
            # Register as a user before releasing the start lock, so a concurrent stop()
            # elsewhere cannot decide that nobody uses the cluster any more.
            fd = os.open(self.base / "users.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._users_fd = fd
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Cancel our jobs; stop the daemons unless another session still uses them.

        Idempotent.  Only processes named by our pid files (and verified through
        /proc/PID/comm and /proc/PID/cmdline) are signalled.
        """
        if not self.running:
            return
        if self._job_ids:
            self.run(["scancel", *self._job_ids], timeout=30)
            self._job_ids.clear()
        with self._start_lock():
            fd, self._users_fd = self._users_fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # somebody else still uses the cluster: leave it up
                return
            try:
                self._cancel_all_jobs()
                self._stop_daemons()
            finally:
                os.close(fd)

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        """Human-readable diagnostics: daemon pids, sinfo, squeue and the log tails."""
        parts = [f"Slurm test cluster in {self.base} (SLURM_CONF={self.conf})"]
        for name in self.pid_files:
            parts.append(f"  {name}: pid {self._our_pid(name)}")
        for cmd in (["sinfo", "-N", "-l"], ["squeue", "-t", "all"]):
            try:
                p = self.run(cmd, timeout=10)
                parts.append(f"$ {' '.join(cmd)}\n{p.stdout}{p.stderr}")
            except subprocess.TimeoutExpired:
                parts.append(f"$ {' '.join(cmd)}: timed out")
        for name, log in self.logs.items():
            parts.append(f"--- tail of {log}\n{_tail(log)}")
        return "\n".join(parts)

    # ---------------------------------------------------------------- internals
    def _start_lock(self):
        """An exclusive flock on <base>/start.lock, so only one process starts/stops."""
        base = self.base

        class _Lock:
            def __enter__(self_):
                self_.fd = os.open(base / "start.lock", os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self_.fd, fcntl.LOCK_EX)

            def __exit__(self_, *exc):
                fcntl.flock(self_.fd, fcntl.LOCK_UN)
                os.close(self_.fd)

        return _Lock()

    def _marker(self, name: str) -> str:
        """The argument that must appear in a daemon's command line for it to be ours."""
        return f"--socket={self.munge_socket}" if name == "munged" else str(self.conf)

    def _our_pid(self, name: str) -> int | None:
        """The pid from our pid file if that process is alive and verifiably ours."""
        pid = _read_pid(self.pid_files[name])
        if pid is None or pid <= 1 or not _pid_alive(pid):
            return None
        if _proc_comm(pid) != name or self._marker(name) not in _proc_cmdline(pid):
            return None
        return pid

    def _healthy_and_current(self) -> bool:
        """Is a cluster of ours already up, with exactly the config we would write?"""
        try:
            meta = json.loads(self.meta_file.read_text())
        except (OSError, ValueError):
            return False
        if not all(self._our_pid(n) for n in self.pid_files):
            return False
        try:
            files = self._config_files(meta["ctld_port"], meta["slurmd_port"])
        except (KeyError, TypeError):
            return False
        for path, text in files.items():
            try:
                if path.read_text() != text:
                    return False
            except OSError:
                return False
        try:
            self._wait_node_ready(timeout=10)
        except SlurmClusterError:
            return False
        return True

    def _config_files(self, ctld_port: int, slurmd_port: int) -> dict[Path, str]:
        node = _detect_node()
        hw = " ".join(f"{k}={v}" for k, v in node.items())
        b = self.base
        sched = ",".join([
            "batch_sched_delay=0",   # default 3 s: jobs would start in 3 s steps
            "sched_min_interval=0",  # no throttling between scheduling passes
            "sched_interval=1",      # periodic full pass every second, not every minute
            "bf_interval=1",
        ])
        slurm_conf = f"""\
# Generated by tests/engines/slurm_cluster.py for the test suite; rewritten at each
# fresh start.  Everything lives under {b}.
ClusterName={self.CLUSTER_NAME}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={self.pid_files['slurmctld']}
SlurmdPidFile={self.pid_files['slurmd']}
SlurmctldLogFile={self.logs['slurmctld']}
SlurmdLogFile={self.logs['slurmd']}
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={self.etc}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SchedulerType=sched/backfill
SchedulerParameters={sched}
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
MaxArraySize=1001
MinJobAge=300
KillWait=2
MessageTimeout=5
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 {hw} Gres=gpu:{self.GPUS} State=UNKNOWN
PartitionName={self.DEFAULT_PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
PartitionName={self.GPU_PARTITION} Nodes={self.node} MaxTime=INFINITE State=UP
PartitionName={self.SHORT_PARTITION} Nodes={self.node} MaxTime={self.SHORT_MAX_TIME_MIN} State=UP
"""
        # Fake GPUs: each needs a distinct existing character device, else the node
        # goes INVALID (no files) or CUDA_VISIBLE_DEVICES stays empty (regular files).
        devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/urandom"][: self.GPUS]
        gres_conf = "AutoDetect=off\n" + "".join(
            f"NodeName={self.node} Name=gpu File={d}\n" for d in devices)
        return {
            self.conf: slurm_conf,
            self.etc / "gres.conf": gres_conf,
            # Empty on purpose: the Debian default would pull /etc/slurm/plugstack.conf.d.
            self.etc / "plugstack.conf": "",
        }

    def _start_fresh(self, timeout: float) -> None:
        """Wipe state, write the config with new free ports, start the three daemons."""
        for d in (self.etc, self.state_dir, self.spool_dir, self.log_dir, self.run_dir,
                  self.munge_dir):
            shutil.rmtree(d, ignore_errors=True)
        for f in (self.jobcomp, self.meta_file):
            f.unlink(missing_ok=True)
        for d in (self.etc, self.state_dir, self.spool_dir, self.log_dir, self.run_dir):
            d.mkdir(parents=True, mode=0o755)
        ctld_port = _free_port()
        slurmd_port = _free_port()
        while slurmd_port == ctld_port:
            slurmd_port = _free_port()
        for path, text in self._config_files(ctld_port, slurmd_port).items():
            path.write_text(text)
        self.meta_file.write_text(json.dumps(
            {"ctld_port": ctld_port, "slurmd_port": slurmd_port, "node": self.node}))

        self._start_munged()
        env = dict(self.env)
        for name, cmd in (
            ("slurmctld", ["/usr/sbin/slurmctld", "-f", str(self.conf)]),
            ("slurmd", ["/usr/sbin/slurmd", "-f", str(self.conf)]),
        ):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                raise SlurmClusterError(
                    f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}\n"
                    + self.describe())
            self._wait_pid(name, timeout=10)
        self._wait_node_ready(timeout)

    def _start_munged(self) -> None:
        """Our own munged on a private socket, running as the munge user."""
        try:
            munge = pwd.getpwnam("munge")
        except KeyError as exc:
            raise SlurmClusterError("no 'munge' user: is the munge package installed?") from exc
        if not MUNGE_KEY.exists():
            subprocess.run(["/usr/sbin/mungekey", "--create", f"--keyfile={MUNGE_KEY}"],
                           check=True, capture_output=True)
        os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
        os.chmod(MUNGE_KEY, 0o400)
        # The Debian defaults, in case someone runs the stock munged/clients too.
        for d in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
            os.makedirs(d, exist_ok=True)
            os.chown(d, munge.pw_uid, munge.pw_gid)
        self.munge_dir.mkdir(mode=0o755)
        os.chown(self.munge_dir, munge.pw_uid, munge.pw_gid)
        cmd = ["runuser", "-u", "munge", "--", "/usr/sbin/munged",
               f"--socket={self.munge_socket}", f"--key-file={MUNGE_KEY}",
               f"--pid-file={self.pid_files['munged']}",
               f"--log-file={self.logs['munged']}",
               f"--seed-file={self.munge_dir / 'munged.seed'}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise SlurmClusterError(f"munged failed ({proc.returncode}): {proc.stderr}"
                                    f"\n{_tail(self.logs['munged'])}")
        self._wait_pid("munged", timeout=10)
        deadline = time.monotonic() + 10
        while not self.munge_socket.exists():
            if time.monotonic() > deadline:
                raise SlurmClusterError(f"munged socket never appeared\n"
                                        f"{_tail(self.logs['munged'])}")
            time.sleep(0.05)

    def _wait_pid(self, name: str, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            pid = self._our_pid(name)
            if pid:
                return pid
            if time.monotonic() > deadline:
                raise SlurmClusterError(f"{name} did not come up (no live pid in "
                                        f"{self.pid_files[name]})\n" + self.describe())
            time.sleep(0.05)

    def _wait_node_ready(self, timeout: float) -> None:
        """Wait for the node to be usable; resume it if it came up drained/invalid."""
        deadline = time.monotonic() + timeout
        last_resume = 0.0
        state = "?"
        while time.monotonic() < deadline:
            for name in self.pid_files:
                if not self._our_pid(name):
                    raise SlurmClusterError(f"{name} died during start-up\n" + self.describe())
            proc = self.run(["sinfo", "-h", "-N", "-n", self.node, "-o", "%T"], timeout=10)
            state = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else \
                (proc.stderr.strip() or "no answer")
            base_state = state.rstrip("*~#!%$@^-")
            if proc.returncode == 0 and base_state in {"idle", "mixed", "allocated"}:
                return
            if any(s in state for s in ("drain", "invalid", "down", "fail")) and \
                    time.monotonic() - last_resume > 1:
                self.run(["scontrol", "update", f"nodename={self.node}", "state=resume"],
                         timeout=10)
                last_resume = time.monotonic()
            time.sleep(0.05)
        raise SlurmClusterError(f"node {self.node} not idle after {timeout}s "
                                f"(last state: {state})\n" + self.describe())

    def _cancel_all_jobs(self) -> None:
        """Before stopping our own cluster: cancel everything so no slurmstepd lingers."""
        if not self._our_pid("slurmctld"):
            return
        self.run(["scancel", "--full", "--user", pwd.getpwuid(os.geteuid()).pw_name],
                 timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if not self.active():
                    return
            except (SlurmClusterError, subprocess.TimeoutExpired):
                return
            time.sleep(0.1)

    def _stop_daemons(self) -> None:
        """SIGTERM (then SIGKILL) our daemons: slurmd, slurmctld, munged, by pid file."""
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self._our_pid(name)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid) and _proc_comm(pid) == name:
                os.kill(pid, signal.SIGKILL)
                while _pid_alive(pid) and time.monotonic() < deadline + 5:
                    time.sleep(0.05)


def cluster_or_skip(base: str | os.PathLike | None = None) -> SlurmCluster:
    """A started cluster, or ``pytest.skip`` with the precise reason (also printed).

    Installs the packages when missing (that is what makes the suite self-contained).
    A cluster that is installed but fails to start raises instead of skipping.
    """
    reason = unavailable_reason(install=True)
    if reason:
        import pytest

        message = f"local Slurm cluster unavailable: {reason}"
        print(message, file=sys.stderr)
        pytest.skip(message)
    return SlurmCluster(base).start()
