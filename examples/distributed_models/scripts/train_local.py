"""Local training at one site: gradient descent on the site's own records, starting from the
global model. Only the weights (and the record count) leave the site."""
import argparse

import numpy as np

from common import loss_and_grad, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--start", required=True)
ap.add_argument("--epochs", type=int, required=True)
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--metrics", required=True)
a = ap.parse_args()

d = np.load(a.data)
w = np.load(a.start)["w"].copy()
for _ in range(a.epochs):
    loss, grad = loss_and_grad(w, d["x"], d["y"])
    w -= a.lr * grad
np.savez(a.out, w=w, n=len(d["y"]))
write_json(a.metrics, {"loss": round(loss_and_grad(w, d["x"], d["y"])[0], 5)})
