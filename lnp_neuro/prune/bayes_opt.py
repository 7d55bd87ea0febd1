"""Bayesian optimisation over gamma distributions, the optimiser of LNP step IV
(Chakraborty et al., ICLR 2024, Suppl. D.1, after Perez-Nieves et al. 2021): the
Wasserstein-2 embedding of gamma quantile functions, the Matern-5/2 Gaussian process on
it (Rasmussen & Williams 2006, Eq. 2.25-2.26, 2.30), expected improvement (Jones et al.
1998) and the search loop. The equations are in :mod:`.timescales`' module docstring.

Kept apart from :mod:`.timescales` (the network objective and the resampling of
``tau_mem``): this module changes with the optimiser, that one with what is optimised.
Re-exported by :mod:`.timescales`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg as sla
import scipy.stats as st
from tqdm.auto import tqdm

from .._util.validation import check_float, check_int, make_rng

__all__ = [
    "gamma_quantile_embedding",
    "wasserstein_gamma",
    "matern52",
    "GaussianProcess",
    "expected_improvement",
    "BOResult",
    "DistributionBO",
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
