"""Selects the best model of the sweep."""
import argparse
import shutil

import numpy as np

from common import write_json

ap = argparse.ArgumentParser()
ap.add_argument("--losses", type=float, nargs="+", required=True)
ap.add_argument("--rates", type=float, nargs="+", required=True)
ap.add_argument("--models", nargs="+", required=True)
ap.add_argument("--best-loss", required=True)
ap.add_argument("--best-lr", required=True)
ap.add_argument("--best-model", required=True)
a = ap.parse_args()

i = int(np.argmin(a.losses))
shutil.copyfile(a.models[i], a.best_model)
write_json(a.best_loss, a.losses[i])
write_json(a.best_lr, a.rates[i])
