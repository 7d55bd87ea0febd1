"""The readout of a pruned classifier refitted on its own activity (``--refit-readout``).

Pruning a trained graph changes the activity its last projection was trained on, so its
accuracy as-is mixes two effects: what the pruned network still computes, and how well
the old readout reads it. Refitting separates them, as LNP does for its reservoir (the
paper fits its readout after pruning): a ridge regression (Hoerl & Kennard 1970) from the
spike counts per sample of the population that feeds the output population to one-hot
labels, on the training samples of ``--data`` (``train``), scored by the argmax on the
others. The penalty is chosen from :data:`ALPHAS` on the last fifth of the training
samples (a hold-out), then refitted on all of them.

For regression ``targets`` (:mod:`lnp_neuro.deploy.regression`) the ridge maps the same
counts to the targets themselves; the penalty minimises the hold-out's mean squared
error, each output divided by its training targets' standard deviation, and the readout
is scored with the NRMSE of the graph's own output (each output divided by its scored
targets' standard deviation).

This is an off-chip float64 readout of the deployed network's spike counts (like the
reservoir's ridge readout), reported beside the graph's own accuracy; the deployed graph
keeps its trained readout.
"""

from __future__ import annotations

import numpy as np

from ..model import Graph
from ..tasks.metrics import nrmse
from ..tasks.readout import RidgeReadout

__all__ = ["ALPHAS", "REFIT_METHOD", "REFIT_REGRESSION_METHOD", "readout_source",
           "refit_readout", "refit_regression"]

#: Ridge penalties tried on the hold-out (on standardised counts).
ALPHAS = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
REFIT_METHOD = ("ridge from per-sample spike counts of the source population to one-hot "
                "labels, alpha chosen on the last fifth of the training samples, off-chip "
                "float64")
REFIT_REGRESSION_METHOD = ("ridge from per-sample spike counts of the source population to "
                           "the targets, alpha chosen on the last fifth of the training "
                           "samples, off-chip float64")


def readout_source(graph: Graph, output: str) -> str:
    """The one population whose projection feeds ``output`` (the readout's input)."""
    sources = sorted({p.source for p in graph.projections
                      if p.target == output and p.source != output
                      and p.source in graph.populations})
    if len(sources) != 1:
        raise ValueError(f"--refit-readout needs one population feeding the output "
                         f"population {output!r}; it has {len(sources)} "
                         f"({', '.join(sources) or 'none'})")
    return sources[0]


def _accuracy(model: RidgeReadout, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x) == y))


def refit_readout(counts: np.ndarray, labels: np.ndarray, train: np.ndarray) -> dict:
    """``{"accuracy", "alpha"}`` of the ridge readout fitted on ``counts[train]`` and
    scored on the rest (module docstring)."""
    fit_x, fit_y = counts[train], labels[train]
    if np.unique(fit_y).size < 2:
        raise ValueError("--refit-readout needs training samples ('train' in --data) of at "
                         "least two classes")
    cut = max(1, int(round(0.8 * fit_y.size)))
    best = None
    for alpha in ALPHAS:
        if cut < fit_y.size and np.unique(fit_y[:cut]).size > 1:
            model = RidgeReadout(alpha, task="classification").fit(fit_x[:cut], fit_y[:cut])
            score = _accuracy(model, fit_x[cut:], fit_y[cut:])
        else:
            score = 0.0
        if best is None or score > best[0]:
            best = (score, alpha)
    alpha = best[1]
    model = RidgeReadout(alpha, task="classification").fit(fit_x, fit_y)
    return {"accuracy": _accuracy(model, counts[~train], labels[~train]), "alpha": alpha}


def refit_regression(counts: np.ndarray, targets: np.ndarray, train: np.ndarray) -> dict:
    """``{"nrmse", "alpha"}`` of the ridge readout from ``counts[train]`` to
    ``targets[train]``, scored on the rest (module docstring)."""
    fit_x, fit_y = counts[train], targets[train]
    spread = fit_y.std(axis=0)
    spread[~(spread > 0)] = 1.0          # a constant training column: its own units
    cut = max(1, int(round(0.8 * fit_y.shape[0])))
    best = None
    for alpha in ALPHAS:
        if cut < fit_y.shape[0]:
            model = RidgeReadout(alpha, task="regression").fit(fit_x[:cut], fit_y[:cut])
            score = float(np.mean(((model.predict(fit_x[cut:]) - fit_y[cut:]) / spread) ** 2))
        else:
            score = np.inf
        if best is None or score < best[0]:
            best = (score, alpha)
    alpha = best[1]
    model = RidgeReadout(alpha, task="regression").fit(fit_x, fit_y)
    truth = targets[~train]
    return {"nrmse": nrmse(model.predict(counts[~train]), truth, truth.std(axis=0)),
            "alpha": alpha}
