"""NRMSE, valid prediction time and accuracy on cases with known answers."""

import math

import numpy as np
import pytest

from lnp_neuro.tasks import LORENZ63_LAMBDA_MAX, accuracy, nrmse, nrmse_per_step, \
    score_forecast, valid_prediction_time


def test_perfect_prediction():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 3))
    sigma = np.array([1.0, 2.0, 3.0])
    assert nrmse(y, y, sigma) == 0.0
    np.testing.assert_array_equal(nrmse_per_step(y, y, sigma), np.zeros(100))
    vpt = valid_prediction_time(y, y, sigma, dt=0.01, lambda_max=LORENZ63_LAMBDA_MAX)
    assert vpt.steps == vpt.horizon == 100 and vpt.reached_horizon
    assert vpt.time == pytest.approx(1.0)
    assert vpt.lyapunov_times == pytest.approx(0.906)


def test_constant_offset_has_known_nrmse():
    y = np.zeros((50, 3))
    y_hat = y.copy()
    y_hat[:, 0] += 0.3          # offset 0.3 in dimension 0 only
    sigma = np.array([2.0, 1.0, 1.0])
    expected = math.sqrt((0.3 / 2.0) ** 2 / 3)
    np.testing.assert_allclose(nrmse_per_step(y_hat, y, sigma), expected, rtol=1e-14)
    assert nrmse(y_hat, y, sigma) == pytest.approx(expected, rel=1e-14)
    # Offsets in every dimension equal to sigma_d: NRMSE exactly 1.
    assert nrmse(y + sigma, y, sigma) == pytest.approx(1.0, rel=1e-14)
    # A scalar sigma applies to every dimension.
    assert nrmse(y + 0.5, y, 0.5) == pytest.approx(1.0, rel=1e-14)


def test_overall_nrmse_is_rms_of_per_step():
    rng = np.random.default_rng(1)
    y, y_hat = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    per = nrmse_per_step(y_hat, y, [1.5, 0.5])
    assert nrmse(y_hat, y, [1.5, 0.5]) == pytest.approx(math.sqrt(np.mean(per ** 2)))


def test_vpt_of_exponential_divergence():
    """Error growing as 1e-3 exp(lambda t) crosses 0.1 at t* = ln(100) / lambda."""
    dt, lam = 0.01, LORENZ63_LAMBDA_MAX
    t = np.arange(1000) * dt
    y = np.zeros((1000, 3))
    y_hat = np.repeat((1e-3 * np.exp(lam * t))[:, None], 3, axis=1)   # NRMSE(t) = that
    vpt = valid_prediction_time(y_hat, y, np.ones(3), 0.1, dt=dt, lambda_max=lam)
    t_star = math.log(100) / lam
    assert vpt.steps == math.ceil(t_star / dt)
    assert vpt.lyapunov_times == pytest.approx(math.log(100), abs=lam * dt)
    assert not vpt.reached_horizon


def test_vpt_counts_leading_steps_only_and_handles_divergence():
    y = np.zeros((10, 1))
    y_hat = np.zeros((10, 1))
    y_hat[4] = 0.5            # one bad step at index 4 ...
    y_hat[6:] = 0.0           # ... later good steps do not extend the VPT
    assert valid_prediction_time(y_hat, y, 1.0).steps == 4
    y_hat = np.zeros((10, 1))
    y_hat[0] = 0.1            # exactly at epsilon is still valid
    assert valid_prediction_time(y_hat, y, 1.0).steps == 10
    y_hat[2] = np.nan         # a diverged forecast ends validity
    assert valid_prediction_time(y_hat, y, 1.0).steps == 2
    assert np.isinf(nrmse_per_step(y_hat, y, 1.0)[2])
    assert valid_prediction_time(y_hat, y, 1.0).time is None


def test_score_forecast_combines_both():
    y = np.zeros((20, 2))
    y_hat = np.zeros((20, 2))
    y_hat[15:] = 1.0
    score = score_forecast(y_hat, y, [1.0, 1.0], dt=0.5)
    assert score.vpt.steps == 15 and score.vpt.time == 7.5
    assert score.nrmse == pytest.approx(math.sqrt(5 / 20))
    summary = score.as_dict()
    assert summary["vpt_steps"] == 15 and len(summary["nrmse_per_step"]) == 20


def test_accuracy():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert accuracy(scores, [0, 1, 1]) == pytest.approx(2 / 3)


def test_validation_errors():
    y = np.zeros((5, 2))
    with pytest.raises(ValueError, match="shape"):
        nrmse(np.zeros((5, 3)), y, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        nrmse(y, y, [1.0, 0.0])
    with pytest.raises(ValueError, match="sigma"):
        nrmse(y, y, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="epsilon"):
        valid_prediction_time(y, y, 1.0, epsilon=0)
    with pytest.raises(ValueError, match="needs dt"):
        valid_prediction_time(y, y, 1.0, lambda_max=0.9)
    with pytest.raises(ValueError, match="y_true"):
        accuracy([0, 1], [[0, 1]])
    with pytest.raises(ValueError, match="labels"):
        accuracy([0, 1, 1], [0, 1])
