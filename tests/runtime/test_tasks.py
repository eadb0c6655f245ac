"""`aiwf_task.py` on small workflows: quoting, failures, retries, `when`, bundles, resume,
loops, datasets, containers and signals, each asserted on task.json, the logs and the
exit status of the real subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.runtime.driver import Driver, compile_runtime

COUNTING = """aiwf 0.1
workflow t {
  param n: int = 5
  param limit: int = 3
  dataset inputs { path = "data"  tier = shared  files = 3  size = 1KiB  version = "2026-01" }
  task make {
    foreach x in range(n)
    batch = 2
    out v: int
    run "echo $(( ${x} * 10 )) > ${v}"
  }
  task total {
    in vs: list<int> = make.v
    out sum: int
    run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${vs} > ${sum}"
  }
  task never {
    when = n > 100
    out v: int
    run "echo 1 > ${v}"
  }
  task files {
    foreach f in inputs
    out size: int
    run "wc -c < ${f} > ${size}"
  }
  task count {
    in c: int = 0
    out next: int
    run "echo $(( ${c} + 1 )) > ${next}"
  }
  feedback counting {
    body = [count]
    while = count.next < limit
    max_iterations = 10
    next count.c = count.next
  }
}
"""


def make(tmp_path: Path, text: str, params: dict | None = None, **kw) -> Driver:
    """Compiles `text` as tmp_path/project/t.aiwf and returns a driver for it."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "t.aiwf").write_text(text)
    data = project / "data"
    data.mkdir(exist_ok=True)
    for name, content in (("one.txt", "a\n"), ("two.txt", "bbb\n"), ("three.txt", "cc\n")):
        (data / name).write_text(content)
    compile_runtime(project / "t.aiwf", tmp_path / "out", params)
    return Driver(tmp_path / "out", tmp_path / "run", **kw)


def lines(p) -> list[str]:
    return p.stdout.splitlines()


def test_hostile_values_stay_single_words(tmp_path):
    d = make(tmp_path, """aiwf 0.1
workflow hostile {
  param msg: string = "it's a \\"test\\" $(touch pwned) `touch pwned` ; rm -rf x"
  param words: list<string> = ["a  b", "c'd", "$(touch pwned2)", ""]
  task say {
    out said: file = "said ${len(words)}.txt"
    run "printf '[%s]\\n' ${msg} ${words} > ${said}"
  }
}
""").run()
    rec = d.record("say")
    assert rec["command"] == ("printf '[%s]\n' 'it'\"'\"'s a \"test\" $(touch pwned) `touch pwned` ; rm -rf x' "
                              "'a  b' 'c'\"'\"'d' '$(touch pwned2)' '' > 'said 4.txt'")
    assert (d.task_dir("say") / "said 4.txt").read_text() == \
        "[it's a \"test\" $(touch pwned) `touch pwned` ; rm -rf x]\n[a  b]\n[c'd]\n[$(touch pwned2)]\n[]\n"
    assert rec["outputs"] == {"said": str(d.task_dir("say") / "said 4.txt")}
    assert not list(tmp_path.rglob("pwned*"))


def test_failing_command_is_retried_then_recorded_with_its_log_tail(tmp_path):
    d = make(tmp_path, """aiwf 0.1
workflow t {
  task boom {
    retries = 1
    out v: int
    run "echo working; echo oops >&2; exit 7"
  }
}
""")
    d.task("items", "--phase", "boom", check=True)
    p = d.task("run", "--phase", "boom")
    assert p.returncode == 7
    assert lines(p) == ["boom i0/0 failed exit=7"]
    assert "aiwf: task boom[0] (iteration 0) failed after 2 attempt(s): the command exited with status 7" in p.stderr
    assert p.stderr.rstrip().endswith("oops") and "Traceback" not in p.stderr
    rec = d.record("boom")
    assert (rec["state"], rec["exit"], rec["attempts"], rec["log_tail"]) == ("failed", 7, 2, "oops")
    assert rec["error"] == "the command exited with status 7"
    assert [(a["attempt"], a["exit"]) for a in rec["attempt_log"]] == [(1, 7), (2, 7)]
    assert (d.task_dir("boom") / "stdout.attempt1.log").read_text() == "working\n"
    assert (d.task_dir("boom") / "stderr.log").read_text() == "oops\n"
    out = d.run_dir / "run.json"
    assert d.task("summary", "--out", str(out)).returncode == 0
    doc = json.loads(out.read_text())
    assert (doc["state"], doc["counts"]) == ("failed", {"failed": 1})
    assert doc["failed"] == [{"phase": "boom", "iteration": 0, "index": 0, "exit": 7, "log_tail": "oops",
                              "error": "the command exited with status 7",
                              "log": str(d.task_dir("boom") / "stderr.log")}]


