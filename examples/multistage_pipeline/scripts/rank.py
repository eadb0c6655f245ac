"""Ranks the simulated candidates by closeness to the target and rates the filter's predictions."""
import argparse

import numpy as np

from physics import write_json

ap = argparse.ArgumentParser()
ap.add_argument("--library", required=True)
ap.add_argument("--scores", required=True)
ap.add_argument("--target", type=float, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--best", required=True)
ap.add_argument("--filter-error", required=True)
ap.add_argument("--ids", type=int, nargs="+", required=True)
ap.add_argument("--gaps", type=float, nargs="+", required=True)
a = ap.parse_args()

lib = np.load(a.library)
predicted = np.loadtxt(a.scores, delimiter=",", skiprows=1)[:, 1]
ids, gaps = np.array(a.ids), np.array(a.gaps)
order = np.argsort(np.abs(np.log(gaps / a.target)), kind="stable")
rows = [(i, lib["a"][i], lib["b"][i], predicted[i], g) for i, g in zip(ids[order], gaps[order])]
np.savetxt(a.out, rows, delimiter=",", header="candidate,a,b,predicted_gap,simulated_gap", comments="",
           fmt=["%d", "%.4f", "%.4f", "%.6g", "%.6g"])
write_json(a.best, int(ids[order[0]]))
write_json(a.filter_error, round(float(np.mean(np.abs(predicted[ids] - gaps) / gaps)), 4))
