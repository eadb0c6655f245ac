"""A fixed validation set (the same every round, so losses compare) and an empty training store."""
import argparse

import numpy as np

from common import ANGLE, LENGTH, periods

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--validation", required=True)
ap.add_argument("--store", required=True)
a = ap.parse_args()

rng = np.random.default_rng(12345)
x = np.column_stack([rng.uniform(*ANGLE, a.n), rng.uniform(*LENGTH, a.n)])
np.savez(a.validation, x=x, y=periods(x[:, 0], x[:, 1]))
np.savez(a.store, x=np.zeros((0, 2)), y=np.zeros(0))
