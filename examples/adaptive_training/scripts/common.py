"""Shared by the adaptive-training scripts: the simulation, the model, JSON ports.

The simulation integrates a nonlinear pendulum to find its period for a release angle and a
length; the model is a small neural network (one tanh hidden layer, numpy) learning
(angle, length) -> period from the simulations so far.
"""
import json
import os

import numpy as np

G, DT = 9.81, 2e-3
ANGLE, LENGTH = (0.1, 2.8), (0.5, 2.0)
HIDDEN = 16


def periods(angle, length):
    """Integrates all pendulums at once (RK4) from rest until they first pass the bottom."""
    theta, omega = np.array(angle, float), np.zeros(len(angle))
    quarter = np.full(len(angle), np.nan)
    t = 0.0

    def acc(th):
        return -G / length * np.sin(th)
    while np.isnan(quarter).any():
        k1t, k1w = omega, acc(theta)
        k2t, k2w = omega + DT / 2 * k1w, acc(theta + DT / 2 * k1t)
        k3t, k3w = omega + DT / 2 * k2w, acc(theta + DT / 2 * k2t)
        k4t, k4w = omega + DT * k3w, acc(theta + DT * k3t)
        new = theta + DT / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        omega = omega + DT / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
        crossed = np.isnan(quarter) & (new <= 0)
        quarter[crossed] = t + DT * theta[crossed] / (theta[crossed] - new[crossed])
        theta, t = new, t + DT
    return 4 * quarter


def scale(x):
    """Inputs to [-1, 1]."""
    lo, hi = np.array([ANGLE[0], LENGTH[0]]), np.array([ANGLE[1], LENGTH[1]])
    return 2 * (x - lo) / (hi - lo) - 1


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    return h, h @ w2 + b2


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
