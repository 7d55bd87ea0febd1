"""How the ON/OFF scaling of a series limits the one-step forecast (docs/algorithm.md).

    .venv/bin/python benchmarks/series_scaling.py                  # seed 0, both series
    .venv/bin/python benchmarks/series_scaling.py --seeds 0,1 --no-reservoir

For each series (Lorenz-63, Rossler; 3000 samples as lnp-deploy scores them) and each
scaling (``median``, ``zscore``, ``range``), two one-step NRMSEs on the deploy's split:

- ``input counts``: a ridge readout of the encoded spike counts of the current sample,
  the most a readout could get from a perfect memory of the present input (the code's
  resolution floor);
- ``reservoir``: the default HRSNN (N = 1000, seed as given) driven by that code, the
  deploy's trace-and-ridge readout (lnp_neuro.tasks.forecast).

Persistence is printed for reference.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None) -> int:
    from sklearn.linear_model import RidgeCV

    from lnp_neuro.engines.simulator import simulate
    from lnp_neuro.model.build import hrsnn
    from lnp_neuro.tasks import dynamical
    from lnp_neuro.tasks.encoding import SERIES_SCALINGS, spike_counts
    from lnp_neuro.tasks.forecast import (ForecastSplit, encode_series, one_step_nrmse,
                                          reference_forecasts, select_trace_tau)

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--series", default="lorenz,rossler")
    ap.add_argument("--no-reservoir", action="store_true", help="input counts only (fast)")
    args = ap.parse_args(argv)
    n, k, n_in = 3000, 20, 48
    split = ForecastSplit(n)
    print("series   seed  scaling  input-counts  reservoir  persistence", flush=True)
    for name in args.series.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            if name == "rossler":
                data = dynamical.rossler(n_samples=7700 + n + 2, split=(n, 1, 1), seed=seed)
            else:
                data = dynamical.lorenz63(n_samples=n + 2, split=(n, 1, 1), seed=seed)
            y = data.train[:n]
            sd = y.std(axis=0)
            pers = reference_forecasts(y, split, esn_units=None)["persistence"]
            for scaling in SERIES_SCALINGS:
                enc = encode_series(y, n_in, steps_per_sample=k,
                                    fit_samples=int(0.7 * n), scaling=scaling)
                counts = spike_counts(enc.spikes, k).astype(np.float64)
                ridge = RidgeCV(alphas=np.logspace(-6, 5, 23)).fit(counts[split.train],
                                                                    y[split.train + 1])
                err = np.sqrt(np.mean(((ridge.predict(counts[split.test])
                                        - y[split.test + 1]) / sd) ** 2))
                res = float("nan")
                if not args.no_reservoir:
                    net = hrsnn(1000, 0.1, seed=seed, n_inputs=n_in)
                    spikes = simulate(net, enc.spikes, mode="fixed").spikes
                    tau, states, model = select_trace_tau(
                        spikes, k, net.dt, y, split, neurons=np.flatnonzero(net.neuron_active))
                    res = one_step_nrmse(states, y, split, model=model)
                print(f"{name:8s} {seed:4d}  {scaling:7s}  {err:12.4f}  {res:9.4f}  "
                      f"{pers:11.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
