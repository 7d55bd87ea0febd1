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
surrogate from :func:`lnp_neuro.lyapunov.network_spectrum` (k = 1, 100 transient + 100
accumulated steps, a fixed seed) and ``target = -1 s^-1``: "just below 0" at the network's
own scale, one e-fold per second, i.e. fifty times slower than the decay of a 20 ms
membrane. Each evaluation samples ``tau_mem`` by inverse transform from the same per-neuron
uniforms (common random numbers) and the spectrum uses fixed seeds, so the objective is a
deterministic function of the parameters (no sampling noise between candidates), and the
returned network is exactly the best evaluated one.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg as sla
import scipy.stats as st
from tqdm.auto import tqdm

from ..network import SpikingNetwork
from ..validation import check_float, check_int, make_rng

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

#: Default search box: gamma shape in [1, 20], scale in [1 ms, 20 ms] (mean 1 ms - 400 ms).
DEFAULT_BOUNDS = ((1.0, 20.0), (1e-3, 2e-2))


# ------------------------------------------------------------------------ validation
def _check_bounds(bounds) -> np.ndarray:
    try:
        b = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("bounds must be ((shape_min, shape_max), (scale_min, scale_max))") from None
    if b.shape != (2, 2):
        raise ValueError("bounds must be ((shape_min, shape_max), (scale_min, scale_max)), "
                         f"got shape {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(b[:, 0] > b[:, 1]):
        raise ValueError(f"bounds must be positive (min, max) pairs with min <= max, got {b.tolist()}")
    return b


def _check_params(params, name: str = "params") -> np.ndarray:
    p = np.asarray(params, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_groups, 2) of (shape, scale), got {p.shape}")
    if not np.all(np.isfinite(p) & (p > 0)):
        raise ValueError(f"{name} must hold positive gamma shapes and scales, got {p.tolist()}")
    return p


# ----------------------------------------------------------------- Wasserstein / kernel
@functools.lru_cache(maxsize=8)
def _quadrature(n_quad: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n_quad)
    q, w = 0.5 * (x + 1.0), 0.5 * w
    q.setflags(write=False)
    w.setflags(write=False)
    return q, w


def gamma_quantile_embedding(params, n_quad: int = 256, clip_min: float = 0.0) -> np.ndarray:
    """Vector whose Euclidean distances are W2 distances between (products of) gammas.

    ``params`` (n_groups, 2) of (shape, scale) -> array ``(n_groups * n_quad,)`` holding
    ``sqrt(w_j) * max(F^-1(q_j), clip_min)`` per group, ``(q_j, w_j)`` the Gauss-Legendre
    nodes and weights on (0, 1). ``||e1 - e2||_2^2 = sum_c int_0^1 (F1c^-1 - F2c^-1)^2 dq``.
    A stack of parameter sets ``(n, n_groups, 2)`` gives ``(n, n_groups * n_quad)``.
    """
    arr = np.asarray(params, dtype=np.float64)
    batched = arr.ndim == 3
    p = arr.reshape(-1, 2) if batched else _check_params(arr)
    if batched and not np.all(np.isfinite(p) & (p > 0)):
        raise ValueError("params must hold positive gamma shapes and scales")
    n_quad = check_int(n_quad, "n_quad", 2)
    clip_min = check_float(clip_min, "clip_min", 0.0)
    q, w = _quadrature(n_quad)
    quant = st.gamma.ppf(q[None, :], p[:, :1], scale=p[:, 1:2])
    emb = np.sqrt(w)[None, :] * np.maximum(quant, clip_min)
    return emb.reshape(arr.shape[0], -1) if batched else emb.ravel()


def wasserstein_gamma(shape1: float, scale1: float, shape2: float, scale2: float,
                      p: float = 2, n_quad: int = 256) -> float:
    """p-Wasserstein distance between Gamma(shape1, scale1) and Gamma(shape2, scale2).

    ``W_p = (int_0^1 |F1^-1(q) - F2^-1(q)|^p dq)^(1/p)`` (the quantile form of the 1-D
    optimal transport cost; Villani 2003, Thm 2.18), by Gauss-Legendre quadrature.
    Closed form for equal shapes: ``W1 = shape |scale1 - scale2|`` (the mean difference),
    ``W2 = sqrt(shape (shape + 1)) |scale1 - scale2|``.
    """
    for name, val in (("shape1", shape1), ("scale1", scale1), ("shape2", shape2),
                      ("scale2", scale2), ("p", p)):
        check_float(val, name, 0.0, strict=True)
    if p < 1:
        raise ValueError(f"p must be >= 1, got {p}")
    q, w = _quadrature(check_int(n_quad, "n_quad", 2))
    diff = np.abs(st.gamma.ppf(q, shape1, scale=scale1) - st.gamma.ppf(q, shape2, scale=scale2))
    return float((w * diff ** p).sum() ** (1.0 / p))


def matern52(distance, length_scale: float) -> np.ndarray:
    """Matern kernel with nu = 5/2 (Rasmussen & Williams 2006, Eq. 4.17), unit variance."""
    length_scale = check_float(length_scale, "length_scale", 0.0, strict=True)
    r = np.sqrt(5.0) * np.asarray(distance, dtype=np.float64) / length_scale
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


class GaussianProcess:
    """GP regression with a Matern-5/2 kernel on Euclidean distances of embeddings.

    With :func:`gamma_quantile_embedding` inputs the distance is the Wasserstein-2
    distance between the candidate distributions (module docstring). Targets are
    standardised; ``length_scale`` and the noise variance (relative to the standardised
    targets) are picked from grids by the log marginal likelihood (Rasmussen & Williams
    2006, Eq. 2.30) unless given. Posterior mean/variance: R&W Eq. 2.25-2.26.
    """

    def __init__(self, length_scale: float | None = None, noise: float | None = None,
                 n_length_scales: int = 25, noise_grid=(1e-6, 1e-3, 1e-2, 1e-1)):
        self.length_scale = None if length_scale is None else check_float(
            length_scale, "length_scale", 0.0, strict=True)
        self.noise = None if noise is None else check_float(noise, "noise", 0.0, strict=True)
        self.n_length_scales = check_int(n_length_scales, "n_length_scales", 1)
        grid = np.asarray(noise_grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0 or np.any(~np.isfinite(grid) | (grid <= 0)):
            raise ValueError("noise_grid must be a non-empty list of positive numbers")
        self.noise_grid = grid

    def _lml(self, dist, y, ls, noise):
        k = matern52(dist, ls) + noise * np.eye(y.size)
        try:
            chol = sla.cho_factor(k, lower=True)
        except np.linalg.LinAlgError:
            return -np.inf, None
        alpha = sla.cho_solve(chol, y)
        lml = -0.5 * y @ alpha - np.log(np.diag(chol[0])).sum() - 0.5 * y.size * np.log(2 * np.pi)
        return lml, (chol, alpha)

    def fit(self, x, y) -> "GaussianProcess":
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape[0] != y.size or y.size == 0:
            raise ValueError(f"x has {x.shape[0]} rows but y has {y.size} values")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("x and y must be finite")
        self.x_ = x
        self.y_mean_ = float(y.mean())
        self.y_std_ = float(y.std()) if y.size > 1 and y.std() > 0 else 1.0
        ys = (y - self.y_mean_) / self.y_std_
        dist = _pairwise(x, x)
        positive = dist[dist > 0]
        scale = float(np.median(positive)) if positive.size else 1.0
        ls_grid = ([self.length_scale] if self.length_scale is not None
                   else scale * np.geomspace(0.05, 5.0, self.n_length_scales))
        noise_grid = [self.noise] if self.noise is not None else self.noise_grid
        best = (-np.inf, None, None, None)
        for ls in ls_grid:
            for noise in noise_grid:
                lml, fact = self._lml(dist, ys, ls, noise)
                if lml > best[0]:
                    best = (lml, ls, noise, fact)
        if best[3] is None:
            raise np.linalg.LinAlgError("GP kernel matrix is not positive definite for any "
                                        "length scale / noise on the grid")
        self.log_marginal_likelihood_, self.length_scale_, self.noise_, (self._chol, self._alpha) = best
        return self

    def predict(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (in the units of y) at ``x``."""
        if not hasattr(self, "x_"):
            raise RuntimeError("call fit before predict")
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        ks = matern52(_pairwise(x, self.x_), self.length_scale_)
        mean = ks @ self._alpha
        v = sla.cho_solve(self._chol, ks.T)
        var = np.maximum(1.0 - (ks * v.T).sum(1), 0.0)
        return self.y_mean_ + self.y_std_ * mean, self.y_std_ * np.sqrt(var)


def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for minimisation: ``(f* - mu - xi) Phi(z) + sigma phi(z)``, ``z = (f* - mu - xi)/sigma``
    (Jones, Schonlau & Welch 1998; Frazier 2018, Eq. 8). Zero where ``sigma = 0`` and
    ``mu >= f*``."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    improve = float(best) - mean - float(xi)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, improve / std, 0.0)
    ei = np.where(std > 0, improve * st.norm.cdf(z) + std * st.norm.pdf(z),
                  np.maximum(improve, 0.0))
    return np.maximum(ei, 0.0)


# ----------------------------------------------------------------------- BO engine
@dataclass(eq=False)
class BOResult:
    """Evaluations of a :class:`DistributionBO` run.

    Attributes
    ----------
    params : array (n_evals, n_groups, 2), evaluated (shape, scale) per group, in order.
    values : array (n_evals,), objective values (lower is better).
    is_initial : bool array (n_evals,), True for the initial (non-BO) design.
    best_index : index of the lowest value.
    """

    params: np.ndarray
    values: np.ndarray
    is_initial: np.ndarray
    best_index: int = field(init=False)

    def __post_init__(self) -> None:
        self.params = np.asarray(self.params, dtype=np.float64)
        self.values = np.asarray(self.values, dtype=np.float64)
        self.is_initial = np.asarray(self.is_initial, dtype=bool)
        if self.params.ndim != 3 or self.params.shape[2] != 2:
            raise ValueError(f"params must have shape (n_evals, n_groups, 2), got {self.params.shape}")
        n = self.params.shape[0]
        if self.values.shape != (n,) or self.is_initial.shape != (n,) or n == 0:
            raise ValueError("values and is_initial need one entry per evaluation (>= 1)")
        self.best_index = int(np.argmin(self.values))

    @property
    def best_params(self) -> np.ndarray:
        return self.params[self.best_index]

    @property
    def best_value(self) -> float:
        return float(self.values[self.best_index])


class DistributionBO:
    """Bayesian optimisation over gamma distributions (ICLR 2024 Suppl. D.1; module doc).

    Configuration only in ``__init__``; :meth:`run` does the work.

    Parameters
    ----------
    n_groups : number of gamma distributions optimised jointly (clusters).
    budget : total objective evaluations (>= 1), initial design included.
    n_init : evaluations of the initial design (random candidates, after ``initial``).
    bounds : ((shape_min, shape_max), (scale_min, scale_max)); candidates are log-uniform.
    n_candidates : size of the seeded candidate set over which EI is maximised.
    n_quad : quadrature points of the Wasserstein embedding.
    clip_min : floor applied to quantiles (2 dt for time constants).
    xi : EI exploration offset (in objective units).
    seed : int, Generator or None.
    progress : tqdm bar over evaluations (None: only on a terminal).
    """

    def __init__(self, n_groups: int = 1, budget: int = 20, n_init: int = 3,
                 bounds=DEFAULT_BOUNDS, n_candidates: int = 2000, n_quad: int = 256,
                 clip_min: float = 0.0, xi: float = 0.0, seed=None,
                 progress: bool | None = None):
        self.n_groups = check_int(n_groups, "n_groups", 1)
        self.budget = check_int(budget, "budget", 1)
        self.n_init = check_int(n_init, "n_init", 1)
        self.bounds = _check_bounds(bounds)
        self.n_candidates = check_int(n_candidates, "n_candidates", 1)
        self.n_quad = check_int(n_quad, "n_quad", 2)
        self.clip_min = check_float(clip_min, "clip_min", 0.0)
        self.xi = check_float(xi, "xi", 0.0)
        self.seed = seed
        self.progress = progress

    def sample_candidates(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` candidates (n, n_groups, 2), log-uniform inside the bounds."""
        lo, hi = np.log(self.bounds[:, 0]), np.log(self.bounds[:, 1])
        u = rng.random((n, self.n_groups, 2))
        return np.exp(lo + u * (hi - lo))

    def _embed(self, params: np.ndarray) -> np.ndarray:
        return gamma_quantile_embedding(params, self.n_quad, self.clip_min)

    def run(self, objective: Callable[[np.ndarray], float], initial=None) -> BOResult:
        """Minimise ``objective(params)`` (params: (n_groups, 2)) within the budget.

        ``initial``: optional list of parameter arrays evaluated first (e.g. the current
        distribution); they count toward ``n_init`` and the budget.
        """
        if not callable(objective):
            raise ValueError("objective must be callable: objective(params) -> float")
        rng = make_rng(self.seed)
        cands = self.sample_candidates(rng, self.n_candidates)
        cand_embed = self._embed(cands)
        used = np.zeros(len(cands), bool)
        design: list[np.ndarray] = []
        for p in (initial or []):
            p = _check_params(p, "initial")
            if p.shape[0] != self.n_groups:
                raise ValueError(f"initial params need {self.n_groups} groups, got {p.shape[0]}")
            design.append(p)
        n_random = max(0, min(self.n_init, self.budget) - len(design))
        for i in rng.choice(len(cands), size=min(n_random, len(cands)), replace=False):
            design.append(cands[i])
            used[i] = True
        design = design[: self.budget]

        params, embeds, values, initial_flags = [], [], [], []
        disable = None if self.progress is None else not bool(self.progress)
        with tqdm(total=self.budget, disable=disable, desc="timescale BO", leave=False) as bar:
            def evaluate(p, emb, is_init):
                val = float(objective(p))
                if not np.isfinite(val):
                    raise ValueError(f"objective returned a non-finite value {val} for {p.tolist()}")
                params.append(p)
                embeds.append(emb)
                values.append(val)
                initial_flags.append(is_init)
                bar.update()

            for p in design:
                evaluate(p, self._embed(p), True)
            while len(values) < self.budget and not used.all():
                gp = GaussianProcess().fit(np.stack(embeds), np.array(values))
                mean, std = gp.predict(cand_embed)
                ei = expected_improvement(mean, std, min(values), self.xi)
                ei[used] = -1.0
                # Ties (e.g. EI underflowing to 0 far from data) go to the lowest mean.
                i = int(np.lexsort((mean, -ei))[0])
                used[i] = True
                evaluate(cands[i], cand_embed[i], False)
        return BOResult(np.stack(params), np.array(values), np.array(initial_flags))


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

    ``measure="operating_point"`` (default): :func:`lnp_neuro.operating_point.
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
            from ..operating_point import operating_lambda_max
            est = operating_lambda_max(net, n_drives=self.n_drives, n_steps=self.n_steps,
                                       seed=self.seed, k=min(self.k, net.n_active_neurons),
                                       n_transient=self.n_transient, memo=self.memo)
            return est.mean, est.stderr
        from ..lyapunov import network_spectrum
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
    unmeasured = (float("nan"), float("nan"))

    def score(candidate: SpikingNetwork, params) -> tuple[float, tuple[float, float]]:
        """Objective value and, for a LyapunovObjective, (lambda_max, its stderr)."""
        if isinstance(objective, LyapunovObjective):
            value, lam, se = objective.evaluate(candidate)
            return value, (lam, se)
        return float(objective(candidate, params)), unmeasured

    # The reference is the input network itself, not a resample of its distribution: step
    # IV must never move away from its target, so it changes the time constants only for
    # a candidate that is strictly better than what the network already has.
    current_value, before = score(net, current)
    if isinstance(objective, LyapunovObjective) and objective.mode == "bound" \
            and current_value == 0.0:
        # Already within the bound: no candidate can be strictly better, so none is run.
        return net.copy(), TimescaleResult(
            params=np.zeros((0, n_groups, 2)), values=np.zeros(0),
            is_initial=np.zeros(0, bool), best_params=current, best_value=0.0,
            initial_params=current, groups=groups, tau_before=net.tau_mem.copy(),
            tau_after=net.tau_mem.copy(), current_value=0.0, accepted=False,
            lambda_before=before[0], lambda_stderr_before=before[1],
            lambda_after=before[0], lambda_stderr_after=before[1])
    # (tau_mem, (lambda_max, stderr)) of every evaluation, in the order of runs.values.
    evaluated: list[tuple[np.ndarray, tuple[float, float]]] = []

    def evaluate(params: np.ndarray) -> float:
        tau = _sample_tau(params, groups, uniforms, net.dt)
        value, measured = score(net.copy(tau_mem=tau), params)
        evaluated.append((tau, measured))
        return value

    runs = bo.run(evaluate, initial=[current] if include_current else None)
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
