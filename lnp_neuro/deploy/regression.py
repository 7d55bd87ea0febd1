"""Regression ``targets`` of a data set (``lnp-deploy --network MODEL.nir --data DATA.npz``
with ``targets`` [samples, n_outputs]): the NRMSE of the graph's own output population.

What: every scored sample runs on its own, from rest, through the unpruned and the
deployed graph on the native simulator in the target's arithmetic, for its steps plus
the output population's latency, exactly as a classifier's samples do
(:func:`lnp_neuro.deploy.data.output_responses`). The prediction of output neuron ``d`` is its
membrane potential at the last step for a leaky-integrator / integrator output (NIR
``LI`` / ``Integrator``: the snnTorch and norse convention for a non-spiking readout, whose
membrane is the model's output), or its spike count over the run for a spiking output.
An output neuron pruning removed predicts 0 (the rest state it would hold). The score::

    NRMSE = sqrt( (1 / (S D)) sum_s sum_d ((y_hat[s, d] - y[s, d]) / sigma_d)^2 )
    sigma_d = std over the S scored samples of y[:, d]          (population std, ddof 0)

the root mean square error over the scored samples and the ``D`` outputs, each output
divided by the standard deviation of its targets over the scored samples: the NRMSE
normalised by the target's standard deviation of reservoir computing (Jaeger 2001, "The
'echo state' approach to analysing and training recurrent neural networks", GMD Report
148; Lukosevicius 2012, "A Practical Guide to Applying Echo State Networks"), per
dimension as :func:`lnp_neuro.tasks.metrics.nrmse` (which computes it). Lower is better;
predicting each output's scored mean gives exactly 1.

``baseline_mean`` (the reference a classifier's ``chance`` is): the NRMSE of predicting,
for every sample, each output's mean over the training samples (``train``), or over the
scored samples when none is marked (1.0 then, by the definition). A graph scoring above
it does worse than a constant.

``--refit-readout``: a ridge readout from the spike counts of the population feeding the
output to the targets, fitted on the training samples
(:func:`lnp_neuro.deploy.refit.refit_regression`), scored with the same NRMSE.

Reason: a trained regressor's error is the graph's own (its output population), measured
in the arithmetic the target runs, normalised so that it reads the same whatever the
targets' units.
"""

from __future__ import annotations

import numpy as np

from ..model.population import SPIKING_KINDS
from ..tasks.metrics import nrmse
from .data import Dataset, output_responses
from .refit import REFIT_REGRESSION_METHOD, readout_source, refit_regression

__all__ = ["score_regression", "regression_nrmse", "NORMALISATION"]

NORMALISATION = ("root mean square error over the scored samples and the outputs, each "
                 "output divided by the standard deviation of its targets over the scored "
                 "samples")


def regression_nrmse(prediction: np.ndarray, targets: np.ndarray) -> float:
    """The NRMSE of ``prediction`` against ``targets`` (both [samples, outputs], the scored
    samples only), each output normalised by its targets' standard deviation over these
    samples (module docstring)."""
    return nrmse(prediction, targets, targets.std(axis=0))


def score_regression(layout0, net0, deployed, data: Dataset, output: str, mode: str,
                     reference_accuracy: float | None = None, refit: bool = False) -> dict:
    """report.json ``task`` of a regression data set (module docstring): the NRMSE of the
    unpruned (``layout0``'s ``net0``) and the deployed graph on the scored samples; with
    ``refit``, also each one's NRMSE with a readout refitted on the training samples.
    ``reference_accuracy`` must be None (refused earlier:
    :func:`lnp_neuro.deploy.data.check_task_options`)."""
    if reference_accuracy is not None:
        raise ValueError(f"--reference-accuracy applies to classification 'labels'; --data "
                         f"{data.source} holds regression 'targets'")
    a, b = layout0.offsets[output]
    kind = layout0.graph.populations[output].kind
    spiking = kind in SPIKING_KINDS
    latency = int(deployed.layout.latency[output])
    size = b - a
    if data.targets.shape[1] != size:
        raise ValueError(f"--data {data.source}: field 'targets' has "
                         f"{data.targets.shape[1]} column(s), output population {output!r} "
                         f"has {size} neuron(s)")
    scored = data.scored
    source = readout_source(layout0.graph, output) if refit else None
    runs_on = np.arange(data.targets.shape[0]) if refit else scored
    is_scored = ~data.train[runs_on]
    truth = data.targets[scored]
    error, refitted = {}, {}
    for name, (prediction, counts) in output_responses(layout0, net0, deployed,
                                                       data.inputs[runs_on], output, mode,
                                                       source, fill=0.0).items():
        error[name] = regression_nrmse(prediction[is_scored], truth)
        if source is not None:
            refitted[name] = refit_regression(counts, data.targets[runs_on],
                                              data.train[runs_on])
    train = data.train
    mean = data.targets[train].mean(axis=0) if train.any() else truth.mean(axis=0)
    baseline = regression_nrmse(np.broadcast_to(mean, truth.shape), truth)
    task = {"name": "regression", "metric": "nrmse", **error,
            "n_test": int(scored.size), "n_outputs": int(size),
            "normalisation": NORMALISATION,
            "baseline_mean": baseline,
            "baseline_rule": ("NRMSE of predicting each output's mean over the "
                              + ("training samples" if train.any() else
                                 "scored samples (no 'train': 1.0 by the definition)")),
            "engine": f"native {mode}", "output_population": output, "output_kind": kind,
            "prediction": ("spike count of each output neuron over the sample" if spiking
                           else "membrane potential of each output neuron at the last step"),
            "steps_per_sample": int(data.inputs.shape[1]), "latency_steps": latency}
    if refitted:
        task["refitted"] = {"unpruned": refitted["unpruned"]["nrmse"],
                            "pruned": refitted["pruned"]["nrmse"],
                            "source_population": source,
                            "n_train": int(train.sum()),
                            "alpha": {k: v["alpha"] for k, v in refitted.items()},
                            "method": REFIT_REGRESSION_METHOD}
    return task
