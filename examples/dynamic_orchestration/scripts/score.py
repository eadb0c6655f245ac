"""The steering decision: how much of the landscape is sampled, and where to start next.

Next walkers start in the cells where the model's force is most uncertain (active learning).
"""
import argparse

import numpy as np

from common import centres, features, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--walkers", type=int, required=True)
ap.add_argument("--min-count", type=int, required=True)
ap.add_argument("--coverage", required=True)
ap.add_argument("--next", required=True)
a = ap.parse_args()

m = np.load(a.model)
counts, cov = m["counts"], m["cov"]
phi = features(centres(len(counts)), len(m["coef"]) - 1)
uncertainty = np.sqrt(np.einsum("ij,jk,ik->i", phi, cov, phi))
order = np.argsort(-uncertainty, kind="stable")
write_json(a.coverage, round(float(np.mean(counts >= a.min_count)), 4))
write_json(a.next, sorted(int(c) for c in order[:a.walkers]))
