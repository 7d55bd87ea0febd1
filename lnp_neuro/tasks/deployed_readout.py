"""The one-step forecast read out on the chip: the ridge readout as an output population.

The off-chip readout (:mod:`lnp_neuro.tasks.forecast`) maps float64 traces of every spike
to the next sample; a chip computes its readout with its own neurons, weights and
arithmetic. Here the readout is what a Loihi-style chip can run: an ``li`` population of
one neuron per series dimension, ``tau_mem = tau`` (the trace time constant the off-chip
readout chose), fed by the reservoir's active neurons through one projection ``W`` (one
step, as every hop here) with a bias ``b``::

    v[t] = (1 - dt/tau) v[t-1] + sum_j W_ij s_j[t-1] + b_i

so that, after the washout, ``v[t] = W f[t] + b tau/dt`` with the population's own filter
``f[t] = (1 - dt/tau) f[t-1] + s[t-1]``. Read at the first step of sample ``i + 1``,
``f`` holds every spike of sample ``i``: it is the exponential trace at the end of sample
``i`` with decay ``1 - dt/tau`` instead of ``exp(-dt/tau)``.

Fit (Jaeger 2001's linear readout, as the off-chip one): ridge with the penalty chosen by
generalised cross-validation on the training samples, from those features to the next
sample standardised with the training samples' mean and deviation, ``z = (y - mu) /
sigma``, so that ``v`` stays within a few units (the 24-bit membrane holds 64 thresholds
at the default scale: :mod:`lnp_neuro.engines.fixed_point`). ``W`` is the ridge
coefficient and ``b = c dt/tau`` for its intercept ``c``. The host decodes ``y = mu +
sigma v`` (one affine map per dimension, which leaves NRMSE unchanged).

Deployment: :func:`with_readout` makes the graph the chip runs, the reservoir and this
population (named :data:`READOUT`, the graph's output); :func:`readout_of_graph` reads
the fitted population back from such a graph (as read from ``network.nir``).

Evaluation: the population is run in the target's arithmetic on the reservoir's spikes
(:func:`readout_network`: the population alone, the reservoir's spikes as its input,
quantised at the deployed network's scale: the same integers, hence the same ``v``, as
the population inside the deployed graph; tests/tasks/test_deployed_readout.py). Reason:
recording the membrane of every neuron of the whole graph to read three of them costs
``T x N`` floats; the reservoir's raster and the population alone give the same ``v``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..engines.fixed_point import default_scale, quantize, scale_for_threshold
from ..engines.simulator import simulate
from ..model import Graph, Population, Projection, from_network
from ..model.network import SpikingNetwork
from .forecast import ForecastSplit, _fit_ridge, _sigma, reservoir_states
from .metrics import nrmse

__all__ = ["DeployedReadout", "fit_deployed_readout", "readout_network", "with_readout",
           "readout_of_graph", "can_deploy_readout", "deployed_predictions",
           "deployed_readout_nrmse", "score_deployed_readout", "deployed_scale", "METHOD",
           "READOUT"]

#: The name of the readout population in a deployed graph (network.nir).
READOUT = "readout"

#: What report.json's ``task.deployed_readout`` describes.
METHOD = ("ridge readout as an output population: li neurons (one per dimension, tau the "
          "trace's), fitted on their own filtered spikes to the standardised next sample, "
          "weights quantised as every projection, run in the target's arithmetic, decoded "
          "on the host")


@dataclass(eq=False)
class DeployedReadout:
    """A fitted on-chip readout (module docstring): ``weights [n_out, n_neurons]`` from
    the reservoir's ``neurons`` (indices), ``bias [n_out]``, ``tau`` (s), the targets'
    ``mean`` and ``std`` (decoding) and the ridge penalty ``alpha``."""

    weights: np.ndarray
    bias: np.ndarray
    tau: float
    neurons: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    alpha: float

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]


def _equivalent_tau(tau: float, dt: float) -> float:
    """The trace time constant whose decay ``exp(-dt/tau_e)`` is the population's
    ``1 - dt/tau``."""
    if not tau > dt:
        raise ValueError(f"the readout's tau ({tau} s) must exceed dt ({dt} s)")
    return -dt / math.log1p(-dt / tau)


def fit_deployed_readout(spikes, series, split: ForecastSplit, steps_per_sample: int,
                         dt: float, tau: float, neurons) -> DeployedReadout:
    """The on-chip readout of ``spikes [T, N]`` (the reservoir driven by ``series``),
    fitted on ``split.train`` (module docstring)."""
    y = np.asarray(series, dtype=np.float64).reshape(len(series), -1)
    neurons = np.asarray(neurons, dtype=np.int64)
    states = reservoir_states(spikes, steps_per_sample, dt, _equivalent_tau(tau, dt), neurons)
    train_targets = y[split.train + 1]
    mean, std = train_targets.mean(axis=0), train_targets.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    model = _fit_ridge(states, (y - mean) / std, split)
    coef = np.atleast_2d(model.coef_)
    return DeployedReadout(weights=coef, bias=np.atleast_1d(model.intercept_) * dt / tau,
                           tau=float(tau), neurons=neurons, mean=mean, std=std,
                           alpha=float(model.alpha_))


def readout_network(readout: DeployedReadout, n_reservoir: int, dt: float) -> SpikingNetwork:
    """The readout population alone: ``n_out`` non-spiking ``li`` neurons whose inputs
    are the reservoir's ``n_reservoir`` neurons (columns: the reservoir's indices)."""
    n_out = readout.n_out
    w_in = sp.csr_matrix((readout.weights.ravel(),
                          (np.repeat(np.arange(n_out), readout.neurons.size),
                           np.tile(readout.neurons, n_out))), shape=(n_out, n_reservoir))
    return SpikingNetwork(weights=sp.csr_matrix((n_out, n_out)), input_weights=w_in,
                          tau_mem=np.full(n_out, readout.tau), tau_syn=np.full(n_out, dt),
                          v_threshold=np.ones(n_out), bias=readout.bias, dt=dt,
                          spiking=np.zeros(n_out, bool),
                          metadata={"model": "deployed-readout"})


def can_deploy_readout(net: SpikingNetwork) -> bool:
    """Whether ``net`` is the one-population reservoir form a readout population can be
    appended to as a graph (:func:`lnp_neuro.model.from_network`)."""
    return net.is_plain_lif and not net.has_bias_onset


def with_readout(net: SpikingNetwork, readout: DeployedReadout) -> Graph:
    """The deployed graph: the reservoir ``net`` (its population, input and recurrent
    projections, masks included) and the readout population :data:`READOUT` it feeds
    through one projection, the graph's only output."""
    graph = from_network(net)
    reservoir = next(iter(graph.populations))
    population = Population(READOUT, "li", readout.n_out, tau_mem=readout.tau,
                            bias=readout.bias)
    weights = readout_network(readout, net.n_total_neurons, net.dt).input_weights
    projection = Projection(reservoir, READOUT, weights, name=f"{reservoir}->{READOUT}")
    return Graph(inputs=dict(graph.inputs),
                 populations=[*graph.populations.values(), population],
                 projections=[*graph.projections, projection], outputs=[READOUT],
                 dt=graph.dt, metadata=dict(graph.metadata))


