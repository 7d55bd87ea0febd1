"""One-step forecasting protocol: states, split, references and readouts on known cases."""

import numpy as np
import pytest

from lnp_neuro.tasks.forecast import (ForecastSplit, encode_series, one_step_nrmse,
                                      reference_forecasts, reservoir_states, select_trace_tau)


def test_reservoir_states_equal_the_per_step_trace_at_each_sample_end():
    rng = np.random.default_rng(0)
    spikes = rng.random((60, 4)) < 0.3
    dt, tau, k = 1e-3, 20e-3, 5
    trace, expected = np.zeros(4), []
    for t, s in enumerate(spikes):
        trace = trace * np.exp(-dt / tau) + s
        if t % k == k - 1:
            expected.append(trace.copy())
    np.testing.assert_allclose(reservoir_states(spikes, k, dt, tau), expected, rtol=1e-12)
    np.testing.assert_allclose(reservoir_states(spikes, k, dt, tau, neurons=[2]),
                               np.asarray(expected)[:, [2]], rtol=1e-12)


def test_split_is_time_ordered_after_the_washout():
    split = ForecastSplit(300, washout=100, train_fraction=0.7)
    assert split.train[0] == 100 and split.test[-1] == 298      # target t + 1 = 299
    assert split.train.size == 139 and split.test.size == 60
    assert split.train[-1] + 1 == split.test[0]
    with pytest.raises(ValueError, match="too short"):
        ForecastSplit(120)


def test_references_on_known_series():
    # A line y = c t: persistence is off by c everywhere (NRMSE = c / std), a linear map of
    # (y[t], y[t-1]) is exact.
    t = np.arange(400, dtype=float)[:, None]
    y = np.hstack([0.01 * t, -0.02 * t])
    split = ForecastSplit(400)
    refs = reference_forecasts(y, split, esn_units=None)
    expected = np.sqrt(np.mean((np.array([0.01, 0.02]) / y.std(axis=0)) ** 2))
    assert refs["persistence"] == pytest.approx(expected, rel=1e-12)
    assert refs["linear"] < 1e-3 * refs["persistence"]


def test_ridge_readout_recovers_a_linear_reservoir():
    # States that hold y[t] and y[t] - y[t-1]: the best linear readout is the extrapolation
    # 2 y[t] - y[t-1], whose error on sin(h t) is the curvature term h^2 sin(h t), i.e. an
    # NRMSE of h^2 = 4e-4 over whole periods; persistence is about h = 0.02.
    h = 0.02
    y = np.sin(np.arange(600) * h)[:, None]
    states = np.hstack([y, np.vstack([[0.0], np.diff(y, axis=0)])])
    split = ForecastSplit(600)
    err = one_step_nrmse(states, y, split)
    assert err < 1.5 * h ** 2
    assert reference_forecasts(y, split, esn_units=None)["persistence"] > 40 * err


def test_select_trace_tau_returns_the_fitted_readout():
    rng = np.random.default_rng(1)
    spikes = rng.random((300 * 4, 20)) < 0.2
    y = rng.standard_normal((300, 2))
    split = ForecastSplit(300)
    tau, states, model = select_trace_tau(spikes, 4, 1e-3, y, split, taus=(5e-3, 20e-3))
    assert tau in (5e-3, 20e-3)
    np.testing.assert_array_equal(states, reservoir_states(spikes, 4, 1e-3, tau))
    assert one_step_nrmse(states, y, split, model=model) == one_step_nrmse(states, y, split)


def test_encoding_channels_and_errors():
    y = np.column_stack([np.sin(np.arange(50) * 0.1), np.cos(np.arange(50) * 0.1)])
    enc = encode_series(y, 2 * 2 * 3, steps_per_sample=5)
    assert enc.spikes.shape == (250, 12) and enc.copies == 3
    assert enc.describe()["channels"] == 12
    with pytest.raises(ValueError, match="n_inputs=10"):
        encode_series(y, 10)
    with pytest.raises(ValueError, match="non-finite"):
        encode_series(np.full((10, 1), np.nan), 2)
    with pytest.raises(ValueError, match="readout"):
        one_step_nrmse(np.zeros((300, 2)), np.zeros((300, 1)), ForecastSplit(300), "magic")
