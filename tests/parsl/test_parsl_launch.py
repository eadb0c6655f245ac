"""aiwf_launch.py: the local executor's interchange and worker pool started as forks of a
launcher (a fork of the driver) through a thin client, and the client's fallback to the
ordinary commands when there is no launcher. The whole runs are in test_parsl_run.py;
these tests drive the client and the launcher directly, with Parsl's real modules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("parsl")

LAUNCH = Path(__file__).resolve().parents[2] / "backends" / "parsl" / "aiwf_launch.py"

# A driver stand-in: starts a launcher, prints its socket and pid, runs the client command
# given as JSON on stdin and reports the client's exit status, then stops the launcher.
DRIVER = """import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import aiwf_launch
launcher = aiwf_launch.Launcher.start()
print(launcher.address, launcher.pid, flush=True)
cmd = json.loads(sys.stdin.readline())
client = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
print(client.pid, flush=True)
children = None
if sys.stdin.readline().strip() == "term":
    children = []  # the launcher's children: the interchange the client stands for
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                if d.isdigit() and f.read().rsplit(")", 1)[1].split()[1] == str(launcher.pid):
                    children.append(d)
        except OSError:
            pass
    os.kill(client.pid, 15)
out, err = client.communicate(timeout=60)
print(json.dumps({"status": client.returncode, "out": out, "err": err, "children": children}), flush=True)
launcher.stop()
print(os.path.exists(os.path.dirname(launcher.address)), flush=True)
"""


def drive(kind_and_args: list[str], term: bool = False) -> tuple[str, int, dict, bool]:
    """Runs the client for `kind_and_args` through a launcher; returns the socket, the
    launcher's pid, the client's status/stdout/stderr and whether the socket's directory
    remained after stop()."""
    import json
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(LAUNCH.parent)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    address, pid = proc.stdout.readline().split()
    proc.stdin.write(json.dumps([sys.executable, "-S", str(LAUNCH), *kind_and_args]) + "\n")
    proc.stdin.flush()
    proc.stdout.readline()  # the client's pid
    if term:
        time.sleep(1.0)  # the child is up and reading its stdin
    proc.stdin.write("term\n" if term else "go\n")
    proc.stdin.flush()
    result = json.loads(proc.stdout.readline())
    remained = proc.stdout.readline().strip() == "True"
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    return address, int(pid), result, remained


def test_the_pool_runs_in_a_child_of_the_launcher_with_the_clients_output_and_status():
    address, _pid, result, remained = drive(["pool", "--help"])
    assert result["status"] == 0, result["err"]
    # Parsl's own worker pool module answered, on the client's stdout
    assert result["out"].startswith("usage: process_worker_pool.py [-h] ")
    assert "--max_workers_per_node" in result["out"]
    assert not remained and not os.path.exists(address)


def test_a_child_that_fails_gives_the_client_its_status_and_traceback():
    # the interchange reads its configuration (a pickle) from stdin: an empty stdin fails it
    _address, _pid, result, _ = drive(["interchange"])
    assert result["status"] == 1
    assert result["err"].rstrip().endswith("EOFError: Ran out of input")


def test_sigterm_to_the_client_ends_the_child_and_the_client_ends_by_it():
    _address, _pid, result, _ = drive(["interchange"], term=True)
    assert len(result["children"]) == 1  # it ran in the launcher's child, not in the client itself
    assert result["status"] == -signal.SIGTERM
    assert result["err"] == ""  # ended by the signal, not by a failure


def test_without_a_launcher_the_client_runs_the_ordinary_command():
    env = dict(os.environ, AIWF_LAUNCHER="/nonexistent/aiwf-launch/s")
    p = subprocess.run([sys.executable, "-S", str(LAUNCH), "pool", "--help"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: process_worker_pool.py [-h] ")


def test_the_client_names_its_kinds_on_a_usage_error():
    p = subprocess.run([sys.executable, "-S", str(LAUNCH), "workers"], capture_output=True, text=True)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", "usage: aiwf_launch.py {interchange|pool} [ARGS]\n")
