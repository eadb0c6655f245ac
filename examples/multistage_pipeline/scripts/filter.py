"""The cheap AI filter: a linear model of log(gap) scores every candidate in microseconds;
only the `keep` candidates predicted closest to the target go on to the expensive solve."""
import argparse
import json

import numpy as np

from physics import features, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--weights", required=True)
ap.add_argument("--library", required=True)
ap.add_argument("--target", type=float, required=True)
ap.add_argument("--keep", type=int, required=True)
ap.add_argument("--selected", required=True)
ap.add_argument("--scores", required=True)
a = ap.parse_args()

with open(a.weights) as f:
    w = np.array(json.load(f)["weights"])
lib = np.load(a.library)
predicted = np.exp(features(lib["a"], lib["b"]) @ w)
distance = np.abs(np.log(predicted / a.target))
selected = np.argsort(distance, kind="stable")[:a.keep]
np.savetxt(a.scores, np.column_stack([np.arange(len(predicted)), predicted]), delimiter=",",
           header="candidate,predicted_gap", comments="", fmt=["%d", "%.6g"])
write_json(a.selected, [int(i) for i in selected])
