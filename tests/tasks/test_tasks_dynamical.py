"""Lorenz-63 and Rossler generators: attractor facts, RK4 accuracy and order, seeding."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from lnp_neuro.tasks import dynamical as dyn
from lnp_neuro.tasks import LORENZ63_LAMBDA_MAX, closed_loop_forecast, integrate_rk4, \
    lorenz63, lorenz63_rhs, nrmse, prediction_window, rk4_step, rossler, rossler_rhs, \
    valid_prediction_time


@pytest.fixture(scope="module")
def lorenz():
    return lorenz63(seed=3)


@pytest.fixture(scope="module")
def ross():
    return rossler(seed=3)


def test_lorenz_paper_setup_and_attractor(lorenz):
    assert lorenz.split_sizes() == (11250, 3750, 5000)
    assert lorenz.dt == 0.01 and lorenz.columns == ("x", "y", "z")
    x = lorenz.series
    assert np.all(np.isfinite(x))
    # Bounded on the butterfly: |x| < 25, |y| < 30, 0 < z < 55.
    assert np.abs(x[:, 0]).max() < 25 and np.abs(x[:, 1]).max() < 30
    assert x[:, 2].min() > 0 and x[:, 2].max() < 55
    # Long-run mean of z on the attractor is about 23.5 (rho - 1 = 27 at the fixed points,
    # the time average over the attractor is lower).
    assert abs(x[:, 2].mean() - 23.5) < 1.0
    # Two lobes: x changes sign often and both lobes are well visited.
    changes = np.count_nonzero(np.diff(np.sign(x[:, 0])))
    assert changes > 100
    assert 0.3 < np.mean(x[:, 0] > 0) < 0.7
    np.testing.assert_allclose(lorenz.long_term_std, x.std(axis=0))


def test_lorenz_largest_lyapunov_exponent_of_generator():
    """Benettin's two-trajectory method on the generator's own RK4 recovers 0.906."""
    start = lorenz63(n_samples=10, split=(5, 0, 5), seed=1).train[-1]

    def field(x, y, z):
        return 10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z

    eps, chunk, n_chunks, dt = 1e-8, 10, 2500, 0.01
    a, b = start.copy(), start + np.array([eps, 0.0, 0.0])
    total = 0.0
    for _ in range(n_chunks):
        a = dyn._rk4_trajectory3(field, a, dt, chunk)[-1]
        b = dyn._rk4_trajectory3(field, b, dt, chunk)[-1]
        dist = np.linalg.norm(b - a)
        total += np.log(dist / eps)
        b = a + (b - a) * (eps / dist)
    estimate = total / (n_chunks * chunk * dt)
    assert abs(estimate - LORENZ63_LAMBDA_MAX) < 0.07


def test_rossler_paper_setup_and_attractor(ross):
    assert ross.split_sizes() == (3000, 1000, 1000)
    assert ross.dt == 0.03
    x = ross.series
    assert np.all(np.isfinite(x))
    assert np.abs(x[:, 0]).max() < 15 and np.abs(x[:, 1]).max() < 15
    # z stays near 0 most of the time and spikes when x > c: the Rossler fold.
    assert np.median(x[:, 2]) < 0.5
    assert x[:, 2].max() > 10
    assert x[:, 2].min() > 0
    spikes = np.flatnonzero((x[1:, 2] > 5) & (x[:-1, 2] <= 5))
    assert len(spikes) >= 5        # 150 time units, one loop in two or three folds over
    assert np.all(x[spikes + 1, 0] > 0)


def test_rossler_discards_its_transient():
    full = integrate_rk4(rossler_rhs, np.array([1.0, -2.0, 0.5]), 0.03, 1269)
    ds = rossler(n_samples=1270, n_discard=770, split=(300, 100, 100),
                 initial_state=[1.0, -2.0, 0.5])
    np.testing.assert_array_equal(ds.series, full[770:])
    assert ds.metadata["n_discard"] == 770


@pytest.mark.parametrize("rhs,start", [(lorenz63_rhs, [1.0, 1.0, 20.0]),
                                       (rossler_rhs, [1.0, -2.0, 0.5])])
def test_rk4_matches_solve_ivp_and_has_order_four(rhs, start):
    x0 = np.array(start)
    errors = []
    for dt in (0.01, 0.005):
        n = int(round(1.0 / dt))
        traj = integrate_rk4(rhs, x0, dt, n)
        ref = solve_ivp(lambda t, s: rhs(s), (0.0, 1.0), x0, method="DOP853",
                        rtol=1e-13, atol=1e-13, t_eval=np.linspace(0, 1, n + 1))
        errors.append(np.abs(traj - ref.y.T).max())
    # RK4 at the paper's dt stays within 1e-3 of the 1e-13-tolerance reference over one
    # time unit (the attractors span tens of units).
    assert errors[0] < 1e-3 and errors[1] < 1e-4
    # Global error O(dt^4): halving dt divides it by about 16.
    assert 12 < errors[0] / errors[1] < 20
    # Local (one-step) error O(dt^5): halving dt divides it by about 32.
    local = []
    for dt in (0.02, 0.01):
        ref = solve_ivp(lambda t, s: rhs(s), (0.0, dt), x0, method="DOP853",
                        rtol=1e-13, atol=1e-13).y[:, -1]
        local.append(np.abs(rk4_step(rhs, x0, dt) - ref).max())
    assert 25 < local[0] / local[1] < 40


def test_fast_generator_equals_generic_rk4_bit_for_bit():
    ds = lorenz63(n_samples=500, split=(300, 100, 100), initial_state=[2.0, 3.0, 25.0],
                  n_transient=50)
    ref = integrate_rk4(lorenz63_rhs, np.array([2.0, 3.0, 25.0]), 0.01, 550)
    np.testing.assert_array_equal(ds.series, ref[51:])


def test_seeding():
    a = lorenz63(n_samples=300, split=(100, 100, 100), seed=7)
    b = lorenz63(n_samples=300, split=(100, 100, 100), seed=7)
    c = lorenz63(n_samples=300, split=(100, 100, 100), seed=8)
    np.testing.assert_array_equal(a.series, b.series)
    assert not np.allclose(a.series, c.series)
    assert a.metadata["initial_state"] == b.metadata["initial_state"]
    r1 = rossler(n_samples=200, n_discard=100, split=(50, 25, 25), seed=7)
    r2 = rossler(n_samples=200, n_discard=100, split=(50, 25, 25), seed=7)
    np.testing.assert_array_equal(r1.series, r2.series)


def test_batched_integration_matches_single():
    starts = np.array([[1.0, 1.0, 20.0], [-3.0, 2.0, 30.0]])
    batch = integrate_rk4(lorenz63_rhs, starts, 0.01, 50)
    assert batch.shape == (51, 2, 3)
    for i in range(2):
        np.testing.assert_allclose(batch[:, i], integrate_rk4(lorenz63_rhs, starts[i], 0.01, 50),
                                   rtol=0, atol=1e-12)


def test_divergence_and_validation_errors():
    with pytest.raises(FloatingPointError, match="diverged"):
        integrate_rk4(lambda x: x ** 3, np.array([10.0]), 0.5, 50)
    with pytest.raises(ValueError, match="n_steps"):
        integrate_rk4(lorenz63_rhs, [1.0, 1.0, 1.0], 0.01, -1)
    with pytest.raises(ValueError, match="dt"):
        integrate_rk4(lorenz63_rhs, [1.0, 1.0, 1.0], 0.0, 10)
    with pytest.raises(ValueError, match="initial_state"):
        lorenz63(initial_state=[1.0, 2.0])
    with pytest.raises(ValueError, match="needs 20000 samples"):
        lorenz63(n_samples=1000)
    with pytest.raises(ValueError, match="n_discard"):
        rossler(n_samples=100, n_discard=100)
    with pytest.raises(ValueError, match="sigma"):
        lorenz63(sigma=-1.0)


def test_protocol_with_the_exact_model_predicts_the_whole_horizon():
    """Closed loop with the generator's own RK4 step reproduces the test targets exactly,
    so the VPT is the whole horizon."""
    ds = lorenz63(n_samples=2000, split=(1000, 500, 500), seed=2)
    window = prediction_window(ds.series, n_train=500, n_predict=100)

    def step(x):
        return rk4_step(lorenz63_rhs, x, ds.dt)

    forecast = closed_loop_forecast(step, window.test_inputs[0], window.n_predict)
    np.testing.assert_array_equal(forecast, window.test_targets)
    vpt = valid_prediction_time(forecast, window.test_targets, ds.long_term_std, dt=ds.dt,
                                lambda_max=LORENZ63_LAMBDA_MAX)
    assert vpt.reached_horizon and vpt.steps == 100


def test_vpt_of_a_perturbed_exact_model_follows_lambda_max():
    """An initial error NRMSE_0 grows like exp(0.906 t): the VPT should be about
    ln(epsilon / NRMSE_0) Lyapunov times. Finite-time growth rates vary along the orbit,
    so the check is on the mean over ten starts (measured 0.92 of the prediction)."""
    vpts, predicted = [], []
    for seed in range(10):
        ds = lorenz63(n_samples=2000, split=(1000, 500, 500), seed=seed)
        window = prediction_window(ds.series, n_train=500, n_predict=1400)
        start = window.test_inputs[0] + 1e-4
        forecast = closed_loop_forecast(lambda x, h=ds.dt: rk4_step(lorenz63_rhs, x, h),
                                        start, window.n_predict)
        vpt = valid_prediction_time(forecast, window.test_targets, ds.long_term_std,
                                    dt=ds.dt, lambda_max=LORENZ63_LAMBDA_MAX)
        assert not vpt.reached_horizon
        vpts.append(vpt.lyapunov_times)
        nrmse_0 = nrmse([start], [window.test_inputs[0]], ds.long_term_std)
        predicted.append(np.log(0.1 / nrmse_0))
    assert 0.75 < np.mean(vpts) / np.mean(predicted) < 1.1
