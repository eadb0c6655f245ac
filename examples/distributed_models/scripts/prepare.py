"""Extracts one site's local records (here: draws them from the site's population)."""
import argparse

import numpy as np

from common import records

ap = argparse.ArgumentParser()
ap.add_argument("--site", required=True)
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

x, y = records(a.site, a.n, a.seed)
np.savez(a.out, x=x, y=y)
