"""Weight samplers of LNP step III: the weights of the synapses :func:`.delocalize` adds,
resampled from the stored weights of the presynaptic neuron's sign (Dale's law; design
section 3, step III: "the original weight distribution").

Kept apart from :mod:`.delocalize`: this module changes with where new weights come from,
the step with which synapses are added. Re-exported by :mod:`.delocalize`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from ._graph import _active_mask, _pattern, _square_csr

__all__ = ["WeightSampler", "dale_weight_sampler"]


WeightSampler = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def dale_weight_sampler(weights, neuron_active=None, excitatory=None, *,
                        fallback_weights=None) -> WeightSampler:
    """A ``weight_sampler`` that resamples the stored weights of ``weights`` (between active
    neurons) whose sign is that of the presynaptic neuron (Dale's law); the default of
    :func:`delocalize`.

    ``fallback_weights`` (same shape, e.g. the unpruned network's weights): a sign that has
    no stored weight left in ``weights`` is drawn from the fallback's weights of that sign
    instead of raising; :func:`lnp` passes its starting network (design section 3, step III: "the
    original weight distribution").
    """
    weights = _square_csr(weights)
    active = _active_mask(neuron_active, weights.shape[0])
    if excitatory is not None:
        excitatory = np.asarray(excitatory, dtype=bool)
    fallback = None
    if fallback_weights is not None:
        fallback = _square_csr(fallback_weights, "fallback_weights")
        if fallback.shape != weights.shape:
            raise ValueError(f"fallback_weights must have shape {weights.shape}, got "
                             f"{fallback.shape}")
    return _default_sampler(weights, active, excitatory, fallback)


def _sign_pools(weights: sp.csr_matrix, active: np.ndarray):
    """Nonzero stored weights between active neurons: (w restricted, all, positive, negative)."""
    pat = _pattern(weights, active)
    w = weights.multiply(pat).tocsr() if pat.nnz != weights.nnz else weights
    values = w.data[w.data != 0]
    return w, values, values[values > 0], values[values < 0]


def _default_sampler(weights: sp.csr_matrix, active: np.ndarray,
                     excitatory: np.ndarray | None,
                     fallback: sp.csr_matrix | None = None) -> WeightSampler:
    """Resample stored weights whose sign is that of the presynaptic neuron (Dale's law);
    an empty pool is taken from ``fallback`` (all its neurons count) when given."""
    w, values, positive, negative = _sign_pools(weights, active)
    if fallback is not None:
        _, fb_values, fb_positive, fb_negative = _sign_pools(fallback,
                                                             np.ones(fallback.shape[0], bool))
        positive = positive if positive.size else fb_positive
        negative = negative if negative.size else fb_negative
        values = values if values.size else fb_values
    if values.size == 0:
        raise ValueError("weights has no nonzero synapse to resample new weights from; "
                         "pass weight_sampler")
    if excitatory is None:
        # Dale's law: the sign of a neuron is the sign of its outgoing weights.
        out_sum = np.asarray(w.sum(axis=0)).ravel()
        sign = np.sign(out_sum)
    else:
        sign = np.where(excitatory, 1.0, -1.0)

    def sample(pre: np.ndarray, post: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(pre.size)
        s = sign[pre]
        for mask, pool in ((s > 0, positive), (s < 0, negative), (s == 0, values)):
            if not mask.any():
                continue
            if pool.size == 0:
                # No stored weight of that sign: the original distribution has none to give.
                raise ValueError(
                    "no stored weight of the presynaptic neuron's sign to resample; "
                    "pass excitatory=, fallback_weights= or weight_sampler")
            out[mask] = pool[rng.integers(0, pool.size, int(mask.sum()))]
        return out

    return sample
