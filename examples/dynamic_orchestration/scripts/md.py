"""One walker: 32 particles started in one cell, overdamped Langevin dynamics in the double well.

Reports `progress` -- the fraction of its frames in the first quarter of the run that fell in
cells the ensemble has not yet sampled enough -- as soon as it is known, so that the
workflow's stop rule can end a walker that only revisits known states.
"""
import argparse

import numpy as np

from common import HEIGHT, HI, KT, LO, cell_of, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--cell", type=int, required=True)
ap.add_argument("--history", required=True)
ap.add_argument("--min-count", type=int, required=True)
ap.add_argument("--steps", type=int, required=True)
ap.add_argument("--iteration", type=int, default=0)
ap.add_argument("--index", type=int, default=0)
ap.add_argument("--out", required=True)
ap.add_argument("--progress", required=True)
a = ap.parse_args()

counts = np.load(a.history)["counts"]
cells = len(counts)

rng = np.random.default_rng([a.cell, a.iteration, a.index])
dt, every, particles = 2e-3, 1, 32
x = np.full(particles, LO + (a.cell + 0.5) * (HI - LO) / cells)
frames = []
for step in range(1, a.steps + 1):
    force = -4.0 * HEIGHT * x * (x * x - 1.0)
    x = np.clip(x + force * dt + np.sqrt(2 * KT * dt) * rng.standard_normal(particles), LO, HI)
    if step % every == 0:
        frames.append(x.copy())
    if step == a.steps // 4:
        visited = counts[cell_of(np.array(frames), cells)]
        write_json(a.progress, round(float(np.mean(visited < a.min_count)), 4))
np.savez(a.out, x=np.array(frames), frame_dt=dt * every)
