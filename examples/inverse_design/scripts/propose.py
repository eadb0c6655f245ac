"""The surrogate proposes the next simulation inputs: the designs it predicts closest to the
target, kept apart from each other and from designs already flown."""
import argparse
import json

import numpy as np

from common import ANGLE, SPEED, kernel, misfit, unit, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--k", type=int, required=True)
ap.add_argument("--designs", required=True)
a = ap.parse_args()

m = np.load(a.model)
seen = unit(m["speed"], m["angle"])
g = np.linspace(0.0, 1.0, 81)
grid = np.array([(s, t) for s in g for t in g])
pred = (m["mean"] + kernel(grid, seen) @ m["weights"]) * m["scale"]
score = misfit(pred[:, 0], pred[:, 1])
chosen = []
for i in np.argsort(score, kind="stable"):
    near = np.vstack([seen] + [grid[chosen]]) if chosen else seen
    if np.min(np.hypot(*(near - grid[i]).T)) > 0.02:
        chosen.append(i)
    if len(chosen) == a.k:
        break
names = []
for n, i in enumerate(chosen):
    names.append(f"design_{n}.json")
    with open(names[-1], "w") as f:
        json.dump({"speed": round(SPEED[0] + grid[i, 0] * (SPEED[1] - SPEED[0]), 3),
                   "angle": round(ANGLE[0] + grid[i, 1] * (ANGLE[1] - ANGLE[0]), 3)}, f)
write_json(a.designs, names)
