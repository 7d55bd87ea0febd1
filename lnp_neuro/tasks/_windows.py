"""Per-sample window sums of a spike raster, shared by the one-step task
(:func:`.forecast.reservoir_states`) and the closed-loop forecaster
(:class:`.closed_loop.SpikingForecaster`): both compute the traces in the same order, so
the closed loop fed the true samples reproduces the teacher-forced states bit for bit.

A module of its own so that :mod:`.closed_loop` need not import :mod:`.forecast`, which
imports :mod:`.closed_loop` (its ESN reference): the dependencies point one way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_sums"]

#: Samples summed together by :func:`window_sums` (a block of 1000 neurons is 256 KB).
_BLOCK = 32


def window_sums(spikes: np.ndarray, steps_per_sample: int, weights: np.ndarray) -> np.ndarray:
    """``out[i] = sum_j weights[j] * spikes[i * k + j]`` for every sample ``i`` (``k =
    steps_per_sample``), summed in step order; ``[T // k, N]`` float64. No float copy of
    the whole raster is made: the samples are taken in blocks of :data:`_BLOCK`, whose
    sums and products stay in the cache while the window's steps are added (each element
    gets the same operations in the same order as one strided pass per step)."""
    k = int(steps_per_sample)
    n = spikes.shape[0] // k
    out = np.zeros((n, spikes.shape[1]))
    product = np.empty((min(_BLOCK, n), spikes.shape[1]))
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        sums, term = out[a:b], product[:b - a]
        for j in range(k):
            np.multiply(weights[j], spikes[a * k + j:b * k:k], out=term)
            sums += term
    return out
