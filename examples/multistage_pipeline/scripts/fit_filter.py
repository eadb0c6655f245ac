"""How data/filter.json was made (not part of the workflow): the filter's weights are a least-squares
fit of log(gap) on 120 designs solved with the same physics, from a different random seed.

    python3 scripts/fit_filter.py --out data/filter.json
"""
import argparse
import json

import numpy as np

from physics import features, splitting

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
a = ap.parse_args()

rng = np.random.default_rng(20240601)
aa, bb = rng.uniform(0.5, 2.0, 120), rng.uniform(0.5, 5.0, 120)
gaps = np.array([splitting(x, y) for x, y in zip(aa, bb)])
w, *_ = np.linalg.lstsq(features(aa, bb), np.log(gaps), rcond=None)
with open(a.out, "w") as f:
    json.dump({"model": "log(gap) = w . [1, b^1.5/a, b, ln a]", "trained_on": 120,
               "weights": [round(float(v), 6) for v in w]}, f, indent=2)
    f.write("\n")
