"""AIWF9xx: what a backend cannot express, emulated or dropped (never silently)."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

FEATURE_EMULATED = define(
    "AIWF901", "feature-emulated", S.INFO, "{target}: {feature} is emulated: {how}",
    summary="The target engine has no native form for a feature; the backend emulates it.",
    why="Emulation works but may behave differently (e.g. a service started per client).",
    example='service twin { ... }   # compiled for CWL',
    instead='# compile for slurm or parsl to run services natively')

FEATURE_DROPPED = define(
    "AIWF902", "feature-dropped", S.WARNING, "{target}: {feature} cannot be expressed and is dropped: {why}",
    summary="The target engine cannot express a feature at all; the artefact runs without it.",
    why="Better said than silently lost: the run will differ from what the workflow declares.",
    example='stop md when md.progress < 0.1   # compiled for CWL',
    instead='# compile for slurm or parsl, which can stop running work')

NO_FITTING_PARTITION = define(
    "AIWF903", "no-fitting-partition", S.ERROR,
    "job `{job}` fits no partition of site `{site}`: {detail}",
    summary="The planner found no partition that can run a planned job (after fusion or bundling).",
    why="The job would be rejected by the scheduler.",
    example='# a bundle of 50 tasks of 1h each on a site with max_walltime = 24h',
    instead='# lower `cluster_target` or split the phase')
