"""Shared by the digital-replica scripts: the physical system, the twin's features, JSON ports.

The system is a driven, damped Duffing oscillator x'' + c x' + x + beta x^3 = F cos(w t).
The twin is a learned one-step map over DT_TWIN seconds, linear in a few nonlinear features.
"""
import json
import math
import os

import numpy as np

BETA, FORCE, OMEGA = 0.5, 0.5, 1.2
DT = 0.01                  # integration step of the simulation
DT_TWIN = 0.1              # the twin predicts in steps of this length
SUB = round(DT_TWIN / DT)  # simulation steps per twin step


def simulate(x, v, t, steps, damping):
    """RK4 integration; returns the states every SUB steps (after each twin step)."""
    def deriv(t, x, v):
        return v, FORCE * math.cos(OMEGA * t) - damping * v - x - BETA * x**3
    out = []
    for i in range(steps):
        k1 = deriv(t, x, v)
        k2 = deriv(t + DT / 2, x + DT / 2 * k1[0], v + DT / 2 * k1[1])
        k3 = deriv(t + DT / 2, x + DT / 2 * k2[0], v + DT / 2 * k2[1])
        k4 = deriv(t + DT, x + DT * k3[0], v + DT * k3[1])
        x += DT / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v += DT / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        t += DT
        if (i + 1) % SUB == 0:
            out.append((t, x, v))
    return out


def features(t, x, v):
    """What the twin's one-step map is linear in."""
    t, x, v = (np.atleast_1d(np.asarray(a, float)) for a in (t, x, v))
    return np.column_stack([x, v, x**3, x**2 * v, np.cos(OMEGA * t), np.sin(OMEGA * t)])


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
