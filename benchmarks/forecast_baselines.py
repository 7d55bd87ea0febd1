"""Non-spiking reference forecasters for docs/results.md: persistence and a linear one-step
map on the same protocol windows (one per seed, 500 train / 100 test samples) that
``lnp-experiment`` uses, scored with the same NRMSE (long-term std per dimension).

    .venv/bin/python benchmarks/forecast_baselines.py
"""
import numpy as np
from lnp_neuro.tasks import lorenz63, rossler, prediction_windows
from lnp_neuro.tasks.metrics import nrmse
for name, fn in (("lorenz63", lorenz63), ("rossler", rossler)):
    per, lin = [], []
    for seed in (0, 1, 2):
        ds = fn(seed=seed)
        w = prediction_windows(ds.train, 1, 500, 100, seed=seed)[0]
        sigma = np.asarray(ds.long_term_std)
        per.append(nrmse(w.test_inputs, w.test_targets, sigma))
        x = np.c_[w.train_inputs, np.ones(len(w.train_inputs))]
        coef = np.linalg.lstsq(x, w.train_targets, rcond=None)[0]
        y_lin = np.c_[w.test_inputs, np.ones(len(w.test_inputs))] @ coef
        lin.append(nrmse(y_lin, w.test_targets, sigma))
    print(name, "persistence NRMSE %.4f +- %.4f" % (np.mean(per), np.std(per)),
          "linear one-step NRMSE %.5f +- %.5f" % (np.mean(lin), np.std(lin)))
