"""Chaotic benchmark series: Lorenz-63 and Rossler, integrated with classical RK4.

Setups follow the paper's supplement A.4 (Chakraborty et al., ICLR 2024; tables 3 and 5,
after Xu et al. 2018) and design section 4:

* Lorenz-63 (Lorenz 1963)::

      dx/dt = sigma (y - x),   dy/dt = x (rho - z) - y,   dz/dt = x y - beta z

  sigma = 10, rho = 28, beta = 8/3; RK4 with dt = 0.01; 20000 samples split
  11250 / 3750 / 5000. Largest Lyapunov exponent about 0.906 per time unit.
* Rossler (Rossler 1976)::

      dx/dt = -y - z,   dy/dt = x + a y,   dz/dt = b + z (x - c)

  a = b = 0.2, c = 5.7; RK4 with dt = 0.03; 12700 samples of which the first 7700 are
  discarded as transient, the rest split 3000 / 1000 / 1000.

The paper's initial states were lost in text extraction, so the initial state is drawn
from ``np.random.default_rng(seed)`` (or given). For Lorenz the paper discards nothing;
so that a random start does not put its transient into the training data, ``lorenz63``
first integrates ``n_transient`` = 1000 steps (10 time units) that are not returned
(an added, documented burn-in; ``n_transient=0`` with an ``initial_state`` reproduces a
no-burn-in setup). Rossler discards its own 7700 samples as in the paper.

RK4 (classical fourth-order Runge-Kutta)::

    k1 = f(x),  k2 = f(x + dt/2 k1),  k3 = f(x + dt/2 k2),  k4 = f(x + dt k3)
    x_next = x + dt/6 (k1 + 2 k2 + 2 k3 + k4)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._util.validation import check_int, check_positive
from .series import TimeSeriesDataset, split_series

__all__ = [
    "LORENZ63_LAMBDA_MAX",
    "ROSSLER_LAMBDA_MAX",
    "lorenz63_rhs",
    "rossler_rhs",
    "rk4_step",
    "integrate_rk4",
    "lorenz63",
    "rossler",
]

#: Largest Lyapunov exponent of Lorenz-63 at (10, 28, 8/3), per unit time (design section 2).
LORENZ63_LAMBDA_MAX = 0.906
#: Largest Lyapunov exponent of the Rossler system at a = b = 0.2, c = 5.7, per unit time
#: (J. C. Sprott, Chaos and Time-Series Analysis, Oxford University Press 2003, Appendix A:
#: exponents 0.0714, 0, -5.3943).
ROSSLER_LAMBDA_MAX = 0.0714


def lorenz63_rhs(state, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0
                 ) -> np.ndarray:
    """Lorenz-63 vector field at ``state [..., 3]`` (x, y, z)."""
    s = np.asarray(state, dtype=np.float64)
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    return np.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], axis=-1)


def rossler_rhs(state, a: float = 0.2, b: float = 0.2, c: float = 5.7) -> np.ndarray:
    """Rossler vector field at ``state [..., 3]`` (x, y, z)."""
    s = np.asarray(state, dtype=np.float64)
    x, y, z = s[..., 0], s[..., 1], s[..., 2]
    return np.stack([-y - z, x + a * y, b + z * (x - c)], axis=-1)


def rk4_step(rhs: Callable[[np.ndarray], np.ndarray], state, dt: float) -> np.ndarray:
    """One classical RK4 step of ``dx/dt = rhs(x)`` (autonomous) from ``state``."""
    x = np.asarray(state, dtype=np.float64)
    k1 = rhs(x)
    k2 = rhs(x + 0.5 * dt * k1)
    k3 = rhs(x + 0.5 * dt * k2)
    k4 = rhs(x + dt * k3)
    return x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def integrate_rk4(rhs: Callable[[np.ndarray], np.ndarray], initial_state, dt: float,
                  n_steps: int, *, progress: bool = False) -> np.ndarray:
    """Trajectory ``[n_steps + 1, ...]`` of RK4 steps from ``initial_state`` (row 0).

    ``initial_state`` may carry leading batch dimensions (``[..., D]``): a batch of
    trajectories is integrated together. Raises ``FloatingPointError`` when the
    trajectory leaves the finite numbers (a divergent start or too large ``dt``).
    """
    dt = check_positive(dt, "dt")
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    x = np.asarray(initial_state, dtype=np.float64)
    if x.ndim < 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"initial_state must be a finite [..., D] array, got {initial_state!r}")
    out = np.empty((n_steps + 1,) + x.shape)
    out[0] = x
    steps = range(1, n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="RK4", unit="step")
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
        for t in steps:
            x = rk4_step(rhs, x, dt)
            out[t] = x
    if not np.all(np.isfinite(out)):
        first = int(np.flatnonzero(~np.all(np.isfinite(out.reshape(len(out), -1)), axis=1))[0])
        raise FloatingPointError(f"the RK4 trajectory diverged at step {first}")
    return out


def _rk4_trajectory3(field, x0: np.ndarray, dt: float, n_steps: int,
                     progress: bool = False) -> np.ndarray:
    """RK4 of a 3-D field on Python floats: the same IEEE operations in the same order as
    :func:`rk4_step` (so the same numbers), without numpy's per-call overhead on
    3-vectors, which dominates at 20000 steps."""
    out = np.empty((n_steps + 1, 3))
    x, y, z = (float(v) for v in x0)
    out[0] = x, y, z
    h, h2, h6 = dt, 0.5 * dt, dt / 6.0
    rows = [None] * n_steps
    steps = range(n_steps)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="RK4", unit="step")
    for t in steps:
        a1, b1, c1 = field(x, y, z)
        a2, b2, c2 = field(x + h2 * a1, y + h2 * b1, z + h2 * c1)
        a3, b3, c3 = field(x + h2 * a2, y + h2 * b2, z + h2 * c2)
        a4, b4, c4 = field(x + h * a3, y + h * b3, z + h * c3)
        x = x + h6 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
        y = y + h6 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
        z = z + h6 * (c1 + 2.0 * c2 + 2.0 * c3 + c4)
        rows[t] = (x, y, z)
    if n_steps:
        out[1:] = rows
    if not np.all(np.isfinite(out)):
        first = int(np.flatnonzero(~np.all(np.isfinite(out), axis=1))[0])
        raise FloatingPointError(f"the RK4 trajectory diverged at step {first}")
    return out


def _initial_state(initial_state, seed, low, high, name: str) -> tuple[np.ndarray, str]:
    if initial_state is not None:
        x0 = np.asarray(initial_state, dtype=np.float64)
        if x0.shape != (3,) or not np.all(np.isfinite(x0)):
            raise ValueError(f"initial_state must be 3 finite numbers (x, y, z), got "
                             f"{initial_state!r}")
        return x0, "given"
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high), f"uniform{tuple(low)}..{tuple(high)} seed={seed!r}"


def lorenz63(n_samples: int = 20000, dt: float = 0.01, split=(11250, 3750, 5000), *,
             seed=0, initial_state=None, n_transient: int = 1000, sigma: float = 10.0,
             rho: float = 28.0, beta: float = 8.0 / 3.0, progress: bool = False
             ) -> TimeSeriesDataset:
    """The paper's Lorenz-63 series (supplement A.4.1, table 3; module docstring).

    Returns ``n_samples`` RK4 samples (state after each step) following ``n_transient``
    unreturned burn-in steps from ``initial_state`` (default: drawn uniformly from
    x, y in [-10, 10], z in [10, 40] with ``seed``), split ``(11250, 3750, 5000)``.
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_transient = check_int(n_transient, "n_transient", 0)
    dt = check_positive(dt, "dt")
    sigma, rho, beta = (check_positive(v, k) for k, v in
                        (("sigma", sigma), ("rho", rho), ("beta", beta)))
    x0, origin = _initial_state(initial_state, seed, np.array([-10.0, -10.0, 10.0]),
                                np.array([10.0, 10.0, 40.0]), "lorenz63")

    def field(x, y, z):
        return sigma * (y - x), x * (rho - z) - y, x * y - beta * z

    traj = _rk4_trajectory3(field, x0, dt, n_transient + n_samples, progress)
    values = traj[n_transient + 1:]
    meta = {"system": "lorenz63", "sigma": sigma, "rho": rho, "beta": beta,
            "integrator": "rk4", "initial_state": x0.tolist(), "initial_state_origin": origin,
            "seed": seed if isinstance(seed, (int, type(None))) else str(seed),
            "n_transient": n_transient, "time_unit": "model time",
            "lambda_max": LORENZ63_LAMBDA_MAX if (sigma, rho, beta) == (10.0, 28.0, 8.0 / 3.0)
            else None}
    return split_series(values, split, name="lorenz63", dt=dt, columns=("x", "y", "z"),
                        metadata=meta)


