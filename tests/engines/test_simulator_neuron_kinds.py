"""lnp_neuro.engines.simulator with the per-neuron kinds of SpikingNetwork: reset by subtraction,
non-spiking neurons (LI/Integrator readouts) and tau_mem = inf (no leak), in every engine."""

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.simulator import Simulator, simulate
from lnp_neuro.model.network import SpikingNetwork

DT = 1e-3
MODES_ENGINES = [(mode, engine) for mode in ("float", "fixed") for engine in ("numba", "numpy")]


def _single(bias, *, tau_mem=np.inf, reset_subtract=False, spiking=True):
    return SpikingNetwork(weights=sp.csr_matrix((1, 1)), input_weights=sp.csr_matrix((1, 1)),
                          tau_mem=tau_mem, tau_syn=DT, v_threshold=1.0, bias=bias, dt=DT,
                          reset_subtract=[reset_subtract], spiking=[spiking])


def _run_single(net, steps, mode, engine):
    res = simulate(net, np.zeros((steps, 1), bool), mode=mode, record_state=True,
                   engine=engine)
    return np.flatnonzero(res.spikes[:, 0]).tolist(), res.v[:, 0].tolist(), res


# Hand-computed: bias 0.375, threshold 1, tau_mem = inf (dv = 0: v[t] = v[t-1] + 0.375),
# 12 steps. Every value is a multiple of 1/64, exact in float64 and, at the default scale
# 2**17 (bias 49152 = 3072 << 4, threshold 2048 << 6), exact in fixed point too.
# Reset to zero: 0.375, 0.75, 1.125 > 1 -> spike, v = 0; period 3.
ZERO_SPIKES = [2, 5, 8, 11]
ZERO_V = [0.375, 0.75, 0.0] * 4
# Subtract: 1.125 -> 0.125, then 0.5, 0.875, 1.25 -> 0.25, 0.625, 1.0 (not > 1), 1.375
# -> 0.375, 0.75, 1.125 -> 0.125: the remainder carries over and the fourth spike
# comes one step earlier.
SUB_SPIKES = [2, 5, 8, 10]
SUB_V = [0.375, 0.75, 0.125, 0.5, 0.875, 0.25, 0.625, 1.0, 0.375, 0.75, 0.125, 0.5]
# Non-spiking: integrates without leak or reset, v = 0.375 (t + 1).
NON_SPIKING_V = [0.375 * (t + 1) for t in range(12)]


def test_hand_computed_sequences_differ_between_the_rules():
    # A test that swapped or dropped a rule would fail: the three expectations differ.
    assert ZERO_V != SUB_V and ZERO_SPIKES != SUB_SPIKES
    assert NON_SPIKING_V != ZERO_V and NON_SPIKING_V != SUB_V
    assert NON_SPIKING_V[2] > 1.0      # above threshold, yet no spike expected


@pytest.mark.parametrize("mode,engine", MODES_ENGINES)
def test_reset_to_zero_hand_computed(mode, engine):
    spikes, v, _ = _run_single(_single(0.375), 12, mode, engine)
    assert spikes == ZERO_SPIKES
    assert v == ZERO_V


@pytest.mark.parametrize("mode,engine", MODES_ENGINES)
def test_reset_by_subtraction_hand_computed(mode, engine):
    spikes, v, _ = _run_single(_single(0.375, reset_subtract=True), 12, mode, engine)
    assert spikes == SUB_SPIKES
    assert v == SUB_V


@pytest.mark.parametrize("mode,engine", MODES_ENGINES)
def test_non_spiking_neuron_integrates_without_leak_and_never_spikes(mode, engine):
    spikes, v, _ = _run_single(_single(0.375, spiking=False), 12, mode, engine)
    assert spikes == []
    assert v == NON_SPIKING_V


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_non_spiking_neuron_saturates_at_24_bits_in_fixed_mode(engine):
    # Scale 2**17: +0.375 per step reaches 2**23 - 1 (the saturation) after 171 steps.
    net = _single(0.375, spiking=False)
    spikes, v, res = _run_single(net, 200, "fixed", engine)
    assert res.scale == 2.0 ** 17 and spikes == []
    expected = np.minimum(49152 * np.arange(1, 201), 2 ** 23 - 1) / 2.0 ** 17
    np.testing.assert_array_equal(v, expected)
    assert int(res.final_state.v[0]) == 2 ** 23 - 1


@pytest.mark.parametrize("mode,engine", MODES_ENGINES)
def test_leaky_subtract_reset_hand_computed(mode, engine):
    # tau_mem = 2 dt: v[t] = v[t-1] / 2 + 0.75. Subtract: 0.75, 1.125 -> 0.125, 0.8125,
    # 1.15625 -> 0.15625, 0.828125, 1.1640625 -> 0.1640625; reset to zero instead: 0.75,
    # 1.125 -> 0, 0.75, ... (the same spike times, other voltages).
    sub = _single(0.75, tau_mem=2 * DT, reset_subtract=True)
    spikes, v, _ = _run_single(sub, 6, mode, engine)
    assert spikes == [1, 3, 5]
    assert v == [0.75, 0.125, 0.8125, 0.15625, 0.828125, 0.1640625]
    spikes0, v0, _ = _run_single(_single(0.75, tau_mem=2 * DT), 6, mode, engine)
    assert spikes0 == [1, 3, 5] and v0 == [0.75, 0.0] * 3


