"""What the Slurm backend emits for a tracked workflow: the finish job, and when it is left out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from aiwfc.cli import main

WORKFLOW = """aiwf 0.1
{site}workflow tiny {{
{track}  param lr: float = 0.5
  task fit {{
    out loss: float
    track = [lr, loss]
    run "python3 fit.py ${{lr}} ${{loss}}"
  }}
}}
"""
SITE = """site lab {{
{track}  scheduler = slurm
  partition cpu {{ cores = 8  memory = 16GiB  max_walltime = 1d  default = true }}
}}
"""


def compile_tiny(tmp_path: Path, track: str | None = None, site_track: str | None = None) -> Path:
    line = f'  track = "{track}"\n' if track else ""
    site = SITE.format(track=f'  track = "{site_track}"\n' if site_track else "")
    (tmp_path / "tiny.aiwf").write_text(WORKFLOW.format(site=site, track=line))
    out = tmp_path / "out"
    assert main(["compile", str(tmp_path / "tiny.aiwf"), "--site", "lab", "--target", "slurm", "-o", str(out)]) == 0
    return out


def test_tracked_workflow_ends_with_the_finish_job(tmp_path):
    out = compile_tiny(tmp_path, track="mlflow:http://mlflow.example.org:5000")
    lib = (out / "lib.sh").read_text()
    assert ('  # tracked workflow: the last job summarises the run and logs it to MLflow\n'
            '  d=$(aiwf_join "afterany:${REP[fit]}")\n'
            '  aiwf_sbatch finish 0 finish "$d" "$AIWF_HOME/jobs/aiwf_finish.sbatch" > /dev/null\n}\n') in lib
    finish = (out / "jobs" / "aiwf_finish.sbatch").read_text()
    assert finish.splitlines()[-6:] == [
        '"$AIWF_HOME/status.sh" --crate "$AIWF_RUN" || true',
        "if python3 -c 'import aiwfc.tracking' 2> /dev/null; then",
        "  python3 -m aiwfc.tracking \"$AIWF_RUN\" http://mlflow.example.org:5000 || "
        'echo "aiwf: logging the run to MLflow failed; the task records remain" >&2',
        "else",
        "  echo \"aiwf: no MLflow tracking: python3 cannot import aiwfc here (pip install 'aiwfc[track]'); "
        "the task records remain\"",
        "fi"]
    assert "#SBATCH --partition=cpu" in finish and "#SBATCH --job-name=tiny.finish" in finish
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(["shellcheck", "-s", "bash", str(out / "jobs" / "aiwf_finish.sbatch"), str(out / "lib.sh")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("track, site_track, uri", [
    ("mlflow", None, None),
    (None, "mlflow:http://site:5000", "http://site:5000"),   # the site's setting alone
    ("mlflow", "mlflow:http://site:5000", "http://site:5000"),  # the workflow tracks, the site says where
])
def test_workflow_or_site_setting(tmp_path, track, site_track, uri):
    finish = (compile_tiny(tmp_path, track, site_track) / "jobs" / "aiwf_finish.sbatch").read_text()
    assert f'  python3 -m aiwfc.tracking "$AIWF_RUN"{" " + uri if uri else ""} || ' in finish


@pytest.mark.parametrize("track, site_track", [(None, None), ("none", "mlflow:http://site:5000")])
def test_untracked_workflow_has_no_finish_job(tmp_path, track, site_track):
    out = compile_tiny(tmp_path, track, site_track)
    assert not (out / "jobs" / "aiwf_finish.sbatch").exists()
    assert "finish" not in (out / "lib.sh").read_text()
