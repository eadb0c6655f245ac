"""Learns the force field from the trajectories: least squares of frame-to-frame drift on x.

For overdamped Langevin dynamics E[dx/dt | x] = -V'(x), whatever the walkers' starting points,
so the model is unbiased by the steering. The normal equations are accumulated across
iterations (`--history` is the previous model): old data is reused, never re-read.
"""
import argparse

import numpy as np

from common import cell_of, centres, features, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--history", required=True)
ap.add_argument("--degree", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--metrics", required=True)
ap.add_argument("trajs", nargs="*")
a = ap.parse_args()

h = np.load(a.history)
xtx, xty, yy, n, counts = h["xtx"].copy(), h["xty"].copy(), float(h["yy"]), int(h["n"]), h["counts"].copy()
for path in a.trajs:
    t = np.load(path)
    x, drift = t["x"][:-1].ravel(), (np.diff(t["x"], axis=0) / float(t["frame_dt"])).ravel()
    phi = features(x, a.degree)
    xtx += phi.T @ phi
    xty += phi.T @ drift
    yy += drift @ drift
    n += len(x)
    counts += np.bincount(cell_of(t["x"].ravel(), len(counts)), minlength=len(counts))
reg = xtx + 1e-6 * np.eye(len(xty))
coef = np.linalg.solve(reg, xty)
noise = max(yy - 2 * coef @ xty + coef @ xtx @ coef, 0.0) / max(n - len(coef), 1)
cov = noise * np.linalg.inv(reg)
phi = features(centres(len(counts)), a.degree)
uncertainty = np.sqrt(np.einsum("ij,jk,ik->i", phi, cov, phi))
np.savez(a.out, xtx=xtx, xty=xty, yy=yy, n=n, counts=counts, coef=coef, cov=cov)
write_json(a.metrics, {"loss": round(float(uncertainty.mean()), 4)})
