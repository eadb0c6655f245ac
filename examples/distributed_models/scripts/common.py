"""Shared by the federated scripts: the task (logistic regression), data of one site, JSON ports.

Each site holds records of a different population (non-IID data); the true model is the same.
"""
import json
import os

import numpy as np

FEATURES = 5
TRUE_WEIGHTS = np.array([1.5, -2.0, 0.0, 1.0, 0.5, -0.3])   # bias first
POPULATIONS = {"north": (0.8, 1.0), "south": (-0.8, 1.5), "test": (0.0, 1.3)}  # feature mean, spread


def records(site, n, seed):
    """n labelled records drawn from one site's population."""
    shift, spread = POPULATIONS[site]
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, spread, size=(n, FEATURES))
    p = 1 / (1 + np.exp(-(TRUE_WEIGHTS[0] + x @ TRUE_WEIGHTS[1:])))
    return x, (rng.uniform(size=n) < p).astype(float)


def loss_and_grad(w, x, y):
    """Mean logistic loss and its gradient."""
    z = w[0] + x @ w[1:]
    p = 1 / (1 + np.exp(-z))
    loss = float(np.mean(np.logaddexp(0, z) - y * z))
    g = p - y
    return loss, np.concatenate([[g.mean()], x.T @ g / len(y)])


def write_json(path, value):
    """Non-file ports are JSON files; written atomically so a runner never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
