"""Memory tasks (lnp_neuro.tasks.memory): known memory capacities, NARMA-10 against its
definition and against reservoirpy, the x-only Lorenz targets, fixed seeds."""

import numpy as np
import pytest
from scipy.signal import lfilter

from lnp_neuro.tasks.code_choice import training_part
from lnp_neuro.tasks.dynamical import lorenz63
from lnp_neuro.tasks.memory import (MC_DELAYS, TaskSplit, make_task, memory_capacity, narma,
                                    score_states, select_task_tau, task_references)


def _delay_line(u: np.ndarray, length: int) -> np.ndarray:
    """States [u[t], u[t-1], ..., u[t-length+1]] (zeros before the start)."""
    return np.stack([np.concatenate([np.zeros(d), u[:u.size - d]]) for d in range(length)],
                    axis=1)


def test_memory_capacity_of_a_delay_line_counts_its_taps():
    # A delay line holding u[t] .. u[t-5] recalls delays 1..5 exactly and nothing older:
    # MC = 5 (Jaeger 2001: MC of a delay line is its length), up to the chance r^2 of
    # the 25 delays it does not hold (about 1 / n_test each).
    task = make_task("memory", 6000, seed=0)
    split = TaskSplit(6000)
    states = _delay_line(task.inputs[:, 0], 6)
    mc = score_states(states, task, split)
    pred = states[split.test] @ np.linalg.lstsq(states[split.train],
                                                task.targets[split.train], rcond=None)[0]
    _, per = memory_capacity(pred, task.targets[split.test])
    assert np.all(per[:5] > 0.999)
    assert per[5:].sum() < 25 * 5 / split.test.size
    assert mc == pytest.approx(5.0, abs=0.02)


def test_memory_capacity_of_a_scalar_linear_unit_is_a_squared():
    # x[t] = a x[t-1] + u[t] with i.i.d. u: corr(x[t], u[t-k])^2 = (1 - a^2) a^(2k), so
    # MC = sum_{k >= 1} (1 - a^2) a^(2k) = a^2 (0.64 for a = 0.8; the terms beyond
    # K = 30 delays are below 1e-5).
    # One run's MC scatters by about 0.02 (the squared correlations of 30 delays on one
    # test segment), so the mean over 8 fixed seeds is checked (about 0.007 scatter).
    a, n = 0.8, 20000
    mcs = []
    for seed in range(8):
        task = make_task("memory", n, seed=seed)
        x = lfilter([1.0], [1.0, -a], task.inputs[:, 0])
        mcs.append(score_states(x[:, None], task, TaskSplit(n)))
    assert np.mean(mcs) == pytest.approx(a ** 2, abs=0.02)
    # A constant state recalls nothing.
    assert score_states(np.ones((n, 1)), task, TaskSplit(n)) == pytest.approx(0.0, abs=1e-9)


def test_memory_task_targets_are_the_delayed_inputs():
    task = make_task("memory", 500, seed=3)
    assert task.targets.shape == (500, MC_DELAYS) and task.higher_is_better
    u = task.inputs[:, 0]
    assert np.all((u >= -0.5) & (u < 0.5))
    for k in (1, 7, MC_DELAYS):
        np.testing.assert_array_equal(task.targets[k:, k - 1], u[:-k])
    assert task.persistence is None and "references.persistence" in task.null_reasons
    # Same seed, same bits; another seed, another input.
    np.testing.assert_array_equal(make_task("memory", 500, seed=3).inputs, task.inputs)
    assert not np.array_equal(make_task("memory", 500, seed=4).inputs, task.inputs)


def test_narma_matches_reservoirpy_with_its_indexing():
    from reservoirpy.datasets import narma as rpy_narma

    u, y = rpy_narma(400, order=10, seed=5)
    ours = narma(u[:, 0], order=10, a1=0.2, a2=0.04, b=1.5, c=0.001, lag=1)
    np.testing.assert_allclose(ours[10:], y[:, 0], rtol=1e-13, atol=0)
    # The paper's indexing (lag 0) is another series.
    assert not np.allclose(narma(u[:, 0], 10, 0.2, 0.04, 1.5, 0.001)[10:], y[:, 0])


def test_narma10_task_follows_atiya_parlos():
    task = make_task("narma10", 800, seed=2)
    u, y_next = task.inputs[:, 0], task.targets[:, 0]
    assert np.all((u >= 0) & (u < 0.5)) and not task.higher_is_better
    # Rebuild y from the task (y[t] = targets[t-1]) and check the recursion term by term:
    # y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + 1.5 u[t-9] u[t] + 0.1.
    for t in range(20, 800):
        y = lambda s: y_next[s - 1]            # noqa: E731
        expected = (0.3 * y(t) + 0.05 * y(t) * sum(y(t - i) for i in range(10))
                    + 1.5 * u[t - 9] * u[t] + 0.1)
        assert y_next[t] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(task.persistence[1:, 0], y_next[:-1])
    assert task.sigma[0] == pytest.approx(y_next.std())


@pytest.mark.parametrize("horizon", [1, 10])
def test_lorenz_x_code_choice_reads_no_test_target(horizon):
    """lnp-deploy chooses lorenz-x's code on training_part of its inputs (a ForecastSplit);
    every sample that reads is a training input or target of the task's TaskSplit."""
    for n in range(400, 3200, 7):
        split = TaskSplit(n)
        last_read = len(training_part(np.zeros(n))) - 1
        assert last_read <= split.train[-1] + horizon < split.test[0] + horizon


def test_lorenz_x_targets_are_x_horizon_steps_ahead():
    x = lorenz63(n_samples=600 + 10 + 2, split=(610, 1, 1), seed=0).train[:, 0]
    one = make_task("lorenz-x", 600, seed=0)
    np.testing.assert_array_equal(one.inputs[:, 0], x[:600])
    np.testing.assert_array_equal(one.targets[:, 0], x[1:601])
    ten = make_task("lorenz-x", 600, seed=0, horizon=10)
    np.testing.assert_array_equal(ten.targets[:, 0], x[10:610])
    np.testing.assert_array_equal(ten.persistence[:, 0], x[:600])
    with pytest.raises(ValueError, match="lorenz-x only"):
        make_task("memory", 600, horizon=10)
    with pytest.raises(ValueError, match="task must be one of"):
        make_task("narma30", 600)


def test_references_and_trace_readout():
    task = make_task("memory", 3000, seed=0)
    split = TaskSplit(3000)
    refs = task_references(task, split, esn_units=50, seed=0)
    # The two-tap map holds u[t-1] exactly: MC about 1, plus chance.
    assert refs["persistence"] is None and 0.99 < refs["linear"] < 1.1
    assert refs["esn"] > 1.5
    # A raster that spikes exactly when u[t-1] > 0 (one neuron, 4 steps per sample)
    # recalls delay 1 at least in sign: MC well above chance, tau among the candidates.
    u = task.inputs[:, 0]
    spikes = np.zeros((3000 * 4, 1), bool)
    spikes[4 * np.flatnonzero(np.r_[False, u[:-1] > 0]) + 3] = True
    tau, states, model = select_task_tau(spikes, 4, 1e-3, task, split)
    assert tau in (10e-3, 20e-3, 50e-3) and states.shape == (3000, 1)
    assert score_states(states, task, split, model) > 0.5