def test_retry_that_succeeds(tmp_path):
    d = make(tmp_path, """aiwf 0.1
workflow t {
  task flaky {
    retries = 2
    out v: int
    run "n=$(cat tries 2>/dev/null || echo 0); echo $((n + 1)) > tries; [ $n -ge 1 ] && echo $n > ${v}"
  }
}
""")
    d.task("items", "--phase", "flaky", check=True)
    p = d.task("run", "--phase", "flaky")
    assert (p.returncode, lines(p)) == (0, ["flaky i0/0 done exit=0"])
    rec = d.record("flaky")
    assert (rec["state"], rec["attempts"], rec["outputs"]) == ("done", 2, {"v": 1})
    assert [a["exit"] for a in rec["attempt_log"]] == [1, 0]


def test_missing_upstream_output_is_a_message_not_a_traceback(tmp_path):
    d = make(tmp_path, COUNTING)
    p = d.task("run", "--phase", "total")
    assert (p.returncode, lines(p)) == (3, ["total i0/0 failed exit=3"])
    manifest = d.run_dir / "tasks" / "make" / "i0" / "manifest.json"
    message = (f"output make.v (iteration 0) is not available: `make` has no item list for iteration 0 "
               f"({manifest} is missing)")
    assert p.stderr == f"aiwf: task total[0] (iteration 0) failed: {message}\n"
    rec = d.record("total")
    assert (rec["state"], rec["exit"], rec["error"], rec["attempts"]) == ("failed", None, message, 0)
    assert (d.task_dir("total") / "stderr.log").read_text() == f"aiwf: total[0] (iteration 0): {message}\n"
    d.phase("make")
    p = d.task("run", "--phase", "total")
    assert (p.returncode, d.record("total")["outputs"]) == (0, {"sum": 100})


