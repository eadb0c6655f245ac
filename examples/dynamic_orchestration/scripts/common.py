"""Shared by the steer_md scripts: the toy energy landscape, the force model, JSON port files."""
import json
import os

import numpy as np

LO, HI = -1.5, 1.5      # the simulated interval, split into `cells` equal cells
HEIGHT, KT = 5.0, 1.0   # barrier height and temperature: crossing the barrier is rare


def energy(x):
    """The double well V(x) = h (x^2 - 1)^2."""
    return HEIGHT * (x * x - 1.0) ** 2


def centres(cells):
    return LO + (np.arange(cells) + 0.5) * (HI - LO) / cells


def cell_of(x, cells):
    return np.clip(((x - LO) / (HI - LO) * cells).astype(int), 0, cells - 1)


def features(x, degree):
    """Polynomial features of the force model, on x scaled to [-1, 1] for conditioning."""
    return np.vander(np.asarray(x) / HI, degree + 1, increasing=True)


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
