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


def window_sums(spikes: np.ndarray, steps_per_sample: int, weights: np.ndarray) -> np.ndarray:
    """``out[i] = sum_j weights[j] * spikes[i * k + j]`` for every sample ``i`` (``k =
    steps_per_sample``), summed in step order; ``[T // k, N]`` float64. One strided
    pass per step of the window: no float copy of the whole raster is made."""
    k = int(steps_per_sample)
    out = np.zeros((spikes.shape[0] // k, spikes.shape[1]))
    for j in range(k):
        out += weights[j] * spikes[j::k]
    return out
