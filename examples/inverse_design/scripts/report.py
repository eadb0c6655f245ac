"""The answer of the inverse problem: the best simulated design and its trajectory."""
import argparse
import json

import numpy as np

from common import misfit, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--best", required=True)
ap.add_argument("--misfit", required=True)
ap.add_argument("--flights", required=True)
a = ap.parse_args()

m = np.load(a.model)
err = misfit(m["range"], m["height"])
i = int(np.argmin(err))
with open(a.best, "w") as f:
    json.dump({k: float(m[k][i]) for k in ("speed", "angle", "range", "height")}, f, indent=2)
write_json(a.misfit, round(float(err[i]), 5))
write_json(a.flights, len(err))
