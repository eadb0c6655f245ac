"""Trains the network with one learning rate (full-batch gradient descent) and reports its
validation loss: the mean squared error of the period, in s^2."""
import argparse

import numpy as np

from common import HIDDEN, forward, scale, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--validation", required=True)
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--epochs", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--metrics", required=True)
a = ap.parse_args()

d, v = np.load(a.data), np.load(a.validation)
x, y = scale(d["x"]), d["y"][:, None]
mu, sd = y.mean(), y.std()
rng = np.random.default_rng(0)
params = [rng.normal(0, 1, (2, HIDDEN)), np.zeros(HIDDEN), rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 1)),
          np.zeros(1)]
for _ in range(a.epochs):
    h, out = forward(params, x)
    err = (out - (y - mu) / sd) / len(x)
    dh = (err @ params[2].T) * (1 - h**2)
    grads = [x.T @ dh, dh.sum(0), h.T @ err, err.sum(0)]
    params = [p - a.lr * 2 * g for p, g in zip(params, grads)]
_, pred = forward(params, scale(v["x"]))
loss = float(np.mean((pred[:, 0] * sd + mu - v["y"]) ** 2))
np.savez(a.out, *params, mu=mu, sd=sd)
write_json(a.metrics, {"loss": round(loss, 6)})
