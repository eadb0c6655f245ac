"""AIWF3xx: the shape of the workflow graph."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

DEPENDENCY_CYCLE = define(
    "AIWF301", "dependency-cycle", S.ERROR, "phases depend on each other in a cycle: {cycle}",
    summary="Data flows in a circle between phases outside any `feedback` loop.",
    why="No phase of the cycle can start. Iteration must be declared as a `feedback` loop, with a bound.",
    example='training fit { in d: file = score.out ... }\ninference score { in m: file = fit.model ... }',
    instead='feedback loop { body = [fit, score]  max_iterations = 5  until = ... }')

UNUSED_OUTPUT = define(
    "AIWF302", "unused-output", S.WARNING,
    "output `{phase}.{port}` is never used{hint}",
    summary="An output port that no phase reads, no loop condition reads and that is not tracked.",
    why="Either a missing edge or wasted work and storage.",
    example='preprocess clean { out log: file = "clean.log" ... }',
    instead='preprocess clean { ... }   # or read it downstream, or track it')

UNREACHABLE_PHASE = define(
    "AIWF303", "unreachable-phase", S.WARNING,
    "phase `{phase}` is not connected to the rest of workflow `{workflow}`",
    summary="A phase that neither reads from nor feeds any other phase, loop or service in a multi-phase workflow.",
    why="It runs unordered with everything else; usually an input binding was forgotten.",
    example='simulation md { ... }\nanalysis report { run "python report.py" }',
    instead='analysis report { in trajs: list<file> = md.traj  run "python report.py ${trajs}" }')
