"""The Lyapunov matrix of LNP step I (Chakraborty et al., ICLR 2024, Sec. 3.1 Eq. 1).

For an edge (i, j) of the synapse graph, with N(i) the neighbours of i (pre- or
postsynaptic partners, i.e. the undirected neighbourhood; i itself excluded)::

    Lambda_ij = |U| / sum_{k in U} 1 / mu_k,   U = N(i) U N(j),   mu_k = exp(lambda_k dt)

the harmonic mean of the per-step multipliers ``mu_k`` of the neighbours' per-neuron
Lyapunov exponents ``lambda_k`` (1/s). design section 3 fixes multipliers instead of the
paper's raw exponents because a harmonic mean of signed numbers is undefined; ``mu > 1``
marks a locally expanding (chaotic) neighbourhood, which then keeps its synapses less
often in :func:`lnp_neuro.prune.noise.noise_prune`. Because the edge joins i and j,
``j in N(i)`` and ``i in N(j)``, so both ends belong to ``U``.

The union is counted exactly: ``sum_U f = S_i + S_j - sum_{k in N(i) & N(j)} f_k`` with
``S_i = sum_{k in N(i)} f_k`` and the common-neighbour term the (i, j) entry of
``B diag(f) B^T`` (B the 0/1 undirected adjacency), computed only at the edges by row
blocks of a dense product. That dense step holds ``B`` (N x N float64: 200 MB at N=5000)
and one ``block_rows x N`` block; it is the one bounded dense step of this module.
The common-neighbour counts themselves (``f = 1``) are integers, counted exactly with
bitsets of the neighbourhoods (:func:`_common_counts`; the float32 product they replace
was exact too, the same numbers at a higher cost).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from .._util.parallel import map_blocks
from ..model.network import canonical_csr
from .covariance import gram_at_pattern

__all__ = ["lyapunov_matrix", "neighbourhood_harmonic_mean"]


def neighbourhood_harmonic_mean(weights, values, block_rows: int = 512) -> np.ndarray:
    """Per stored synapse (i = post, j = pre): harmonic mean of positive ``values`` over N(i) U N(j).

    ``values`` has one positive number per neuron. Returned aligned with the stored entries
    of the canonical CSR ``weights`` (a value per synapse, never an N x N matrix).
    """
    w = canonical_csr(weights, "weights")
    n = w.shape[0]
    if w.shape[1] != n:
        raise ValueError(f"weights must be square (N, N), got shape {w.shape}")
    vals = np.asarray(values, dtype=np.float64)
    if vals.shape != (n,):
        raise ValueError(f"values must have one entry per neuron ({n},), got {vals.shape}")
    if not np.all(np.isfinite(vals) & (vals > 0)):
        raise ValueError("values must be finite and positive for a harmonic mean")
    if w.nnz == 0:
        return np.zeros(0)
    pattern = w.copy()
    pattern.data = np.ones(pattern.nnz)
    adj = ((pattern + pattern.T) > 0).astype(np.float64).tocsr()
    adj.setdiag(0)
    adj.eliminate_zeros()
    inv = 1.0 / vals
    sum_inv = adj @ inv                     # S_i
    degree = np.asarray(adj.sum(axis=1)).ravel()
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    # 0/1 products in float32 are exact integers (< 2^24); the weighted sum is split as
    # sum(1/v) = count + sum(1/v - 1), whose second term is small for multipliers near 1,
    # so float32 resolves it to ~1e-7 of the total while halving time and memory.
    dense = adj.toarray().astype(np.float32)
    dev = (inv - 1.0)
    common_count = _common_counts(adj, post, pre)
    if np.any(dev != 0):
        scale = float(np.abs(dev).max())
        weighted = dense * (dev / scale).astype(np.float32)[None, :]
        common_dev = scale * gram_at_pattern(weighted, post, pre, dense, block_rows)
        del weighted
    else:
        common_dev = np.zeros(post.size)
    del dense
    common_count = np.rint(common_count)
    common_inv = common_count + common_dev
    total_inv = sum_inv[post] + sum_inv[pre] - common_inv
    count = degree[post] + degree[pre] - common_count
    # A self-loop (i == j) has U = N(i) only.
    loop = post == pre
    total_inv[loop] = sum_inv[post[loop]]
    count[loop] = degree[post[loop]]
    out = np.empty(w.nnz)
    empty = count <= 0
    out[~empty] = count[~empty] / total_inv[~empty]
    # An isolated self-loop has no neighbours: fall back to the neuron's own value.
    out[empty] = vals[post[empty]]
    return out


def lyapunov_matrix(weights, neuron_exponents, dt: float, block_rows: int = 512) -> np.ndarray:
    """Lambda_ij per stored synapse: harmonic mean of ``exp(lambda_k dt)`` over N(i) U N(j).

    Parameters
    ----------
    weights : sparse (N, N) ``W[post, pre]``; its stored entries are the edges.
    neuron_exponents : array (N,), per-neuron Lyapunov exponents (1/s), e.g.
        ``lnp_neuro.dynamics.lyapunov.network_spectrum(...).neuron_exponents`` scattered back to
        the full index.
    dt : time step (s) turning an exponent into a per-step multiplier.

    Returns an array aligned with the stored entries of canonical CSR ``weights``.
    """
    dt = float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    lam = np.asarray(neuron_exponents, dtype=np.float64)
    if lam.ndim != 1 or not np.all(np.isfinite(lam)):
        raise ValueError("neuron_exponents must be a 1-D array of finite numbers (1/s)")
    return neighbourhood_harmonic_mean(weights, np.exp(lam * dt), block_rows)


_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@numba.njit(cache=True, nogil=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


@numba.njit(cache=True, nogil=True)
def _fill_bitsets(indptr, indices, bits):
    for i in range(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            bits[i, j >> 6] |= np.uint64(1) << np.uint64(j & 63)


@numba.njit(cache=True, nogil=True)
def _count_common(bits, post, pre, out, e0, e1):
    for e in range(e0, e1):
        a = post[e]
        b = pre[e]
        c = np.uint64(0)
        for w in range(bits.shape[1]):
            c += _popcount(bits[a, w] & bits[b, w])
        out[e] = np.float64(c)


def _common_counts(adj: sp.csr_matrix, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """``|N(post[e]) & N(pre[e])|`` for every edge e, as float64 (exact integers).

    One bitset of N words per neuron, an AND and a population count per word and edge;
    the edges are split over the cores (``map_blocks``), each count made by one thread.
    """
    n = adj.shape[0]
    bits = np.zeros((n, (n + 63) // 64), np.uint64)
    _fill_bitsets(adj.indptr, adj.indices, bits)
    out = np.empty(post.size)
    bounds = np.linspace(0, post.size, 9).astype(np.int64)
    map_blocks(lambda b: _count_common(bits, post, pre, out, int(bounds[b]),
                                       int(bounds[b + 1])), 8)
    return out
