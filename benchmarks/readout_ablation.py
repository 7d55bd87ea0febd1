"""Where the paper's readout loses the forecast: neurons, training samples or the MLP.

    .venv/bin/python benchmarks/readout_ablation.py                  # HRSNN seeds 0-2
    .venv/bin/python benchmarks/readout_ablation.py --seeds 0 --model chrsnn

The Table 2 grid (``lnp-experiment``, docs/results.md) reads its networks through the paper's
pipeline (the top 10 % of neurons by betweenness -> 20 tanh units -> 3, trained on 500
samples) and scores 2-16 x worse than persistence, while ``lnp-deploy``'s ridge readout over
all active neurons of the same networks scores about 0.35 x persistence. This script takes
the deploy's networks and drive (``DeployOptions`` defaults: N = 1000, Lorenz-63, 3000
samples, the deploy's 70 % / 30 % split after a 100-sample washout), the unpruned and the
LNP-pruned network, and changes one thing at a time:

- ``ridge all``: the deploy's readout (ridge over the traces of every active neuron);
- ``ridge top10``: the same ridge on the paper's 10 % of neurons;
- ``mlp top10``: the paper's readout (:class:`lnp_neuro.tasks.readout.MLPReadout`);
- ``mlp all``: that MLP on every active neuron;
- ``... n=400``: the same fitted on the last 400 training samples only (the grid's
  500-sample protocol fits on 400 targets).

All on the same test samples (NRMSE normalised by each dimension's standard deviation over
the series, as the deploy reports it), next to persistence.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lnp_neuro._util.threads import pinned  # noqa: E402

SHORT_TRAIN = 400


def readout_scores(net, encoded, split, seed: int) -> dict:
    """NRMSE of every readout variant on one network's run over the encoded series."""
    from lnp_neuro.engines.simulator import simulate
    from lnp_neuro.tasks import nrmse
    from lnp_neuro.tasks.forecast import _sigma, one_step_nrmse, select_trace_tau
    from lnp_neuro.tasks.readout import MLPReadout, select_readout_neurons

    y, k = encoded.series, encoded.steps_per_sample
    sigma = _sigma(y)   # the normalisation one_step_nrmse uses
    active = np.flatnonzero(net.neuron_active)
    spikes = simulate(net, encoded.spikes, mode="fixed").spikes
    _, states, _ = select_trace_tau(spikes, k, net.dt, y, split, neurons=active)
    top10 = np.searchsorted(active, select_readout_neurons(net, 0.1))
    short = copy.copy(split)
    short.train = split.train[-SHORT_TRAIN:]

    def mlp(columns, sp) -> float:
        x = states[:, columns]
        model = MLPReadout(seed=seed).fit(x[sp.train], y[sp.train + 1])
        return nrmse(model.predict(x[sp.test]), y[sp.test + 1], sigma)

    every = np.arange(active.size)
    out = {}
    for label, sp in (("", split), (f" n={SHORT_TRAIN}", short)):
        out["ridge all" + label] = one_step_nrmse(states, y, sp, "ridge")
        out["ridge top10" + label] = one_step_nrmse(states[:, top10], y, sp, "ridge")
        out["mlp top10" + label] = mlp(top10, sp)
        out["mlp all" + label] = mlp(every, sp)
    return out


@pinned   # BLAS on one thread, as lnp-deploy runs it
def main(argv=None) -> int:
    from lnp_neuro.deploy import (DeployOptions, build_network, load_series, make_input,
                                  series_inputs)
    from lnp_neuro.prune.pipeline import lnp
    from lnp_neuro.tasks.forecast import ForecastSplit, reference_forecasts

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--model", default="hrsnn", choices=("hrsnn", "chrsnn"))
    args = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds: comma-separated integers expected, got {args.seeds!r}")

    rows = []
    for seed in seeds:
        options = DeployOptions(target="cpu", model=args.model, seed=seed, progress=False)
        series, info = load_series(options)
        net0 = build_network(options, series_inputs(series, options))
        _, encoded, _ = make_input(options, net0, series, info)
        split = ForecastSplit(series.shape[0])
        net1, _ = lnp(net0, n_iter=options.iterations, seed=seed,
                      target_density=options.target_density, progress=False)
        pers = reference_forecasts(series, split, esn_units=None)["persistence"]
        for label, net in (("unpruned", net0), ("lnp", net1)):
            scores = readout_scores(net, encoded, split, seed)
            rows.append((seed, label, pers, scores))
            if len(rows) == 1:
                print("seed  network   persistence  " + "  ".join(f"{k:>18s}" for k in scores))
            print(f"{seed:4d}  {label:8s}  {pers:11.4f}  "
                  + "  ".join(f"{v:18.4f}" for v in scores.values()), flush=True)
    keys = list(rows[0][3])
    print("\nmean ratio to persistence over the runs above:")
    for k in keys:
        ratio = np.mean([r[3][k] / r[2] for r in rows])
        print(f"  {k:18s} {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
