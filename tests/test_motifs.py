"""Motif inference (aiwfc/motifs.py): exact reports for small graphs, one per motif,
the coupling characteristics, the text block, and the examples' declared motifs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiwfc.ir.models import MOTIFS
from aiwfc.motifs import RULES, format_motifs, infer_motifs
from aiwfc.pipeline import analyse

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

STEER = """\
aiwf 0.1
workflow steer {
  motif = dynamic_orchestration
  param lr: float = 0.01
  resource gpu { gpus = 1 }
  simulation md {
    foreach seed in range(4)
    out traj: file = "t_${index}.npy"
    out progress: float
    run "python md.py ${seed} ${traj} ${progress}"
  }
  training fit {
    resources = gpu
    in trajs: list<file> = md.traj
    out model: file = "m.npz"
    out metrics: metrics { loss: float }
    track = [lr, metrics]
    run "python fit.py ${trajs} ${model} ${metrics}"
  }
  inference score {
    in model: file = fit.model
    out best: float
    out next_seeds: list<int>
    run "python score.py ${model} ${best} ${next_seeds}"
  }
  feedback loop {
    body = [md, fit, score]
    until = score.best >= 0.9
    max_iterations = 4
    next md.seed = score.next_seeds
    stop md when progress < 0.1
  }
}
"""


def report(text: str, site: str | None = None, index: int = 0):
    comp = analyse("main.aiwf", text=text, site=site)
    assert comp.program is not None and not comp.sink.has_errors, [d.message for d in comp.sink.sorted()]
    return infer_motifs(comp, comp.program.workflows[index])


def test_one_rule_per_motif_in_the_ir_order() -> None:
    assert tuple(r.motif for r in RULES) == MOTIFS


def test_dynamic_orchestration_report() -> None:
    assert report(STEER).to_json() == {
        "workflow": "steer",
        "declared": "dynamic_orchestration",
        "motifs": [
            {"motif": "dynamic_orchestration", "score": 5, "reasons": [
                "loop `loop` stops runs of `md` early (`stop md`)",
                "`score` chooses the next runs of `md` in loop `loop` (`next md.seed`)"]},
            {"motif": "inverse_design", "score": 3, "reasons": [
                "`score` infers `md.seed` for the next iteration of loop `loop`"]},
            {"motif": "adaptive_training", "score": 1, "reasons": [
                "simulation `md` in loop `loop` produces the data that retrains `fit` as the AI steers it"]},
        ],
        "coupling_mode": "AI-out-HPC",
        "characteristics": {"data_flow": "both", "control_flow": "AI->HPC", "dynamism": "spawn and terminate",
                            "concurrency": "post-hoc", "federation": "one site", "coupling": "loose"},
    }


def test_format_motifs_text() -> None:
    assert format_motifs(report(STEER)) == """\
workflow `steer` (declares dynamic_orchestration):
  motifs:
    1. dynamic_orchestration (score 5)
       - loop `loop` stops runs of `md` early (`stop md`)
       - `score` chooses the next runs of `md` in loop `loop` (`next md.seed`)
    2. inverse_design (score 3)
       - `score` infers `md.seed` for the next iteration of loop `loop`
    3. adaptive_training (score 1)
       - simulation `md` in loop `loop` produces the data that retrains `fit` as the AI steers it
  coupling mode: AI-out-HPC
  data flow: both; control flow: AI->HPC; dynamism: spawn and terminate
  concurrency: post-hoc; federation: one site; coupling: loose
"""


def test_inverse_design_from_an_inferred_input() -> None:
    rep = report("""\
aiwf 0.1
workflow design {
  param start: float = 1.0
  simulation sim { in x: float = start  out y: float  run "python sim.py ${x} ${y}" }
  inference propose { in y: float = sim.y  out x: float  run "python propose.py ${y} ${x}" }
  feedback search { body = [sim, propose]  until = sim.y < 0.01  max_iterations = 10  next sim.x = propose.x }
}
""")
    assert rep.primary == "inverse_design"
    assert rep.motifs[0].reasons == ["`propose` infers `sim.x` for the next iteration of loop `search`"]
    assert rep.coupling_mode == "AI-out-HPC"
    assert rep.characteristics["dynamism"] == "static"
    # the model picks the next input and the simulation's result ends the loop
    assert rep.characteristics["control_flow"] == "both"


def test_digital_replica_tightly_coupled_is_ai_in_hpc() -> None:
    rep = report("""\
