"""The interpreter that runs `aiwfc run`'s program, started before anything else.

Importing Parsl takes about a second of CPU, and the program cannot start before it is
done; checking and compiling the workflow takes less. So `aiwfc run` starts the
program's interpreter first (`prestart`, from the command line's entry point, before
the compiler itself is imported): it imports Parsl while this process compiles, then
reads the program's argv (one JSON line) and runs it as `python run.py ARGS` would. An
empty line or EOF (nothing to run: input errors, usage errors, an exception) ends it.
SIGINT is ignored until then (a Ctrl-C during the compile ends it by EOF). When the
program has ended it leaves without tearing the interpreter down (atexit handlers run,
output is flushed, then `os._exit`): nothing is left to clean up but memory.

Standard library only, so that importing it costs nothing.
"""

from __future__ import annotations

import subprocess
import sys

WARM_START = """import json, os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
class WithoutBoto:  # as aiwf_launch.WithoutBoto: Parsl's AWS provider would import boto3 (unused)
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("boto3", "botocore"):
            raise ImportError(name)
sys.meta_path.insert(0, WithoutBoto())
try:
    import parsl.app.app, parsl.executors
    import parsl.executors.high_throughput.interchange, parsl.executors.high_throughput.process_worker_pool
except ImportError:
    pass
del sys.meta_path[0]
if os.environ.get("AIWF_TIMELINE"):
    with open(os.environ["AIWF_TIMELINE"], "a") as f:
        f.write(f"{__import__('time').time():.6f} warm: parsl imported\\n")
line = sys.stdin.readline()
if not line.strip():
    sys.exit(0)
sys.argv = json.loads(line)
sys.stdin.close()
sys.stdin = open(os.devnull)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, os.path.dirname(sys.argv[0]))
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if not isinstance(e.code, (int, type(None))):
        print(e.code, file=sys.stderr)
__import__("atexit")._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""

_started: subprocess.Popen | None = None


def start() -> subprocess.Popen:
    """A new warm interpreter (stdin a pipe: write the program's argv as one JSON line)."""
    # -P: the current directory is not put on the path (as for `python run.py`)
    return subprocess.Popen([sys.executable, "-P", "-c", WARM_START], stdin=subprocess.PIPE)


def prestart(argv: list[str]) -> None:
    """Starts the warm interpreter now when the command line is an `aiwfc run` (not
    its --help): `take` hands it to the run command."""
    global _started
    if argv[:1] == ["run"] and not {"-h", "--help"} & set(argv) and _started is None:
        _started = start()


def take() -> subprocess.Popen:
    """The interpreter `prestart` started (once), else a new one."""
    global _started
    warm, _started = _started, None
    return warm if warm is not None else start()
