"""The Workflow Run RO-Crate that a finished `aiwfc run` writes, loaded back with rocrate."""

from __future__ import annotations

import json

import pytest

from aiwfc.provenance import PROFILES, crate_entities

rocrate = pytest.importorskip("rocrate.rocrate", reason="rocrate is not installed (pip install 'aiwfc[track]')")


def test_run_writes_a_crate_with_workflow_inputs_outputs_and_decisions(hpo_run):
    run_dir, proc = hpo_run
    assert f"  RO-Crate: {run_dir / 'ro-crate-metadata.json'}\n" in proc.stdout
    crate = rocrate.ROCrate(str(run_dir))
    root = crate.root_dataset
    assert [p.id for p in root["conformsTo"]] == PROFILES
    # the compiled workflow: the source, the program, the compile manifest
    wf = crate.mainEntity
    assert wf.id == "program/source/hpo.aiwf"
    assert wf.type == ["File", "SoftwareSourceCode", "ComputationalWorkflow"]
    assert wf["programmingLanguage"].id == "#aiwf"
    assert sorted(p.id for p in wf["hasPart"]) == [
        "program/aiwf_base.py", "program/aiwf_exec.py", "program/aiwf_launch.py", "program/aiwf_loop.py",
        "program/aiwf_parsl.py", "program/aiwf_records.py", "program/aiwf_task.py", "program/aiwf_values.py",
        "program/aiwfc-manifest.json", "program/run.py", "program/workflow.json"]
    assert [p.id for p in wf["input"]] == [f"#param-{n}" for n in (
        "epochs", "lrs", "max_rounds", "samples_per_sim", "sims_per_round", "target_loss")]
    assert [p.id for p in wf["output"]] == [
        "#output-holdout.validation", "#output-holdout.store", "#output-simulate.samples", "#output-collect.data",
        "#output-sweep.model", "#output-sweep.metrics", "#output-select.best_loss", "#output-select.best_lr",
        "#output-select.best_model"]
    assert crate.get("#param-lrs")["additionalType"] == "Collection"
    # the compiler's decisions
    compile_action = crate.get("#compile")
    assert compile_action["instrument"].id == "#aiwfc"
    assert compile_action["description"] == "passes applied: job-arrays, transitive-reduction"
    manifest = crate.get("program/aiwfc-manifest.json")
    assert [p.id for p in manifest["mentions"]] == [
        "#pass-job-arrays", "#pass-fusion", "#pass-clustering", "#pass-aggregation", "#pass-staging",
        "#pass-transitive-reduction", "#pass-partition-choice"]
    arrays = crate.get("#pass-job-arrays")
    assert arrays.type == "HowToStep" and arrays["position"] == 1
    assert arrays["description"] == ("simulate: 2 separate submissions -> a job array of 2 tasks in 1 submission\n"
                                     "sweep: 3 separate submissions -> a job array of 3 tasks in 1 submission")
    assert crate.get("#pass-fusion")["disambiguatingDescription"] == "needs -O2"
    assert crate.get("#pass-transitive-reduction")["description"] == \
        "removed holdout -> sweep (all-of): implied through collect"
    assert crate.get("program/source/hpo.aiwf")["sha256"] == json.loads(
        (run_dir / "program" / "aiwfc-manifest.json").read_text())["sources"][0]["sha256"]
    # the run: params in, task outputs out
    run = crate.get("#run")
    assert run["instrument"].id == "program/source/hpo.aiwf"
    assert run["actionStatus"] == "http://schema.org/CompletedActionStatus"  # not an entity: rocrate gives the id
    assert {o["name"]: o["value"] for o in run["object"]} == {
        "epochs": "40", "lrs": "[0.3, 0.1, 0.03]", "max_rounds": "2", "samples_per_sim": "12",
        "sims_per_round": "2", "target_loss": "0.004"}
    assert run["object"][0]["exampleOfWork"].id == "#param-epochs"
    results = {r.id: r for r in run["result"]}
    assert len(results) == 1 * 2 + 2 * (2 + 1 + 3 * 2 + 3)  # holdout 2; per round: 2 sims, collect, 3x2 sweep, 3 select
    model = results["tasks/sweep/i1/2/model_2.npz"]
    assert model.type == "File" and model["exampleOfWork"].id == "#output-sweep.model"
    assert model["name"] == "sweep.model (iteration 1, item 2)"
    loss = results["#pv-sweep-i1-2-metrics"]
    assert json.loads(loss["value"]) == json.loads((run_dir / "tasks/sweep/i1/2/metrics.json").read_text())
    best = results["#pv-select-i1-0-best_loss"]
    assert float(best["value"]) == json.loads((run_dir / "tasks/select/i1/0/best_loss.json").read_text())
    assert run["startTime"] < run["endTime"]


