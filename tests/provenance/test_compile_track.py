"""`aiwfc compile --track mlflow[:URI]` / `--no-track`: the command line's say over Slurm tracking.

The same precedence as `aiwfc run` (aiwfc.tracking.resolve_track): the option beats the
workflow's and the site's `track`; with `--track` an untracked workflow's run ends with the
finish job that logs it (lib.sh submits it, jobs/aiwf_finish.sbatch runs aiwfc.tracking),
with `--no-track` a tracked one has none.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aiwfc.cli import main
from tests.provenance.test_slurm_finish import SITE, WORKFLOW

FINISH_LINES = ('  # tracked workflow: the last job summarises the run and logs it to MLflow\n'
                '  d=$(aiwf_join "afterany:${REP[fit]}")\n'
                '  aiwf_sbatch finish 0 finish "$d" "$AIWF_HOME/jobs/aiwf_finish.sbatch" > /dev/null\n}\n')


def compile_with(tmp_path: Path, track: str | None, *options: str, target: str = "slurm") -> Path:
    line = f'  track = "{track}"\n' if track else ""
    (tmp_path / "tiny.aiwf").write_text(WORKFLOW.format(site=SITE.format(track=""), track=line))
    out = tmp_path / "out"
    assert main(["compile", str(tmp_path / "tiny.aiwf"), "--site", "lab", "--target", target, "-o", str(out),
                 *options]) == 0
    return out


@pytest.mark.parametrize("option, uri", [(["--track", "mlflow"], None),
                                         (["--track", "mlflow:file:///srv/mlruns"], "file:///srv/mlruns")])
def test_track_option_adds_the_finish_job_to_an_untracked_workflow(tmp_path, option, uri):
    out = compile_with(tmp_path, None, *option)
    assert (out / "lib.sh").read_text().endswith(FINISH_LINES)
    finish = (out / "jobs" / "aiwf_finish.sbatch").read_text()
    assert ('  python3 -m aiwfc.tracking "$AIWF_RUN"' + (f" {uri}" if uri else "") + " || "
            'echo "aiwf: logging the run to MLflow failed; the task records remain" >&2\n') in finish


def test_track_option_uri_beats_the_workflows(tmp_path):
    out = compile_with(tmp_path, "mlflow:http://wf:5000", "--track", "mlflow:http://cli:5000")
    assert '  python3 -m aiwfc.tracking "$AIWF_RUN" http://cli:5000 || ' in \
        (out / "jobs" / "aiwf_finish.sbatch").read_text()


def test_no_track_drops_the_finish_job_of_a_tracked_workflow(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tracked = compile_with(tmp_path / "a", "mlflow")
    assert (tracked / "lib.sh").read_text().endswith(FINISH_LINES)
    out = compile_with(tmp_path / "b", "mlflow", "--no-track")
    assert not (out / "jobs" / "aiwf_finish.sbatch").exists()
    lib = (out / "lib.sh").read_text()
    assert "finish" not in lib and lib.endswith('aiwf_submit_main() {\n  local d\n  d=""\n'
                                                '  aiwf_submit__fit 0 "$d"\n}\n')
    # the rest of the tree is the untracked workflow's
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        sorted(p.relative_to(tracked).as_posix() for p in tracked.rglob("*") if p.is_file()
               and p.name != "aiwf_finish.sbatch")


def test_track_and_no_track_exclude_each_other_and_bad_values_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compile", "x.aiwf", "--target", "slurm", "-o", "out", "--track", "mlflow", "--no-track"])
    assert e.value.code == 2
    assert "argument --no-track: not allowed with argument --track" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["compile", "x.aiwf", "--target", "slurm", "-o", "out", "--track", "wandb"])
    assert e.value.code == 2
    assert "argument --track: expected mlflow, mlflow:URI or none, got `wandb`" in capsys.readouterr().err


@pytest.mark.parametrize("track, option, compiled", [
    (None, [], "TRACK = None"),
    (None, ["--track", "mlflow:file:///srv/mlruns"], "TRACK = 'mlflow:file:///srv/mlruns'"),
    ("mlflow", [], "TRACK = 'mlflow'"),
    ("mlflow", ["--no-track"], "TRACK = None"),
])
def test_the_parsl_program_carries_the_same_choice(tmp_path, track, option, compiled):
    """A Parsl program logs its own run when it ends (as the Slurm finish job does), so
    `python run.py` tracks as compiled; run.py --track/--no-track overrides it."""
    pytest.importorskip("parsl", reason="parsl is not installed")
    out = compile_with(tmp_path, track, *option, target="parsl")
    run_py = (out / "run.py").read_text()
    assert f"\n{compiled}\n" in run_py
    bad = subprocess.run([sys.executable, str(out / "run.py"), "--track", "wandb"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.rstrip().endswith("error: --track expects mlflow or mlflow:URI, not 'wandb'")


def test_the_parsl_program_without_aiwfc_says_so(tmp_path):
    """Where the program runs without aiwfc (only parsl installed), a tracked run ends with a
    notice and its records; the exit status is the run's."""
    pytest.importorskip("parsl", reason="parsl is not installed")
    out = compile_with(tmp_path, "mlflow", target="parsl")
    code = ("import sys; sys.modules['aiwfc'] = None; sys.path.insert(0, sys.argv[1]); import aiwf_parsl, pathlib; "
            "aiwf_parsl.log_to_mlflow(pathlib.Path(sys.argv[2]), None)")
    p = subprocess.run([sys.executable, "-c", code, str(out), str(tmp_path / "run")], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == ("aiwf: no MLflow tracking: python cannot import aiwfc here (pip install 'aiwfc[track]'); "
                        "the task records remain\n")
