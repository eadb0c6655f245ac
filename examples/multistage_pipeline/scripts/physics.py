"""Shared by the screening scripts: the candidate potentials, the expensive solve, the filter's features.

A candidate is a double well V(x) = a x^4 - b x^2. Its tunnelling splitting (the gap between
the two lowest energy levels) is the property screened for, e.g. to pick a qubit design.
"""
import json
import os

import numpy as np


def splitting(a, b, points=400, half_width=4.0):
    """E1 - E0 of H = -1/2 d2/dx2 + V(x) by finite differences (hbar = m = 1)."""
    x, h = np.linspace(-half_width, half_width, points, retstep=True)
    main = 1.0 / h**2 + a * x**4 - b * x**2
    off = np.full(points - 1, -0.5 / h**2)
    levels = np.linalg.eigvalsh(np.diag(main) + np.diag(off, 1) + np.diag(off, -1))
    return float(levels[1] - levels[0])


def features(a, b):
    """Physics-informed inputs of the filter: the WKB action b^1.5/a dominates log(gap)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.column_stack([np.ones_like(a), b**1.5 / a, b, np.log(a)])


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
