#!/usr/bin/env python3
"""aiwf_launch.py: starts the local executor's Parsl processes as forks, not fresh Pythons.

A local run has three kinds of Parsl process: the driver (run.py), Parsl's interchange,
and its worker pool with the pool's workers. Started the ordinary way, each is a new
Python that imports all of Parsl again (about 1 s of CPU each, and the workers, spawned,
once more each): on a small machine that was most of `aiwfc run`'s start-up. The driver
has imported Parsl already, so before it starts Parsl it forks a *launcher* (`Launcher`),
a copy of itself that waits on a Unix socket in a private directory. The local
executor's commands are this file as a thin client:

    python3 -S aiwf_launch.py interchange         # HighThroughputExecutor.interchange_launch_cmd
    python3 -S aiwf_launch.py pool ARGS            # its launch_cmd (process_worker_pool.py's ARGS)

The client (standard library only, a few milliseconds) hands its stdin, stdout, stderr,
working directory, environment and process group to the launcher, which forks a child
that runs Parsl's own interchange or worker pool module, unchanged, with them; the pool
takes its workers from a multiprocessing fork server that is itself a fork (Parsl already
imported) instead of spawning them. The client stays the process Parsl knows: it forwards SIGTERM, SIGINT and
SIGHUP to the child and ends with the child's status, and the child joins the client's
process group, so the LocalProvider's `kill -- -PGID` ends the pool and its workers as
before. Without a launcher ($AIWF_LAUNCHER unset or gone: the program was started another
way, or the platform cannot fork) the client runs the ordinary command instead: Parsl's
`interchange.py`, or the pool with its workers forked from a fork server that imported
Parsl once (`direct_pool`).

It needs Python (tested with 3.11) and, outside the client, parsl; never aiwfc.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

ENV = "AIWF_LAUNCHER"  # the launcher's socket, set in the driver's environment for its children
INTERCHANGE_MODULE = "parsl.executors.high_throughput.interchange"
POOL_MODULE = "parsl.executors.high_throughput.process_worker_pool"
KINDS = ("interchange", "pool")
HEADER = struct.Struct("!I")  # length of the JSON request that follows
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class WithoutBoto:
    """A meta path finder under which `import boto3` (or botocore) fails, for the time
    Parsl is imported (`with WithoutBoto(): import parsl`): Parsl imports every provider,
    and its AWS one imports boto3 when that is installed (0.1-0.4 s of the start-up), though
    no configuration here uses it (Parsl then marks AWS as unavailable, as without boto3)."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("boto3", "botocore"):
            raise ImportError(f"{name} is not needed by this program's Parsl configurations")
        return None

    def __enter__(self):
        sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc):
        sys.meta_path.remove(self)
        return False


# ---------------------------------------------------------------- the client

