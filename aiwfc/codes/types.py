"""AIWF2xx: types of ports, params and expressions."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

PORT_TYPE_MISMATCH = define(
    "AIWF201", "port-type-mismatch", S.ERROR,
    "input `{port}` has type `{expected}` but `{source}` gives `{actual}`",
    summary="An edge between two phases carries a value of a different type than the receiving port declares.",
    why="The consumer would get a file where it expects a list, a float where it expects a file.",
    example='simulation md { foreach s in seeds  out traj: file = "t_${index}.npy" ... }\n'
            'training fit { in traj: file = md.traj ... }   # md runs per seed',
    instead='training fit { in trajs: list<file> = md.traj ... }')

EXPRESSION_TYPE = define(
    "AIWF202", "expression-type", S.ERROR, "{detail}",
    summary="An expression combines values whose types do not fit (a condition that is not a bool, `len` of a number).",
    why="Each backend compiles expressions to its own language; an ill-typed one would fail at run time, late.",
    example='until = fit.metrics.loss + "x"',
    instead='until = fit.metrics.loss < 0.01')

PARAM_OVERRIDE = define(
    "AIWF203", "param-override", S.ERROR, "{detail}",
    summary="A `-p NAME=VALUE` or params-file value does not match the declared param type, or names no param.",
    why="The workflow would run with a value it was not written for.",
    example='aiwfc check wf.aiwf -p n_walkers=many',
    instead='aiwfc check wf.aiwf -p n_walkers=32')

PARAM_DEFAULT = define(
    "AIWF204", "param-default-type", S.ERROR,
    "default of param `{name}` is {actual}, not {expected}",
    summary="A param's default value does not have the param's declared type.",
    why="The default is what runs when nobody overrides it.",
    example='param n: int = 0.5',
    instead='param n: float = 0.5')
