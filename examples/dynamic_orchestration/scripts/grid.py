"""Initial ensemble: walkers start in the reactant basin (x = -1); no data yet."""
import argparse

import numpy as np

from common import centres, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--walkers", type=int, required=True)
ap.add_argument("--cells", type=int, required=True)
ap.add_argument("--degree", type=int, required=True)
ap.add_argument("--seeds", required=True)
ap.add_argument("--prior", required=True)
a = ap.parse_args()

order = np.argsort(np.abs(centres(a.cells) + 1.0), kind="stable")  # nearest to x = -1 first
write_json(a.seeds, sorted(int(c) for c in order[:a.walkers]))
k = a.degree + 1
np.savez(a.prior, xtx=np.zeros((k, k)), xty=np.zeros(k), yy=0.0, n=0, counts=np.zeros(a.cells, int))