def _mixed_net(seed, pruned=False, n=30, n_in=5):
    rng = np.random.default_rng(seed)
    net = models.hrsnn(n, 0.3, seed=seed, gain=1.5, input_scale=1.0, n_inputs=n_in)
    tau_mem = np.where(rng.random(n) < 0.3, np.inf, net.tau_mem)
    net = net.copy(tau_mem=tau_mem, v_threshold=rng.uniform(0.8, 1.5, n),
                   bias=np.where(rng.random(n) < 0.3, rng.uniform(0.05, 0.3, n), 0.0),
                   tau_syn=rng.uniform(1e-3, 8e-3, n),
                   reset_subtract=rng.random(n) < 0.5, spiking=rng.random(n) > 0.25,
                   neuron_active=(rng.random(n) > 0.15) if pruned else None)
    return net


@pytest.mark.parametrize("drive", ["random", "bursty"])
@pytest.mark.parametrize("pruned", [False, True])
def test_mixed_kinds_numba_equals_numpy_bit_for_bit(drive, pruned):
    net = _mixed_net(11 + pruned, pruned)
    assert not net.is_plain_lif
    assert np.isinf(net.tau_mem).any() and net.reset_subtract.any() and (~net.spiking).any()
    rng = np.random.default_rng(5)
    x = rng.random((200, 5)) < 0.2
    if drive == "bursty":       # quiet stretches: the fixed kernel's sparse steps
        x[20:100] = False
        x[110:] = False
    kinds = {"subtract": net.spiking & net.reset_subtract & net.neuron_active,
             "zero": net.spiking & ~net.reset_subtract & net.neuron_active,
             "silent": ~net.spiking & net.neuron_active}
    q = quantize(net)
    for mode in ("float", "fixed"):
        a = simulate(net, x, mode=mode, record_state=True, engine="numba")
        b = simulate(net, x, mode=mode, record_state=True, engine="numpy")
        np.testing.assert_array_equal(a.spikes, b.spikes)
        np.testing.assert_array_equal(a.v, b.v)
        np.testing.assert_array_equal(a.u, b.u)
        assert a.synaptic_events == b.synaptic_events
        assert a.current_wraps == b.current_wraps
        for name in ("v", "u", "pending_input", "pending_recurrent"):
            np.testing.assert_array_equal(getattr(a.final_state, name),
                                          getattr(b.final_state, name))
        # Both reset rules are exercised; non-spiking neurons never spike although their
        # v passes the threshold they would have.
        assert a.spikes[:, kinds["subtract"]].any() and a.spikes[:, kinds["zero"]].any()
        assert not a.spikes[:, ~net.spiking].any()
        vth = net.v_threshold if mode == "float" else (q.vth << 6) / q.scale
        assert (a.v[:, kinds["silent"]] > vth[kinds["silent"]]).any()
        # After a spike a subtracting neuron keeps its remainder (never 0 by the rule).
        spk = a.spikes[:, kinds["subtract"]]
        assert (a.v[:, kinds["subtract"]][spk] > 0).all()
        assert (a.v[:, kinds["zero"]][a.spikes[:, kinds["zero"]]] == 0).all()


def test_mixed_kinds_fixed_kernel_takes_its_sparse_path():
    # Sparse weights and short time constants: after an input burst most neurons return
    # to u = v = 0 (a few without leak never do), so the fixed kernel updates sparsely.
    from lnp_neuro.engines._kernels_fixed import run_fixed
    from lnp_neuro.engines.simulator import _fixed_kernel_args, _fixed_layout, _initial_state
    rng = np.random.default_rng(4)
    n = 300
    net = models.hrsnn(n, 0.01, seed=4, gain=0.3, input_scale=2.0, n_inputs=5,
                       tau_syn=2e-3, tau_mem_shape=20.0, tau_mem_scale=2e-4)
    net = net.copy(tau_mem=np.where(rng.random(n) < 0.03, np.inf, net.tau_mem),
                   reset_subtract=rng.random(n) < 0.5, spiking=rng.random(n) > 0.25)
    x = np.zeros((200, 5), bool)
    x[:10] = rng.random((10, 5)) < 0.5
    q = quantize(net)
    state = _initial_state(net, None, "fixed", q)
    args, _ = _fixed_kernel_args(_fixed_layout(net, q), x, state, False)
    _, _, sparse_steps = run_fixed(0, x.shape[0], *args)
    assert sparse_steps > 50
    a = simulate(net, x, mode="fixed", record_state=True, engine="numba")
    b = simulate(net, x, mode="fixed", record_state=True, engine="numpy")
    assert a.spikes[:, net.spiking & net.reset_subtract].any()
    assert not a.spikes[:, ~net.spiking].any()
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.u, b.u)


def test_plain_network_layout_is_unchanged_by_the_kinds():
    # The default kinds give the kernels the same thresholds as before (no inf, no
    # unreachable threshold on an active neuron) and no subtract mask (the plain reset).
    from lnp_neuro.engines.simulator import _fixed_layout, _float_layout
    net = models.hrsnn(40, 0.2, seed=1)
    assert net.is_plain_lif
    fl = _float_layout(net)
    np.testing.assert_array_equal(fl[3], net.v_threshold)
    assert fl[5] is None          # the plain specialisation of the float kernel
    q = quantize(net)
    statics = _fixed_layout(net, q)[0]
    np.testing.assert_array_equal(statics[3], q.vth << 6)
    assert statics[5] is None     # the plain specialisation of the fixed kernel
    # and Simulator runs the other kinds without refusing them
    Simulator(_mixed_net(3), "fixed").run(np.zeros((3, 5), bool))