@pytest.mark.parametrize("command, error", [
    ("true", "output `v` (v.json) was not written"),
    ("echo abc > ${v}", "output `v` (v.json) is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    ("echo 1.5 > ${v}", "output `v` (v.json) should be int: got 1.5"),
    ("echo 1 > ${v}; echo [1] > ${fs}", "output `fs` (fs.json) should be list<file>: an item 1"),
    ("echo 1 > ${v}; touch a; echo '[\\\"a\\\", \\\"b\\\"]' > ${fs}",
     "output `fs` (fs.json) names b, which was not written"),
])
def test_outputs_are_checked(tmp_path, command, error):
    d = make(tmp_path, 'aiwf 0.1\nworkflow t {\n  task w {\n    out v: int\n    out fs: list<file>\n'
             '    run "%s"\n  }\n}\n' % command)
    p = d.task("run", "--phase", "w")
    assert (p.returncode, lines(p)) == (3, ["w i0/0 failed exit=3"])
    rec = d.record("w")
    assert (rec["state"], rec["exit"], rec["error"]) == ("failed", 0, error)
    assert rec["log_tail"] == f"aiwf: w[0] (iteration 0): {error}"


def test_when_false_skips_and_a_reader_says_why(tmp_path):
    d = make(tmp_path, COUNTING.replace("  task files {", """  task after_never {
    in v: int = never.v
    run "echo ${v}"
  }
  task files {"""))
    p = d.task("run", "--phase", "never")
    assert (p.returncode, lines(p)) == (0, ["never i0/0 skipped exit="])
    rec = d.record("never")
    assert (rec["state"], rec["exit"], rec["error"], rec["reason"]) == ("skipped", None, None,
                                                                        "`when` is false: n > 100")
    p = d.task("run", "--phase", "after_never")
    assert p.returncode == 3
    assert d.record("after_never")["error"] == \
        "output never.v (iteration 0) is not available: task never[0] (iteration 0) was skipped"


def test_bundles_run_items_in_turn_with_a_record_each(tmp_path):
    d = make(tmp_path, COUNTING)
    spec = json.loads((d.out / "workflow.json").read_text())
    assert (spec["phases"]["make"]["chunk"], spec["phases"]["make"]["foreach"]["count"]) == (2, 5)
    assert d.task("items", "--phase", "make").stdout == "5\n"
    outs = [d.task("run", "--phase", "make", "--range", r) for r in ("0:2", "2:4", "4:6", "6:8")]
    assert [(p.returncode, lines(p)) for p in outs] == [
        (0, ["make i0/0 done exit=0", "make i0/1 done exit=0"]),
        (0, ["make i0/2 done exit=0", "make i0/3 done exit=0"]),
        (0, ["make i0/4 done exit=0"]), (0, [])]
    assert [d.record("make", 0, i)["outputs"]["v"] for i in range(5)] == [0, 10, 20, 30, 40]
    assert [d.record("make", 0, i)["item"] for i in range(5)] == [0, 1, 2, 3, 4]
    assert d.task("run", "--phase", "total").returncode == 0
    assert d.record("total")["inputs"] == {"vs": [0, 10, 20, 30, 40]}


def test_resume_reruns_only_what_changed(tmp_path):
    d = make(tmp_path, COUNTING)
    d.phase("make")
    assert lines(d.task("run", "--phase", "total")) == ["total i0/0 done exit=0"]
    first = d.record("total")
    assert lines(d.task("run", "--phase", "total")) == ["total i0/0 cached exit=0"]
    assert d.record("total") == first
    # an upstream value changed (its task ran again): the key changes
    rec = d.record("make", 0, 4)
    rec["outputs"]["v"] = 41
    (d.task_dir("make", 0, 4) / "task.json").write_text(json.dumps(rec))
    assert lines(d.task("run", "--phase", "total")) == ["total i0/0 done exit=0"]
    assert d.record("total")["outputs"] == {"sum": 101} and d.record("total")["key"] != first["key"]
    # an input file's content changed: its sha256 changes the key
    d.phase("files")
    (tmp_path / "project" / "data" / "two.txt").write_text("bbbb\n")
    p = d.phase("files")
    assert lines(p) == ["files i0/0 cached exit=0", "files i0/1 cached exit=0", "files i0/2 done exit=0"]
    # an output went missing
    (d.task_dir("total") / "sum.json").unlink()
    assert lines(d.task("run", "--phase", "total")) == ["total i0/0 done exit=0"]
    assert lines(d.task("run", "--phase", "total", "--force")) == ["total i0/0 done exit=0"]
    # a new param value changes the command
    compile_runtime(tmp_path / "project" / "t.aiwf", d.out, {"n": "2"})
    assert d.task("items", "--phase", "make", check=True).stdout == "2\n"
    assert lines(d.task("run", "--phase", "make", "--index", "1")) == ["make i0/1 cached exit=0"]


def test_outputs_outside_the_task_directory_are_never_deleted(tmp_path):
    keep = tmp_path / "precious.txt"
    keep.write_text("keep me\n")
    d = make(tmp_path, 'aiwf 0.1\nworkflow t {\n  task w {\n    out f: file = "%s"\n    run "true"\n  }\n}\n'
             % keep)
    assert d.task("run", "--phase", "w").stdout == "w i0/0 done exit=0\n"
    assert keep.read_text() == "keep me\n" and d.record("w")["outputs"] == {"f": str(keep)}


def test_while_loop_carries_values_until_false(tmp_path):
    d = make(tmp_path, COUNTING).run()
    assert d.iterations["counting"] == 3
    assert [d.record("count", k)["inputs"]["c"] for k in range(3)] == [0, 1, 2]
    assert [d.loop_record("counting", k)["reason"] for k in range(3)] == [
        "the `while` condition holds", "the `while` condition holds", "the `while` condition no longer holds"]
    assert d.loop_record("counting", 1)["carried"] == {"count.c": 2}


def test_loop_ends_at_max_iterations(tmp_path):
    d = make(tmp_path, COUNTING.replace("max_iterations = 10", "max_iterations = 2")).run()
    assert d.iterations["counting"] == 2
    last = d.loop_record("counting", 1)
    assert (last["value"], last["continue"], last["reason"]) == (True, False, "max_iterations (2) reached")
    p = d.task("run", "--phase", "count", "--iteration", "2")
    assert p.returncode == 3
    assert d.record("count", 2)["error"] == "loop `counting` stopped after iteration 1; iteration 2 does not run"


def test_foreach_over_dataset_files(tmp_path):
    d = make(tmp_path, COUNTING)
    d.phase("files")
    data = tmp_path / "project" / "data"
    assert [d.record("files", 0, i)["item"] for i in range(3)] == [str(data / n) for n in
                                                                   ("one.txt", "three.txt", "two.txt")]
    assert [d.record("files", 0, i)["outputs"]["size"] for i in range(3)] == [2, 3, 4]
    rec = d.record("files", 0, 2)
    assert list(rec["input_files"]) == [str(data / "two.txt")]
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "only.txt").write_text("12345\n")
    d2 = Driver(d.out, tmp_path / "run2", env={"AIWF_DATASET_inputs": str(staged)})
    d2.phase("files")
    assert d2.record("files")["item"] == str(staged / "only.txt")
    assert d2.record("files")["outputs"] == {"size": 6}


