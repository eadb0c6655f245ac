"""Compares the simulation with its twin: forecast error per window, and when it diverged."""
import argparse
import json

import numpy as np

from common import DT_TWIN, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--traj", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--window", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--detected-at", required=True)
ap.add_argument("--queries", required=True)
a = ap.parse_args()

rows = np.load(a.traj)
with open(a.log) as f:
    queries = [json.loads(line) for line in f]
windows = rows.reshape(-1, a.window, 5)
starts = windows[:, 0, 0] - DT_TWIN
error = np.sqrt(np.mean((windows[:, :, 1] - windows[:, :, 3]) ** 2, axis=1))
baseline = np.median(error[:5])
alarm = np.nonzero(error > 5 * baseline)[0]
np.savetxt(a.out, np.column_stack([np.round(starts, 6) + 0.0, error]), delimiter=",",
           header="window_start,forecast_rmse", comments="", fmt="%.5g")
write_json(a.detected_at, round(float(starts[alarm[0]]), 3) if len(alarm) else -1.0)
write_json(a.queries, len(queries))
