"""Stationary covariance of the noise-driven linearised network (LNP step I, design section 3).

The linearised rate network of Chakraborty et al. (ICLR 2024, Sec. 3.1 Eq. 2-4, Suppl. A.2
Eq. 6-8), after Moore & Chaudhuri (NeurIPS 2020, "Using noise to probe and control
spectral structure in neural networks", Sec. 2), is driven by independent white noise::

    dx/dt = A x + sigma xi(t),        A = -D + W,   D = diag(leak),  W[post, pre]

Its stationary covariance ``C`` solves the continuous Lyapunov equation::

    A C + C A^T + sigma^2 I = 0

and exists only when ``A`` is stable (every eigenvalue has a negative real part). Noise
pruning needs ``C_ii`` and ``C_ij`` on existing edges only, so for large N
:func:`covariance_at_edges` estimates just those entries by simulating the SDE.

Estimator (``method="estimate"``): ``n_probes`` independent trajectories advance together
with the exponential-Euler scheme, exact for the leak and first order in the coupling::

    x_{k+1} = e^{-hD} x_k + (1 - e^{-hD}) D^{-1} (W x_k) + sigma sqrt((1 - e^{-2hD}) / 2D) xi_k

A control variate removes most of the Monte-Carlo noise: the decoupled system
``x0`` (same leak, ``W = 0``) is driven by the *same* noise and has the exact stationary
covariance ``C0 = sigma^2 / (2D)`` (diagonal), so the estimate is
``C0 + mean(x x^T - x0 x0^T)``, and ``x x^T`` and ``x0 x0^T`` share most of their
fluctuation when the coupling is weak. Both start from the stationary law of ``x0``.
Snapshots of ``d = x - x0`` and ``s = x + x0`` are stored as (N, S) float32 blocks and
the needed entries of ``sym(d s^T) = x x^T - x0 x0^T`` are formed by row blocks (a bounded
dense step of ``block_rows x N``), never an N x N matrix. The
Monte-Carlo error of an entry is about ``C_ii / sqrt(n_probes * T / (2 tau_corr))`` for a
simulated duration T and correlation time tau_corr of the network.
Divergence of the simulation (an unstable ``A``, or a step too large for the coupling) is
raised as :class:`UnstableNetworkError`, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._util.parallel import csr_matmul, csr_operator, map_blocks
from ..model.network import canonical_csr

__all__ = ["UnstableNetworkError", "CovarianceEstimate", "spectral_abscissa",
           "stationary_covariance", "covariance_at_edges", "gram_at_pattern",
           "check_leak"]


class UnstableNetworkError(ValueError):
    """The linearised network ``A = -D + W`` is unstable, so no stationary covariance exists."""


def check_leak(leak, n: int, name: str = "leak") -> np.ndarray:
    arr = np.asarray(leak, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per neuron ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values")
    return arr.copy()


def _check_sigma(sigma) -> float:
    sigma = float(sigma)
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number (noise standard deviation), got {sigma}")
    return sigma


def _system(weights, leak) -> tuple[sp.csr_matrix, np.ndarray]:
    w = canonical_csr(weights, "weights")
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"weights must be square (N, N), got shape {w.shape}")
    return w, check_leak(leak, w.shape[0])


def spectral_abscissa(weights, leak, *, dense_max_size: int = 800, tol: float = 1e-6,
                      seed: int | None = 0) -> float:
    """Largest real part of the eigenvalues of ``A = -diag(leak) + W``.

    Dense ``eigvals`` up to ``dense_max_size`` neurons; above, ARPACK (``which="LR"``).
    When ARPACK does not converge, the numerical abscissa ``lambda_max((A + A^T) / 2)``
    is returned instead: it is an upper bound (Bendixson), so a stability decision made
    on it errs on the safe side.
    """
    w, d = _system(weights, leak)
    n = w.shape[0]
    if n <= dense_max_size:
        a = w.toarray()
        a[np.diag_indices(n)] -= d
        return float(np.max(np.linalg.eigvals(a).real))
    a = (w - sp.diags(d)).tocsr()
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(n)
    # rng: ARPACK asks for a fresh random vector when its Krylov space closes early, and
    # scipy draws it from the OS unless given a generator.
    try:
        # csr_operator: a's products bit for bit, rows split over the cores.
        vals = spla.eigs(csr_operator(a), k=1, which="LR", tol=tol, maxiter=20 * n, v0=v0,
                         return_eigenvectors=False, rng=rng)
        return float(vals.real.max())
    except spla.ArpackNoConvergence:
        sym = ((a + a.T) * 0.5).tocsr()
        vals = spla.eigsh(sym, k=1, which="LA", tol=1e-4, v0=v0, return_eigenvectors=False,
                          rng=rng)
        return float(vals[0])


def stationary_covariance(weights, leak, sigma: float = 1.0) -> np.ndarray:
    """Exact dense ``C`` solving ``A C + C A^T + sigma^2 I = 0`` (Bartels-Stewart, O(N^3)).

    For small networks only (it builds the dense N x N ``A``). Raises
    :class:`UnstableNetworkError` when ``A`` has an eigenvalue with real part >= 0.
    """
    w, d = _system(weights, leak)
    sigma = _check_sigma(sigma)
    n = w.shape[0]
    a = w.toarray()
    a[np.diag_indices(n)] -= d
    abscissa = float(np.max(np.linalg.eigvals(a).real))
    if abscissa >= 0:
        raise UnstableNetworkError(
            f"A = -D + W is unstable (largest real part of an eigenvalue {abscissa:.4g} >= 0); "
            f"the stationary covariance does not exist")
    c = sla.solve_continuous_lyapunov(a, -sigma ** 2 * np.eye(n))
    return 0.5 * (c + c.T)


def gram_at_pattern(y: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    z: np.ndarray | None = None, block_rows: int = 512) -> np.ndarray:
    """``(Y Z^T)[rows[e], cols[e]]`` for every pair e (``Z = Y`` by default), by row blocks.

    Memory is bounded by ``block_rows x N`` entries of the product per thread
    (:func:`lnp_neuro._util.parallel.map_blocks`); the dtype of ``y`` (float32 or float64) is
    the precision of the product.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    z = y if z is None else z
    out = np.empty(rows.size)
    if rows.size == 0:
        return out
    order = None
    if np.any(np.diff(rows) < 0):
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
    n = y.shape[0]
    starts = np.searchsorted(rows, np.arange(0, n + block_rows, block_rows))
    sorted_out = np.empty(rows.size)

    def block(b: int) -> None:
        # One BLAS product per block of rows, the same call whichever thread makes it,
        # written to its own slice: the result does not depend on the thread count.
        r0 = b * block_rows
        e0, e1 = starts[b], starts[b + 1]
        if e0 == e1:
            return
        gram = y[r0:r0 + block_rows] @ z.T
        sorted_out[e0:e1] = gram[rows[e0:e1] - r0, cols[e0:e1]]

    map_blocks(block, len(range(0, n, block_rows)))
    if order is None:
        return sorted_out
    out[order] = sorted_out
    return out


