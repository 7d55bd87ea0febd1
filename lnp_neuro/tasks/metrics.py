"""Task metrics (design section 4; paper section 4 "Evaluation metric").

* NRMSE, normalised by the long-term standard deviation ``sigma_d`` of each dimension::

      NRMSE(t) = sqrt( (1/D) sum_d ((y_hat[t, d] - y[t, d]) / sigma_d)^2 )     per step
      NRMSE    = sqrt( (1/(T D)) sum_t sum_d ((y_hat[t, d] - y[t, d]) / sigma_d)^2 )

  The overall figure is the root of the mean over every step and dimension (equal to
  the RMS of ``NRMSE(t)`` over ``t``).
* Valid prediction time (Vlachas et al. 2020, "Backpropagation algorithms and reservoir
  computing in recurrent neural networks for the forecasting of complex spatiotemporal
  dynamics", Neural Networks 126, section on evaluation metrics)::

      VPT = (1 / Lambda_1) argmax_{t_f} { t_f : NRMSE(t) < epsilon for all t <= t_f }

  with epsilon = 0.1 (as in the paper). Here in steps: the number of leading forecast
  steps whose NRMSE stays <= epsilon (the index of the first step that exceeds it, or
  the horizon when none does); times ``steps * dt``, and Lyapunov times
  ``steps * dt * lambda_max`` when ``lambda_max`` is given (Lorenz-63: 0.906).
* Classification accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["nrmse_per_step", "nrmse", "valid_prediction_time", "VPTResult", "accuracy",
           "ForecastScore", "score_forecast"]


def _pair(y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(y_pred, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim != 2 or t.ndim != 2:
        raise ValueError(f"y_pred and y_true must be [T, D] (or [T]) arrays, got shapes "
                         f"{np.shape(y_pred)} and {np.shape(y_true)}")
    if p.shape != t.shape:
        raise ValueError(f"y_pred has shape {p.shape}, y_true has shape {t.shape}")
    if len(p) == 0:
        raise ValueError("y_pred and y_true hold no time steps")
    if not np.all(np.isfinite(t)):
        raise ValueError("y_true has non-finite values")
    return p, t


def _sigma(sigma, n_dims: int) -> np.ndarray:
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(n_dims, float(s))
    s = s.reshape(-1)
    if s.shape != (n_dims,):
        raise ValueError(f"sigma must hold one long-term std per dimension ({n_dims}), got "
                         f"shape {np.shape(sigma)}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigma must be positive and finite, got {s}")
    return s


def nrmse_per_step(y_pred, y_true, sigma) -> np.ndarray:
    """``NRMSE(t)`` for every step ``t`` (module docstring); ``[T]``.

    A non-finite prediction (a diverged forecast) gives ``inf`` at that step.
    """
    p, t = _pair(y_pred, y_true)
    s = _sigma(sigma, p.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.sqrt(np.mean(((p - t) / s) ** 2, axis=1))
    err[~np.all(np.isfinite(p), axis=1)] = np.inf
    return err


def nrmse(y_pred, y_true, sigma) -> float:
    """Overall NRMSE: root of the mean over steps and dimensions (module docstring)."""
    per_step = nrmse_per_step(y_pred, y_true, sigma)
    with np.errstate(over="ignore"):
        return float(np.sqrt(np.mean(per_step ** 2)))


@dataclass(frozen=True)
class VPTResult:
    """Valid prediction time of one forecast.

    ``steps``: leading steps with NRMSE <= epsilon; ``horizon``: forecast length;
    ``time``: ``steps * dt`` (None without ``dt``); ``lyapunov_times``:
    ``steps * dt * lambda_max`` (None without both).
    """

    steps: int
    horizon: int
    epsilon: float
    time: float | None = None
    lyapunov_times: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.steps <= self.horizon:
            raise ValueError(f"steps must lie in [0, horizon={self.horizon}], got {self.steps}")

    @property
    def reached_horizon(self) -> bool:
        """True when the forecast never left the tolerance (VPT is then a lower bound)."""
        return self.steps == self.horizon


def valid_prediction_time(y_pred, y_true, sigma, epsilon: float = 0.1, *,
                          dt: float | None = None, lambda_max: float | None = None
                          ) -> VPTResult:
    """VPT of a forecast (Vlachas et al. 2020; formula in the module docstring).

    ``y_pred``, ``y_true``: ``[T, D]`` forecast and truth, row 0 the first predicted step;
    ``sigma``: long-term std per dimension; ``epsilon``: tolerance (0.1 in the paper);
    ``dt``: time between steps; ``lambda_max``: largest Lyapunov exponent per unit time.
    """
    try:
        epsilon = float(epsilon)
    except (TypeError, ValueError):
        raise ValueError(f"epsilon must be a number, got {epsilon!r}") from None
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be positive and finite, got {epsilon}")
    if dt is not None:
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive and finite, got {dt}")
    if lambda_max is not None:
        lambda_max = float(lambda_max)
        if not (math.isfinite(lambda_max) and lambda_max > 0):
            raise ValueError(f"lambda_max must be a positive exponent per unit time, got "
                             f"{lambda_max}")
        if dt is None:
            raise ValueError("lambda_max needs dt (the time between steps) to count "
                             "Lyapunov times")
    err = nrmse_per_step(y_pred, y_true, sigma)
    over = np.flatnonzero(~(err <= epsilon))  # NaN counts as exceeding
    steps = int(over[0]) if over.size else len(err)
    time = steps * dt if dt is not None else None
    lyap = time * lambda_max if lambda_max is not None else None
    return VPTResult(steps=steps, horizon=len(err), epsilon=epsilon, time=time,
                     lyapunov_times=lyap)


def accuracy(y_pred, y_true) -> float:
    """Fraction of correct labels.

    ``y_pred`` is either labels ``[n]`` or class scores / probabilities ``[n, n_classes]``
    (the arg-max is the label; ties go to the lowest class index); ``y_true`` is labels.
    """
    truth = np.asarray(y_true)
    if truth.ndim != 1 or truth.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array of labels, got shape "
                         f"{truth.shape}")
    pred = np.asarray(y_pred)
    if pred.ndim == 2:
        if not np.all(np.isfinite(pred)):
            raise ValueError("y_pred scores have non-finite values")
        pred = np.argmax(pred, axis=1)
    if pred.shape != truth.shape:
        raise ValueError(f"y_pred gives {pred.shape[0] if pred.ndim else 0} labels, y_true "
                         f"has {truth.shape[0]}")
    return float(np.mean(pred == truth))


@dataclass(frozen=True)
class ForecastScore:
    """NRMSE and VPT of one forecast, with the NRMSE curve they come from."""

    nrmse: float
    vpt: VPTResult
    nrmse_per_step: np.ndarray

    def as_dict(self) -> dict:
        """JSON-ready summary (the per-step curve as a list)."""
        return {"nrmse": self.nrmse, "vpt_steps": self.vpt.steps, "horizon": self.vpt.horizon,
                "epsilon": self.vpt.epsilon, "vpt_time": self.vpt.time,
                "vpt_lyapunov_times": self.vpt.lyapunov_times,
                "nrmse_per_step": self.nrmse_per_step.tolist()}


def score_forecast(y_pred, y_true, sigma, epsilon: float = 0.1, *, dt: float | None = None,
                   lambda_max: float | None = None) -> ForecastScore:
    """:func:`nrmse` and :func:`valid_prediction_time` of one forecast together."""
    vpt = valid_prediction_time(y_pred, y_true, sigma, epsilon, dt=dt, lambda_max=lambda_max)
    per_step = nrmse_per_step(y_pred, y_true, sigma)
    with np.errstate(over="ignore"):
        overall = float(np.sqrt(np.mean(per_step ** 2)))
    return ForecastScore(nrmse=overall, vpt=vpt, nrmse_per_step=per_step)
