"""Integrates the learned force into an energy profile and compares it with the exact V(x)."""
import argparse

import numpy as np

from common import HI, centres, energy, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--error", required=True)
a = ap.parse_args()

m = np.load(a.model)
counts, coef = m["counts"], m["coef"]
x = centres(len(counts))
# force(x) = sum c_k (x/HI)^k, so V(x) = -sum c_k HI (x/HI)^(k+1) / (k+1) + const
k = np.arange(len(coef))
learned = -np.sum(coef * HI * (x[:, None] / HI) ** (k + 1) / (k + 1), axis=1)
exact = energy(x)
learned -= learned.min()
exact -= exact.min()
np.savetxt(a.out, np.column_stack([x, counts, learned, exact]), delimiter=",",
           header="x,frames,learned_V,exact_V", comments="", fmt="%.5g")
write_json(a.error, round(float(np.sqrt(np.mean((learned - exact) ** 2))), 4))
