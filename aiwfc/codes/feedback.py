"""AIWF6xx: feedback loops."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

UNBOUNDED_LOOP = define(
    "AIWF601", "unbounded-loop", S.ERROR, "feedback loop `{loop}` has no bound",
    summary="A `feedback` loop without `max_iterations`.",
    why="A model that never reaches its target would burn the allocation forever. Every loop needs a bound.",
    example='feedback steer { body = [md, fit]  until = fit.metrics.loss < 0.01 }',
    instead='feedback steer { body = [md, fit]  until = fit.metrics.loss < 0.01  max_iterations = 10 }')

CONDITION_READS_NOTHING = define(
    "AIWF602", "condition-reads-nothing", S.ERROR,
    "the condition of feedback loop `{loop}` reads nothing its body produces",
    summary="An `until`/`while` condition that refers to no output of the loop's body.",
    why="The condition cannot change between iterations: the loop runs once or to its bound, never because of the model.",
    example='feedback steer { body = [md, fit]  until = target > 0.5  max_iterations = 5 }',
    instead='feedback steer { body = [md, fit]  until = fit.metrics.loss < target  max_iterations = 5 }')

LOOP_CONDITION = define(
    "AIWF603", "loop-condition", S.ERROR, "feedback loop `{loop}` {detail}",
    summary="A loop needs exactly one of `until` or `while`, and a non-empty body.",
    why="Without a condition the loop's meaning is unclear; with both it is contradictory.",
    example='feedback steer { body = [md]  max_iterations = 5 }',
    instead='feedback steer { body = [md]  max_iterations = 5  until = md.best > 0.9 }')

BAD_NEXT = define(
    "AIWF604", "bad-loop-carry", S.ERROR, "{detail}",
    summary="A `next PHASE.NAME = ...` that does not name a body phase's input port or `foreach` variable, "
            "or whose value's type does not fit.",
    why="Loop-carried values are how one iteration feeds the next; a wrong target would be silently ignored.",
    example='next md.sed = score.next_seeds',
    instead='next md.seed = score.next_seeds')

BAD_STOP = define(
    "AIWF605", "bad-stop", S.ERROR, "{detail}",
    summary="A `stop PHASE when ...` whose phase is not in the loop body, or whose condition is not a bool.",
    why="Stopping running work is only meaningful for work the loop started.",
    example='stop report when report.progress < 0.1   # report is not in the body',
    instead='stop md when md.progress < 0.1')

PHASE_IN_TWO_LOOPS = define(
    "AIWF606", "phase-in-two-loops", S.ERROR,
    "phase `{phase}` is in the body of feedback loops `{a}` and `{b}`",
    summary="A phase belongs to the bodies of two loops that are not nested.",
    why="Its iteration count would be ambiguous.",
    example='feedback a { body = [md, fit] ... }\nfeedback b { body = [fit, score] ... }',
    instead='feedback a { body = [md, fit, score] ... }')
