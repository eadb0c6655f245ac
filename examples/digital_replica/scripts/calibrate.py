"""Calibration runs of the healthy system (nominal damping) from a few initial states."""
import argparse

import numpy as np

from common import simulate

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--seconds", type=float, required=True)
ap.add_argument("--damping", type=float, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
runs = []
for x0, v0 in rng.uniform(-1.5, 1.5, size=(a.runs, 2)):
    states = [(0.0, x0, v0)] + simulate(x0, v0, 0.0, int(round(a.seconds / 0.01)), a.damping)
    runs.append(np.array(states))
np.save(a.out, np.array(runs))   # (runs, steps + 1, [t, x, v])
