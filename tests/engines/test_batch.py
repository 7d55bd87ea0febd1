"""Batched runs (``Simulator.run_batch``, lnp_neuro.engines.batch) against ``Simulator.run``.

Conformance: every sample of a batch, bit for bit what ``Simulator.run`` gives it alone
from rest (spikes, ``v`` after the chosen steps, the current wraps), in fixed point by
both batched paths (dense column adds, the per-sample kernel in the compiled loop) and
in float, on graphs of every neuron kind and reset rule (reset to zero, subtraction,
snnTorch's delayed subtraction, non-spiking readouts), with biases and bias onsets,
pruned neurons and synapses, a reservoir, a model made in snnTorch and one in norse;
batches of one and of samples of different content (an empty one among them).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import chain_graph, delayed_graph, norse_classifier, recurrent_graph, \
    snntorch_classifier

from lnp_neuro import models
from lnp_neuro.deploy import data
from lnp_neuro.deploy.data import _responses
from lnp_neuro.engines import batch
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.simulator import Simulator
from lnp_neuro.model import flatten
from lnp_neuro.nir import graph_from_nir

_HAVE_SNNTORCH = all(importlib.util.find_spec(m) for m in ("torch", "snntorch"))
_HAVE_NORSE = importlib.util.find_spec("norse") is not None


def _mixed(seed: int = 3, n: int = 30, n_in: int = 5):
    """A reservoir of every kind: infinite tau_mem, subtract and zero resets, non-spiking
    neurons, biases with onsets at several steps, pruned neurons and synapses."""
    rng = np.random.default_rng(seed)
    net = models.hrsnn(n, 0.3, seed=seed, gain=1.5, input_scale=1.0, n_inputs=n_in)
    return net.copy(tau_mem=np.where(rng.random(n) < 0.3, np.inf, net.tau_mem),
                    v_threshold=rng.uniform(0.8, 1.5, n),
                    bias=np.where(rng.random(n) < 0.4, rng.uniform(0.05, 0.3, n), 0.0),
                    tau_syn=rng.uniform(1e-3, 8e-3, n), reset_subtract=rng.random(n) < 0.5,
                    spiking=rng.random(n) > 0.25, neuron_active=rng.random(n) > 0.15,
                    synapse_active=rng.random(net.weights.nnz) > 0.1,
                    bias_onset=rng.integers(0, 4, n))


def _snntorch():
    _, nir_graph = snntorch_classifier(reset_delay=True, reset_mechanism="subtract")
    return flatten(graph_from_nir(nir_graph, source="snntorch", reset_mechanism="subtract",
                                  reset_delay=True)).network


def _norse():
    return flatten(graph_from_nir(norse_classifier("box")[1], source="norse")).network


_NEEDS_SNNTORCH = pytest.mark.skipif(not _HAVE_SNNTORCH, reason="torch and snntorch are needed")
_NEEDS_NORSE = pytest.mark.skipif(not _HAVE_NORSE, reason="norse is needed")
NETWORKS = [
    pytest.param(lambda: flatten(chain_graph()).network, id="chain"),
    pytest.param(lambda: flatten(chain_graph(reset="subtract")).network, id="chain_subtract"),
    pytest.param(lambda: flatten(chain_graph(reset="subtract", reset_delay=True)).network,
                 id="chain_subtract_delayed"),
    pytest.param(lambda: flatten(recurrent_graph()).network, id="recurrent"),  # bias, LI
    pytest.param(_mixed, id="mixed"),
    pytest.param(lambda: models.hrsnn(300, 0.05, seed=4, n_inputs=6, input_scale=2.0),
                 id="reservoir"),
    pytest.param(_snntorch, id="snntorch", marks=_NEEDS_SNNTORCH),
    pytest.param(_norse, id="norse", marks=_NEEDS_NORSE),
]


def _samples(n_inputs: int, n_samples: int = 7, steps: int = 40, seed: int = 0):
    """Samples of different rates, one of them empty."""
    rng = np.random.default_rng(seed)
    rates = np.linspace(0.05, 0.6, n_samples)[:, None, None]
    x = rng.random((n_samples, steps, n_inputs)) < rates
    x[min(2, n_samples - 1)] = False
    return x


def _assert_batch_is_runs(sim, x, v_steps=(-1, 0, 7)):
    """The batch, with and without its rasters, against each sample run alone."""
    got = sim.run_batch(x, v_steps=list(v_steps))
    counts_only = sim.run_batch(x, v_steps=list(v_steps), raster=False)
    assert got.spikes.shape == (x.shape[0], x.shape[1], sim.net.n_total_neurons)
    assert counts_only.spikes is None
    wraps = 0
    for b in range(x.shape[0]):
        alone = sim.run(x[b], record_state=True)
        np.testing.assert_array_equal(got.spikes[b], alone.spikes)
        for result in (got, counts_only):
            np.testing.assert_array_equal(result.counts[b], alone.spikes.sum(axis=0))
            np.testing.assert_array_equal(result.v[b], alone.v[list(v_steps)])
        wraps += alone.current_wraps
    assert got.current_wraps == wraps == counts_only.current_wraps
    return got


@pytest.fixture(params=["dense", "samples"])
def fixed_path(request, monkeypatch):
    """The fixed-point batch's two paths, forced: dense column adds for every network
    that fits, or the per-sample kernel for every one."""
    monkeypatch.setattr(batch, "DENSE_MIN_DENSITY", 0.0 if request.param == "dense" else 2.0)
    return request.param


@pytest.mark.parametrize("build", NETWORKS)
def test_fixed_batch_is_each_sample_alone(build, fixed_path):
    net = build()
    sim = Simulator(net, "fixed")
    x = _samples(net.n_inputs)
    got = _assert_batch_is_runs(sim, x)
    assert (sim._batch_layout() is not None) == (fixed_path == "dense")
    assert got.spikes.any()
    _assert_batch_is_runs(sim, x[3:4], v_steps=(5,))                  # a batch of one


@pytest.mark.parametrize("build", NETWORKS)
def test_float_batch_is_each_sample_alone(build):
    net = build()
    sim = Simulator(net, "float")
    _assert_batch_is_runs(sim, _samples(net.n_inputs))
    _assert_batch_is_runs(sim, _samples(net.n_inputs, 1, seed=2), v_steps=(-1,))


def test_samples_differ_and_every_rule_acts():
    """The conformance above compares rasters that carry something: samples of
    different content give different rasters, both resets and the silent neurons act."""
    net = _mixed()
    got = Simulator(net, "fixed").run_batch(_samples(net.n_inputs), v_steps=[-1])
    counts = got.spikes.sum(axis=(1, 2))
    assert len(set(counts.tolist())) > 3
    assert got.spikes[:, :, net.reset_subtract & net.spiking].any()
    assert got.spikes[:, :, ~net.reset_subtract & net.spiking].any()
    assert not got.spikes[:, :, ~net.spiking].any()
    assert not got.spikes[:, :, ~net.neuron_active].any()


def test_fixed_batch_counts_current_wraps(fixed_path):
    """A quantisation without headroom wraps the 24-bit current; the batch counts the
    wraps and keeps the wrapped values of every sample."""
    net = models.hrsnn(40, 0.4, seed=5, n_inputs=4, input_scale=6.0, gain=3.0)
    sim = Simulator(net, "fixed", quantization=quantize(net, headroom_bits=0))
    got = _assert_batch_is_runs(sim, _samples(net.n_inputs, 5))
    assert got.current_wraps > 0


def test_numpy_engine_and_delayed_synapses_run_one_by_one():
    net = _mixed()
    x = _samples(net.n_inputs, 3)
    ref = Simulator(net, "fixed").run_batch(x, v_steps=[-1])
    other = Simulator(net, "fixed", engine="numpy").run_batch(x, v_steps=[-1])
    np.testing.assert_array_equal(ref.spikes, other.spikes)
    np.testing.assert_array_equal(ref.counts, other.counts)
    np.testing.assert_array_equal(ref.v, other.v)
    assert Simulator(net, "fixed", engine="numpy").run_batch(x, raster=False).spikes is None
    layout = flatten(delayed_graph())
    sim = Simulator(layout.network, "fixed", delayed=layout.delayed)
    _assert_batch_is_runs(sim, _samples(layout.network.n_inputs, 3))


def test_empty_batches_and_bad_arguments():
    net = flatten(chain_graph()).network
    sim = Simulator(net, "fixed")
    assert sim.run_batch(np.zeros((0, 5, net.n_inputs), bool)).spikes.shape == (0, 5, 17)
    assert sim.run_batch(np.zeros((2, 0, net.n_inputs), bool)).spikes.shape == (2, 0, 17)
    with pytest.raises(ValueError, match="shape"):
        sim.run_batch(np.zeros((2, 5, net.n_inputs + 1), bool))
    with pytest.raises(ValueError, match="0 and 1"):
        sim.run_batch(np.full((2, 5, net.n_inputs), 0.5))
    with pytest.raises(ValueError, match="step 5"):
        sim.run_batch(np.zeros((2, 5, net.n_inputs), bool), v_steps=[5])
    with pytest.raises(ValueError, match="twice"):
        sim.run_batch(np.zeros((2, 5, net.n_inputs), bool), v_steps=[4, -1])


@pytest.mark.parametrize("mode", ["fixed", "float"])
@pytest.mark.parametrize("spiking", [True, False])
def test_scores_are_the_per_sample_runs_whatever_the_threads(mode, spiking, monkeypatch):
    """lnp-deploy --data's scores (lnp_neuro.deploy.data._responses): spike counts or
    the last-step membrane of the output columns, the hidden columns' counts, as each
    sample run alone gives them, on one thread and on several, in small blocks too."""
    layout = flatten(recurrent_graph())
    net = layout.network
    out = np.arange(*layout.offsets["O" if not spiking else "I"])
    hidden = np.arange(*layout.offsets["R"])
    x = _samples(net.n_inputs, 9, steps=25, seed=4)
    latency = 3
    sim = Simulator(net, mode)
    pad = np.zeros((latency, net.n_inputs), bool)
    want_scores, want_counts = [], []
    for xi in x:
        r = sim.run(np.concatenate([xi, pad]), record_state=True)
        want_scores.append(r.spikes[:, out].sum(axis=0) if spiking else r.v[-1, out])
        want_counts.append(r.spikes[:, hidden].sum(axis=0))
    for workers, block_bytes in ((1, 1 << 28), (2, 1 << 28), (3, 1 << 28), (2, 1)):
        monkeypatch.setattr(data, "_BLOCK_BYTES", block_bytes)    # 1: a sample per block
        scores, counts = _responses(net, x, latency, mode, out, spiking, hidden, workers)
        np.testing.assert_array_equal(scores, np.array(want_scores, float))
        np.testing.assert_array_equal(counts, np.array(want_counts, float))


def test_vectorised_update_is_the_fixed_kernels_update_on_extreme_states():
    """The dense path's neuron update (32-bit lanes, the decay's product split) against
    the per-sample kernel's _input + _update, neuron by neuron, on random states over the
    whole int32 range (currents far outside 24 bits, which Lava's wrap leaves out of
    range), every exponent shift, both resets, saturating voltages, pruned neurons."""
    from lnp_neuro.engines._kernels_batch import _update_all
    from lnp_neuro.engines._kernels_fixed import _input, _update
    rng = np.random.default_rng(11)
    n = 32
    i32 = np.iinfo(np.int32)
    for trial in range(300):
        big = trial % 2 == 0
        left = rng.integers(0, 8, (2, n)).astype(np.uint8)
        right = np.where(rng.random((2, n)) < 0.5, rng.integers(1, 9, (2, n)), 0).astype(np.uint8)
        left[right > 0] = 0
        acc = rng.integers(i32.min, i32.max, (2, n)) if big else rng.integers(-4e4, 4e4, (2, n))
        state = [rng.integers(i32.min, i32.max, n) if big else rng.integers(-2**24, 2**24, n),
                 rng.integers(-(2**23 - 1), 2**23, n)]
        consts = (np.where(rng.random(n) < 0.9, -1, 0),                 # active_mask
                  rng.integers(0, 4096, n), rng.integers(1, 4097, n),  # keep_u, keep_v
                  np.where(rng.random(n) < 0.2, 2**31 - 1, rng.integers(1, 2**23, n)),
                  rng.integers(-2**19, 2**19, n))                      # vth, bias
        consts = tuple(c.astype(np.int32) for c in consts)
        mask = np.where(rng.random(n) < 0.5, -1, 0).astype(np.int32)
        vsub = rng.integers(1, 2**23, n).astype(np.int32)
        a_rec, a_in = (acc[k].astype(np.int32) for k in (0, 1))
        u, v = (s.astype(np.int32) for s in state)
        row = np.zeros(n, bool)
        wraps = _update_all(a_rec, a_in, left[0], right[0], left[1], right[1], *consts[:3],
                            consts[3], consts[4], mask, vsub, u, v, row)
        b_rec, b_in = (acc[k].astype(np.int32) for k in (0, 1))
        u_ref, v_ref = (s.astype(np.int32) for s in state)
        want_wraps = 0
        for i in range(n):
            a = _input(i, b_rec, b_in, left[0], right[0], left[1], right[1], consts[0])
            s, wr = _update(i, a, consts[1], consts[2], consts[3], consts[4], (mask, vsub),
                            u_ref, v_ref)
            assert row[i] == s
            want_wraps += wr
        np.testing.assert_array_equal(u, u_ref)
        np.testing.assert_array_equal(v, v_ref)
        assert wraps == want_wraps and not a_rec.any() and not a_in.any()