@dataclass
class CovarianceEstimate:
    """Entries of the stationary covariance that noise pruning needs.

    ``diagonal[i] = C_ii``; ``edges[e] = C_{post(e), pre(e)}`` aligned with the stored
    entries of the canonical CSR weights (``C`` is symmetric, so the orientation does not
    matter). ``method`` is ``"exact"`` or ``"estimate"``; for an estimate ``n_samples`` is
    the number of stored snapshots times probes and ``step`` the integration step.
    """

    diagonal: np.ndarray
    edges: np.ndarray
    method: str
    n_samples: int = 0
    step: float = 0.0

    def __post_init__(self) -> None:
        self.diagonal = np.asarray(self.diagonal, dtype=np.float64)
        self.edges = np.asarray(self.edges, dtype=np.float64)
        if self.diagonal.ndim != 1 or self.edges.ndim != 1:
            raise ValueError("diagonal and edges must be 1-D arrays")
        if self.method not in ("exact", "estimate"):
            raise ValueError(f"method must be 'exact' or 'estimate', got {self.method!r}")
        if not (np.all(np.isfinite(self.diagonal)) and np.all(np.isfinite(self.edges))):
            raise ValueError("covariance entries must be finite")


def covariance_at_edges(weights, leak, sigma: float = 1.0, *, method: str = "auto",
                        exact_max_size: int = 400, n_probes: int = 16,
                        duration: float | None = None, burn_in: float | None = None,
                        step: float | None = None, snapshot_every: int = 2,
                        seed: int | None = None, progress: bool = False) -> CovarianceEstimate:
    """``C_ii`` and ``C_ij`` on every stored synapse of ``weights`` (see module docstring).

    Parameters
    ----------
    weights : sparse (N, N), ``W[post, pre]``.
    leak : array (N,) or number, the diagonal ``D`` (1/s).
    sigma : noise standard deviation.
    method : ``"exact"`` (Lyapunov solve, dense), ``"estimate"`` (SDE simulation) or
        ``"auto"`` (exact up to ``exact_max_size`` neurons).
    n_probes : trajectories simulated in parallel (estimate).
    duration, burn_in : simulated seconds of sampling and of discarded transient; default
        ``10 / median(leak)`` and ``3 / median(leak)``.
    step : integration step (s); default ``0.5 / max(leak)``.
    snapshot_every : steps between stored snapshots.
    seed : seed of the noise (same seed, same estimate).
    """
    w, d = _system(weights, leak)
    sigma = _check_sigma(sigma)
    if method not in ("auto", "exact", "estimate"):
        raise ValueError(f"method must be 'auto', 'exact' or 'estimate', got {method!r}")
    n = w.shape[0]
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    if method == "exact" or (method == "auto" and n <= exact_max_size):
        c = stationary_covariance(w, d, sigma)
        return CovarianceEstimate(np.diag(c).copy(), c[post, pre], "exact")

    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        raise ValueError(f"leak must be positive for the estimator; neuron {i} has {d[i]}")
    for name, val in (("n_probes", n_probes), ("snapshot_every", snapshot_every)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    tau = 1.0 / float(np.median(d))
    duration = 10.0 * tau if duration is None else float(duration)
    burn_in = 3.0 * tau if burn_in is None else float(burn_in)
    h = 0.5 / float(d.max()) if step is None else float(step)
    for name, val in (("duration", duration), ("step", h)):
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {val}")
    if not (np.isfinite(burn_in) and burn_in >= 0):
        raise ValueError(f"burn_in must be a non-negative number of seconds, got {burn_in}")
    n_burn = int(np.ceil(burn_in / h))
    n_snap = max(2, int(np.ceil(duration / (h * snapshot_every))))

    rng = np.random.default_rng(seed)
    decay = np.exp(-h * d)[:, None]
    gain = ((1.0 - np.exp(-h * d)) / d)[:, None]
    noise_sd = (sigma * np.sqrt((1.0 - np.exp(-2.0 * h * d)) / (2.0 * d)))[:, None]
    c0 = sigma ** 2 / (2.0 * d)
    x0 = np.sqrt(c0)[:, None] * rng.standard_normal((n, n_probes))
    x = x0.copy()
    limit = 1e6 * float(np.sqrt(c0.max())) * np.sqrt(n)
    # Only d = x - x0 and s = x + x0 are stored: sym(d s^T) = x x^T - x0 x0^T, so one
    # product gives the control-variate correction, and d is small when the coupling is
    # weak, which float32 storage then resolves well below the Monte-Carlo error.
    ds = np.empty((n, n_snap * n_probes), dtype=np.float32)
    ss = np.empty_like(ds)
    total = n_burn + n_snap * snapshot_every
    from tqdm.auto import tqdm
    bar = tqdm(total=total, desc="covariance SDE", disable=not progress, leave=False)
    k_snap = 0
    for k in range(total):
        xi = noise_sd * rng.standard_normal((n, n_probes))
        x = decay * x + gain * csr_matmul(w, x) + xi    # w @ x bit for bit, on all cores
        x0 = decay * x0 + xi
        if k % 50 == 0 or k == total - 1:
            size = float(np.abs(x).max())
            if not np.isfinite(size) or size > limit:
                bar.close()
                raise UnstableNetworkError(
                    f"the noise-driven linear network diverged after {k + 1} steps of "
                    f"{h:g} s: A = -D + W is unstable, or step is too large for the coupling")
        if k >= n_burn and (k - n_burn) % snapshot_every == snapshot_every - 1:
            cols = slice(k_snap * n_probes, (k_snap + 1) * n_probes)
            ds[:, cols] = x - x0
            ss[:, cols] = x + x0
            k_snap += 1
        bar.update(1)
    bar.close()
    s = ds.shape[1]
    diag = c0 + np.einsum("ij,ij->i", ds, ss, dtype=np.float64) / s
    both = gram_at_pattern(ds, np.concatenate([post, pre]), np.concatenate([pre, post]), ss)
    edges = 0.5 * (both[:post.size] + both[post.size:]) / s
    return CovarianceEstimate(diag, edges, "estimate", n_samples=s, step=h)
