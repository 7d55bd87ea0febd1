"""lnp_neuro.engines.fixed_point: Loihi integer fields of a SpikingNetwork and their errors."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import (FixedPointNetwork, default_scale, quantize,
                                           quantize_weights)
from lnp_neuro.model.network import SpikingNetwork


def _net(weights, *, n_in=1, tau_mem=0.02, tau_syn=0.005, v_threshold=1.0, bias=0.0,
         input_weights=None, **kw):
    w = sp.csr_matrix(np.asarray(weights, dtype=float))
    n = w.shape[0]
    if input_weights is None:
        input_weights = sp.csr_matrix(np.full((n, n_in), 0.5))
    return SpikingNetwork(weights=w, input_weights=input_weights, tau_mem=tau_mem,
                          tau_syn=tau_syn, v_threshold=v_threshold, bias=bias, **kw)


def test_decays_follow_lava_offsets():
    # Lava adds ds_offset = 1 to du (so tau_syn = dt is exact) and dm_offset = 0 to dv.
    net = _net(np.zeros((4, 4)), tau_syn=[1e-3, 5e-3, 1e-2, 1.0],
               tau_mem=[1e-3, 4e-3, 2e-2, 1e4])
    q = quantize(net)
    np.testing.assert_array_equal(q.du, [4095, 818, 409, 3])  # round(4096 dt/tau) - 1
    np.testing.assert_array_equal(q.dv, [4095, 1024, 205, 0])
    assert q.error.du_max_abs <= 0.5 / 4096 + 1e-15
    assert q.error.dv_max_abs == pytest.approx(1 / 4096)  # tau_mem = dt is 4095/4096


def test_default_scale_threshold_and_bias():
    net = _net(np.zeros((3, 3)), v_threshold=[1.0, 0.5, 3.0], bias=[0.05, -0.3, 1e-6])
    # Largest threshold 3.0 must stay below 2**(23 - 6): scale = 2**floor(17 - log2 3).
    assert default_scale(net) == 2.0**15
    q = quantize(net)
    assert q.scale == 2.0**15
    np.testing.assert_array_equal(q.vth, [512, 256, 1536])      # v_threshold * scale / 64
    # bias 0.05 * 2**15 = 1638.4 fits 13 bits at exponent 0; -0.3 * 2**15 = -9830.4 needs
    # exponent 2 (mantissa -2457.6 -> -2458); 1e-6 rounds to 0.
    np.testing.assert_array_equal(q.bias_exp, [0, 2, 0])
    np.testing.assert_array_equal(q.bias_mant, [1638, -2458, 0])
    np.testing.assert_array_equal(q.effective_bias, [1638, -9832, 0])
    # Error of a rounded mantissa is at most half an LSB of its exponent.
    assert q.error.bias_max_abs <= 0.5 * 4 / q.scale + 1e-15
    assert q.error.threshold_max_rel == 0.0


def test_explicit_scale_and_validation():
    net = _net(np.zeros((2, 2)))
    assert quantize(net, scale=1000.0).scale == 1000.0
    with pytest.raises(ValueError, match="scale"):
        quantize(net, scale=-1.0)
    with pytest.raises(ValueError, match="headroom_bits"):
        quantize(net, headroom_bits=40)
    with pytest.raises(ValueError, match="net"):
        quantize("not a network")


def test_powers_of_two_weights_are_exact_and_exponent_is_minimal():
    w = np.array([[0.0, 0.5, -0.25], [0.125, 0.0, -1.0], [0.0, 0.0625, 0.0]])
    shared = quantize(_net(w), weight_exp="shared")
    assert shared.sign_mode == "mixed"
    assert shared.error.weight_max_rel == 0.0 and shared.error.weights_flushed == 0
    # -1.0 * 2**17 / 64 = -2048 activation units = mantissa -128 (times 2, mixed) << 3:
    # 3 is the smallest exponent whose mantissas fit [-128, 127]; Lava integers = 2 * m.
    assert shared.weight_exp.tolist() == [3, 3, 3]
    np.testing.assert_array_equal(shared.weights.toarray(),
                                  [[0, 128, -64], [32, 0, -256], [0, 16, 0]])
    np.testing.assert_allclose(shared.float_weights().toarray(), w, rtol=0, atol=0)
    # Per neuron, row 2 (largest 0.0625 -> 64 mantissa units at exponent 0) needs no shift.
    per = quantize(_net(w))
    assert per.weight_exp.tolist() == [3, 3, 0]
    np.testing.assert_array_equal(per.weights.toarray(),
                                  [[0, 128, -64], [32, 0, -256], [0, 128, 0]])
    np.testing.assert_allclose(per.float_weights().toarray(), w, rtol=0, atol=0)
    assert {k: v.tolist() for k, v in per.exponent_groups(per.weight_exp).items()} == \
        {0: [2], 3: [0, 1]}


def test_random_weights_are_within_half_an_lsb_and_exponents_are_minimal():
    net = models.hrsnn(120, 0.1, seed=4)
    w = net.effective_weights()
    w.sort_indices()
    for mode in ("per_neuron", "shared"):
        q = quantize(net, weight_exp=mode)
        row_exp = np.repeat(q.weight_exp, np.diff(w.indptr))
        lsb = 2 * 2.0 ** (row_exp + 6) / q.scale   # mixed: even integers
        err = np.abs(q.float_weights().data - w.data)
        assert np.all(err <= lsb / 2 + 1e-12)
        # One exponent less would overflow a mantissa of the row (or of the matrix).
        m = np.round(w.data * q.scale / 64 / 2 / 2.0 ** (row_exp - 1))
        overflow = (m < -128) | (m > 127)
        if mode == "shared":
            assert overflow.any()
        else:
            rows_over = np.zeros(w.shape[0], bool)
            rows_over[np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))[overflow]] = True
            has = np.diff(w.indptr) > 0
            assert np.all(rows_over[has] | (q.weight_exp[has] == -8))
        assert 0 < q.error.weight_mean_rel < q.error.weight_max_rel <= 1.0
        assert q.input_sign_mode == "excitatory"
        assert q.input_weights.data.min() >= 0 and q.input_weights.data.max() <= 255


def test_exponents_are_minimal_at_every_magnitude_and_empty_rows_take_the_shared_one():
    """Weights from 1e-6 to 1e3 (the scan of exponents starts near the smallest row's):
    every exponent is the smallest that fits (one less overflows a mantissa of its row,
    or of the matrix, unless it is the range's lowest), and a row without weights takes
    the whole matrix's exponent, the largest of the rows'."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        mag = 10.0 ** rng.uniform(-6, 3)
        w = sp.random(12, 9, density=0.4, random_state=rng,
                      data_rvs=lambda k: mag * rng.standard_normal(k)
                      * 10.0 ** rng.uniform(-2, 0, k)).tocsr()
        w.sort_indices()
        scale = 2.0 ** rng.integers(8, 18)
        _, shared, mode, _, _ = quantize_weights(w, scale)
        _, rows, _, _, _ = quantize_weights(w, scale, per_row=True)
        has = np.diff(w.indptr) > 0
        assert np.all(rows[~has] == shared[0]) and rows[has].max() == shared[0]
        step = 2 if mode == "mixed" else 1
        lo, hi = {"mixed": (-256, 254), "excitatory": (0, 255), "inhibitory": (-255, 0)}[mode]
        lo, hi = lo // step, hi // step
        row_of = np.repeat(np.arange(12), np.diff(w.indptr))
        target = w.data * scale / 64 / step

        def overflows(e):
            m = np.round(target / 2.0 ** e)
            return (m < lo) | (m > hi)

        for exps in (shared, rows):
            e = exps[row_of]
            assert not np.any(overflows(e) & (e < 7))
            over_below = np.zeros(12, bool)
            over_below[row_of[overflows(e - 1)]] = True
            if exps is shared:
                assert over_below.any() or shared[0] == -8
            else:
                assert np.all(over_below[has] | (rows[has] == -8))


def test_sign_modes_and_ranges():
    scale = 2.0**17  # 1.0 -> 2048 activation units
    exc, e_exp, e_mode, _, _ = quantize_weights(sp.csr_matrix([[0.0, 1.0], [0.3, 0.0]]), scale)
    assert e_mode == "excitatory"
    # 2048 / 2**e <= 255 first holds at e = 4 (mantissa 128).
    assert e_exp.tolist() == [4, 4] and exc.data.max() == 128 and exc.data.min() >= 0
    inh, i_exp, i_mode, _, _ = quantize_weights(sp.csr_matrix([[0.0, -1.0], [-0.3, 0.0]]), scale)
    assert i_mode == "inhibitory" and i_exp.tolist() == [4, 4] and inh.data.min() == -128
    mix, m_exp, m_mode, _, _ = quantize_weights(sp.csr_matrix([[0.0, 1.0], [-0.3, 0.0]]), scale)
    assert m_mode == "mixed" and np.all(mix.data % 2 == 0)
    # Mixed signs cost one bit: same exponent (2048 / (2 * 2**e) <= 127 at e = 4) but
    # only even integers, i.e. twice the step of the excitatory case.
    assert m_exp.tolist() == [4, 4] and mix.data.max() == 128
    assert sorted(mix.data.tolist()) == [-38, 128]  # -0.3 * 2048 / 32 = -19.2 -> -19 * 2


def test_integers_are_fixed_points_of_lavas_weight_clip_and_truncate():
    from lnp_neuro.engines.lava.compat import ensure_lava
    ensure_lava()
    from lava.utils.weightutils import SignMode, clip_weights, truncate_weights
    modes = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY,
             "inhibitory": SignMode.INHIBITORY}
    net = models.chrsnn(80, 4, seed=2)
    for w in (net.weights, abs(net.weights), -abs(net.weights)):
        w_int, _, mode, _, _ = quantize_weights(w, 2.0**17)
        lava_w = truncate_weights(clip_weights(w_int, modes[mode], num_bits=8), modes[mode], 8)
        np.testing.assert_array_equal(lava_w.toarray(), w_int.toarray())


def test_pruned_synapses_are_left_out():
    net = models.hrsnn(30, 0.3, seed=1)
    mask = np.ones(net.weights.nnz, bool)
    mask[::3] = False
    pruned = net.copy(synapse_active=mask)
    q = quantize(pruned)
    assert q.weights.nnz == pruned.n_active_synapses


def test_clipping_and_flushing_are_counted():
    # Excitatory: 2.0 * 2**20 / 64 = 32768 would need 2**8 * 128 but the exponent stops at
    # 7, so the mantissa 256 clips to 255; 1e-7 rounds to 0 (flushed).
    w = sp.csr_matrix(np.array([[0.0, 1e-7], [2.0, 0.0]]))
    w_int, exp, mode, clipped, flushed = quantize_weights(w, 2.0**20)
    assert exp.tolist() == [7, 7] and clipped == 1 and flushed == 1


def test_fixed_point_network_validates_fields():
    q = quantize(_net(np.eye(2) * 0.0))
    with pytest.raises(ValueError, match="du"):
        FixedPointNetwork(**{**q.__dict__, "du": np.array([4096, 0])})
    with pytest.raises(ValueError, match="weight_exp"):
        FixedPointNetwork(**{**q.__dict__, "weight_exp": 9})
    with pytest.raises(ValueError, match="weights integers"):
        FixedPointNetwork(**{**q.__dict__, "weights": sp.csr_matrix(np.array([[3, 0], [0, 0]])),
                             "sign_mode": "mixed"})
    json.dumps(q.error.as_dict())


def test_no_clip_exponent_minimises_the_rms_weight_error():
    net = models.hrsnn(300, 0.05, seed=0)
    q = quantize(net, weight_exp="shared")
    exp = int(q.weight_exp[0])
    w = net.effective_weights()
    w.sort_indices()

    def rms(e):
        w_int, row_exp, *_ = quantize_weights(w, q.scale, exp_range=(e, e))
        wq = w_int.data * 2.0 ** (e + 6) / q.scale
        return np.sqrt(np.mean((wq - w.data) ** 2)) / np.sqrt(np.mean(w.data ** 2))

    assert rms(exp) == pytest.approx(q.error.weight_rms_rel)
    assert rms(exp) < rms(exp - 1)
    assert rms(exp) < rms(exp + 1)
    assert q.error.weight_rms_rel < q.error.weight_mean_rel


def test_per_neuron_exponents_are_more_precise_than_shared():
    # The models scale each row by 1/g_i (heterogeneous tau_mem): row maxima differ, so a
    # per-row exponent keeps bits a shared one throws away.
    net = models.hrsnn(400, 0.05, seed=1)
    per, shared = quantize(net), quantize(net, weight_exp="shared")
    assert len(np.unique(per.weight_exp)) > 1
    assert per.error.weight_rms_rel < shared.error.weight_rms_rel / 2
    assert per.error.weights_flushed < shared.error.weights_flushed
    with pytest.raises(ValueError, match="weight_exp"):
        quantize(net, weight_exp="per_synapse")