def fake_apptainer(tmp_path: Path) -> Path:
    """A directory with an `apptainer` that records its arguments, then runs the command on
    the host (no apptainer can be installed here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apptainer"
    fake.write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$AIWF_TASK_DIR/apptainer.args"\n'
                    'while [ "$1" != bash ]; do shift; done\nexec "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return bin_dir


IN_IMAGE = """aiwf 0.1
import "std/images/python"
workflow t {
  task inside {
    image = python_numpy
    out v: int
    run "echo 5 > ${v}"
  }
}
"""


def test_a_task_directory_on_scratch_is_bound_into_the_container(tmp_path):
    bin_dir = fake_apptainer(tmp_path)
    d = make(tmp_path, IN_IMAGE, env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    (tmp_path / "project" / "images").mkdir()
    (tmp_path / "project" / "images" / "python_numpy.sif").write_text("")
    scratch = tmp_path / "scratch" / "inside0"
    scratch.mkdir(parents=True)
    d.task_dir("inside").parent.mkdir(parents=True)
    d.task_dir("inside").symlink_to(scratch)   # as the Slurm scripts stage a task directory
    assert d.task("run", "--phase", "inside").returncode == 0
    args = (scratch / "apptainer.args").read_text().splitlines()
    assert args[:3] == ["exec", "--bind", f"{tmp_path}/project,{d.run_dir},{scratch}"]
    assert d.record("inside")["outputs"] == {"v": 5} and (scratch / "v.json").read_text() == "5\n"


def test_image_runs_in_the_container_runtime_when_there_is_one(tmp_path):
    text = """aiwf 0.1
