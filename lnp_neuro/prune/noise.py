"""LNP step I: noise pruning of synapses (Chakraborty et al., ICLR 2024, Sec. 3.1 Eq. 3-4,
Suppl. A.2 Eq. 7-8; after Moore & Chaudhuri, NeurIPS 2020, Sec. 3 "spectrally-preserving
noise pruning").

For the linearised network ``dx/dt = (-D + W) x + sigma xi`` with stationary covariance
``C`` (:mod:`lnp_neuro.prune.covariance`), the synapse j -> i (``w_ij = W[i, j]``) is kept
independently with probability::

    p_ij = min(1, rho |w_ij| (C_ii + C_jj - 2 sign(w_ij) C_ij) / Lambda_ij)

and a kept weight is rescaled to ``w_ij / p_ij`` so that ``E[W'] = W``. ``Lambda_ij`` is the
Lyapunov matrix (:mod:`lnp_neuro.prune.lyapunov_matrix`); with ``lyapunov_matrix=None`` it
is 1 and the rule is Moore & Chaudhuri's. ``C_ii + C_jj - 2 C_ij = Var(x_i - x_j)`` (and
with ``+`` for an inhibitory weight ``Var(x_i + x_j)``), so every score is >= 0.
``rho`` sets the density: :func:`rho_for_keep_count` solves
``sum_e min(1, rho s_e) = n_keep`` exactly (piecewise-linear in rho), so the *expected*
number of kept synapses equals the target.

Diagonal (paper Eq. 4 text; design section 3, step I): by default ``D`` is kept. With
``compensate_diagonal=True`` it becomes ``D_ii + sum_j (w'_ij - w_ij)``, the change of
total input to neuron i; docs/design.md records that this signed compensation can make the network
unstable, so the result's stability is then checked and an instability is reported
(warning, or error with ``on_unstable="raise"``), never hidden.

Stored diagonal entries of ``weights`` (autapses) belong to the diagonal of ``A`` and are
always kept unchanged (they are not sampled).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..model.network import canonical_csr
from .covariance import (CovarianceEstimate, UnstableNetworkError, check_leak,
                         covariance_at_edges, spectral_abscissa)

__all__ = ["UnstableNetworkWarning", "NoisePruneInfo", "noise_scores", "rho_for_keep_count",
           "rho_for_density", "keep_probability", "noise_prune", "pruning_covariance",
           "random_prune"]


class UnstableNetworkWarning(RuntimeWarning):
    """A pruned linearised network ``-D' + W'`` is unstable (reported, not hidden)."""


@dataclass(frozen=True, eq=False)
class NoisePruneInfo:
    """What one noise-pruning draw did (:func:`noise_prune`, and step I on a network,
    :func:`lnp_neuro.prune.pipeline.noise_prune_network`).

    Attributes
    ----------
    kept : bool array (n_before,)
        One flag per sampled synapse, True where the draw kept it. The sampled synapses are
        the stored entries of the pruned matrix in canonical CSR order (for a network: the
        active synapses between active neurons, in the order of
        ``effective_weights()[active][:, active]``).
    keep_probability : array (n_before,)
        ``p = min(1, rho * score)`` of each sampled synapse (1 for a stored autapse).
    rho : float or None
        The density parameter of the draw; None when nothing was sampled (the network had no
        synapse, or at most ``n_keep`` of them, so every synapse stays as it is).
    covariance : CovarianceEstimate or None
        The covariance the scores were computed from (None when nothing was sampled).
    leak : array or None
        The diagonal ``D`` of the linear system after pruning: the input leak, or with
        ``compensate_diagonal`` the compensated one; for a network, the leak of the
        linearisation including ``leak_shift``. None when nothing was sampled.
    spectral_abscissa : float or None
        Largest real part of an eigenvalue of ``-D' + W'`` after diagonal compensation
        (None without compensation).
    linear_abscissa : float or None
        Network step only: spectral abscissa of the linearised network before pruning.
    leak_shift : float
        Network step only: uniform leak shift (1/s, >= 0) that placed the linearisation on
        the stable side of criticality for the covariance (0 when it was stable enough).
    """

    kept: np.ndarray
    keep_probability: np.ndarray
    rho: float | None
    covariance: CovarianceEstimate | None = None
    leak: np.ndarray | None = None
    spectral_abscissa: float | None = None
    linear_abscissa: float | None = None
    leak_shift: float = 0.0

    def __post_init__(self) -> None:
        kept = np.asarray(self.kept)
        if kept.ndim != 1 or kept.dtype != np.bool_:
            raise ValueError(f"NoisePruneInfo.kept must be a 1-D bool array, got shape "
                             f"{kept.shape} and dtype {kept.dtype}")
        prob = np.asarray(self.keep_probability)
        if prob.shape != kept.shape:
            raise ValueError(f"NoisePruneInfo.keep_probability must have one value per sampled "
                             f"synapse ({kept.size},), got shape {prob.shape}")
        if prob.size and not (np.all(prob >= 0) and np.all(prob <= 1)):
            raise ValueError("NoisePruneInfo.keep_probability must lie in [0, 1]")
        if self.rho is not None and not (np.isfinite(self.rho) and self.rho > 0):
            raise ValueError(f"NoisePruneInfo.rho must be a positive number or None, "
                             f"got {self.rho}")
        if self.rho is None and not kept.all():
            raise ValueError("NoisePruneInfo.kept must be all True when rho is None "
                             "(nothing was sampled)")
        if not (np.isfinite(self.leak_shift) and self.leak_shift >= 0):
            raise ValueError(f"NoisePruneInfo.leak_shift must be a finite number >= 0, "
                             f"got {self.leak_shift}")

    @classmethod
    def nothing_sampled(cls, n_synapses: int) -> "NoisePruneInfo":
        """The record of a step that kept all ``n_synapses`` synapses without a draw."""
        return cls(kept=np.ones(int(n_synapses), bool),
                   keep_probability=np.ones(int(n_synapses)), rho=None)

    @property
    def skipped(self) -> bool:
        """True when nothing was sampled (every synapse kept as it was)."""
        return self.rho is None

    @property
    def n_before(self) -> int:
        """Number of synapses the draw could remove."""
        return int(self.kept.size)

    @property
    def n_kept(self) -> int:
        """Number of sampled synapses the draw kept."""
        return int(np.count_nonzero(self.kept))

    @property
    def expected_kept(self) -> float:
        """Expected number of kept synapses, ``sum p``."""
        return float(self.keep_probability.sum())

    @property
    def covariance_method(self) -> str | None:
        """``"exact"`` or ``"estimate"`` (None when nothing was sampled)."""
        return None if self.covariance is None else self.covariance.method

    @property
    def stable(self) -> bool | None:
        """After diagonal compensation: whether ``-D' + W'`` is stable (None without it)."""
        return None if self.spectral_abscissa is None else bool(self.spectral_abscissa < 0)

    def to_dict(self) -> dict:
        """The JSON-ready record :func:`lnp` keeps in its history under ``"noise"`` (counts
        and scalars, no per-synapse arrays): ``n_before``, ``n_kept``, ``rho``,
        ``expected_kept``, ``linear_abscissa``, ``leak_shift``, ``covariance_method``; or,
        when nothing was sampled, ``n_before``, ``n_kept`` and ``skipped: True``."""
        if self.skipped:
            return {"n_before": self.n_before, "n_kept": self.n_kept, "skipped": True}
        return {"n_before": self.n_before, "n_kept": self.n_kept, "rho": float(self.rho),
                "expected_kept": self.expected_kept, "linear_abscissa": self.linear_abscissa,
                "leak_shift": float(self.leak_shift),
                "covariance_method": self.covariance_method}


def _seed_rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def noise_scores(weights, leak, sigma: float = 1.0, lyapunov_matrix=None,
                 covariance="auto", **covariance_options) -> tuple[np.ndarray, CovarianceEstimate]:
    """Per stored synapse: ``s_ij = |w_ij| (C_ii + C_jj - 2 sign(w_ij) C_ij) / Lambda_ij``.

    ``covariance`` is ``"auto"``, ``"exact"``, ``"estimate"`` (passed to
    :func:`covariance_at_edges` with ``covariance_options``) or a ready
    :class:`CovarianceEstimate` for these weights. Returns (scores, covariance).
    """
    w = canonical_csr(weights, "weights")
    n = w.shape[0]
    if w.shape[1] != n:
        raise ValueError(f"weights must be square (N, N), got shape {w.shape}")
    leak = check_leak(leak, n)
    if isinstance(covariance, CovarianceEstimate):
        cov = covariance
        if cov.diagonal.shape != (n,) or cov.edges.shape != (w.nnz,):
            raise ValueError("covariance does not match weights (one diagonal entry per neuron, "
                             "one edge entry per stored synapse expected)")
    elif isinstance(covariance, str):
        cov = covariance_at_edges(w, leak, sigma, method=covariance, **covariance_options)
    else:
        raise ValueError(f"covariance must be 'auto', 'exact', 'estimate' or a "
                         f"CovarianceEstimate, got {type(covariance).__name__}")
    if lyapunov_matrix is None:
        lam = np.ones(w.nnz)
    else:
        lam = np.asarray(lyapunov_matrix, dtype=np.float64)
        if lam.shape != (w.nnz,):
            raise ValueError(f"lyapunov_matrix must have one value per stored synapse "
                             f"({w.nnz},), got {lam.shape}")
        if not np.all(np.isfinite(lam) & (lam > 0)):
            raise ValueError("lyapunov_matrix values must be finite and positive "
                             "(harmonic means of multipliers exp(lambda dt))")
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    spread = cov.diagonal[post] + cov.diagonal[pre] - 2.0 * np.sign(w.data) * cov.edges
    # Estimated covariances can make a tiny variance slightly negative: clip at zero.
    scores = np.abs(w.data) * np.maximum(spread, 0.0) / lam
    return scores, cov


def pruning_covariance(weights, leak, sigma: float, covariance, rng: np.random.Generator,
                       **covariance_options):
    """The covariance :func:`noise_prune` scores the synapses with: ``covariance`` itself
    when it is a ready :class:`CovarianceEstimate` (or anything else, for
    :func:`noise_scores` to check), else :func:`covariance_at_edges` by that method, its
    noise drawn from ``rng`` (the generator whose keep draws then continue) unless the
    options give a seed."""
    if not isinstance(covariance, str):
        return covariance
    if covariance != "exact":
        covariance_options.setdefault("seed", rng)
    return covariance_at_edges(weights, leak, sigma, method=covariance, **covariance_options)


def rho_for_keep_count(scores, n_keep: float) -> float:
    """The ``rho`` with ``sum_e min(1, rho * scores_e) = n_keep`` (expected kept synapses).

    Exact: with scores sorted in decreasing order and the first m saturated, the sum is
    ``m + rho * sum_{e >= m} s_e``; the m that is consistent is found by one pass.
    ``n_keep`` must not exceed the number of positive scores.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or np.any(~np.isfinite(s)) or np.any(s < 0):
        raise ValueError("scores must be a 1-D array of finite non-negative numbers")
    n_keep = float(n_keep)
    positive = int(np.count_nonzero(s > 0))
    if not (np.isfinite(n_keep) and 0 < n_keep <= positive):
        raise ValueError(f"n_keep must be in (0, {positive}] (synapses with a positive score), "
                         f"got {n_keep}")
    desc = np.sort(s[s > 0])[::-1]
    tail = np.concatenate([np.cumsum(desc[::-1])[::-1], [0.0]])   # tail[m] = sum_{e>=m}
    # Every candidate m at once (the same operations per m as a loop over m), then the
    # first consistent one: exactly the first m saturated, rho*desc[m-1] >= 1 >= rho*desc[m].
    last = min(int(np.floor(n_keep)), desc.size - 1)
    m = np.arange(last + 1)
    rho = (n_keep - m) / tail[:last + 1]
    consistent = rho * desc[:last + 1] <= 1.0
    consistent[1:] &= rho[1:] * desc[:last] >= 1.0
    hit = np.flatnonzero(consistent)
    # None consistent (n_keep at the count of positive scores, or rounding at a
    # boundary): the rho that saturates the first last + 1 scores.
    return float(rho[hit[0]]) if hit.size else float(1.0 / desc[last])


