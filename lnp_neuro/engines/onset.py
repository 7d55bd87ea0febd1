"""The bias onset of a network (``SpikingNetwork.bias_onset``) as segments of a run.

What. Neuron ``i``'s bias is 0 at the steps ``t < bias_onset[i]`` and its bias from then
on (steps counted from the start of each run). The engines run this without a new
kernel: a run is cut at the distinct onsets (few: one per population shift), and each
segment runs with the bias array in force during it, continuing from the state the
previous segment left (the kernels and Lava chain calls that way).

Source. The onset comes from :func:`lnp_neuro.model.flat.bias_onsets`: a graph imported
from snnTorch or norse runs here ``shift`` steps behind the source framework per
population, so its bias must start ``shift`` steps late to reproduce the source's
start-up.

Reason for a module of its own: the native driver, the numpy reference and the Lava
back end all cut runs the same way; the cut points and the per-segment bias live here
once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BiasSchedule"]


class BiasSchedule:
    """The bias in force over the steps of a run, for one network's onsets.

    ``onset``: int array (N,) of ``SpikingNetwork.bias_onset`` (or None: no onset, the
    bias always acts). ``cuts(steps)`` are the steps ``0 < t < steps`` at which some bias
    starts; ``bias_at(bias, t)`` is ``bias`` with the neurons not yet on at step ``t``
    set to 0, in the dtype of ``bias`` (cached per array and segment: the arrays are
    read-only for the callers, which share them between runs).
    """

    def __init__(self, onset):
        onset = None if onset is None else np.asarray(onset, np.int64)
        self.onset = onset if onset is not None and onset.any() else None
        self._cache: dict = {}

    @property
    def active(self) -> bool:
        """Whether some neuron's bias starts after step 0."""
        return self.onset is not None

    def cuts(self, steps: int) -> list[int]:
        if self.onset is None:
            return []
        return [int(t) for t in np.unique(self.onset) if 0 < t < steps]

    def segments(self, steps: int) -> list[tuple[int, int]]:
        """``(t0, t1)`` of the run's segments of constant bias, covering ``0..steps``."""
        bounds = [0, *self.cuts(steps), steps]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def bias_at(self, bias: np.ndarray, t: int) -> np.ndarray:
        if self.onset is None:
            return bias
        # The segment is identified by the set of onsets passed, i.e. by the last cut <= t.
        key = (id(bias), int(np.count_nonzero(np.unique(self.onset) <= t)))
        hit = self._cache.get(key)
        if hit is None:
            # The source array is kept with its result, so that its id stays its own.
            hit = (bias, np.where(self.onset <= t, bias, 0).astype(bias.dtype))
            self._cache[key] = hit
        return hit[1]

    def with_bias(self, args: tuple, index: int, t: int) -> tuple:
        """``args`` (a kernel's argument tuple) with the bias at ``index`` of step ``t``."""
        if self.onset is None:
            return args
        return args[:index] + (self.bias_at(args[index], t),) + args[index + 1:]