import "std/images/python"
workflow t {
  task inside {
    image = python_numpy
    out v: int
    run "echo 5 > ${v}"
  }
}
"""
    bin_dir = fake_apptainer(tmp_path)
    d = make(tmp_path, text, env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    p = d.task("run", "--phase", "inside")
    assert p.returncode == 0
    notice = (d.task_dir("inside") / "stderr.log").read_text()
    assert notice == (f"aiwf: image python_numpy: {tmp_path}/project/images/python_numpy.sif does not exist "
                      "(build it with the apptainer artefacts); running on the host\n")
    assert d.record("inside")["image"]["container"] is False
    (tmp_path / "project" / "images").mkdir()
    (tmp_path / "project" / "images" / "python_numpy.sif").write_text("")
    assert d.task("run", "--phase", "inside", "--force").returncode == 0
    args = (d.task_dir("inside") / "apptainer.args").read_text().splitlines()
    assert args == ["exec", "--bind", f"{tmp_path}/project,{d.run_dir}",
                    f"{tmp_path}/project/images/python_numpy.sif", "bash", "-c", "echo 5 > v.json"]
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    assert d.record("inside")["image"] == {"name": "python_numpy", "recipe_hash": d.spec["phases"]["inside"]["image"][
        "recipe_hash"], "sif": "images/python_numpy.sif", "container": True, "digest": empty}
    assert d.record("inside")["outputs"] == {"v": 5}
    # a distributed job's launcher goes outermost, before the container
    launcher = bin_dir / "launch"
    launcher.write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$AIWF_TASK_DIR/launch.args"\nshift\nexec "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    d.env["AIWF_LAUNCH"] = "launch '--ntasks=2 x'"
    assert d.task("run", "--phase", "inside", "--force").returncode == 0
    launched = (d.task_dir("inside") / "launch.args").read_text().splitlines()
    assert launched[0] == "--ntasks=2 x" and launched[1].endswith("/apptainer") and launched[2:] == args
    assert d.record("inside")["launch"] == ["launch", "--ntasks=2 x"]


def test_sigterm_ends_the_command_and_is_recorded(tmp_path):
    d = make(tmp_path, 'aiwf 0.1\nworkflow t {\n  task slow {\n    out v: int\n    run "sleep 30"\n  }\n}\n')
    proc = d.popen("run", "--phase", "slow")
    deadline = time.monotonic() + 10
    while not (d.task_dir("slow") / "task.json").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - started < 5
    assert (proc.returncode, out) == (143, "slow i0/0 failed exit=143\n")
    rec = d.record("slow")
    assert (rec["state"], rec["exit"], rec["attempts"]) == ("failed", 143, 1)


@pytest.mark.parametrize("args, message", [
    (("run", "--phase", "nope"), "aiwf_task: no phase `nope` in workflow t (phases: make, never, files, count, "
                                 "total)\n"),
    (("run", "--phase", "make", "--range", "3:1"), "aiwf_task: --range must be A:B with 0 <= A <= B, not '3:1'\n"),
    (("run", "--phase", "total", "--iteration", "1"),
     "aiwf_task: phase `total` is in no loop: its only iteration is 0\n"),
    (("loop", "--loop", "nope"), "aiwf_task: no feedback loop `nope` in workflow t\n"),
])
def test_usage_errors(tmp_path, args, message):
    d = make(tmp_path, COUNTING)
    p = d.task(*args)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", message)


def test_unreadable_spec(tmp_path):
    d = make(tmp_path, COUNTING)
    (d.out / "workflow.json").write_text("{}")
    p = d.task("items", "--phase", "make")
    assert (p.returncode, p.stderr) == (2, f"aiwf_task: {d.out / 'workflow.json'} is not an aiwf runtime spec "
                                           "(format aiwf-runtime/1)\n")


STOPPING = """aiwf 0.1
workflow t {
  param cut: float = 0.5
  task walk {
    foreach x in [1, 9]
    out p: float
    out trace: file = "trace.txt"
    run "echo started > ${trace}; echo 0.${x} > ${p}; [ ${x} = 9 ] || sleep 30"
  }
  task gather {
    in ps: list<float> = walk.p
    out n: int
    run "echo ${len(ps)} > ${n}"
  }
  feedback once {
    body = [walk, gather]
    until = gather.n >= 1
    max_iterations = 2
    stop walk when walk.p < cut
  }
}
"""


def test_stop_rule_ends_a_running_task(tmp_path):
    d = make(tmp_path, STOPPING)
    d.task("items", "--phase", "walk", check=True)
    started = time.monotonic()
    p = d.task("run", "--phase", "walk", "--range", "0:2")
    assert time.monotonic() - started < 10   # not the 30 s the first walker would sleep
    assert (p.returncode, lines(p)) == (0, ["walk i0/0 stopped exit=143", "walk i0/1 done exit=0"])
    rec = d.record("walk", 0, 0)
    assert (rec["state"], rec["error"], rec["reason"]) == ("stopped", None, "stop rule `walk.p < cut` holds")
    assert rec["outputs"] == {"p": 0.1, "trace": str(d.task_dir("walk", 0, 0) / "trace.txt")}
    p = d.task("stop", "--loop", "once", "--phase", "walk", "--index", "0")
    assert (p.returncode, p.stdout) == (0, "true\n")
    # the gather leaves the stopped walker out; the loop then ends on its condition
    assert lines(d.task("run", "--phase", "gather")) == ["gather i0/0 done exit=0"]
    assert d.record("gather")["inputs"] == {"ps": [0.9]}
    assert d.task("loop", "--loop", "once", "--iteration", "0").stdout == "stop\n"


def test_stop_command_reads_an_output_whose_path_names_an_input(tmp_path):
    # the output file is `w_p.json`: `${tag}` is an input, so the stop command must bind
    # the inputs as the task did, or it looks for the wrong file and never sees the value
    text = STOPPING.replace("    out p: float\n", '    in tag: string = "w"\n    out p: float = "${tag}_p.json"\n')
    d = make(tmp_path, text)
    d.task("items", "--phase", "walk", check=True)
    p = d.task("run", "--phase", "walk", "--range", "0:2")
    assert (p.returncode, lines(p)) == (0, ["walk i0/0 stopped exit=143", "walk i0/1 done exit=0"])
    assert (d.task_dir("walk", 0, 0) / "w_p.json").read_text() == "0.1\n"
    for index, holds in ((0, "true"), (1, "false")):
        p = d.task("stop", "--loop", "once", "--phase", "walk", "--index", str(index))
        assert (p.returncode, p.stdout) == (0, holds + "\n")


def test_loop_condition_on_a_failed_task_is_a_message(tmp_path):
    d = make(tmp_path, STOPPING.replace('echo ${len(ps)} > ${n}', 'exit 4'))
    d.phase("walk")
    assert d.task("run", "--phase", "gather").returncode == 4
    p = d.task("loop", "--loop", "once", "--iteration", "0")
    assert (p.returncode, p.stdout) == (3, "")
    assert p.stderr == ("aiwf_task: loop: output gather.n (iteration 0) is not available: task gather[0] "
                        "(iteration 0) is failed (the command exited with status 4)\n")


def test_a_dataset_read_whole_is_hashed_unless_versioned(tmp_path):
    text = COUNTING.replace("  task files {", """  task listing {
    out names: file = "names.txt"
    run "ls ${inputs} > ${names}"
  }
  task files {""")
    d = make(tmp_path, text.replace('  version = "2026-01"', ""))
    d.phase("listing")
    data = tmp_path / "project" / "data"
    digest = hashlib.sha256("".join(
        f"{n}\0{hashlib.sha256((data / n).read_bytes()).hexdigest()}\n" for n in ("one.txt", "three.txt", "two.txt"))
        .encode()).hexdigest()
    assert d.record("listing")["datasets"] == {"inputs": {"path": str(data), "version": None, "sha256": digest}}
    d = make(tmp_path, text)
    assert d.task("run", "--phase", "listing").stdout == "listing i0/0 done exit=0\n"   # the key changed
    assert d.record("listing")["datasets"] == {"inputs": {"path": str(data), "version": "2026-01", "sha256": None}}


def test_main_runs_in_process_and_in_a_thread(tmp_path, capsys):
    d = make(tmp_path, COUNTING)
    sys.path.insert(0, str(d.out))
    try:
        import aiwf_task
    finally:
        sys.path.remove(str(d.out))
    common = ["--spec", str(d.out / "workflow.json"), "--run", str(d.run_dir)]
    assert aiwf_task.main(["items", *common, "--phase", "make"]) == 0
    box = {}
    worker = threading.Thread(target=lambda: box.update(rc=aiwf_task.main(["run", *common, "--phase", "make",
                                                                            "--range", "0:5"])))
    worker.start()
    worker.join()
    assert box == {"rc": 0}
    assert capsys.readouterr().out.splitlines() == ["5"] + [f"make i0/{i} done exit=0" for i in range(5)]


PICK = """aiwf 0.1
workflow t {
  task gen {
    out xs: list<int>
    run "echo [1, 2] > ${xs}"
  }
  task use {
    foreach x in gen.xs
    out y: int
    run "echo ${x} > ${y}"
  }
}
"""


def test_an_item_list_that_cannot_be_made_fails_every_requested_task(tmp_path):
    d = make(tmp_path, PICK)
    p = d.task("run", "--phase", "use", "--range", "0:2")
    missing = d.task_dir("gen") / "task.json"
    message = f"output gen.xs (iteration 0) is not available: task gen[0] (iteration 0) has not run (no {missing})"
    assert (p.returncode, lines(p)) == (3, ["use i0/0 failed exit=3", "use i0/1 failed exit=3"])
    assert p.stderr == "".join(f"aiwf: task use[{i}] (iteration 0) failed: {message}\n" for i in (0, 1))
    assert [d.record("use", 0, i)["error"] for i in (0, 1)] == [message, message]
    d.phase("gen")
    missing.write_text("{")
    p = d.task("items", "--phase", "use")
    assert (p.returncode, p.stdout) == (3, "")
    assert p.stderr.startswith(f"aiwf_task: items: {missing} is not valid JSON: ")
    d.phase("gen")
    assert lines(d.phase("use")) == ["use i0/0 done exit=0", "use i0/1 done exit=0"]
    assert [d.record("use", 0, i)["outputs"] for i in (0, 1)] == [{"y": 1}, {"y": 2}]


SERVICE = """aiwf 0.1
workflow t {
  service svc {
    coupling = semi
    out log: file = "log.txt"
    run "%s"
  }
  task client {
    uses = [svc]
    out said: file = "said.txt"
    run "echo ${svc.address} > ${said}"
  }
  task reader {
    in log: file = svc.log
    out lines: int
    run "wc -l < ${log} > ${lines}"
  }
}
"""


def test_service_address_and_its_end(tmp_path):
    d = make(tmp_path, SERVICE % r'''echo started > ${log}; echo '\"127.0.0.1:1234\"' > address.json; sleep 30''')
    svc = d.popen("run", "--phase", "svc")
    assert d.task("run", "--phase", "client").stdout == "client i0/0 done exit=0\n"
    assert (d.task_dir("client") / "said.txt").read_text() == "127.0.0.1:1234\n"
    svc.send_signal(signal.SIGTERM)
    out, _ = svc.communicate(timeout=10)
    assert (svc.returncode, out) == (0, "svc i0/0 done exit=143\n")
    rec = d.record("svc")
    assert (rec["state"], rec["outputs"]) == ("done", {"log": str(d.task_dir("svc") / "log.txt")})
    assert d.task("run", "--phase", "reader").returncode == 0 and d.record("reader")["outputs"] == {"lines": 1}


@pytest.mark.parametrize("command, wait, error", [
    ("exit 1", "5", "service `svc` ended (failed) without writing {d}/address.json"),
    ("sleep 30", "0.5", "service `svc` wrote no address ({d}/address.json) within 0.5 s"),
])
def test_service_without_an_address(tmp_path, command, wait, error):
    d = make(tmp_path, SERVICE % command, env={"AIWF_SERVICE_WAIT": wait, "AIWF_SERVICE_GRACE": "0.5"})
    svc = d.popen("run", "--phase", "svc")
    if command == "exit 1":
        svc.communicate(timeout=10)
    p = d.task("run", "--phase", "client")
    assert (p.returncode, p.stdout) == (3, "client i0/0 failed exit=3\n")
    assert d.record("client")["error"] == error.format(d=d.task_dir("svc"))
    svc.send_signal(signal.SIGTERM)
    svc.communicate(timeout=10)


def test_hostile_param_override_from_the_command_line(tmp_path):
    text = 'aiwf 0.1\nworkflow t {\n  param msg: string = "x"\n  task say {\n    out said: file = "said.txt"\n' \
           '    run "printf \'[%s]\' ${msg} > ${said}"\n  }\n}\n'
    hostile = 'it\'s "q" $(touch pwned) ${HOME} `id`'
    d = make(tmp_path, text, {"msg": hostile}).run()
    assert (d.task_dir("say") / "said.txt").read_text() == f"[{hostile}]"
    assert d.record("say")["params"] == {"msg": hostile}
    assert not list(tmp_path.rglob("pwned"))


def _old_python() -> str | None:
    """A python3.6 or 3.7 that really runs (pyenv's shims exist for versions not selected)."""
    candidates = sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.[67].*/bin/python3"))
    candidates += [w for w in (shutil.which("python3.6"), shutil.which("python3.7")) if w]
    for c in candidates:
        if subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0:
            return c
    return None


def test_runs_on_the_oldest_python3_of_a_cluster(tmp_path):
    """Compute nodes often have an older python3 than the compiler (RHEL 8: 3.6)."""
    old = _old_python()
    if old is None:
        pytest.skip("no python3.6 or python3.7 here to run aiwf_task.py with")
    d = make(tmp_path, COUNTING, python=old).run()
    assert d.iterations["counting"] == 3
    assert d.record("total")["outputs"] == {"sum": 100}
    assert d.record("count", 2)["inputs"] == {"c": 2}
    assert d.task("summary").returncode == 0


ELEMENTWISE = """aiwf 0.1
workflow t {
  task a {
    foreach x in range(3)
    out y: int
    run "echo $(( ${x} * 2 )) > ${y}"
  }
  task b {
    foreach t in a.y
    out z: int
    run "echo $(( ${t} + 1 )) > ${z}"
  }
  task c {
    in zs: list<int> = b.z
    out total: int
    run "python3 -c 'import sys; print(sum(map(int, sys.argv[1:])))' ${zs} > ${total}"
  }
  feedback once {
    body = [a, b]
    until = len(b.z) > 0
    max_iterations = 1
    stop a when a.y > 3
  }
}
"""


def test_an_elementwise_item_runs_as_soon_as_its_producer_task_is_done(tmp_path):
    """`foreach t in a.y` scatters over a's items one to one: b[i] needs a[i] only (what a
    fused or `aftercorr` chunk runs), and b[i] is skipped when a[i] was stopped."""
    d = make(tmp_path, ELEMENTWISE)
    assert d.spec["phases"]["b"]["foreach"]["sources"] == [{"phase": "a", "port": "y", "mode": "elementwise"}]
    assert d.task("items", "--phase", "a").stdout == "3\n"
    assert d.task("items", "--phase", "b").stdout == "3\n"
    chunk = [d.task("run", "--phase", p, "--index", "0") for p in ("a", "b")]
    assert [lines(p) for p in chunk] == [["a i0/0 done exit=0"], ["b i0/0 done exit=0"]]
    assert (d.record("b")["item"], d.record("b")["outputs"]) == (0, {"z": 1})
    assert lines(d.task("run", "--phase", "b", "--index", "1")) == ["b i0/1 failed exit=3"]
    assert d.record("b", 0, 1)["error"] == ("output a.y[1] (iteration 0) is not available: task a[1] (iteration 0) "
                                            f"has not run (no {d.task_dir('a', 0, 1) / 'task.json'})")
    assert lines(d.task("run", "--phase", "a", "--range", "1:3")) == ["a i0/1 done exit=0", "a i0/2 stopped exit=0"]
    assert lines(d.task("run", "--phase", "b", "--range", "1:3")) == ["b i0/1 done exit=0", "b i0/2 skipped exit="]
    assert d.record("b", 0, 2)["reason"] == "task a[2] (iteration 0), whose output is its item, was stopped"
    assert d.task("loop", "--loop", "once").stdout == "stop\n"
    assert lines(d.task("run", "--phase", "c")) == ["c i0/0 done exit=0"]
    assert (d.record("c")["inputs"], d.record("c")["outputs"]) == ({"zs": [1, 3]}, {"total": 4})


def test_a_previous_runs_service_address_is_never_used(tmp_path):
    d = make(tmp_path, SERVICE % r'''echo x > ${log}; sleep 1; echo '\"new:2\"' > address.json; sleep 30''')
    old = d.task_dir("svc")
    old.mkdir(parents=True)
    (old / "address.json").write_text('"stale:1"\n')
    (old / "task.json").write_text(json.dumps({"state": "done", "start": "2026-01-01T00:00:00.000Z"}))
    client = d.popen("run", "--phase", "client")   # before the service is even started again
    time.sleep(0.2)
    svc = d.popen("run", "--phase", "svc")
    out, err = client.communicate(timeout=30)
    assert (client.returncode, out) == (0, "client i0/0 done exit=0\n"), err
    assert (d.task_dir("client") / "said.txt").read_text() == "new:2\n"
    svc.send_signal(signal.SIGTERM)
    svc.communicate(timeout=10)


def test_tracked_values_include_metric_fields_and_params(tmp_path):
    d = make(tmp_path, r"""aiwf 0.1
workflow t {
  param lr: float = 0.25
  training fit {
    out metrics: metrics { loss: float  acc: float }
    out model: file = "m.txt"
    track = [lr, metrics.loss, model]
    run "echo '{\"loss\": 0.5, \"acc\": 0.9}' > ${metrics}; touch ${model}"
  }
}
""").run()
    assert d.record("fit")["tracked"] == {"lr": 0.25, "metrics.loss": 0.5, "model": str(d.task_dir("fit") / "m.txt")}
    assert d.record("fit")["params"] == {"lr": 0.25}


def test_project_directory_can_move(tmp_path):
    text = 'aiwf 0.1\nworkflow t {\n  task w {\n    out f: file = "f.txt"\n    run "cat ${project}/note.txt > ${f}"\n  }\n}\n'
    d = make(tmp_path, text)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "note.txt").write_text("moved\n")
    d.env["AIWF_PROJECT"] = str(moved)
    assert d.task("run", "--phase", "w").returncode == 0
    assert d.record("w")["command"] == f"cat {moved}/note.txt > f.txt"
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "note.txt").write_text("third\n")
    assert d.task("run", "--phase", "w", "--project", str(tmp_path / "third")).returncode == 0
    assert (d.task_dir("w") / "f.txt").read_text() == "third\n"


def test_containers_can_be_turned_off(tmp_path):
    bin_dir = fake_apptainer(tmp_path)
    d = make(tmp_path, IN_IMAGE, env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AIWF_CONTAINERS": "off"})
    (tmp_path / "project" / "images").mkdir()
    (tmp_path / "project" / "images" / "python_numpy.sif").write_text("")
    assert d.task("run", "--phase", "inside").returncode == 0
    assert not (d.task_dir("inside") / "apptainer.args").exists()
    assert (d.task_dir("inside") / "stderr.log").read_text() == ""
    assert d.record("inside")["image"]["container"] is False
