"""Operating point: frozen-input gains, the linear rate dynamics, lambda_max over drives."""

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro.dynamics.operating_point import (effective_coupling, linear_response_spectrum,
                                                operating_lambda_max, operating_point,
                                                poisson_drive)
from lnp_neuro.model.build import hrsnn
from lnp_neuro.model.network import SpikingNetwork


def lone_neurons(bias, tau_mem=0.02, n_inputs=1):
    """Uncoupled LIF neurons driven by a constant bias (thresholds per step)."""
    bias = np.asarray(bias, dtype=float)
    n = bias.size
    return SpikingNetwork(
        weights=sp.csr_matrix((n, n)), input_weights=sp.csr_matrix((n, n_inputs)),
        tau_mem=np.full(n, tau_mem), tau_syn=np.full(n, 5e-3), v_threshold=np.ones(n),
        bias=bias, dt=1e-3)


def lif_rate(b, keep):
    """Spikes per step of the discrete LIF v <- keep v + b, spike when v > 1, reset 0.

    From rest, v after k steps is b (1 - keep^k) / (1 - keep); the period is the first k
    with v > 1 (no spike when b / (1 - keep) <= 1)."""
    if b / (1 - keep) <= 1:
        return 0.0
    k = 1
    while b * (1 - keep ** k) / (1 - keep) <= 1:
        k += 1
    return 1.0 / k


def test_gain_of_a_lone_neuron_is_the_slope_of_its_transfer_function():
    # Constant drive: the frozen-input gain is the finite difference of the exact discrete
    # LIF transfer function (a staircase in b) over [b - h, b + h].
    biases = np.linspace(0.04, 0.3, 9)
    net = lone_neurons(biases)
    x = np.zeros((5200, 1), bool)
    op = operating_point(net, x, n_transient=200, step=0.02)
    keep = 1 - net.dt / 0.02
    for i, b in enumerate(biases):
        slope = (lif_rate(b + 0.02, keep) - lif_rate(b - 0.02, keep)) / 0.04
        # spike counts over 5000 steps quantise each rate to 1/5000 per step
        assert op.gains[i] == pytest.approx(slope, abs=2 / (0.04 * 5000))
        assert op.rates[i] == pytest.approx(lif_rate(b, keep), abs=1 / 5000)
    # Below threshold with margin: no response at all.
    silent = operating_point(lone_neurons([0.01]), x[:400])
    assert silent.gains[0] == 0.0 and silent.rates[0] == 0.0


def test_uncoupled_network_exponents_are_the_leaks():
    # W = 0: J = diag(1 - dt/tau), so the exponents are log(1 - dt/tau_i)/dt, sorted.
    net = hrsnn(50, 0.1, seed=0)
    net = net.copy(weights=net.weights * 0.0)
    op = operating_point(net, poisson_drive(net, 400, 0))
    spec = linear_response_spectrum(net, op, k=5)
    expected = np.sort(np.log(1 - net.dt / net.tau_mem) / net.dt)[::-1][:5]
    np.testing.assert_allclose(spec.exponents, expected, rtol=1e-10)


def test_linear_spectrum_matches_dense_eigenvalues_of_the_effective_coupling():
    # The leading exponent is log|mu_max(J)|/dt with J = diag(1-a) + diag(a) M, both for the
    # dense path (small n) and ARPACK (n > 400).
    for n in (150, 600):
        net = hrsnn(n, 0.1, seed=1)
        op = operating_point(net, poisson_drive(net, 600, 1))
        m = effective_coupling(net, op).toarray()
        a = net.dv
        jac = np.diag(1 - a) + np.diag(a) @ m
        expected = np.log(np.abs(np.linalg.eigvals(jac)).max()) / net.dt
        assert linear_response_spectrum(net, op, k=3).lambda_max == pytest.approx(expected,
                                                                                  abs=1e-6)


def test_effective_coupling_scales_rows_by_gain():
    net = hrsnn(80, 0.1, seed=2)
    op = operating_point(net, poisson_drive(net, 500, 2))
    m = effective_coupling(net, op)
    w = net.effective_weights()
    expected = np.diag(op.gains / (net.du * net.v_threshold)) @ w.toarray()
    np.testing.assert_allclose(m.toarray(), expected, rtol=1e-12)


