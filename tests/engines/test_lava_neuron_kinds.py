"""Lava back end with per-neuron reset kinds: reset by subtraction, non-spiking neurons
and ``tau_mem = inf`` (lnp_neuro.engines.lava.procs.lif_reset).

One small network (20 neurons, 4 inputs, every combination of the flags, some neurons
without leak) is run once per mode in Lava and compared spike for spike with

- an independent float64 reference loop (float) and an independent integer loop written
  from Lava's bit-accurate LIF (fixed), both below;
- the native simulator, once it implements the same fields (skipped until then).

A plain network must keep Lava's own ``LIF`` process, and no Lava worker may survive.
"""

import multiprocessing

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.lava.backend import build_lava_network, run_lava
from lnp_neuro.engines.lava.compat import ensure_lava
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model.network import SpikingNetwork

STEPS = 100
_CHILDREN_BEFORE = set(multiprocessing.active_children())


def _network():
    rng = np.random.default_rng(7)
    net = models.hrsnn(20, 0.3, seed=5, gain=1.6, input_scale=1.2, n_inputs=4)
    n = net.n_total_neurons
    tau_mem = rng.uniform(2e-3, 20e-3, n)
    tau_mem[[1, 6, 11, 16]] = np.inf                 # no leak (IF / Integrator)
    bias = rng.normal(0.0, 0.05, n)
    bias[rng.random(n) < 0.2] *= 8
    net = net.copy(v_threshold=rng.uniform(0.6, 2.0, n), bias=bias, tau_mem=tau_mem,
                   tau_syn=rng.uniform(1e-3, 8e-3, n))
    # Neurons cycle through (spiking, reset to zero), (spiking, subtract), (readout).
    kind = np.arange(n) % 3
    net = net.copy(reset_subtract=kind == 1, spiking=kind != 2)
    x = rng.random((STEPS, net.n_inputs)) < 0.25
    return net, x


def _reference_float(net: SpikingNetwork, x: np.ndarray) -> np.ndarray:
    """Float64 loop of the semantics (network.py docstring), in Lava's operation order."""
    n = net.n_total_neurons
    w = sp.csr_matrix(net.effective_weights())
    w_in = sp.csr_matrix(net.effective_input_weights())
    w.sort_indices()
    w_in.sort_indices()
    u, v = np.zeros(n), np.zeros(n)
    s_prev, x_prev = np.zeros(n), np.zeros(net.n_inputs)
    out = np.zeros((x.shape[0], n), bool)
    for t in range(x.shape[0]):
        a = (0.0 + w @ s_prev) + w_in @ x_prev
        u = u * (1 - net.du) + a
        v = v * (1 - net.dv) + u + net.bias
        s = (v > net.v_threshold) & net.spiking & net.neuron_active
        v = np.where(s & net.reset_subtract, v - net.v_threshold, np.where(s, 0.0, v))
        out[t] = s
        s_prev, x_prev = s.astype(float), x[t].astype(float)
    return out


def _reference_fixed(net: SpikingNetwork, x: np.ndarray) -> np.ndarray:
    """Integer loop of Lava's PyLifModelBitAcc (lava/proc/lif/models.py) with the
    per-neuron spike and reset, on the integers of quantize(net)."""
    q = quantize(net)
    n = net.n_total_neurons
    half = 2 ** 23

    def synaptic(mat, exp, spikes):
        total = np.asarray(mat @ spikes.astype(np.int64)).ravel().astype(np.int64)
        return np.where(exp >= 0, total << np.maximum(exp, 0), total >> np.maximum(-exp, 0))

    def decay(val, d):
        prod = val * (4096 - d)
        return np.sign(prod) * (np.abs(prod) >> 12)

    u, v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    s_prev, x_prev = np.zeros(n, bool), np.zeros(net.n_inputs, bool)
    vth = q.vth.astype(np.int64) << 6
    bias = q.bias_mant.astype(np.int64) << q.bias_exp
    out = np.zeros((x.shape[0], n), bool)
    for t in range(x.shape[0]):
        a = synaptic(q.weights, q.weight_exp, s_prev) \
            + synaptic(q.input_weights, q.input_weight_exp, x_prev)
        cur = decay(u, q.du + 1) + (a << 6)
        u = np.where(cur > half, cur - 2 * half, np.where(cur <= -half, cur + 2 * half, cur))
        v = np.clip(decay(v, q.dv) + u + bias, -half + 1, half - 1)
        s = (v > vth) & net.spiking & net.neuron_active
        v = np.where(s & net.reset_subtract, v - vth, np.where(s, 0, v))
        out[t] = s
        s_prev, x_prev = s, x[t]
    return out