def client(kind: str, argv: list[str]) -> int:
    """Runs `kind` in a child of the launcher and returns its exit status (see the module
    doc); without a launcher, becomes the ordinary command (exec)."""
    address = os.environ.get(ENV)
    conn = socket.socket(socket.AF_UNIX)
    try:
        if not address:
            raise OSError("no launcher")
        conn.connect(address)
    except OSError:
        conn.close()
        _exec_direct(kind, argv)
    request = json.dumps({"kind": kind, "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                          "pgid": os.getpgrp()}).encode()
    socket.send_fds(conn, [HEADER.pack(len(request))], [0, 1, 2])
    conn.sendall(request)
    reader = conn.makefile("r", encoding="ascii")
    line = reader.readline()
    if not line.strip():  # the launcher could not start it (it said why on our stderr)
        return 1
    pid = int(line)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    for s in FORWARDED:
        signal.signal(s, forward)
    while True:
        try:
            line = reader.readline()
            break
        except InterruptedError:  # pragma: no cover - readline retries on EINTR itself
            continue
    status = int(line) if line.strip() else 1  # no status: the launcher ended first
    if status < 0:  # ended by a signal: end the same way, as Parsl expects of the process it started
        for s in FORWARDED:
            signal.signal(s, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        return 128 - status
    return status


def _exec_direct(kind: str, argv: list[str]):
    """The ordinary command, replacing this process: Parsl's interchange script, or the
    pool through `direct_pool` (a new Python with site-packages, unlike this -S client)."""
    if kind == "interchange":
        os.execvp("interchange.py", ["interchange.py", *argv])
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "--direct", kind, *argv])


def direct_pool(argv: list[str]) -> int:
    """Parsl's worker pool with its workers forked from multiprocessing's fork server,
    which imports the pool's module once, instead of spawned (each spawn re-imported all
    of Parsl). The server is started before this process imports Parsl, so the two
    imports overlap."""
    import multiprocessing  # here, not at the top: the client must stay light
    from multiprocessing import forkserver
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([POOL_MODULE])
        forkserver.ensure_running()
    except (ValueError, OSError):  # pragma: no cover - no fork server: Parsl's spawn still works
        ctx = None
    return run_target("pool", argv, ctx)


# ---------------------------------------------------------------- what runs in a child

def run_target(kind: str, argv: list[str], context=None) -> int:
    """Runs Parsl's interchange or worker pool module as `__main__` with `argv`; the
    pool takes its workers from `context` (a multiprocessing context) when given."""
    import runpy
    import warnings
    module = INTERCHANGE_MODULE if kind == "interchange" else POOL_MODULE
    if context is not None:
        import parsl.multiprocessing
        parsl.multiprocessing.SpawnContext = context
    sys.argv = [module, *argv]
    # run as __main__ although the launcher (or the fork server) already imported it: expected here
    warnings.filterwarnings("ignore", f".*'{module}' found in sys.modules", RuntimeWarning)
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


# ---------------------------------------------------------------- the launcher

class Launcher:
    """A fork of the driver, taken before Parsl starts any thread, that forks the
    interchange and the worker pool on request (see the module doc). `start` returns
    None where that cannot work (no fork or fd passing, or a socket path too long)."""

    def __init__(self, pid: int, address: str, alive_w: int):
        self.pid, self.address, self._alive_w = pid, address, alive_w

    @classmethod
    def start(cls, preload: tuple[str, ...] = (INTERCHANGE_MODULE, POOL_MODULE)) -> "Launcher | None":
        import importlib
        import tempfile
        import threading
        if not (hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")):
            return None
        if threading.active_count() > 1:  # a fork copies one thread only: not safe to take here
            return None
        for name in preload:  # imported once here, so that no child imports them
            importlib.import_module(name)
        try:
            home = tempfile.mkdtemp(prefix="aiwf-launch-")  # mode 0700: only this user can connect
        except OSError:  # pragma: no cover - no temporary directory: Parsl's own commands then
            return None
        address = os.path.join(home, "s")
        listener = socket.socket(socket.AF_UNIX)
        try:
            if len(address.encode()) > 100:  # pragma: no cover - AF_UNIX paths are short
                raise OSError("socket path too long")
            listener.bind(address)
            listener.listen(16)
            alive_r, alive_w = os.pipe()  # EOF when the driver ends: the launcher ends too
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
        except OSError:  # pragma: no cover - no fork (memory, limits): Parsl's own commands then
            listener.close()
            _remove(address)
            return None
        if pid == 0:  # the launcher
            code = 1
            try:
                os.close(alive_w)
                _serve(listener, alive_r)
                code = 0
            finally:
                os._exit(code)
        os.close(alive_r)
        listener.close()
        os.environ[ENV] = address
        return cls(pid, address, alive_w)

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the launcher (it ends any child still running; killed after `timeout`
        seconds) and removes its socket."""
        import time
        os.environ.pop(ENV, None)
        os.close(self._alive_w)
        deadline = time.monotonic() + timeout
        while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > deadline:  # pragma: no cover - stuck on a client that stopped
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.005)
        _remove(self.address)


def _remove(address: str) -> None:
    """The launcher's socket and its private directory."""
    for path, remove in ((address, os.unlink), (os.path.dirname(address), os.rmdir)):
        try:
            remove(path)
        except OSError:
            pass


def _serve(listener: socket.socket, alive_r: int) -> None:
    """The launcher's loop: a child per request; each child's exit status goes back to
    its client. Single-threaded, so every fork is of a clean process."""
    import selectors
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # hold no copy of the driver's output (a reader waits for its EOF)
        os.dup2(devnull, fd)
    os.close(devnull)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(alive_r, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    own = [listener.fileno(), alive_r, wake_r, wake_w]
    running = True
    while running:
        for key, _ in sel.select():
            if key.fileobj is alive_r:
                running = False
            elif key.fileobj is wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            else:
                conn, _ = listener.accept()
                pid = _fork_child(conn, own + [sel.fileno()] + [c.fileno() for c in children.values()])
                if pid is not None:
                    children[pid] = conn
                else:
                    conn.close()
        _reap(children)
    for pid in children:  # the driver has gone: nothing is left to serve
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            conn.close()


def _fork_child(conn: socket.socket, inherited: list[int]) -> int | None:
    """Reads one request and forks its child; returns the child's pid (told to the
    client), or None when the request was unreadable. The child closes `inherited`, the
    launcher's own descriptors."""
    conn.settimeout(10)  # a client that stopped halfway does not stop the launcher
    try:
        head, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
        if len(head) != HEADER.size or len(fds) != 3:
            raise ValueError("bad request header")
        size, = HEADER.unpack(head)
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ValueError("short request")
            data += chunk
        req = json.loads(data)
        if req["kind"] not in KINDS:
            raise ValueError(f"unknown kind {req['kind']!r}")
    except (OSError, ValueError, KeyError):
        return None
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        return pid
    code = 1
    try:  # the child: become the process the client stands for
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        conn.close()
        for fd in inherited:
            os.close(fd)
        try:
            os.setpgid(0, req["pgid"])
        except OSError:  # another session: the client still forwards signals
            pass
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        # the driver's sys.std* may be other files (the warm start's stdin is /dev/null)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        code = run_target(req["kind"], req["argv"], _forkserver_here() if req["kind"] == "pool" else None)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - say why on the client's stderr, then end this child only
        import traceback
        traceback.print_exc()
    finally:
        _exit_child(code)


def _forkserver_here():
    """multiprocessing's fork server for the pool's workers, run in a fork of this process
    (which has Parsl imported: nothing to preload), taken before the pool opens any socket.
    Not plain forks of the pool: a worker forked after the pool's address probe would hold
    that probe's connection open, and the interchange, seeing the pool's identity still
    connected there, would ignore its real connection. None when this Python's fork
    server cannot be set up so (Parsl's spawn then still works, slowly)."""
    import multiprocessing
    from multiprocessing import connection, forkserver
    server = getattr(forkserver, "_forkserver", None)
    if server is None or not hasattr(server, "_forkserver_address"):  # pragma: no cover - another Python
        return None
    listener = socket.socket(socket.AF_UNIX)
    address = connection.arbitrary_address("AF_UNIX")
    listener.bind(address)
    os.chmod(address, 0o600)
    listener.listen()
    alive_r, alive_w = os.pipe()  # EOF when the pool ends: the server ends too
    pid = os.fork()
    if pid == 0:
        try:
            os.close(alive_w)
            forkserver.main(listener.fileno(), alive_r, [])
        finally:
            os._exit(0)
    os.close(alive_r)
    listener.close()
    server._forkserver_address, server._forkserver_alive_fd, server._forkserver_pid = address, alive_w, pid
    return multiprocessing.get_context("forkserver")


def _exit_child(code: int) -> None:
    """Ends a child as an interpreter exit would (atexit handlers: multiprocessing's
    finalizers end the pool's manager process), but without unwinding into the driver's
    stack that the fork copied."""
    import atexit
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--direct"] and argv[1:2] == ["pool"]:
        return direct_pool(argv[2:])
    if not argv or argv[0] not in KINDS:
        print(f"usage: aiwf_launch.py {{{'|'.join(KINDS)}}} [ARGS]", file=sys.stderr)
        return 2
    return client(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
