"""Evaluates the global model on the public test set."""
import argparse

import numpy as np

from common import loss_and_grad, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--test", required=True)
ap.add_argument("--metrics", required=True)
a = ap.parse_args()

w = np.load(a.model)["w"]
t = np.load(a.test)
loss, _ = loss_and_grad(w, t["x"], t["y"])
accuracy = float(np.mean(((w[0] + t["x"] @ w[1:]) > 0) == (t["y"] > 0.5)))
write_json(a.metrics, {"loss": round(loss, 5), "accuracy": round(accuracy, 4)})