@pytest.fixture(scope="module")
def case():
    net, x = _network()
    return net, x, {}


def _lava(case, mode):
    net, x, runs = case
    if mode not in runs:
        runs[mode] = run_lava(net, x, mode=mode)
    return runs[mode]


def _native_supports_kinds() -> bool:
    """Whether the native simulator implements ``spiking`` (the kernels branch)."""
    probe = SpikingNetwork(weights=sp.csr_matrix((1, 1)),
                           input_weights=sp.csr_matrix((1, 0)), tau_mem=np.inf,
                           tau_syn=1e-3, v_threshold=1.0, bias=0.5, spiking=[False])
    run = simulate(probe, np.zeros((4, 0), bool), mode="float", engine="numpy")
    return not run.spikes.any()


def _assert_same(a, b):
    mismatch = np.argwhere(a != b)
    assert mismatch.size == 0, f"first differing (step, neuron): {mismatch[:5].tolist()}"


def test_case_exercises_every_kind(case):
    net, x, _ = case
    for ref in (_reference_float(net, x), _reference_fixed(net, x)):
        assert not ref[:, ~net.spiking].any()
        fired = ref.any(axis=0)
        assert fired[net.spiking & net.reset_subtract].sum() >= 3
        assert fired[net.spiking & ~net.reset_subtract].sum() >= 3
        assert fired[np.isinf(net.tau_mem) & net.spiking].any()
    # the flags change the raster (the comparison below cannot pass with plain LIFs)
    plain = net.copy(reset_subtract=np.zeros(net.n_total_neurons, bool),
                     spiking=np.ones(net.n_total_neurons, bool))
    assert plain.is_plain_lif and not net.is_plain_lif
    assert (_reference_float(plain, x) != _reference_float(net, x)).any()
    assert (_reference_fixed(plain, x) != _reference_fixed(net, x)).any()
    assert quantize(net).dv[np.isinf(net.tau_mem)].tolist() == [0, 0, 0, 0]


def test_lava_float_equals_float64_reference(case):
    net, x, _ = case
    _assert_same(_lava(case, "float"), _reference_float(net, x))


def test_lava_fixed_equals_integer_reference(case):
    net, x, _ = case
    _assert_same(_lava(case, "fixed"), _reference_fixed(net, x))


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_lava_equals_native_simulator(case, mode):
    if not _native_supports_kinds():
        pytest.skip("the native simulator does not implement reset_subtract / spiking yet")
    net, x, _ = case
    _assert_same(_lava(case, mode), simulate(net, x, mode=mode, engine="numpy").spikes)


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_process_type_follows_is_plain_lif(case, mode):
    ensure_lava()
    from lava.proc.lif.process import LIF

    from lnp_neuro.engines.lava.procs.lif_reset import LIFResetKinds

    net, x, _ = case
    n = net.n_total_neurons
    plain = net.copy(reset_subtract=np.zeros(n, bool), spiking=np.ones(n, bool))
    assert type(build_lava_network(plain, x, mode).lif) is LIF
    assert type(build_lava_network(net, x, mode).lif) is LIFResetKinds
    # flags on pruned neurons only: the compacted network is plain
    pruned = plain.copy(reset_subtract=np.arange(n) == 0, spiking=np.arange(n) != 1,
                        neuron_active=np.arange(n) > 1)
    assert type(build_lava_network(pruned, x, mode).lif) is LIF


def test_no_lava_worker_left(case):
    _lava(case, "float")
    _lava(case, "fixed")
    assert set(multiprocessing.active_children()) - _CHILDREN_BEFORE == set()