def test_entities_without_a_program_dir_still_describe_the_run(hpo_run, tmp_path):
    run_dir, _ = hpo_run
    entities = {e["@id"]: e for e in crate_entities(run_dir, tmp_path)}  # an empty program dir
    assert entities["./"]["mainEntity"] == {"@id": (tmp_path / "source" / "hpo.aiwf").as_uri()}
    assert entities["#run"]["actionStatus"] == {"@id": "http://schema.org/CompletedActionStatus"}
    assert entities["#compile"]["description"] == "passes applied: none"


def test_without_rocrate_a_notice_and_no_crate(tmp_path, monkeypatch):
    import sys

    from aiwfc.provenance import write_crate
    monkeypatch.setitem(sys.modules, "rocrate.rocrate", None)  # what `import` sees when it is not installed
    assert write_crate(tmp_path) == \
        "no RO-Crate written: the rocrate package is not installed (pip install 'aiwfc[track]')"
    assert list(tmp_path.iterdir()) == []


def test_module_entry_point_for_other_backends(hpo_run, tmp_path, capsys):
    import shutil

    from aiwfc.provenance import main
    run_dir, _ = hpo_run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir / "tasks", copy / "tasks")  # a Slurm-like run dir: task records only
    assert main([str(copy), str(run_dir / "program")]) == 0
    assert capsys.readouterr().out == f"RO-Crate: {copy / 'ro-crate-metadata.json'}\n"
    crate = rocrate.ROCrate(str(copy))
    assert crate.mainEntity.id == (run_dir / "program" / "source" / "hpo.aiwf").as_uri()
    # the records name their outputs by absolute path: those of the original run stay outside this crate
    model = crate.get((run_dir / "tasks/sweep/i1/0/model_0.npz").as_uri())
    assert model["exampleOfWork"].id == "#output-sweep.model"
    assert main([]) == 2 and main([str(tmp_path / "none")]) == 2


def test_bytecode_beside_the_program_is_not_part_of_the_crate(hpo_run, tmp_path):
    """`import aiwf_task` with bytecode writing on leaves __pycache__/*.pyc in the program
    directory (this environment sets PYTHONDONTWRITEBYTECODE=1, which hides it): the crate
    lists the program's files, never its bytecode."""
    import shutil

    run_dir, _ = hpo_run
    program = tmp_path / "program"
    shutil.copytree(run_dir / "program", program)
    (program / "__pycache__").mkdir()
    (program / "__pycache__" / "aiwf_task.cpython-311.pyc").write_bytes(b"\x00")
    (program / "stray.pyc").write_bytes(b"\x00")
    entities = {e["@id"]: e for e in crate_entities(run_dir, program)}
    workflow = entities[(program / "source" / "hpo.aiwf").as_uri()]
    parts = sorted(p["@id"] for p in workflow["hasPart"])
    assert parts == sorted((program / name).as_uri() for name in (
        "aiwf_base.py", "aiwf_exec.py", "aiwf_launch.py", "aiwf_loop.py", "aiwf_parsl.py", "aiwf_records.py",
        "aiwf_task.py", "aiwf_values.py", "aiwfc-manifest.json", "run.py", "workflow.json"))
    assert not any("__pycache__" in i or i.endswith(".pyc") for i in entities)
