"""lnp_neuro.engines.simulator: Lava LIF + Sparse semantics, float and bit-accurate fixed point."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.simulator import NetworkState, SimulationResult, simulate
from lnp_neuro.model.network import SpikingNetwork

DT = 1e-3


def _net(weights, input_weights, *, tau_mem=0.02, tau_syn=0.005, v_threshold=1.0,
         bias=0.0, **kw):
    return SpikingNetwork(weights=sp.csr_matrix(np.asarray(weights, float)),
                          input_weights=sp.csr_matrix(np.asarray(input_weights, float)),
                          tau_mem=tau_mem, tau_syn=tau_syn, v_threshold=v_threshold,
                          bias=bias, dt=DT, **kw)


def _random_net(seed, n=80, pruned=False):
    rng = np.random.default_rng(seed)
    net = models.hrsnn(n, 0.15, seed=seed, gain=1.5, input_scale=0.8, n_inputs=4)
    net = net.copy(v_threshold=rng.uniform(0.8, 2.0, n), bias=rng.normal(0.01, 0.03, n),
                   tau_syn=rng.uniform(1e-3, 10e-3, n))
    if pruned:
        keep_syn = rng.random(net.weights.nnz) > 0.3
        keep_neuron = rng.random(n) > 0.2
        net = net.copy(synapse_active=keep_syn, neuron_active=keep_neuron)
    x = rng.random((300, 4)) < 0.15
    return net, x


def test_bias_driven_neuron_fires_at_the_analytic_period():
    # v_n = b (1 - (1-dv)^n) / dv with dv = 0.1, b = 0.3: first n with v_n > 1 is
    # ceil(ln(1 - dv/b) / ln(1 - dv)) = 4; after each reset the same, so period 4.
    net = _net([[0.0]], [[0.0]], tau_mem=10 * DT, bias=0.3)
    n_first = math.ceil(math.log(1 - 0.1 / 0.3) / math.log(0.9))
    res = simulate(net, np.zeros((20, 1), bool), mode="float")
    assert np.flatnonzero(res.spikes[:, 0]).tolist() == list(range(n_first - 1, 20, n_first))
    fixed = simulate(net, np.zeros((20, 1), bool), mode="fixed")
    np.testing.assert_array_equal(fixed.spikes, res.spikes)


def test_input_and_recurrent_paths_are_delayed_one_step():
    # Neuron 0 relays the input (du = dv = 1); neuron 1 relays neuron 0.
    w = [[0.0, 0.0], [3.0, 0.0]]
    w_in = [[3.0], [0.0]]
    net = _net(w, w_in, tau_mem=DT, tau_syn=DT)
    x = np.zeros((10, 1), bool)
    x[[0, 4], 0] = True
    for mode in ("float", "fixed"):
        res = simulate(net, x, mode=mode, record_state=True)
        assert np.flatnonzero(res.spikes[:, 0]).tolist() == [1, 5]
        assert np.flatnonzero(res.spikes[:, 1]).tolist() == [2, 6]
        assert res.u[0, 0] == 0.0 and res.u[1, 0] == pytest.approx(3.0, rel=1e-2)


def test_synaptic_current_decays_geometrically():
    net = _net([[0.0]], [[0.4]], tau_syn=5 * DT, tau_mem=1e4)
    x = np.zeros((12, 1), bool)
    x[0] = True
    res = simulate(net, x, mode="float", record_state=True)
    expected = np.r_[0.0, 0.4 * 0.8 ** np.arange(11)]
    np.testing.assert_allclose(res.u[:, 0], expected, rtol=1e-12)


def test_fixed_current_decay_truncates_toward_zero():
    # du = 818 -> u <- sign(u) (|u| * 3277 >> 12) each step; starting from the input
    # w_int << weight_exp << 6 of one spike.
    net = _net([[0.0]], [[0.4]], tau_syn=5 * DT, tau_mem=1e4)
    q = quantize(net)
    x = np.zeros((10, 1), bool)
    x[0] = True
    res = simulate(net, x, mode="fixed", record_state=True, quantization=q)
    u = int(q.input_weights.toarray()[0, 0]) << int(q.input_weight_exp[0]) << 6
    expected = [0.0]
    for _ in range(9):
        expected.append(u / q.scale)
        u = (u * (4096 - (int(q.du[0]) + 1))) >> 12  # u > 0: truncation = floor
    np.testing.assert_array_equal(res.u[:, 0], expected)


def test_fixed_current_wraps_at_24_bits_and_voltage_saturates():
    # 4 inputs of the largest excitatory weight: one step brings 4 * 255 << 7 << 6 =
    # 8355840; a second step overflows 2**23 and wraps to a negative current.
    net = _net([[0.0]], [[1.0, 1.0, 1.0, 1.0]], tau_syn=1e4, tau_mem=1e4, v_threshold=60.0)
    q = quantize(net, scale=2.0**17)
    q.input_weights.data[:] = 255
    q = type(q)(**{**q.__dict__, "input_weight_exp": 7})
    x = np.zeros((3, 4), bool)
    x[:2] = True
    res = simulate(net, x, mode="fixed", record_state=True, quantization=q)
    step = 4 * 255 * 2**7 * 2**6
    assert q.du[0] == 0                                   # decay factor 4095 / 4096
    u2 = (step * 4095 >> 12) + step                       # > 2**23: wraps by -2**24
    assert res.u[1, 0] * q.scale == step
    assert res.u[2, 0] * q.scale == u2 - 2**24 < 0 and res.current_wraps == 1
    # dv = 0 (no leak) and a constant negative bias: v_t = t * bias until it saturates at
    # -(2**23 - 1).
    neg = _net([[0.0]], [[0.0]], tau_mem=1e4, bias=-3.9)
    q2 = quantize(neg)
    assert q2.dv[0] == 0 and q2.bias_exp[0] == 7
    b = int(q2.effective_bias[0])
    rn = simulate(neg, np.zeros((30, 1), bool), mode="fixed", record_state=True)
    expected = np.maximum(b * np.arange(1, 31), -(2**23 - 1))
    np.testing.assert_array_equal(rn.v[:, 0] * q2.scale, expected)
    assert expected[-1] == -(2**23 - 1)


@pytest.mark.parametrize("n_inputs", [3, 8, 9, 17, 60, 129, 200, 300])
def test_float_input_sum_uses_lavas_reduceat_order(n_inputs):
    # n_inputs inputs with widely spread weights all spike at t = 0: the current at t = 1
    # is exactly scipy's CSR row sum (np.add.reduceat: first + pairwise rest), which is
    # what Lava's Sparse computes; the sizes cover every branch of numpy's pairwise sum
    # (< 8, blocks of 8 with and without a tail, recursive halving above 128).
    rng = np.random.default_rng(n_inputs)
    w_in = (rng.standard_normal(n_inputs) * 10.0 ** rng.uniform(-8, 2, n_inputs))[None, :]
    net = _net([[0.0]], w_in, tau_syn=DT, tau_mem=1e4, v_threshold=1e6)
    x = np.zeros((2, n_inputs), bool)
    x[0] = True
    res = simulate(net, x, mode="float", record_state=True)
    lava_sum = sp.csr_matrix(w_in)[:, x[0]].sum(axis=1).A1[0]
    assert res.u[1, 0] == lava_sum
    if n_inputs == 200:
        seq = 0.0
        for value in w_in[0]:
            seq += value
        assert seq != lava_sum  # the two orders really differ on these numbers


@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("pruned", [False, True])
def test_numba_kernels_equal_the_numpy_reference(mode, pruned):
    net, x = _random_net(3, pruned=pruned)
    a = simulate(net, x, mode=mode, record_state=True, engine="numba")
    b = simulate(net, x, mode=mode, record_state=True, engine="numpy")
    assert 0 < a.spikes.mean() < 0.5
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.u, b.u)
    assert a.synaptic_events == b.synaptic_events > 0


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_pruned_neurons_never_spike_and_match_the_compacted_network(mode):
    net, x = _random_net(5, pruned=True)
    res = simulate(net, x, mode=mode, record_state=True)
    assert not res.spikes[:, ~net.neuron_active].any()
    assert np.all(res.v[:, ~net.neuron_active] == 0)
    compact, kept = net.compact()
    q = quantize(net).compact(kept) if mode == "fixed" else None
    ref = simulate(compact, x, mode=mode, quantization=q)
    np.testing.assert_array_equal(res.spikes[:, kept], ref.spikes)
    assert ref.spikes.any()


def test_pruned_synapse_carries_nothing():
    w = [[0.0, 0.0], [5.0, 0.0]]
    net = _net(w, [[5.0], [0.0]], tau_mem=DT, tau_syn=DT)
    x = np.zeros((5, 1), bool)
    x[0] = True
    assert simulate(net, x).spikes[:, 1].any()
    cut = net.copy(synapse_active=np.zeros(net.weights.nnz, bool))
    for mode in ("float", "fixed"):
        res = simulate(cut, x, mode=mode)
        assert res.spikes[:, 0].any() and not res.spikes[:, 1].any()


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_continuing_from_final_state_equals_one_long_run(mode):
    net, x = _random_net(11)
    whole = simulate(net, x, mode=mode, record_state=True)
    first = simulate(net, x[:137], mode=mode)
    second = simulate(net, x[137:], mode=mode, record_state=True,
                      initial_state=first.final_state)
    np.testing.assert_array_equal(np.vstack([first.spikes, second.spikes]), whole.spikes)
    np.testing.assert_array_equal(second.v, whole.v[137:])


def test_initial_state_mapping_and_determinism():
    net = _net([[0.0]], [[0.0]], tau_mem=10 * DT)
    res = simulate(net, np.zeros((3, 1)), initial_state={"v": [1.5]})
    assert res.spikes[:, 0].tolist() == [True, False, False]  # 1.5 * 0.9 > 1
    fixed = simulate(net, np.zeros((3, 1)), mode="fixed", initial_state={"v": [1.5]})
    assert fixed.spikes[:, 0].tolist() == [True, False, False]
    big, x = _random_net(2)
    a, b = simulate(big, x, mode="fixed"), simulate(big, x, mode="fixed")
    np.testing.assert_array_equal(a.spikes, b.spikes)


def test_result_fields():
    net, x = _random_net(1, n=30)
    res = simulate(net, x, mode="fixed")
    assert isinstance(res, SimulationResult) and res.v is None and res.u is None
    assert res.spikes.dtype == bool and res.spikes.shape == (300, 30)
    assert res.scale == quantize(net).scale and res.mode == "fixed"
    assert isinstance(res.final_state, NetworkState) and res.final_state.v.dtype == np.int64
    assert res.rates(DT).shape == (30,)
    empty = simulate(net, np.zeros((0, 4), bool))
    assert empty.spikes.shape == (0, 30)


class _RecordingBar:
    """Stands in for tqdm: records what simulate shows."""

    made: list = []

    def __init__(self, total=None, desc=None, **kwargs):
        self.total, self.desc, self.updates, self.closed = total, desc, [], False
        _RecordingBar.made.append(self)

    def update(self, n=1):
        self.updates.append(n)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_progress_bar_is_shown_and_advanced_to_the_end_only_when_asked(monkeypatch, engine,
                                                                       mode):
    import tqdm.auto
    monkeypatch.setattr(tqdm.auto, "tqdm", _RecordingBar)
    _RecordingBar.made = []
    net, x = _random_net(1, n=30)
    x = np.vstack([x, x])                      # 600 steps: more than one kernel chunk
    quiet = simulate(net, x, mode=mode, engine=engine)
    assert _RecordingBar.made == []            # progress=False shows nothing
    shown = simulate(net, x, mode=mode, engine=engine, progress=True)
    assert len(_RecordingBar.made) == 1
    bar = _RecordingBar.made[0]
    assert bar.total == 600 and bar.desc == "simulate" and bar.closed
    assert sum(bar.updates) == 600 and len(bar.updates) > 1   # moved during the run
    np.testing.assert_array_equal(shown.spikes, quiet.spikes)


def test_validation_names_the_parameter():
    net, x = _random_net(1, n=20)
    with pytest.raises(ValueError, match="mode"):
        simulate(net, x, mode="double")
    with pytest.raises(ValueError, match="input_spikes"):
        simulate(net, x[:, :2])
    with pytest.raises(ValueError, match="input_spikes"):
        simulate(net, x * 2.0 + 0.5)
    with pytest.raises(ValueError, match="engine"):
        simulate(net, x, engine="gpu")
    with pytest.raises(ValueError, match="quantization"):
        simulate(net, x, mode="float", quantization=quantize(net))
    other, _ = _random_net(2, n=21)
    with pytest.raises(ValueError, match="quantization"):
        simulate(net, x, mode="fixed", quantization=quantize(other))
    state = simulate(net, x[:5]).final_state
    with pytest.raises(ValueError, match="initial_state"):
        simulate(net, x, mode="fixed", initial_state=state)
    with pytest.raises(ValueError, match="initial_state"):
        simulate(net, x, initial_state={"w": np.zeros(20)})
    with pytest.raises(ValueError, match="net"):
        simulate("net", x)


@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_simulator_prepares_once_and_every_run_equals_simulate(monkeypatch, mode, engine):
    import lnp_neuro.engines.simulator as simulator
    net, x = _random_net(5, pruned=True)
    calls = []
    build = simulator._numba_layout
    monkeypatch.setattr(simulator, "_numba_layout",
                        lambda *a: calls.append(a[1]) or build(*a))
    sim = simulator.Simulator(net, mode, engine=engine)
    assert calls == []                                   # no work in the constructor
    first = sim.run(x, record_state=True)
    # Other inputs, a continuation and the first input again: the same results as
    # separate simulate() calls, and the layout is not changed by the runs.
    inputs = [(x[::-1].copy(), None), (x[:120], first.final_state), (x, None)]
    for inp, start in inputs:
        got = sim.run(inp, record_state=True, initial_state=start)
        ref = simulate(net, inp, mode=mode, record_state=True, initial_state=start,
                       engine=engine)
        np.testing.assert_array_equal(got.spikes, ref.spikes)
        np.testing.assert_array_equal(got.v, ref.v)
        np.testing.assert_array_equal(got.u, ref.u)
        assert got.synaptic_events == ref.synaptic_events
    np.testing.assert_array_equal(got.spikes, first.spikes)
    assert first.spikes.any()
    # One preparation for the Simulator's four runs, one per simulate() call.
    assert calls == ([mode] * 4 if engine == "numba" else [])


def test_simulator_runs_from_two_threads_equal_the_serial_runs():
    # The baselines' task runs share one Simulator between threads (the kernels release
    # the GIL): one preparation, read-only layout, per-run buffers.
    from concurrent.futures import ThreadPoolExecutor

    from lnp_neuro.engines.simulator import Simulator
    net, x = _random_net(6)
    inputs = [x, x[::-1].copy(), x[50:], np.roll(x, 7, axis=0)]
    for mode in ("float", "fixed"):
        serial = [simulate(net, inp, mode=mode).spikes for inp in inputs]
        sim = Simulator(net, mode)
        with ThreadPoolExecutor(max_workers=2) as pool:
            shared = list(pool.map(lambda inp: sim.run(inp).spikes, inputs * 3))
        for got, ref in zip(shared, serial * 3):
            np.testing.assert_array_equal(got, ref)


def test_simulator_validates_at_its_first_run_naming_the_parameter():
    from lnp_neuro.engines.simulator import Simulator
    net, x = _random_net(1, n=20)
    for kwargs, name in (({"mode": "double"}, "mode"), ({"engine": "gpu"}, "engine"),
                         ({"quantization": quantize(net)}, "quantization")):
        sim = Simulator(net, **kwargs)                   # configuration only
        with pytest.raises(ValueError, match=name):
            sim.run(x)
    with pytest.raises(ValueError, match="net"):
        Simulator("net").run(x)
    with pytest.raises(ValueError, match="record_state"):
        Simulator(net).run(x, record_state="yes")


def test_package_exports_simulate_and_lnp():
    import lnp_neuro
    from lnp_neuro.engines.simulator import simulate
    from lnp_neuro.prune.pipeline import lnp
    assert lnp_neuro.simulate is simulate and lnp_neuro.lnp is lnp
    with pytest.raises(AttributeError, match="no_such_thing"):
        lnp_neuro.no_such_thing


def _bursty_net_and_input(seed=7, n=400):
    # Sparse recurrent weights, short time constants (a neuron returns to u = v = 0
    # within tens of steps), a few biased neurons (never at rest), some pruned ones, and
    # input only in two short bursts: long quiet stretches in between, which the fixed
    # kernel updates sparsely (only the neurons not at rest).
    rng = np.random.default_rng(seed)
    net = models.hrsnn(n, 0.01, seed=seed, gain=0.3, input_scale=2.0, n_inputs=6,
                       tau_syn=2e-3, tau_mem_shape=20.0, tau_mem_scale=2e-4)
    bias = np.where(rng.random(n) < 0.03, rng.uniform(0.3, 0.6, n), 0.0)
    net = net.copy(bias=bias, neuron_active=rng.random(n) > 0.1)
    x = np.zeros((400, 6), bool)
    x[:8] = rng.random((8, 6)) < 0.5
    x[200:205] = rng.random((5, 6)) < 0.5
    return net, x


def test_fixed_kernel_skips_neurons_at_rest_and_stays_exact():
    from lnp_neuro.engines._kernels_fixed import run_fixed
    from lnp_neuro.engines.simulator import _fixed_kernel_args, _fixed_layout, _initial_state
    net, x = _bursty_net_and_input()
    q = quantize(net)
    # The kernel does take its sparse path on this run ...
    state = _initial_state(net, None, "fixed", q)
    args, out = _fixed_kernel_args(_fixed_layout(net, q), x, state, False)
    events, _, sparse_steps = run_fixed(0, x.shape[0], *args)
    assert 100 < sparse_steps < x.shape[0] and events > 0
    # ... and every state, spike, event count and pending activation equals the
    # reference engine's, with the bias-driven neurons firing throughout.
    a = simulate(net, x, mode="fixed", record_state=True, engine="numba")
    b = simulate(net, x, mode="fixed", record_state=True, engine="numpy")
    assert a.spikes[300:].any() and a.spikes[:10].sum() > a.spikes[300:310].sum()
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.u, b.u)
    assert a.synaptic_events == b.synaptic_events == events
    for name in ("v", "u", "pending_input", "pending_recurrent"):
        np.testing.assert_array_equal(getattr(a.final_state, name),
                                      getattr(b.final_state, name))


def _silent_half_net_and_input(seed=3, n=600, n_a=40):
    # Two groups without synapses between them: A (the first n_a neurons, a few biased)
    # gets input channel 0 throughout, B only channel 1 in a burst at steps 200-205, so B
    # sits at exactly u = v = 0 until then, except its first three neurons: biased, they
    # fire without input and return to u = v = +0.0 at every spike (not at rest: their
    # bias). Some neurons are pruned.
    rng = np.random.default_rng(seed)
    net = models.hrsnn(n, 0.03, seed=seed, gain=0.2, n_inputs=2)
    w = sp.coo_matrix(net.weights)
    lone = (w.col >= n_a) & (w.col < n_a + 3)      # B's biased neurons reach nobody
    same = ((w.row < n_a) == (w.col < n_a)) & ~lone
    weights = sp.csr_matrix((w.data[same], (w.row[same], w.col[same])), shape=(n, n))
    w_in = np.zeros((n, 2))
    w_in[:n_a, 0] = rng.uniform(0.2, 1.0, n_a)
    w_in[n_a:, 1] = rng.uniform(0.5, 2.0, n - n_a)
    bias = np.where(np.arange(n) < n_a, np.where(rng.random(n) < 0.1, 0.05, 0.0), 0.0)
    bias[n_a:n_a + 3] = 0.3      # bias-driven, without input: back to u = v = +0.0 at a spike
    net = net.copy(weights=weights, input_weights=sp.csr_matrix(w_in), bias=bias,
                   neuron_active=rng.random(n) > 0.1)
    x = np.zeros((300, 2), bool)
    x[:, 0] = rng.random(300) < 0.05
    x[200:205, 1] = True
    return net, x


def test_float_kernel_skips_neurons_at_rest_and_stays_exact():
    from lnp_neuro.engines._kernels_float import run_float
    from lnp_neuro.engines.simulator import _float_layout, _initial_state
    net, x = _silent_half_net_and_input()
    n = net.n_total_neurons
    # The kernel does take its sparse path on this run (group B silent until step 200) ...
    state = _initial_state(net, None, "float", None)
    spikes = np.zeros((x.shape[0], n), bool)
    events, sparse_steps = run_float(0, x.shape[0], x, *_float_layout(net), state.v,
                                     state.u, state.pending_input, state.pending_recurrent,
                                     spikes, False, np.zeros((0, n)), np.zeros((0, n)))
    assert 150 < sparse_steps <= 201 and events > 0
    # ... and every spike, state, event count and pending activation equals the reference
    # engine's (which updates every neuron at every step), in one run and in chunks.
    a = simulate(net, x, mode="float", record_state=True, engine="numba")
    b = simulate(net, x, mode="float", record_state=True, engine="numpy")
    assert a.spikes[:200, 43:].sum() == 0 < a.spikes[200:, 43:].sum()
    assert a.spikes[:200, 40:43].sum(axis=0).min() > 5
    assert a.spikes[:200, :40].any()
    np.testing.assert_array_equal(spikes, b.spikes)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.v.view(np.int64), b.v.view(np.int64))   # bit for bit,
    np.testing.assert_array_equal(a.u.view(np.int64), b.u.view(np.int64))   # signed zeros too
    assert a.synaptic_events == b.synaptic_events == events
    for name in ("v", "u", "pending_input", "pending_recurrent"):
        np.testing.assert_array_equal(getattr(a.final_state, name).view(np.int64),
                                      getattr(b.final_state, name).view(np.int64))


@pytest.mark.parametrize("case", ["bursty", "random"])
def test_row_blocked_csc_gives_the_same_run(monkeypatch, case):
    """Blocks of 7 rows instead of 32768: the dense and the sparse scatter over several
    blocks (the layout N > 32768 uses) reproduce the reference engine exactly."""
    import lnp_neuro.engines._kernels_fixed as kernels
    from lnp_neuro.engines.simulator import _fixed_matrix
    net, x = _bursty_net_and_input() if case == "bursty" else _random_net(9)
    q = quantize(net)
    b = simulate(net, x, mode="fixed", record_state=True, engine="numpy")
    monkeypatch.setattr(kernels, "MAX_BLOCK_ROWS", 7)
    parts, _ = _fixed_matrix(q.weights, q.weight_exp)
    n = net.n_total_neurons
    assert parts[0].shape == (-(-n // 7), n + 1) and parts[3] == -(-n // parts[0].shape[0])
    # Every block's entries lie in its rows: the stored offsets reproduce the matrix.
    ptr, offsets, values, rows_per_block = parts[:4]
    dense = np.zeros((n, n), np.int64)
    for blk in range(ptr.shape[0]):
        for j in range(n):
            for p in range(ptr[blk, j], ptr[blk, j + 1]):
                assert offsets[p] < rows_per_block
                dense[blk * rows_per_block + offsets[p], j] = values[p]
    np.testing.assert_array_equal(dense, q.weights.toarray())
    a = simulate(net, x, mode="fixed", record_state=True, engine="numba")
    assert a.spikes.any()
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.u, b.u)
    assert a.synaptic_events == b.synaptic_events


def test_int32_accumulator_only_where_the_row_bound_proves_it_exact():
    from lnp_neuro.engines._kernels_fixed import accumulator_dtype, run_fixed
    from lnp_neuro.engines.simulator import _fixed_kernel_args, _fixed_layout, _initial_state

    # |acc[r]| <= sum_j |w_int[r, j]|: 2**31 - 1 still fits int32, one more does not.
    assert accumulator_dtype(2 ** 31 - 1) is np.int32
    assert accumulator_dtype(2 ** 31) is np.int64
    # The int64 accumulators compute the same run (they are what a huge fan-in gets).
    net, x = _random_net(9)
    q = quantize(net)
    ref = simulate(net, x, mode="fixed", record_state=True, quantization=q)
    state = _initial_state(net, None, "fixed", q)
    args, out = _fixed_kernel_args(_fixed_layout(net, q), x, state, True)
    assert args[23].dtype == np.int32 and args[24].dtype == np.int32   # acc_rec, acc_in
    n = net.n_total_neurons
    args = args[:23] + (np.zeros(n, np.int64), np.zeros(n, np.int64)) + args[25:]
    events, wraps, _ = run_fixed(0, x.shape[0], *args)
    np.testing.assert_array_equal(out["spikes"], ref.spikes)
    np.testing.assert_array_equal(out["v_rec"] / q.scale, ref.v)
    assert events == ref.synaptic_events and wraps == ref.current_wraps


def test_fixed_state_beyond_int32_continues_exactly():
    # A NetworkState may hold any integers; values beyond int32 take the kernel's int64
    # state arrays and still match the reference engine.
    net, x = _random_net(4, n=30)
    state = NetworkState(v=np.full(30, 2 ** 33), u=np.full(30, -(2 ** 32)),
                         pending_input=np.zeros(30, np.int64),
                         pending_recurrent=np.full(30, 5, np.int64), mode="fixed")
    a = simulate(net, x[:50], mode="fixed", record_state=True, initial_state=state,
                 engine="numba")
    b = simulate(net, x[:50], mode="fixed", record_state=True, initial_state=state,
                 engine="numpy")
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)
    assert a.current_wraps == b.current_wraps
