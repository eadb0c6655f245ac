"""Trains the twin: least squares of the next state on features of the current one."""
import argparse

import numpy as np

from common import features, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--metrics", required=True)
a = ap.parse_args()

runs = np.load(a.data)
now, nxt = runs[:, :-1].reshape(-1, 3), runs[:, 1:].reshape(-1, 3)
phi = features(*now.T)
weights, *_ = np.linalg.lstsq(phi, nxt[:, 1:], rcond=None)
rmse = float(np.sqrt(np.mean((phi @ weights - nxt[:, 1:]) ** 2)))
np.save(a.out, weights)
write_json(a.metrics, {"one_step_rmse": round(rmse, 6)})
