"""Candidate generation: a library of random double-well designs (a, b)."""
import argparse

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
np.savez(a.out, a=rng.uniform(0.5, 2.0, a.n), b=rng.uniform(0.5, 5.0, a.n))
