"""LNP step IV: Bayesian optimisation of the time-constant distributions (design section 3).

Paper: Chakraborty et al., ICLR 2024 (arXiv 2403.03409), Sec. 3.1 "Step IV: Neuronal
Timescale Optimization" and Suppl. D.1 "Bayesian Optimization for Optimizing Timescales"
(after Perez-Nieves et al. 2021): BO searches over the *distribution* of the membrane time
constants rather than over each neuron's value; a Gaussian process with a (modified)
Matern kernel on the Wasserstein distance between candidate distributions is the
surrogate, expected improvement (EI) the acquisition, and the time constants are finally
sampled from the best distribution. The objective is task-agnostic (design section 3): how far
the Lyapunov spectrum of the rate surrogate is from a stable target just below 0.

Search space
------------
One gamma distribution ``Gamma(shape, scale)`` of ``tau_mem`` per group: per cluster for a
CHRSNN (``net.cluster``), one for an HRSNN. ``params`` is an array ``(n_groups, 2)`` of
``(shape, scale[s])``. Candidates are drawn log-uniformly inside ``bounds`` from the seed.
``tau_syn`` is left unchanged: the rate surrogate that defines the objective (design section 2)
depends on ``tau_mem`` only.

Distance and kernel
-------------------
For one-dimensional distributions the p-Wasserstein distance is a distance between
quantile functions, ``W_p^p = int_0^1 |F1^-1(q) - F2^-1(q)|^p dq``; it is evaluated with
``n_quad``-point Gauss-Legendre quadrature on (0, 1) (relative error < 2e-4 for gamma
shapes >= 0.5 at 256 points). Each candidate is embedded as the vector
``sqrt(w_j) F^-1(q_j)`` (clipped at ``2 dt``, the floor that sampling applies, so the
distance is the one between the distributions actually realised) and ``W2`` is the
Euclidean distance of the embeddings. For several groups the embeddings are concatenated,
so the distance is ``sqrt(sum_c W2_c^2)``, the W2 distance between the product
distributions. Because W2 in 1-D is an L2 (Hilbert) distance, the Matern kernel
``k = (1 + sqrt5 r/l + 5 r^2 / (3 l^2)) exp(-sqrt5 r / l)`` (nu = 5/2; unit variance on
standardised objective values) on it is positive
definite; on W1 it would not be guaranteed, which is why W2 is used for the kernel.

Gaussian process and EI
-----------------------
Objective values are standardised; the length scale ``l`` and the noise variance are
chosen on a fixed grid by the log marginal likelihood (Rasmussen & Williams 2006,
Eq. 2.30); the posterior is Eq. 2.25-2.26. EI for minimisation (Jones et al. 1998; Frazier
2018, Eq. 8): ``EI = (f* - mu) Phi(z) + sigma phi(z)``, ``z = (f* - mu) / sigma``, with
``f*`` the best value observed. It is maximised over the seeded candidate set.

Default objective (task-agnostic)
---------------------------------
``(lambda_max - target)^2`` in s^-2, with ``lambda_max`` the largest exponent of the rate
surrogate from :func:`lnp_neuro.dynamics.lyapunov.network_spectrum` (k = 1, 100 transient + 100
accumulated steps, a fixed seed) and ``target = -1 s^-1``: "just below 0" at the network's
own scale, one e-fold per second, i.e. fifty times slower than the decay of a 20 ms
membrane. Each evaluation samples ``tau_mem`` by inverse transform from the same per-neuron
uniforms (common random numbers) and the spectrum uses fixed seeds, so the objective is a
deterministic function of the parameters (no sampling noise between candidates), and the
returned network is exactly the best evaluated one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.stats as st

from .._util.validation import check_float, check_int, make_rng
from ..dynamics.lyapunov import network_spectrum
from ..dynamics.operating_point import operating_lambda_max
from ..model.network import SpikingNetwork
# The optimiser; re-exported, callers import it from here.
from .bayes_opt import (DEFAULT_BOUNDS, BOResult, DistributionBO, GaussianProcess,
                        _check_bounds, _check_params, _pairwise, _quadrature,
                        expected_improvement, gamma_quantile_embedding, matern52,
                        wasserstein_gamma)

__all__ = [
    "gamma_quantile_embedding",
    "wasserstein_gamma",
    "matern52",
    "GaussianProcess",
    "expected_improvement",
    "BOResult",
    "DistributionBO",
    "lyapunov_objective",
    "LyapunovObjective",
    "TimescaleResult",
    "optimize_timescales",
    "DEFAULT_BOUNDS",
]

# ---------------------------------------------------------------- network objective
OBJECTIVE_MODES = ("bound", "point")
OBJECTIVE_MEASURES = ("operating_point", "rate_surrogate")


class LyapunovObjective:
    """Task-agnostic objective of step IV on ``lambda_max`` (1/s), to minimise.

    ``mode="bound"`` (default): ``max(0, lambda_max - target)^2``: zero for every network
    at least as stable as ``target``, so step IV leaves a stable network alone and, on an
    unstable one, prefers the timescales that bring ``lambda_max`` down toward
    ``target``. ``mode="point"``: ``(lambda_max - target)^2``, the design's "edge of chaos" point
    target, which also pulls a stable network *up* toward ``target``; measured on the
    default HRSNN (docs/design.md, step IV) it lengthens every time constant and raises
    ``lambda_max``, the opposite of the stabilisation the paper reports (Suppl. A.7), so it
    is not the default.

    ``measure="operating_point"`` (default): :func:`lnp_neuro.dynamics.operating_point.
    operating_lambda_max` on ``n_drives`` Poisson drives of ``n_steps`` steps (the same
    drives for every candidate: common random numbers, a paired comparison).
    ``"rate_surrogate"``: ``network_spectrum`` of the autonomous tanh surrogate (``k``,
    ``n_steps``, ``n_transient``; averaged over ``n_drives`` initial states).
    :meth:`evaluate` also returns the standard error over drives.
    """

    def __init__(self, target: float = -1.0, mode: str = "bound", *,
                 measure: str = "operating_point", n_drives: int = 2, n_steps: int = 1000,
                 k: int = 1, n_transient: int = 200, seed: int = 0, memo=None) -> None:
        self.target = check_float(target, "target")
        # An OperatingPointMemo shared with other measurements of the same networks on
        # the same drives (LNP's pipeline), or None.
        self.memo = memo
        if mode not in OBJECTIVE_MODES:
            raise ValueError(f"mode must be one of {OBJECTIVE_MODES}, got {mode!r}")
        if measure not in OBJECTIVE_MEASURES:
            raise ValueError(f"measure must be one of {OBJECTIVE_MEASURES}, got {measure!r}")
        self.mode = mode
        self.measure = measure
        self.n_drives = check_int(n_drives, "n_drives", 1)
        self.n_steps = check_int(n_steps, "n_steps", 1)
        self.k = check_int(k, "k", 1)
        self.n_transient = check_int(n_transient, "n_transient", 0)
        self.seed = check_int(seed, "seed", 0)

    def lambda_max(self, net: SpikingNetwork) -> tuple[float, float]:
        """Mean and standard error of ``lambda_max`` over the drives."""
        if self.measure == "operating_point":
            est = operating_lambda_max(net, n_drives=self.n_drives, n_steps=self.n_steps,
                                       seed=self.seed, k=min(self.k, net.n_active_neurons),
                                       n_transient=self.n_transient, memo=self.memo)
            return est.mean, est.stderr
        vals = np.array([network_spectrum(net, self.n_steps, min(self.k, net.n_active_neurons),
                                          seed=self.seed + i, n_transient=self.n_transient,
                                          progress=False).lambda_max
                         for i in range(self.n_drives)])
        se = float(vals.std(ddof=1) / np.sqrt(vals.size)) if vals.size > 1 else 0.0
        return float(vals.mean()), se

    def value(self, lam: float) -> float:
        gap = lam - self.target
        if self.mode == "bound":
            gap = max(0.0, gap)
        return float(gap * gap)

    def evaluate(self, net: SpikingNetwork) -> tuple[float, float, float]:
        """``(objective, lambda_max, stderr)`` of ``net``."""
        lam, se = self.lambda_max(net)
        return self.value(lam), lam, se

    def __call__(self, net: SpikingNetwork, params=None) -> float:
        return self.evaluate(net)[0]


def lyapunov_objective(target: float = -1.0, n_steps: int = 1000, k: int = 1,
                       n_transient: int = 200, seed: int = 0, n_repeats: int = 2, *,
                       mode: str = "bound", measure: str = "operating_point"
                       ) -> LyapunovObjective:
    """The default step-IV objective (:class:`LyapunovObjective`); ``n_repeats`` drives."""
    return LyapunovObjective(target, mode, measure=measure, n_drives=n_repeats,
                             n_steps=n_steps, k=k, n_transient=n_transient, seed=seed)


@dataclass(eq=False)
class TimescaleResult:
    """Outcome of :func:`optimize_timescales`.

    Attributes
    ----------
    params : array (n_evals, n_groups, 2), evaluated (shape, scale[s]) per group.
    values : array (n_evals,), objective values.
    is_initial : bool array (n_evals,), True for the initial design.
    best_params : array (n_groups, 2), the chosen distribution per group.
    best_value : objective of the returned network.
    initial_params : array (n_groups, 2), the distribution of the input network (from
        ``metadata['tau_mem_dist']`` or fitted by moments), evaluated first.
    groups : int array (N,), group (cluster) of each neuron.
    tau_before, tau_after : arrays (N,), ``tau_mem`` before and after (seconds).
    current_value : objective of the unchanged input network.
    accepted : True when the best candidate was strictly better than the input network
        and replaced its time constants; False when the input network was kept.
    lambda_before, lambda_after, lambda_stderr_before, lambda_stderr_after : for a
        :class:`LyapunovObjective`, ``lambda_max`` and its standard error of the input and
        of the returned network (NaN for other objectives).
    """

    params: np.ndarray
    values: np.ndarray
    is_initial: np.ndarray
    best_params: np.ndarray
    best_value: float
    initial_params: np.ndarray
    groups: np.ndarray
    tau_before: np.ndarray
    tau_after: np.ndarray
    current_value: float = float("nan")
    accepted: bool = True
    lambda_before: float = float("nan")
    lambda_after: float = float("nan")
    lambda_stderr_before: float = float("nan")
    lambda_stderr_after: float = float("nan")

    def __post_init__(self) -> None:
        self.params = np.asarray(self.params, dtype=np.float64)
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.params.ndim != 3 or self.params.shape[0] != self.values.size:
            raise ValueError("params must be (n_evals, n_groups, 2) with one value per evaluation")
        self.best_params = _check_params(self.best_params, "best_params")
        self.best_value = float(self.best_value)
        if self.tau_before.shape != self.tau_after.shape:
            raise ValueError("tau_before and tau_after must have the same shape")


def _groups_of(net: SpikingNetwork) -> np.ndarray:
    if net.cluster is None:
        return np.zeros(net.n_total_neurons, np.int64)
    _, inverse = np.unique(net.cluster, return_inverse=True)
    return inverse.astype(np.int64)


def _current_params(net: SpikingNetwork, groups: np.ndarray) -> np.ndarray:
    """The generating gamma of each group from metadata, else a method-of-moments fit."""
    n_groups = int(groups.max()) + 1
    dist = net.metadata.get("tau_mem_dist")
    if isinstance(dist, list) and len(dist) == n_groups:
        try:
            p = np.array([[float(d["shape"]), float(d["scale"])] for d in dist])
            if np.all(np.isfinite(p) & (p > 0)):
                return p
        except (KeyError, TypeError, ValueError):
            pass
    out = np.empty((n_groups, 2))
    for c in range(n_groups):
        tau = net.tau_mem[(groups == c) & net.neuron_active]
        if tau.size == 0:
            tau = net.tau_mem[groups == c]
        mean, var = float(tau.mean()), float(tau.var())
        if var <= 0:  # all equal: a very narrow gamma around the common value
            var = (1e-3 * mean) ** 2
        out[c] = (mean * mean / var, var / mean)
    return out


def _sample_tau(params: np.ndarray, groups: np.ndarray, uniforms: np.ndarray,
                dt: float) -> np.ndarray:
    shape = params[groups, 0]
    scale = params[groups, 1]
    return np.maximum(st.gamma.ppf(uniforms, shape, scale=scale), 2.0 * dt)


_UNMEASURED = (float("nan"), float("nan"))


def _score(objective, candidate: SpikingNetwork, params) -> tuple[float, tuple[float, float]]:
    """Objective value and, for a LyapunovObjective, (lambda_max, its stderr)."""
    if isinstance(objective, LyapunovObjective):
        value, lam, se = objective.evaluate(candidate)
        return value, (lam, se)
    return float(objective(candidate, params)), _UNMEASURED


def _within_bound_result(net: SpikingNetwork, current: np.ndarray, groups: np.ndarray,
                         before: tuple[float, float]) -> TimescaleResult:
    """The result when the input network already meets the bound: nothing evaluated."""
    n_groups = int(groups.max()) + 1
    return TimescaleResult(
        params=np.zeros((0, n_groups, 2)), values=np.zeros(0),
        is_initial=np.zeros(0, bool), best_params=current, best_value=0.0,
        initial_params=current, groups=groups, tau_before=net.tau_mem.copy(),
        tau_after=net.tau_mem.copy(), current_value=0.0, accepted=False,
        lambda_before=before[0], lambda_stderr_before=before[1],
        lambda_after=before[0], lambda_stderr_after=before[1])


def _accept_best(net: SpikingNetwork, runs: BOResult, evaluated: list, current: np.ndarray,
                 current_value: float, before: tuple[float, float], groups: np.ndarray
                 ) -> tuple[SpikingNetwork, TimescaleResult]:
    """The best evaluated network if strictly better than the input's own value, else an
    unchanged copy, with the :class:`TimescaleResult` of the run."""
    best_index = int(np.argmin(runs.values))
    accepted = bool(runs.values[best_index] < current_value)
    if accepted:
        best = runs.best_params
        tau_after, after = evaluated[best_index]
        metadata = json.loads(json.dumps(net.metadata))
        metadata["tau_mem_dist"] = [{"shape": float(a), "scale": float(b)} for a, b in best]
        new_net = net.copy(tau_mem=tau_after, metadata=metadata)
        best_value = float(runs.values[best_index])
    else:
        best, tau_after, new_net = current, net.tau_mem.copy(), net.copy()
        best_value, after = float(current_value), before
    result = TimescaleResult(params=runs.params, values=runs.values, is_initial=runs.is_initial,
                             best_params=best, best_value=best_value,
                             initial_params=current, groups=groups,
                             tau_before=net.tau_mem.copy(), tau_after=tau_after,
                             current_value=float(current_value), accepted=accepted,
                             lambda_before=before[0], lambda_stderr_before=before[1],
                             lambda_after=after[0], lambda_stderr_after=after[1])
    return new_net, result


def optimize_timescales(net: SpikingNetwork, budget: int = 20, seed=None,
                        objective: Callable[[SpikingNetwork, np.ndarray], float] | None = None,
                        bounds=DEFAULT_BOUNDS, n_init: int = 3, n_candidates: int = 2000,
                        progress: bool | None = None, *, include_current: bool = True,
                        n_quad: int = 256, xi: float = 0.0
                        ) -> tuple[SpikingNetwork, TimescaleResult]:
    """LNP step IV: BO over the gamma distribution(s) of ``tau_mem``, then resample.

    Chakraborty et al., ICLR 2024, Sec. 3.1 step IV and Suppl. D.1 (see the module
    docstring for the kernel, the Wasserstein distance, EI and the default objective).

    Parameters
    ----------
    net : the network (pruned or not); one gamma per cluster if ``net.cluster`` is set.
    budget : objective evaluations in total (>= 1).
    seed : int, Generator or None: candidates, initial design, and the per-neuron
        uniforms used for inverse-transform sampling of ``tau_mem``.
    objective : ``objective(candidate_net, params) -> float`` to minimise; default
        :func:`lyapunov_objective` (``max(0, lambda_max + 1 s^-1)^2`` at the operating point).
    bounds : ((shape_min, shape_max), (scale_min, scale_max) in seconds).
    n_init : initial design size (the current distribution, if ``include_current``, plus
        random candidates).
    n_candidates : seeded candidate set over which EI is maximised.
    progress : tqdm bar (None: only on a terminal).
    include_current : evaluate the input network's distribution first.

    Returns
    -------
    new_net : copy of ``net`` with ``tau_mem`` resampled from the best distribution
        (inverse transform of the same uniforms used while evaluating, clipped to
        ``>= 2 dt``) and ``metadata['tau_mem_dist']`` updated; an unchanged copy when no
        candidate's objective is strictly below the input network's own.
    result : :class:`TimescaleResult`.
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if objective is None:
        objective = lyapunov_objective()
    elif not callable(objective):
        raise ValueError("objective must be callable: objective(net, params) -> float")
    rng = make_rng(seed)
    groups = _groups_of(net)
    n_groups = int(groups.max()) + 1
    bo = DistributionBO(n_groups=n_groups, budget=budget, n_init=n_init, bounds=bounds,
                        n_candidates=n_candidates, n_quad=n_quad, clip_min=2.0 * net.dt,
                        xi=xi, seed=rng, progress=progress)
    # Common random numbers: every candidate maps the same uniforms through its quantile.
    uniforms = rng.random(net.n_total_neurons)
    current = _current_params(net, groups)
    # The reference is the input network itself, not a resample of its distribution: step
    # IV must never move away from its target, so it changes the time constants only for
    # a candidate that is strictly better than what the network already has.
    current_value, before = _score(objective, net, current)
    if isinstance(objective, LyapunovObjective) and objective.mode == "bound" \
            and current_value == 0.0:
        # Already within the bound: no candidate can be strictly better, so none is run.
        return net.copy(), _within_bound_result(net, current, groups, before)
    # (tau_mem, (lambda_max, stderr)) of every evaluation, in the order of runs.values.
    evaluated: list[tuple[np.ndarray, tuple[float, float]]] = []

    def evaluate(params: np.ndarray) -> float:
        """Objective of the network with tau_mem sampled from ``params``."""
        tau = _sample_tau(params, groups, uniforms, net.dt)
        value, measured = _score(objective, net.copy(tau_mem=tau), params)
        evaluated.append((tau, measured))
        return value

    runs = bo.run(evaluate, initial=[current] if include_current else None)
    return _accept_best(net, runs, evaluated, current, current_value, before, groups)