def readout_of_graph(graph: Graph, fitted: DeployedReadout) -> DeployedReadout:
    """The readout population of a deployed ``graph`` (as read back from its file, its
    reservoir compacted) with the host's decoding (``mean``, ``std``) and penalty of the
    readout it was ``fitted`` as. Its ``neurons`` index the reservoir's columns."""
    population = graph.populations[READOUT]
    projection = next(p for p in graph.projections if p.target == READOUT)
    weights = projection.weights.tocsc()
    neurons = np.flatnonzero(np.diff(weights.indptr))
    tau = np.unique(population.tau_mem)
    if tau.size != 1:
        raise ValueError(f"population {READOUT!r}: one tau_mem expected, got {tau}")
    return DeployedReadout(weights=weights[:, neurons].toarray(), bias=population.bias.copy(),
                           tau=float(tau[0]), neurons=neurons, mean=fitted.mean,
                           std=fitted.std, alpha=fitted.alpha)


def deployed_scale(net: SpikingNetwork) -> float:
    """The fixed-point scale of ``net`` with the readout population appended: the default
    scale of the whole, whose largest threshold is the larger of ``net``'s and the
    readout's placeholder threshold 1 (:func:`~lnp_neuro.engines.fixed_point.default_scale`)."""
    return min(default_scale(net), scale_for_threshold(1.0))   # the scale falls with vmax


def deployed_predictions(readout: DeployedReadout, spikes, steps_per_sample: int, dt: float,
                         mode: str, scale: float | None = None) -> tuple[np.ndarray, dict]:
    """Decoded predictions ``[n_samples - 1, n_out]`` of sample ``t + 1`` for every ``t``,
    read from the population's ``v`` at the first step of sample ``t + 1``, run in
    ``mode`` (fixed: quantised at ``scale``, the deployed network's); and the
    quantisation's figures (weights flushed to 0, largest relative weight error)."""
    s = np.asarray(spikes, dtype=bool)
    net = readout_network(readout, s.shape[1], dt)
    quantization = quantize(net, scale=scale) if mode == "fixed" else None
    v = simulate(net, s, mode=mode, record_state=True, quantization=quantization).v
    k = int(steps_per_sample)
    n_samples = s.shape[0] // k
    z = v[np.arange(1, n_samples) * k]               # first step of samples 1 .. n-1
    figures = {}
    if quantization is not None:
        err = quantization.error
        figures = {"weights_flushed": int(err.input_weights_flushed),
                   "weight_rms_rel": float(err.input_weight_rms_rel)}
    return readout.mean + readout.std * z, figures


def score_deployed_readout(readout: DeployedReadout, spikes, series, split: ForecastSplit,
                           steps_per_sample: int, dt: float, mode: str,
                           scale: float | None = None) -> dict:
    """The fitted on-chip ``readout`` scored on the test samples in the target's
    arithmetic: ``{"nrmse", "tau", "alpha", "neurons", "synapses", ...}``."""
    y = np.asarray(series, dtype=np.float64).reshape(len(series), -1)
    pred, figures = deployed_predictions(readout, spikes, steps_per_sample, dt, mode, scale)
    score = nrmse(pred[split.test], y[split.test + 1], _sigma(y))
    return {"nrmse": float(score), "tau": readout.tau, "alpha": readout.alpha,
            "neurons": readout.n_out, "synapses": int(np.count_nonzero(readout.weights)),
            **figures}


def deployed_readout_nrmse(spikes, series, split: ForecastSplit, steps_per_sample: int,
                           dt: float, tau: float, neurons, mode: str,
                           scale: float | None = None) -> dict:
    """Fit the on-chip readout on the training samples and score it on the test samples
    in the target's arithmetic (:func:`score_deployed_readout`)."""
    readout = fit_deployed_readout(spikes, series, split, steps_per_sample, dt, tau, neurons)
    return score_deployed_readout(readout, spikes, series, split, steps_per_sample, dt, mode,
                                  scale)
