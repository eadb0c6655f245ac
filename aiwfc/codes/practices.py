"""AIWF7xx: the twelve rules for AI-driven workflows, and motifs."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

UNTRACKED_TRAINING = define(
    "AIWF701", "untracked-training", S.WARNING,
    "training phase `{phase}` tracks {missing}",
    summary="A training phase that tracks no params or no metrics.",
    why="Track experiments as first-class outputs: hyper-parameters and metrics are what make a trained model "
        "reproducible and comparable.",
    example='training fit { out model: file = "m.npz" ... }',
    instead='training fit { out metrics: metrics { loss: float }  track = [lr, metrics] ... }')

MOTIF_CONTRADICTED = define(
    "AIWF711", "motif-contradicted", S.WARNING,
    "workflow `{workflow}` declares motif `{motif}` but {detail}",
    summary="The declared execution motif does not match the workflow's graph.",
    why="The motif tells readers, and the planner, how the AI and the simulation are coupled; a wrong one misleads both.",
    example='workflow w { motif = digital_replica ... }   # but no service runs beside a simulation',
    instead='workflow w { motif = multistage_pipeline ... }')

INVALID_TRACK = define(
    "AIWF702", "invalid-track", S.ERROR,
    "{owner} `{name}`: `track = \"{value}\"` names no experiment tracker; expected \"mlflow\", "
    "\"mlflow:URI\" or \"none\"",
    summary="A workflow's or site's `track` setting that names no supported experiment tracker.",
    why="Track experiments as first-class outputs: `track` says where every run's params, per-iteration "
        "metrics and models are logged; a misspelt tracker would silently log nothing.",
    example='workflow w { track = "mlfow" ... }',
    instead='workflow w { track = "mlflow" ... }   # or "mlflow:http://mlflow.example.org:5000", or "none"')
