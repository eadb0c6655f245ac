"""The expensive stage: solve the Schroedinger equation of one candidate for its splitting."""
import argparse

import numpy as np

from physics import splitting, write_json

ap = argparse.ArgumentParser()
ap.add_argument("--library", required=True)
ap.add_argument("--candidate", type=int, required=True)
ap.add_argument("--gap", required=True)
a = ap.parse_args()

lib = np.load(a.library)
write_json(a.gap, round(splitting(lib["a"][a.candidate], lib["b"][a.candidate]), 6))
