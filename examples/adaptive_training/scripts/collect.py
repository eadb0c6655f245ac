"""Appends this round's simulation outputs to the training store: one file instead of many."""
import argparse

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--previous", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("samples", nargs="+")
a = ap.parse_args()

parts = [np.load(p) for p in [a.previous] + a.samples]
np.savez(a.out, x=np.concatenate([p["x"] for p in parts]), y=np.concatenate([p["y"] for p in parts]))
