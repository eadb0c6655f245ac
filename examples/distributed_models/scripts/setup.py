"""The coordinator's start: the initial global model (all zeros) and a public test set."""
import argparse

import numpy as np

from common import FEATURES, records

ap = argparse.ArgumentParser()
ap.add_argument("--n-test", type=int, required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--test", required=True)
a = ap.parse_args()

np.savez(a.model, w=np.zeros(FEATURES + 1), n=0)
x, y = records("test", a.n_test, 99)
np.savez(a.test, x=x, y=y)