def rossler(n_samples: int = 12700, dt: float = 0.03, split=(3000, 1000, 1000), *,
            n_discard: int = 7700, seed=0, initial_state=None, a: float = 0.2, b: float = 0.2,
            c: float = 5.7, progress: bool = False) -> TimeSeriesDataset:
    """The paper's Rossler series (supplement A.4.2, table 5; module docstring).

    Integrates ``n_samples`` RK4 samples from ``initial_state`` (default: drawn uniformly
    from x, y in [-5, 5], z in [0, 1] with ``seed``; the first sample is the initial
    state), discards the first ``n_discard`` and splits the rest ``(3000, 1000, 1000)``.
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_discard = check_int(n_discard, "n_discard", 0)
    if n_discard >= n_samples:
        raise ValueError(f"n_discard ({n_discard}) must be smaller than n_samples ({n_samples})")
    dt = check_positive(dt, "dt")
    a, b, c = (check_positive(v, k) for k, v in (("a", a), ("b", b), ("c", c)))
    x0, origin = _initial_state(initial_state, seed, np.array([-5.0, -5.0, 0.0]),
                                np.array([5.0, 5.0, 1.0]), "rossler")

    def field(x, y, z):
        return -y - z, x + a * y, b + z * (x - c)

    traj = _rk4_trajectory3(field, x0, dt, n_samples - 1, progress)
    values = traj[n_discard:]
    meta = {"system": "rossler", "a": a, "b": b, "c": c, "integrator": "rk4",
            "initial_state": x0.tolist(), "initial_state_origin": origin,
            "seed": seed if isinstance(seed, (int, type(None))) else str(seed),
            "n_discard": n_discard, "time_unit": "model time"}
    return split_series(values, split, name="rossler", dt=dt, columns=("x", "y", "z"),
                        metadata=meta)
