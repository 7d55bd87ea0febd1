"""Inverse participation ratio (IPR) of a network's eigenvectors, the delocalisation
measure of LNP step III (Chakraborty et al., ICLR 2024, Sec. 3.1 step III; design
section 3): ``IPR(v) = sum_i |v_i|^4 / (sum_i |v_i|^2)^2``.

Kept apart from :mod:`.delocalize` (the step that adds synapses): this module changes with
how the eigenvectors are computed, the step with how synapses are chosen. Re-exported by
:mod:`.delocalize`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from .._util.parallel import csr_operator
from .._util.validation import check_int, make_rng
from ._graph import _active_mask, _square_csr

__all__ = ["inverse_participation_ratio", "mean_ipr", "DENSE_EIG_MAX_N"]


#: Largest matrix for which ``inverse_participation_ratio(k=None)`` (every eigenvector, by
#: a dense eigendecomposition) is allowed; beyond it pass ``k`` (ARPACK, k leading vectors).
DENSE_EIG_MAX_N = 3000


def _ipr_columns(vectors: np.ndarray) -> np.ndarray:
    """IPR of each column of ``vectors``."""
    mag2 = np.abs(vectors) ** 2
    return (mag2 ** 2).sum(axis=0) / mag2.sum(axis=0) ** 2


def inverse_participation_ratio(weights, k: int | None = None, *, neuron_active=None,
                                seed=None, symmetric: bool | None = None,
                                tol: float = 1e-5) -> np.ndarray:
    """IPR of the eigenvectors of ``weights``: ``IPR(v) = sum_i |v_i|^4 / (sum_i |v_i|^2)^2``.

    design section 3 step III's delocalisation measure (Chakraborty et al., ICLR 2024,
    Sec. 3.1 step III). ``1`` for a vector on one neuron, ``1/N`` for a uniform one.

    Parameters
    ----------
    weights : sparse or dense (N, N)
        The matrix whose eigenvectors are measured (e.g. ``W[post, pre]``).
    k : int or None
        None: every eigenvector, by a dense eigendecomposition (only for N <=
        ``DENSE_EIG_MAX_N``). An int: the k eigenvectors of largest |eigenvalue|, by ARPACK
        (``scipy.sparse.linalg.eigs``/``eigsh``) on the sparse matrix, so memory stays
        O(nnz + N k) at N = 5000; the start vector is drawn from ``seed``.
    neuron_active : bool (N,), optional
        Restrict to the active neurons (the matrix of the pruned network).
    symmetric : bool or None
        Use the symmetric solver; None detects exact symmetry.
    tol : float
        ARPACK relative accuracy of the eigenpairs (k given). The IPR is insensitive to
        it: at N = 5000, density 0.1, k = 20, ``tol=1e-6`` and ``tol=0`` (machine
        precision) agree to 6 digits; 1e-5 (the default) takes about half the time of 0.

    Returns
    -------
    ipr : array (k,) or (N,), ordered by decreasing |eigenvalue|.
    """
    w = _square_csr(weights)
    active = _active_mask(neuron_active, w.shape[0])
    if not active.all():
        idx = np.flatnonzero(active)
        w = w[idx][:, idx].tocsr()
    n = w.shape[0]
    if n == 0:
        raise ValueError("weights has no active neuron")
    if symmetric is None:
        diff = w - w.T
        symmetric = diff.nnz == 0 or np.abs(diff.data).max() == 0
    if k is None:
        if n > DENSE_EIG_MAX_N:
            raise ValueError(
                f"k=None needs a dense eigendecomposition of a {n}x{n} matrix "
                f"(> DENSE_EIG_MAX_N={DENSE_EIG_MAX_N}); pass k for the k leading eigenvectors")
        dense = w.toarray()
        if symmetric:
            vals, vecs = np.linalg.eigh(dense)
        else:
            vals, vecs = np.linalg.eig(dense)
        order = np.argsort(-np.abs(vals), kind="stable")
        return _ipr_columns(vecs[:, order])
    k = check_int(k, "k", 1)
    rng = make_rng(seed)
    limit = n - 1 if symmetric else n - 2
    if k > limit:
        raise ValueError(f"k must be <= {limit} for ARPACK on a {n}x{n} matrix, got {k}; "
                         f"use k=None for all eigenvectors")
    tol = float(tol)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a non-negative number, got {tol}")
    v0 = rng.standard_normal(n)
    # csr_operator: the products of w itself bit for bit, rows split over the cores.
    op = csr_operator(w)
    # rng: ARPACK's restart vectors after an early-closing Krylov space (scipy would draw
    # them from the OS).
    if symmetric:
        vals, vecs = spla.eigsh(op, k=k, which="LM", v0=v0, tol=tol, rng=rng)
    else:
        vals, vecs = spla.eigs(op, k=k, which="LM", v0=v0, tol=tol, rng=rng)
    order = np.argsort(-np.abs(vals), kind="stable")
    return _ipr_columns(vecs[:, order])


def mean_ipr(weights, k: int | None = None, **kwargs) -> float:
    """Mean IPR over the eigenvectors (all, or the k leading ones): lower = more delocalised.

    See :func:`inverse_participation_ratio` for the parameters.
    """
    return float(np.mean(inverse_participation_ratio(weights, k, **kwargs)))
