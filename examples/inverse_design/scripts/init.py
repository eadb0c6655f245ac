"""The initial design: a small space-filling set of launches (a scrambled Latin square)."""
import argparse
import json

import numpy as np

from common import ANGLE, SPEED, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--designs", required=True)
ap.add_argument("--history", required=True)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
u = (np.column_stack([rng.permutation(a.n), rng.permutation(a.n)]) + rng.uniform(size=(a.n, 2))) / a.n
names = []
for i, (s, t) in enumerate(u):
    names.append(f"design_{i}.json")
    with open(names[-1], "w") as f:
        json.dump({"speed": round(SPEED[0] + s * (SPEED[1] - SPEED[0]), 3),
                   "angle": round(ANGLE[0] + t * (ANGLE[1] - ANGLE[0]), 3)}, f)
write_json(a.designs, names)   # paths relative to this task's directory
np.savez(a.history, speed=[], angle=[], range=[], height=[])
