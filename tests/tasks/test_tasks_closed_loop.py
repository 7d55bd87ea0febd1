"""Closed-loop forecasts and their valid prediction time, on cases with a known answer."""

import numpy as np
import pytest

from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model.build import hrsnn
from lnp_neuro.tasks.closed_loop import (ClosedLoopVPT, ESNForecaster, PersistenceForecaster,
                                         SpikingForecaster, closed_loop_vpt,
                                         teacher_forced_run, vpt_starts)
from lnp_neuro.tasks.forecast import (ForecastSplit, encode_series, reference_forecasts,
                                      select_trace_tau)


def _sine_task(n=400, n_neurons=120, seed=0):
    y = np.column_stack([np.sin(0.05 * np.arange(n)), np.cos(0.05 * np.arange(n))])
    net = hrsnn(n_neurons, 0.1, seed=seed, n_inputs=8)
    enc = encode_series(y, 8, steps_per_sample=10)
    split = ForecastSplit(n)
    spikes = simulate(net, enc.spikes, mode="fixed").spikes
    tau, states, ridge = select_trace_tau(spikes, 10, net.dt, y, split,
                                          neurons=np.flatnonzero(net.neuron_active))
    return y, net, enc, split, tau, states, ridge


def test_spiking_forecaster_fed_the_truth_reproduces_the_teacher_forced_states():
    # The engine state (membranes and the input still in flight) is carried from sample to
    # sample, and a value is encoded as in training, so consuming the true samples one at a
    # time must give the states of the single teacher-forced run.
    y, net, enc, split, tau, states, ridge = _sine_task()
    f = SpikingForecaster(net, enc, ridge, tau, "fixed").reset(250)
    np.testing.assert_allclose(f.state(), states[249], rtol=0, atol=1e-9)
    for t in range(250, 260):
        pred = f.consume(y[t])
        np.testing.assert_allclose(f.state(), states[t], rtol=0, atol=1e-9)
        np.testing.assert_allclose(pred, ridge.predict(states[t:t + 1])[0], atol=1e-9)
    # A checkpointed reset (later start, same pass) equals a reset from rest.
    again = SpikingForecaster(net, enc, ridge, tau, "fixed").reset(300)
    f.reset(300)
    np.testing.assert_allclose(f.state(), again.state(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_checkpoints_of_the_teacher_forced_run_change_no_bit(mode):
    # The drive run in segments ending at the starts is the single run's raster, and a
    # forecaster reset to its states and the task's traces forecasts exactly as one that
    # runs the drive again itself.
    y, net, enc, split, tau, states, ridge = _sine_task()
    starts = vpt_starts(split.test, y.shape[0], 40, 3)
    spikes, engine = teacher_forced_run(net, enc, mode, starts - 1)
    np.testing.assert_array_equal(spikes, simulate(net, enc.spikes, mode=mode).spikes)
    assert sorted(engine) == sorted(int(s) - 1 for s in starts)
    tau, states, ridge = select_trace_tau(spikes, 10, net.dt, y, split,
                                          neurons=np.flatnonzero(net.neuron_active))
    plain = SpikingForecaster(net, enc, ridge, tau, mode)
    seeded = SpikingForecaster(net, enc, ridge, tau, mode,
                               {n: (state, states[n - 1]) for n, state in engine.items()})
    for s in starts:
        assert seeded.reset(s - 1).state().tobytes() == plain.reset(s - 1).state().tobytes()
        assert seeded.consume(y[s - 1]).tobytes() == plain.consume(y[s - 1]).tobytes()
    assert closed_loop_vpt(seeded, y, starts, 40) == closed_loop_vpt(plain, y, starts, 40)


def test_vpt_stops_early_without_changing_the_answer():
    # The VPT of a run depends only on its first step outside the tolerance: stopping there
    # must give what valid_prediction_time says of the whole forecast.
    from lnp_neuro.tasks.metrics import valid_prediction_time
    from lnp_neuro.tasks.series import closed_loop_forecast
    y, net, enc, split, tau, states, ridge = _sine_task()
    f = SpikingForecaster(net, enc, ridge, tau, "fixed")
    starts = vpt_starts(split.test, y.shape[0], 60, 3)
    fast = closed_loop_vpt(f, y, starts, 60, epsilon=0.05)
    sigma = y.std(axis=0)
    full = []
    for s in starts:
        f.reset(s - 1)
        pred = closed_loop_forecast(f.consume, y[s - 1], 60)
        full.append(valid_prediction_time(pred, y[s:s + 60], sigma, 0.05).steps)
    assert fast.steps == tuple(full)
    assert 0 < max(full) < 60        # the tolerance is left inside the horizon


def test_spiking_forecaster_needs_the_fitted_encoder():
    y, net, enc, split, tau, states, ridge = _sine_task(n=200, n_neurons=40)
    enc.encoder = None
    with pytest.raises(ValueError, match="fitted encoder"):
        SpikingForecaster(net, enc, ridge, tau)


def test_persistence_vpt_on_a_line_is_known():
    # y = c t: persistence from start s is off by c (k + 1) at forecast step k, so with the
    # series' std sigma it stays within epsilon for floor(eps sigma / c) steps.
    c, n = 0.01, 500
    y = (c * np.arange(n, dtype=float))[:, None]
    eps = 0.1
    expected = int(np.floor(eps * y.std() / c))
    r = closed_loop_vpt(PersistenceForecaster(), y, [100, 200], 300, epsilon=eps, dt=0.5,
                        lambda_max=2.0)
    assert r.steps == (expected, expected)
    assert r.lyapunov_times == pytest.approx(expected * 0.5 * 2.0)
    assert r.as_dict()["reached_horizon"] == 0


def test_esn_forecaster_one_step_matches_the_reference_esn():
    # Reset to the true prefix and shown the last true sample, the ESN's first prediction
    # is its one-step prediction: same error as reference_forecasts' ESN on those samples.
    y = np.column_stack([np.sin(0.07 * np.arange(600)), np.sin(0.031 * np.arange(600))])
    split = ForecastSplit(600)
    esn = ESNForecaster(y, split.train, units=100, seed=3)
    preds = []
    for t in split.test:
        esn.reset(t)
        preds.append(esn.consume(y[t]))
    preds = np.asarray(preds)
    sd = y.std(axis=0)
    mine = np.sqrt(np.mean(((preds - y[split.test + 1]) / sd) ** 2))
    ref = reference_forecasts(y, split, esn_units=100, seed=3)["esn"]
    assert mine == pytest.approx(ref, rel=1e-9)


def test_vpt_starts_stay_inside_the_test_part():
    split = ForecastSplit(1000)
    starts = vpt_starts(split.test, 1000, 100, 5)
    assert starts[0] == split.test[0] + 1 and starts[-1] == 900 and len(starts) == 5
    with pytest.raises(ValueError, match="shorter than the closed-loop horizon"):
        vpt_starts(split.test, 1000, 400, 5)
    with pytest.raises(ValueError, match="no room"):
        closed_loop_vpt(PersistenceForecaster(), np.zeros((50, 1)), [45], 10)
    with pytest.raises(ValueError, match="equal length"):
        ClosedLoopVPT(starts=(1,), steps=(), horizon=3, epsilon=0.1)