def test_operating_lambda_max_is_deterministic_and_reports_spread():
    net = hrsnn(120, 0.1, seed=3)
    a = operating_lambda_max(net, n_drives=3, n_steps=400, seed=4)
    b = operating_lambda_max(net, n_drives=3, n_steps=400, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.mean == pytest.approx(a.values.mean())
    assert a.stderr == pytest.approx(a.values.std(ddof=1) / np.sqrt(3))
    assert 0 < a.fraction_firing <= 1 and a.rate_hz > 0
    assert operating_lambda_max(net, n_drives=1, n_steps=400, seed=4).stderr == 0.0


def _count_spectra(monkeypatch) -> list:
    """The ``k`` of every linear_response_spectrum computed from now on."""
    import lnp_neuro.dynamics.operating_point as op_module
    calls = []
    real = op_module.linear_response_spectrum

    def counted(net, op, k=8):
        calls.append(k)
        return real(net, op, k)

    monkeypatch.setattr(op_module, "linear_response_spectrum", counted)
    return calls


def test_memo_measures_a_network_once_per_drive_and_k(monkeypatch):
    from lnp_neuro.dynamics.operating_point import OperatingPointMemo
    calls = _count_spectra(monkeypatch)
    net = hrsnn(120, 0.1, seed=3)
    memo = OperatingPointMemo()
    first = operating_lambda_max(net, n_drives=2, n_steps=300, seed=4, k=8, memo=memo)
    again = operating_lambda_max(net.copy(), n_drives=2, n_steps=300, seed=4, k=8, memo=memo)
    assert calls == [8, 8]                 # the copy is the same network: nothing recomputed
    np.testing.assert_array_equal(first.values, again.values)
    fresh = operating_lambda_max(net, n_drives=2, n_steps=300, seed=4, k=8)
    np.testing.assert_array_equal(fresh.values, first.values)   # the memo changes no bit
    operating_lambda_max(net, n_drives=2, n_steps=300, seed=4, k=4, memo=memo)
    assert calls[2:] == [8, 8, 4, 4]       # the memo-less run, then the other k: recomputed
    other = net.copy(bias=net.bias + 0.01)
    operating_lambda_max(other, n_drives=2, n_steps=300, seed=4, k=8, memo=memo)
    assert len(calls) == 8                 # another network: recomputed


def test_step_iv_and_the_closing_measurement_share_their_spectra(monkeypatch):
    """Step IV scores the network it hands over with the history's k, so the closing
    measurement of that network reads its spectra from the memo."""
    from lnp_neuro.prune import lnp
    calls = _count_spectra(monkeypatch)
    lnp(hrsnn(150, 0.1, seed=2), n_iter=1, seed=0, progress=False)
    # Start (2 drives) and step IV's evaluation (2 drives); the closing measurement of the
    # unchanged network computes nothing again.
    assert calls == [8, 8, 8, 8]


def test_validation():
    net = hrsnn(30, 0.2, seed=0)
    with pytest.raises(ValueError, match="input_spikes"):
        operating_point(net, np.zeros((10, net.n_inputs), bool), n_transient=200)
    with pytest.raises(ValueError, match="step"):
        operating_point(net, np.zeros((300, net.n_inputs), bool), step=0.0)
    with pytest.raises(ValueError, match="n_drives"):
        operating_lambda_max(net, n_drives=0)
    with pytest.raises(ValueError, match="rate"):
        poisson_drive(net, 10, 0, rate=1.5)
    op = operating_point(net, poisson_drive(net, 300, 0))
    with pytest.raises(ValueError, match="k"):
        linear_response_spectrum(net, op, k=0)
    pruned = net.copy(neuron_active=np.r_[False, np.ones(net.n_total_neurons - 1, bool)])
    with pytest.raises(ValueError, match="active"):
        effective_coupling(pruned, op)


def test_coupling_abscissa_is_the_leading_real_part_of_m():
    net = hrsnn(120, 0.1, seed=4)
    op = operating_point(net, poisson_drive(net, 500, 4))
    spec = linear_response_spectrum(net, op, k=2)
    m = effective_coupling(net, op).toarray()
    assert spec.coupling_abscissa == pytest.approx(np.linalg.eigvals(m).real.max(), abs=1e-9)
    uncoupled = net.copy(weights=net.weights * 0.0)
    op0 = operating_point(uncoupled, poisson_drive(net, 500, 4))
    assert linear_response_spectrum(uncoupled, op0, k=1).coupling_abscissa == 0.0


def test_arpack_restart_vectors_come_from_a_seeded_generator(monkeypatch):
    # ARPACK asks its caller for a random vector whenever its Krylov space closes early;
    # scipy draws it from the OS unless handed a generator, which would make a spectrum
    # (and every pruning decision built on it) depend on the run. Every ARPACK call of
    # the package must hand over a seeded generator: two calls get the same stream.
    import scipy.sparse.linalg as spla

    from lnp_neuro.prune.covariance import spectral_abscissa
    from lnp_neuro.prune.delocalize import inverse_participation_ratio

    streams = []
    real_eigs, real_eigsh = spla.eigs, spla.eigsh

    def spy(real):
        def call(*args, **kwargs):
            rng = kwargs.get("rng")
            assert isinstance(rng, np.random.Generator), "ARPACK called without a generator"
            state = rng.bit_generator.state
            streams.append(rng.uniform(size=4))
            rng.bit_generator.state = state       # hand ARPACK the untouched generator
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(spla, "eigs", spy(real_eigs))
    monkeypatch.setattr(spla, "eigsh", spy(real_eigsh))
    net = hrsnn(450, 0.1, seed=0)                 # above the dense limit: ARPACK
    op = operating_point(net, poisson_drive(net, 300, 0))
    for _ in range(2):
        spec = linear_response_spectrum(net, op, k=4)
        assert np.isfinite(spec.coupling_abscissa)
        spectral_abscissa(net.weights, 1.0 / net.tau_mem, dense_max_size=100, seed=3)
        inverse_participation_ratio(net.weights, k=4, seed=3)
    assert len(streams) == 8
    first, second = streams[:4], streams[4:]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
