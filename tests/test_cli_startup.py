"""`aiwfc check` imports only what checking needs: the CLI builds the parser of the one
subcommand it runs (aiwfc/cli/__init__.py), so the planner, the backends and the
formatter are not imported at every start-up; `--help` still lists every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aiwfc.cli import COMMANDS

PROBE = """
import sys
from aiwfc.cli import main
rc = main(sys.argv[1:])
print(rc, sorted(m for m in sys.modules if m.startswith("aiwfc.")), file=sys.stderr)
"""


def _run(*args: str) -> tuple[int, str, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    rc, _, mods = proc.stderr.strip().splitlines()[-1].partition(" ")
    return int(rc), proc.stdout, set(eval(mods))  # a list literal printed by the probe


def test_check_does_not_import_the_planner_or_backends(tmp_path):
    path = tmp_path / "w.aiwf"
    path.write_text('aiwf 0.1\n\nworkflow w {\n  task t {\n    run "true"\n  }\n}\n')
    rc, out, mods = _run("check", str(path))
    assert rc == 0 and out == ""
    assert "aiwfc.cli.check_cmd" in mods and "aiwfc.pipeline" in mods
    assert not mods & {"aiwfc.plan", "aiwfc.backend", "aiwfc.fmt", "aiwfc.cli.compile_cmd", "aiwfc.cli.run_cmd"}


@pytest.mark.parametrize("argv", [["--help"], ["-h", "check"]])
def test_top_level_help_lists_every_command(argv):
    proc = subprocess.run([sys.executable, "-m", "aiwfc", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    # a command's line is indented by four spaces; wrapped help text by more
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed == COMMANDS
