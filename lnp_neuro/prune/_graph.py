"""Validation of the weight matrices and masks of the graph steps, and the directed 0/1
pattern of the synapses between active neurons (LNP step III, design section 3).

Shared by :mod:`.delocalize`, :mod:`.ipr` and :mod:`.weight_samplers`, so that each of
them can check its arguments without importing another.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..model.network import canonical_csr


def _square_csr(weights, name: str = "weights") -> sp.csr_matrix:
    """``weights`` as canonical CSR, raising unless it is square."""
    w = canonical_csr(weights, name)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"{name} must be square (N, N), got shape {w.shape}")
    return w


def _active_mask(neuron_active, n: int, name: str = "neuron_active") -> np.ndarray:
    """A boolean copy of ``neuron_active`` (all True when None), checked against ``n``."""
    if neuron_active is None:
        return np.ones(n, bool)
    mask = np.asarray(neuron_active)
    if mask.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one flag per neuron), got {mask.shape}")
    if mask.dtype != bool:
        if not np.all(np.isin(mask, (0, 1))):
            raise ValueError(f"{name} must be boolean (or 0/1)")
        mask = mask.astype(bool)
    return mask.copy()


def _pattern(weights: sp.csr_matrix, active: np.ndarray) -> sp.csr_matrix:
    """Directed 0/1 pattern of stored synapses between active neurons, no self-loops."""
    pat = weights.copy()
    pat.data = np.ones(pat.nnz)
    rows = np.repeat(np.arange(pat.shape[0]), np.diff(pat.indptr))
    keep = active[rows] & active[pat.indices] & (rows != pat.indices)
    if not keep.all():
        pat = sp.csr_matrix((pat.data[keep], (rows[keep], pat.indices[keep])), shape=pat.shape)
    pat.sort_indices()
    return pat
