"""One simulation campaign: periods of pendulums at random release angles and lengths."""
import argparse

import numpy as np

from common import ANGLE, LENGTH, periods

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--round", type=int, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

rng = np.random.default_rng([a.round, a.seed])
x = np.column_stack([rng.uniform(*ANGLE, a.n), rng.uniform(*LENGTH, a.n)])
np.savez(a.out, x=x, y=periods(x[:, 0], x[:, 1]))
