"""Refits the surrogate (a Gaussian process: design -> range, height) on every flight so far.

Reports its leave-one-out error (how well it predicts a flight it has not seen) and the
best misfit reached by any simulated design.
"""
import argparse
import json

import numpy as np

from common import gp_fit, misfit, unit, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--history", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--metrics", required=True)
ap.add_argument("--best-error", required=True)
ap.add_argument("results", nargs="+")
a = ap.parse_args()

h = np.load(a.history)
cols = {k: list(h[k]) for k in ("speed", "angle", "range", "height")}
for path in a.results:
    with open(path) as f:
        r = json.load(f)
    for k in cols:
        cols[k].append(r[k])
cols = {k: np.array(v) for k, v in cols.items()}
x = unit(cols["speed"], cols["angle"])
y = np.column_stack([cols["range"], cols["height"]])
scale = y.std(axis=0) + 1e-9
mean, weights, kinv = gp_fit(x, y / scale)
loo = weights / np.diag(kinv)[:, None] * scale      # closed-form leave-one-out residuals
np.savez(a.model, **cols, mean=mean, weights=weights, scale=scale)
write_json(a.metrics, {"loo_rmse": round(float(np.sqrt(np.mean(loo**2))), 4)})
write_json(a.best_error, round(float(misfit(cols["range"], cols["height"]).min()), 5))