aiwf 0.1
workflow replica {
  service surrogate { coupling = tight  run "python serve.py" }
  simulation md { uses = [surrogate]  out traj: file = "t"  run "python md.py ${surrogate.address} ${traj}" }
  analysis report { in t: file = md.traj  run "python report.py ${t}" }
}
""")
    assert [(m.motif, m.score) for m in rep.motifs] == [("digital_replica", 3)]
    assert rep.motifs[0].reasons == ["service `surrogate` runs beside simulation `md` (tight coupling)"]
    assert rep.coupling_mode == "AI-in-HPC"
    assert rep.characteristics == {"data_flow": "both", "control_flow": "none", "dynamism": "static",
                                   "concurrency": "real-time", "federation": "one site", "coupling": "tight"}


def test_multistage_pipeline() -> None:
    rep = report("""\
aiwf 0.1
workflow screen {
  simulation dock { out poses: file = "p"  run "python dock.py ${poses}" }
  inference filter { in p: file = dock.poses  out keep: file = "k"  run "python filter.py ${p} ${keep}" }
  simulation refine { in k: file = filter.keep  out e: file = "e"  run "python refine.py ${k} ${e}" }
}
""")
    assert rep.to_json()["motifs"] == [
        {"motif": "multistage_pipeline", "score": 3,
         "reasons": ["`filter` (inference) sits between stages `dock` and `refine`"]},
        {"motif": "inverse_design", "score": 1, "reasons": ["`filter` infers the input `k` of `refine`"]},
    ]
    assert rep.coupling_mode == "AI-about-HPC"
    assert rep.characteristics["data_flow"] == "both"


def test_distributed_models_across_sites() -> None:
    rep = report("""\
aiwf 0.1
site hpc { partition cpu { cores = 64 } }
site cloud { partition gpu { cores = 8  gpus = 1 } }
workflow federated {
  simulation md { site = hpc  out traj: file = "t"  run "python md.py ${traj}" }
  training fit { site = cloud  in t: file = md.traj  out loss: float  run "python fit.py ${t} ${loss}" }
}
""", site="hpc")
    assert rep.primary == "distributed_models"
    assert rep.motifs[0].reasons == ["phases run on 2 sites: `hpc`, `cloud`"]
    assert rep.characteristics["federation"] == "2 sites (hpc, cloud)"


def test_adaptive_training_loop_and_sweep() -> None:
    rep = report("""\
aiwf 0.1
workflow adaptive {
  simulation md { out traj: file = "t"  run "python md.py ${traj}" }
  training fit { in t: file = md.traj  out loss: float  run "python fit.py ${t} ${loss}" }
  training hpo {
    foreach lr in [0.1, 0.01, 0.001]
    in t: file = md.traj
    out loss: float
    run "python hpo.py ${lr} ${t} ${loss}"
  }
  feedback learn { body = [md, fit]  until = fit.loss < 0.1  max_iterations = 5 }
}
""")
    assert rep.to_json()["motifs"] == [
        {"motif": "adaptive_training", "score": 5, "reasons": [
            "simulation `md` in loop `learn` produces the data that retrains `fit`",
            "`hpo` sweeps hyper-parameters (`foreach lr`) on simulation data"]},
        {"motif": "multistage_pipeline", "score": 1, "reasons": ["`hpo` (training) is a later stage after `md`"]},
    ]
    # the model's loss decides whether more simulations run
    assert rep.coupling_mode == "AI-out-HPC"
    assert rep.characteristics["control_flow"] == "AI->HPC"


def test_no_ai_no_motif() -> None:
    rep = report("""\
aiwf 0.1
workflow plain {
  simulation md { out traj: file = "t"  run "python md.py ${traj}" }
  analysis report { in t: file = md.traj  run "python report.py ${t}" }
}
""")
    assert rep.motifs == [] and rep.coupling_mode is None and rep.contradiction is None
    assert format_motifs(rep) == """\
workflow `plain`:
  motifs: none recognised
  coupling mode: none
  data flow: none; control flow: none; dynamism: static
  concurrency: post-hoc; federation: one site; coupling: none
"""


def test_contradiction_is_the_rules_absent_text() -> None:
    rep = report(STEER.replace("motif = dynamic_orchestration", "motif = digital_replica"))
    assert rep.contradiction == "no service runs beside a simulation (a `service` that the simulation `uses`)"
    assert "  declared motif digital_replica is not supported: no service runs beside a simulation" \
        in format_motifs(rep)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/*.aiwf")), ids=lambda p: p.parent.name)
def test_each_example_is_recognised_as_the_motif_it_declares(path: Path) -> None:
    comp = analyse(str(path))
    for wf in comp.program.workflows if comp.program else []:
        if wf.motif is not None:
            assert infer_motifs(comp, wf).primary == wf.motif
