"""The forecast's readout as an on-chip output population (lnp_neuro.tasks.deployed_readout).

- In float, the population's decoded membrane is the ridge readout of its own features
  (the trace with decay 1 - dt/tau), up to the bias's settling (washout: none left).
- The population alone, driven by the reservoir's spikes, computes the same membrane,
  bit for bit in both arithmetics, as the same population inside the deployed graph
  (reservoir + readout, one flat network): the figure is what the deployed graph gives.
"""

from __future__ import annotations

import numpy as np
import pytest

from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import Graph, Population, Projection, flatten, from_network
from lnp_neuro.model.build import hrsnn
from lnp_neuro.tasks import dynamical
from lnp_neuro.tasks.deployed_readout import (_equivalent_tau, deployed_predictions,
                                              deployed_readout_nrmse, fit_deployed_readout)
from lnp_neuro.tasks.forecast import ForecastSplit, encode_series, reservoir_states

K, TAU = 10, 20e-3


@pytest.fixture(scope="module")
def reservoir_run():
    net = hrsnn(120, seed=0, n_inputs=12)
    series = dynamical.lorenz63(n_samples=402, split=(400, 1, 1), seed=0).train[:400]
    encoded = encode_series(series, net.n_inputs, dt=net.dt, steps_per_sample=K)
    spikes = simulate(net, encoded.spikes, mode="fixed").spikes
    return net, series, encoded, spikes, ForecastSplit(series.shape[0], washout=50)


def test_float_population_is_the_ridge_of_its_features(reservoir_run):
    net, series, _, spikes, split = reservoir_run
    neurons = np.flatnonzero(net.neuron_active)
    readout = fit_deployed_readout(spikes, series, split, K, net.dt, TAU, neurons)
    pred, figures = deployed_predictions(readout, spikes, K, net.dt, "float")
    assert figures == {}
    states = reservoir_states(spikes, K, net.dt, _equivalent_tau(TAU, net.dt), neurons)
    direct = states @ readout.weights.T + readout.bias * TAU / net.dt
    expected = readout.mean + readout.std * direct[:-1]
    settled = slice(split.washout, None)
    np.testing.assert_allclose(pred[settled], expected[settled], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_population_alone_equals_it_inside_the_deployed_graph(reservoir_run, mode):
    net, series, encoded, spikes, split = reservoir_run
    if mode == "float":   # the fixture's run is in fixed point
        spikes = simulate(net, encoded.spikes, mode=mode).spikes
    neurons = np.flatnonzero(net.neuron_active)
    readout = fit_deployed_readout(spikes, series, split, K, net.dt, TAU, neurons)
    graph = from_network(net)
    name = next(iter(graph.populations))
    out = Population("readout", "li", readout.n_out, tau_mem=readout.tau, bias=readout.bias)
    w = np.zeros((readout.n_out, net.n_total_neurons))
    w[:, neurons] = readout.weights
    whole = Graph(inputs=dict(graph.inputs), populations=[*graph.populations.values(), out],
                  projections=[*graph.projections, Projection(name, "readout", w)],
                  outputs=["readout"], dt=graph.dt)
    flat = flatten(whole).network
    steps = 60 * K
    fixed = quantize(flat) if mode == "fixed" else None
    result = simulate(flat, encoded.spikes[:steps], mode=mode, record_state=True,
                      quantization=fixed)
    inside = result.v[:, net.n_total_neurons:]
    np.testing.assert_array_equal(result.spikes[:, :net.n_total_neurons], spikes[:steps])
    alone, _ = deployed_predictions(readout, spikes[:steps], K, net.dt, mode,
                                    None if fixed is None else fixed.scale)
    np.testing.assert_array_equal(
        alone, readout.mean + readout.std * inside[np.arange(1, steps // K) * K])


def test_fixed_point_score_and_figures(reservoir_run):
    net, series, _, spikes, split = reservoir_run
    neurons = np.flatnonzero(net.neuron_active)
    scores = {mode: deployed_readout_nrmse(spikes, series, split, K, net.dt, TAU, neurons,
                                           mode) for mode in ("float", "fixed")}
    print(scores)
    assert scores["fixed"]["weights_flushed"] >= 0 and "weights_flushed" not in scores["float"]
    assert scores["float"]["synapses"] == 3 * neurons.size
    assert 0 < scores["float"]["nrmse"] < 1 and np.isfinite(scores["fixed"]["nrmse"])
