"""Flies one design: a ball with quadratic air drag, integrated with RK4 until it lands."""
import argparse
import json
import math

DRAG, G, DT = 0.02, 9.81, 2e-3   # drag per metre, gravity, time step

ap = argparse.ArgumentParser()
ap.add_argument("--design", required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

with open(a.design) as f:
    d = json.load(f)


def deriv(s):
    """d/dt of the state (x, y, vx, vy)."""
    x, y, vx, vy = s
    speed = math.hypot(vx, vy)
    return (vx, vy, -DRAG * speed * vx, -DRAG * speed * vy - G)


def step(s):
    k1 = deriv(s)
    k2 = deriv([v + DT / 2 * k for v, k in zip(s, k1)])
    k3 = deriv([v + DT / 2 * k for v, k in zip(s, k2)])
    k4 = deriv([v + DT * k for v, k in zip(s, k3)])
    return [v + DT / 6 * (p + 2 * q + 2 * r + w) for v, p, q, r, w in zip(s, k1, k2, k3, k4)]


theta = math.radians(d["angle"])
state = [0.0, 0.0, d["speed"] * math.cos(theta), d["speed"] * math.sin(theta)]
apex = 0.0
while True:
    new = step(state)
    if new[1] < 0:  # landed: interpolate the crossing of y = 0
        landing = state[0] + (new[0] - state[0]) * state[1] / (state[1] - new[1])
        break
    state, apex = new, max(apex, new[1])
with open(a.out, "w") as f:
    json.dump({**d, "range": round(landing, 4), "height": round(apex, 4)}, f)
