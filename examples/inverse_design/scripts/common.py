"""Shared by the inverse-design scripts: the design space, the misfit, the GP surrogate, JSON ports.

A design is a launch (speed in m/s, angle in degrees) of a ball with air drag; the target is
a trajectory with a given range and apex height.
"""
import json
import os

import numpy as np

SPEED, ANGLE = (10.0, 40.0), (15.0, 75.0)   # the design space
TARGET_RANGE, TARGET_HEIGHT = 40.0, 12.0     # metres


def unit(speed, angle):
    """Designs scaled to the unit square, where the surrogate works."""
    return np.column_stack([(np.asarray(speed) - SPEED[0]) / (SPEED[1] - SPEED[0]),
                            (np.asarray(angle) - ANGLE[0]) / (ANGLE[1] - ANGLE[0])])


def misfit(rng, height):
    """Relative distance of a trajectory from the target (0 = a perfect hit)."""
    return np.hypot((np.asarray(rng) - TARGET_RANGE) / TARGET_RANGE,
                    (np.asarray(height) - TARGET_HEIGHT) / TARGET_HEIGHT)


def kernel(a, b, length=0.25):
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * d2 / length**2)


def gp_fit(x, y, noise=1e-6):
    """Gaussian-process regression with a fixed squared-exponential kernel: (x, mean, weights, K^-1)."""
    mean = y.mean(axis=0)
    kinv = np.linalg.inv(kernel(x, x) + noise * np.eye(len(x)))
    return mean, kinv @ (y - mean), kinv


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