def rho_for_density(scores, n_neurons: int, target_density: float) -> float:
    """``rho`` whose expected kept synapse count is ``target_density * n_neurons**2``."""
    if not (0 < float(target_density) <= 1):
        raise ValueError(f"target_density must be in (0, 1], got {target_density}")
    if int(n_neurons) < 1:
        raise ValueError(f"n_neurons must be >= 1, got {n_neurons}")
    return rho_for_keep_count(scores, float(target_density) * int(n_neurons) ** 2)


def keep_probability(scores, rho: float) -> np.ndarray:
    """``p = min(1, rho * scores)``."""
    rho = float(rho)
    if not (np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a positive number, got {rho}")
    return np.minimum(1.0, rho * np.asarray(scores, dtype=np.float64))


def _sample(w: sp.csr_matrix, prob: np.ndarray, rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray]:
    n = w.shape[0]
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    keep = rng.random(w.nnz) < prob
    data = w.data.copy()
    data[keep] = data[keep] / prob[keep]
    out = sp.csr_matrix((data[keep], (post[keep], pre[keep])), shape=w.shape)
    out.sort_indices()
    return out, keep


def noise_prune(weights, leak, rho: float | None = None, sigma: float = 1.0,
                lyapunov_matrix=None, compensate_diagonal: bool = False, seed=None,
                covariance="auto", *, n_keep: float | None = None,
                on_unstable: str = "warn", **covariance_options
                ) -> tuple[sp.csr_matrix, NoisePruneInfo]:
    """Noise-prune the synapses of ``A = -diag(leak) + W`` (see module docstring).

    Parameters
    ----------
    weights : sparse (N, N) ``W[post, pre]``.
    leak : array (N,) or number: the diagonal ``D``.
    rho : density parameter; or give ``n_keep`` (expected number of kept synapses) and rho
        is solved by :func:`rho_for_keep_count`.
    sigma : noise standard deviation of the probe.
    lyapunov_matrix : per stored synapse ``Lambda_ij`` (> 0) or None (plain Moore-Chaudhuri).
    compensate_diagonal : if True, ``D_ii += sum_j (w'_ij - w_ij)``.
    seed : int, Generator or None; drives the keep draws (and the covariance estimator).
    covariance : "auto" | "exact" | "estimate" | CovarianceEstimate.
    on_unstable : "warn" or "raise" when the compensated network is unstable.

    Returns ``(weights', info)``: the sparse CSR with only the kept synapses, and a
    :class:`NoisePruneInfo` whose ``leak`` is the diagonal after pruning (``leak``
    unchanged unless ``compensate_diagonal``).
    """
    if on_unstable not in ("warn", "raise"):
        raise ValueError(f"on_unstable must be 'warn' or 'raise', got {on_unstable!r}")
    if (rho is None) == (n_keep is None):
        raise ValueError("give exactly one of rho or n_keep")
    w = canonical_csr(weights, "weights")
    n = w.shape[0]
    leak = check_leak(leak, n)
    rng = _seed_rng(seed)
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    loop = pre == post
    cov = pruning_covariance(w, leak, sigma, covariance, rng, **covariance_options)
    scores, cov = noise_scores(w, leak, sigma, lyapunov_matrix, cov)
    if rho is None:
        sampled = scores[~loop]
        rho = rho_for_keep_count(sampled, min(float(n_keep), float(np.count_nonzero(sampled > 0))))
    prob = keep_probability(scores, rho)
    prob[loop] = 1.0
    new_w, kept = _sample(w, prob, rng)
    new_leak = leak.copy()
    abscissa = None
    if compensate_diagonal:
        delta = np.asarray(new_w.sum(axis=1)).ravel() - np.asarray(w.sum(axis=1)).ravel()
        new_leak = leak + delta
        abscissa = spectral_abscissa(new_w, new_leak)
        if abscissa >= 0:
            msg = (f"diagonal compensation made the pruned network unstable (largest real "
                   f"part of an eigenvalue of -D' + W' is {abscissa:.4g} >= 0)")
            if on_unstable == "raise":
                raise UnstableNetworkError(msg)
            warnings.warn(msg, UnstableNetworkWarning, stacklevel=2)
    return new_w, NoisePruneInfo(kept=kept, keep_probability=prob, rho=float(rho),
                                 covariance=cov, leak=new_leak, spectral_abscissa=abscissa)


def random_prune(weights, keep_fraction: float, seed=None) -> sp.csr_matrix:
    """Baseline of the noise-pruning test: keep each synapse with the same probability
    ``keep_fraction`` and rescale kept weights by ``1 / keep_fraction`` (unbiased)."""
    q = float(keep_fraction)
    if not (0 < q <= 1):
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    w = canonical_csr(weights, "weights")
    new_w, _ = _sample(w, np.full(w.nnz, q), _seed_rng(seed))
    return new_w
