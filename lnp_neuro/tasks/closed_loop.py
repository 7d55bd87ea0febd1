"""Closed-loop (autonomous) forecasts and their valid prediction time.

After a readout has been fitted for the one-step task (:mod:`.forecast`), the forecaster
is run on its own predictions: from a start sample ``s`` on, the true series is no longer
shown; each prediction is encoded exactly as the training data was and fed back as the
next input (the paper's "predictions fed back", section 4; Pathak et al., PRL 120,
024102, 2018 for the reservoir-computing protocol). How long the forecast stays within
``epsilon`` of the truth is the valid prediction time (Vlachas et al., Neural Networks
126, 2020; :func:`.metrics.valid_prediction_time`), quoted in Lyapunov times
``steps * dt * lambda_1``.

A single start is a noisy estimate (the error growth depends on where on the attractor
the forecast starts), so :func:`closed_loop_vpt` averages ``n_starts`` starts spread over
the test samples and reports each.

Forecasters, each ``consume(y) -> prediction of the next sample``:

* :class:`SpikingForecaster`: the spiking reservoir in the target's arithmetic (native
  engine), its exponential traces and the ridge readout of the one-step task. Feeding it
  the true samples reproduces the teacher-forced states bit for bit (the engine state is
  carried over between samples, including the input that is still in flight).
* :class:`ESNForecaster`: the echo-state reference of :func:`.forecast.reference_forecasts`.
* :class:`PersistenceForecaster`: ``y[t + 1] = y[t]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util.validation import check_int, check_positive
from ..model.network import SpikingNetwork
from ._windows import window_sums
from .metrics import valid_prediction_time

__all__ = ["SpikingForecaster", "ESNForecaster", "PersistenceForecaster", "ClosedLoopVPT",
           "closed_loop_vpt", "vpt_starts", "teacher_forced_run"]


class SpikingForecaster:
    """The spiking reservoir of the one-step task, stepped one sample at a time.

    Parameters
    ----------
    net : the network (run on the native engine, ``mode`` arithmetic).
    encoded : the task's :class:`.forecast.EncodedSeries` (its drive ``spikes`` and its
        fitted encoder, ``method="staggered"``: a value always gives the same spikes, so a
        prediction is encoded exactly as training data).
    model : readout with ``predict(states [n, n_active]) -> [n, D]`` (the ridge of
        :func:`.forecast.select_trace_tau`).
    tau_trace : trace time constant (s) the readout was fitted with.
    mode : ``"fixed"`` or ``"float"``.
    checkpoints : optional ``{n_samples: (engine state, traces)}`` after the first
        ``n_samples`` samples of the drive (:func:`teacher_forced_run`'s states and the
        one-step task's states ``[n_samples - 1]``), which ``reset`` starts from.

    ``reset(n_samples)`` runs the teacher-forced prefix (the first ``n_samples`` samples
    of the encoded drive) from rest and sets the engine state and traces after it;
    ``consume(y)`` encodes one sample, runs it and returns the readout's prediction of the
    next sample. A code with change channels (``encoder.increments``) codes each sample's
    change from the sample consumed before it (after ``reset(n)``: sample ``n - 1`` of the
    drive), so feeding the truth reproduces the teacher-forced drive.
    """

    def __init__(self, net: SpikingNetwork, encoded, model, tau_trace: float,
                 mode: str = "fixed", checkpoints: dict | None = None):
        if not isinstance(net, SpikingNetwork):
            raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
        if mode not in ("fixed", "float"):
            raise ValueError(f"mode must be 'fixed' or 'float', got {mode!r}")
        if getattr(encoded, "encoder", None) is None:
            raise ValueError("encoded must be an EncodedSeries from forecast.encode_series "
                             "(it carries the fitted encoder)")
        self.net = net
        self.encoded = encoded
        self.model = model
        self.tau_trace = check_positive(tau_trace, "tau_trace")
        self.mode = mode
        self._active = np.flatnonzero(net.neuron_active)
        k = int(encoded.steps_per_sample)
        decay = float(np.exp(-net.dt / self.tau_trace))
        # Trace update over one sample: r <- decay^k r + sum_j decay^(k-1-j) s[j], the
        # recursion of forecast.reservoir_states evaluated in the same order.
        self._window = decay ** np.arange(k - 1, -1, -1, dtype=np.float64)
        self._carry = decay ** k
        self._simulator = None
        self._state = None
        self._trace = None
        self._previous = None
        # {samples: (engine state, traces)} after teacher-forced prefixes: the given ones
        # and the last reset's, so starts taken in increasing order cost at most one pass
        # over the drive, not one each.
        self._checkpoints = {int(n): (state, np.asarray(trace, dtype=np.float64).copy())
                             for n, (state, trace) in (checkpoints or {}).items()}

    def _simulate(self, spikes: np.ndarray):
        # One Simulator: the network is quantised and laid out once, not per sample.
        if self._simulator is None:
            # Lazy: the simulator loads numba, which importing this module should not pay.
            from ..engines.simulator import Simulator
            self._simulator = Simulator(self.net, self.mode)
        return self._simulator.run(spikes, initial_state=self._state)

    def _advance(self, spikes: np.ndarray) -> None:
        k = self._window.size
        res = self._simulate(spikes)
        self._state = res.final_state
        windows = window_sums(res.spikes[:, self._active], k, self._window)
        for w in windows:
            self._trace = self._trace * self._carry + w

    def reset(self, n_samples: int) -> "SpikingForecaster":
        """Teacher-forced run of the first ``n_samples`` samples of the drive, from rest."""
        n_samples = check_int(n_samples, "n_samples")
        k = self._window.size
        x = self.encoded.spikes
        if x.shape[0] < n_samples * k:
            raise ValueError(f"the drive holds {x.shape[0] // k} samples, {n_samples} asked")
        done = max((n for n in self._checkpoints if n <= n_samples), default=0)
        self._state, self._trace = None, np.zeros(self._active.size)
        if done:
            self._state, trace = self._checkpoints[done]
            self._trace = trace.copy()
        if n_samples > done:
            self._advance(x[done * k:n_samples * k])
        self._checkpoints[n_samples] = (self._state, self._trace.copy())
        self._previous = self.encoded.series[n_samples - 1] if n_samples else None
        return self

    def state(self) -> np.ndarray:
        """The traces of the active neurons after the last sample consumed (a copy)."""
        if self._trace is None:
            raise RuntimeError("SpikingForecaster: call reset() first")
        return self._trace.copy()

    def consume(self, y) -> np.ndarray:
        """Encode sample ``y [D]``, run it, and predict the next sample."""
        if self._trace is None:
            raise RuntimeError("SpikingForecaster: call reset() first")
        sample = np.asarray(y, dtype=np.float64).reshape(1, -1)
        x = self.encoded.encoder.transform(sample, previous=self._previous)
        self._previous = sample[0]
        self._advance(x)
        return np.asarray(self.model.predict(self._trace[None, :]), dtype=np.float64)[0]


def teacher_forced_run(net: SpikingNetwork, encoded, mode: str, samples) -> tuple:
    """``(spikes, states)``: ``net`` run on the whole drive ``encoded.spikes`` in ``mode``
    arithmetic, in segments that end after each of ``samples`` samples (each continuing
    from the last one's final state: the raster of one run, bit for bit), and the engine
    state after each of them, ``{n_samples: state}``: the checkpoints a
    :class:`SpikingForecaster` resets to, so the closed loop need not run the drive
    again."""
    # Lazy: the simulator loads numba, which importing this module should not pay.
    from ..engines.simulator import Simulator

    x = encoded.spikes
    k = int(encoded.steps_per_sample)
    simulator = Simulator(net, mode)
    spikes = np.empty((x.shape[0], net.n_total_neurons), dtype=bool)
    ends = sorted({int(n) * k for n in samples if 0 < int(n) * k < x.shape[0]})
    states, state, done = {}, None, 0
    for end in [*ends, x.shape[0]]:
        result = simulator.run(x[done:end], initial_state=state)
        spikes[done:end], state, done = result.spikes, result.final_state, end
        if end in ends:
            states[end // k] = state
    return spikes, states


class ESNForecaster:
    """The echo-state reference (reservoirpy 0.4; the configuration of
    :func:`.forecast.reference_forecasts`: 0.9 spectral radius, 0.3 leak, 0.5 input
    scaling, ridge 1e-6), fitted on ``series[train] -> series[train + 1]``."""

    def __init__(self, series, train: np.ndarray, units: int = 1000, seed: int = 0):
        from reservoirpy.nodes import Reservoir, Ridge  # lazy: heavy, needed only here

        y = np.asarray(series, dtype=np.float64)
        self._mean = y[train].mean(axis=0)
        sd = y[train].std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        u = (y - self._mean) / self._sd
        self._reservoir = Reservoir(check_int(units, "units"), sr=0.9, lr=0.3,
                                    input_scaling=0.5, seed=int(seed))
        self._states = self._reservoir.run(u)
        self._readout = Ridge(ridge=1e-6).fit(self._states[train], u[train + 1])

    def one_step(self, t: np.ndarray) -> np.ndarray:
        """Predictions of ``series[t + 1]`` from the teacher-forced states after ``t``."""
        return np.asarray(self._readout.run(self._states[np.asarray(t)])) * self._sd \
            + self._mean

    def reset(self, n_samples: int) -> "ESNForecaster":
        """Reservoir state after the first ``n_samples`` true samples (teacher forced)."""
        n = check_int(n_samples, "n_samples")
        # reservoirpy 0.4 keeps a node's state as {"out": vector}; states[t] is the state
        # after consuming sample t.
        self._reservoir.state = {"out": self._states[n - 1].copy()}
        return self

    def consume(self, y) -> np.ndarray:
        u = (np.asarray(y, dtype=np.float64).reshape(-1) - self._mean) / self._sd
        x = self._reservoir.step(u)
        return np.asarray(self._readout.run(x[None, :]))[0] * self._sd + self._mean


class PersistenceForecaster:
    """``y[t + 1] = y[t]``: its VPT is how long the series stays within epsilon of where
    it was, the floor any forecaster must clear."""

    def reset(self, n_samples: int) -> "PersistenceForecaster":
        return self

    def consume(self, y) -> np.ndarray:
        return np.asarray(y, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class ClosedLoopVPT:
    """Valid prediction times of closed-loop forecasts from several starts.

    ``starts``: the first forecast sample of each run (the last true sample shown is the
    one before it); ``steps``: VPT of each run in samples; ``horizon``: samples forecast
    per run (a run with ``steps == horizon`` never left the tolerance: a lower bound);
    ``dt``: model time per sample; ``lambda_max``: largest Lyapunov exponent of the
    series (None when unknown).
    """

    starts: tuple
    steps: tuple
    horizon: int
    epsilon: float
    dt: float | None = None
    lambda_max: float | None = None

    def __post_init__(self) -> None:
        if len(self.starts) != len(self.steps) or not self.starts:
            raise ValueError("starts and steps must be non-empty and of equal length")

    @property
    def mean_steps(self) -> float:
        return float(np.mean(self.steps))

    @property
    def lyapunov_times(self) -> float | None:
        """Mean VPT in Lyapunov times (None without ``dt`` and ``lambda_max``)."""
        if self.dt is None or self.lambda_max is None:
            return None
        return self.mean_steps * self.dt * self.lambda_max

    def as_dict(self) -> dict:
        return {"epsilon": self.epsilon, "horizon": int(self.horizon),
                "starts": [int(s) for s in self.starts], "steps": [int(s) for s in self.steps],
                "mean_steps": self.mean_steps,
                "stderr_steps": float(np.std(self.steps, ddof=1) / np.sqrt(len(self.steps)))
                if len(self.steps) > 1 else None,
                "dt": self.dt, "lambda_max": self.lambda_max,
                "lyapunov_times": self.lyapunov_times,
                "reached_horizon": int(sum(s == self.horizon for s in self.steps))}


def vpt_starts(test: np.ndarray, n_samples: int, horizon: int, n_starts: int) -> np.ndarray:
    """``n_starts`` start samples spread evenly over the test samples ``test`` such that
    every run's ``horizon`` samples lie in the series (``n_samples`` long)."""
    n_starts, horizon = check_int(n_starts, "n_starts"), check_int(horizon, "horizon")
    first, last = int(test[0]) + 1, int(n_samples) - horizon
    if last < first:
        raise ValueError(f"the test part ({test.size} samples) is shorter than the closed-loop "
                         f"horizon {horizon}")
    return np.unique(np.linspace(first, last, n_starts).round().astype(np.int64))


def _valid_steps(forecaster, last_true, truth: np.ndarray, sigma: np.ndarray,
                 epsilon: float) -> int:
    """Steps of the closed-loop forecast from ``last_true`` that stay within ``epsilon``
    (:func:`.metrics.valid_prediction_time` of the forecast, which depends only on the
    first step that leaves the tolerance: the forecast stops there)."""
    x = np.asarray(last_true, dtype=np.float64)
    for k, target in enumerate(truth):
        x = np.asarray(forecaster.consume(x), dtype=np.float64).reshape(-1)
        err = valid_prediction_time(x[None, :], target[None, :], sigma, epsilon).steps \
            if np.all(np.isfinite(x)) else 0
        if err == 0:
            return k
    return truth.shape[0]


def closed_loop_vpt(forecaster, series, starts, horizon: int, *, epsilon: float = 0.1,
                    dt: float | None = None, lambda_max: float | None = None
                    ) -> ClosedLoopVPT:
    """VPT of ``forecaster`` run closed-loop from each start (module docstring).

    For start ``s`` the forecaster is reset to the true samples ``0 .. s - 2``
    (``forecaster.reset(s - 1)``), shown the true sample ``s - 1`` and then its own
    predictions; its ``horizon`` predictions are
    compared with ``series[s : s + horizon]`` (sigma: the whole series' std per
    dimension, as the one-step NRMSE). A run stops at the first prediction that leaves the
    tolerance, which is all its VPT depends on.
    """
    y = np.asarray(series, dtype=np.float64)
    horizon = check_int(horizon, "horizon")
    epsilon = float(epsilon)
    sd = y.std(axis=0)
    sigma = np.where(sd > 0, sd, 1.0)
    steps = []
    for s in (int(v) for v in starts):
        if not 1 <= s <= y.shape[0] - horizon:
            raise ValueError(f"start {s} leaves no room for a {horizon}-sample forecast in "
                             f"{y.shape[0]} samples")
        forecaster.reset(s - 1)
        steps.append(_valid_steps(forecaster, y[s - 1], y[s:s + horizon], sigma, epsilon))
    return ClosedLoopVPT(starts=tuple(int(v) for v in starts), steps=tuple(steps),
                         horizon=horizon, epsilon=float(epsilon),
                         dt=None if dt is None else float(dt),
                         lambda_max=None if lambda_max is None else float(lambda_max))
