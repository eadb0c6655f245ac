"""Federated averaging: the new global model is the record-weighted mean of the local models."""
import argparse

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("models", nargs="+")
a = ap.parse_args()

local = [np.load(m) for m in a.models]
n = np.array([float(m["n"]) for m in local])
w = sum(m["w"] * k for m, k in zip(local, n)) / n.sum()
np.savez(a.out, w=w, n=int(n.sum()))
