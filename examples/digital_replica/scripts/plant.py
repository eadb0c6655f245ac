"""The running simulation, coupled to its twin: every window it asks the twin for a forecast of
the next window, simulates it, and records how far reality and forecast drift apart. Half way
through, the damping triples (a fault the twin does not know about)."""
import argparse
import json
import urllib.request

import numpy as np

from common import SUB, simulate

ap = argparse.ArgumentParser()
ap.add_argument("--twin", required=True, help="HOST:PORT of the twin service")
ap.add_argument("--seconds", type=float, required=True)
ap.add_argument("--window", type=int, required=True, help="twin steps per forecast")
ap.add_argument("--damping", type=float, required=True)
ap.add_argument("--fault-at", type=float, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()


def ask(t, x, v):
    req = urllib.request.Request(f"http://{a.twin}/predict", method="POST",
                                 data=json.dumps({"t": t, "x": x, "v": v, "steps": a.window}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return np.array(json.load(r)["states"])


t, x, v = 0.0, 1.0, 0.0
rows = []
while t < a.seconds - 1e-9:
    predicted = ask(t, x, v)
    damping = a.damping * (3.0 if t >= a.fault_at else 1.0)
    actual = np.array(simulate(x, v, t, a.window * SUB, damping))
    rows += [(ta, xa, va, xp, vp) for (ta, xa, va), (_, xp, vp) in zip(actual, predicted)]
    t, x, v = actual[-1]
np.save(a.out, np.array(rows))   # (samples, [t, x, v, x_twin, v_twin])
