"""Synapses of more than one step (:class:`~lnp_neuro.model.flat.DelayedSynapses`) on the
native, numpy and Lava engines.

A flat network with delayed groups runs as a list of *synapse blocks*: ``W`` and ``W_in``
(delay 1, the network's own matrices) followed, for each delay ``d > 1`` in increasing
order, by ``W_d`` (from the neurons) and ``W_in_d`` (from the inputs). Block ``k`` of
delay ``d_k`` reads its source ``d_k - 1`` steps late, so the activation is::

    a[t] = sum_k W_k z_k[t-1],   z_k[t] = src_k[t - (d_k - 1)]   (0 before the first step)

with ``src_k`` the raster ``s`` or the input ``x``: a spike at ``t`` arrives at ``t + d_k``
(:mod:`lnp_neuro.model.projection`). In Lava (:mod:`lnp_neuro.engines.lava.backend`) a
:class:`~lnp_neuro.engines.lava.procs.delay_lines.DelayLines` process forwards ``z[t]``
(every block's lagged source, stacked) to Sparse processes; the native and numpy engines
compute the same sums here:

- ``mode="float"``: one Sparse holds the stacked matrix ``[W_1 | W_2 | ...]``, so the
  activation is one CSR row sum over the stacked spiking columns (Lava's
  ``weights[:, s].sum(axis=1)``, numpy's ``add.reduceat`` order). One process because
  Lava sums the outputs of several processes in the order of its channels, which the
  compiler fixes; with two processes (the path without delays) float addition is
  commutative and that order cannot matter, with three or more it could.
- ``mode="fixed"``: each block is quantised on its own (per-row 8-bit mantissas and
  exponents, one sign mode per matrix: :func:`~lnp_neuro.engines.fixed_point.quantize_weights`
  at the network's ``scale``; ``W`` and ``W_in`` keep the FixedPointNetwork's integers)
  and is one Sparse per distinct exponent: its output is its integer row sum shifted by
  the row's exponent and wrapped to int32, and the LIF adds the outputs modulo ``2**32``
  (an order-free sum).

Lava 0.10's own ``DelaySparse`` is not used: its float model sums a synapse row with a
sparse matrix-vector product (sequential, not the ``add.reduceat`` order of ``Sparse``),
so it would not agree bit for bit with the Sparse processes the rest of the graph uses.

Pruned neurons neither send nor receive through a block (their rows and columns are
removed, as :meth:`~lnp_neuro.model.network.SpikingNetwork.effective_weights` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..model.flat import DelayedSynapses
from .fixed_point import FixedPointNetwork, quantize_weights

__all__ = ["SynapseBlock", "synapse_blocks", "stacked_weights", "fixed_blocks",
           "DelayedActivation", "check_delayed"]

NEURONS, INPUTS = "neurons", "inputs"


@dataclass(eq=False)
class SynapseBlock:
    """One matrix of the flat network: ``source`` ("neurons" or "inputs"), ``delay`` in
    steps (``lag = delay - 1`` in the delay lines) and its effective float ``weights``."""

    source: str
    delay: int
    weights: sp.csr_matrix

    @property
    def lag(self) -> int:
        return self.delay - 1


def check_delayed(net, delayed) -> tuple:
    """``delayed`` as a tuple of :class:`DelayedSynapses` that fit ``net`` (delays > 1,
    distinct, increasing; matrices of shape (N, N) and (N, n_in))."""
    delayed = tuple(delayed or ())
    n, n_in = net.n_total_neurons, net.n_inputs
    last = 1
    for group in delayed:
        if not isinstance(group, DelayedSynapses):
            raise ValueError(f"delayed holds DelayedSynapses, got {type(group).__name__}")
        if group.delay <= last:
            raise ValueError(f"delayed groups need distinct delays > 1 in increasing order, "
                             f"got {[g.delay for g in delayed]}")
        last = group.delay
        if group.weights.shape != (n, n) or group.input_weights.shape != (n, n_in):
            raise ValueError(f"delayed group of delay {group.delay}: weights "
                             f"{group.weights.shape} and input_weights "
                             f"{group.input_weights.shape} do not fit a network of {n} "
                             f"neurons and {n_in} inputs")
    return delayed


def _effective(mat: sp.spmatrix, active: np.ndarray, cols_are_neurons: bool) -> sp.csr_matrix:
    coo = sp.csr_matrix(mat, dtype=np.float64).tocoo()
    keep = active[coo.row] & (active[coo.col] if cols_are_neurons else True)
    out = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=mat.shape)
    out.sort_indices()
    return out


def synapse_blocks(net, delayed) -> list[SynapseBlock]:
    """The blocks of ``net`` and its delayed groups (module docstring), effective weights."""
    active = np.asarray(net.neuron_active, bool)
    blocks = [SynapseBlock(NEURONS, 1, sp.csr_matrix(net.effective_weights(), dtype=np.float64)),
              SynapseBlock(INPUTS, 1,
                           sp.csr_matrix(net.effective_input_weights(), dtype=np.float64))]
    for group in check_delayed(net, delayed):
        blocks.append(SynapseBlock(NEURONS, group.delay, _effective(group.weights, active, True)))
        blocks.append(SynapseBlock(INPUTS, group.delay,
                                   _effective(group.input_weights, active, False)))
    for b in blocks:
        b.weights.sort_indices()
    return blocks


def stacked_weights(blocks: list[SynapseBlock]) -> sp.csr_matrix:
    """``[W_1 | W_2 | ...]``, canonical CSR with sorted indices (the float Sparse's matrix)."""
    out = sp.csr_matrix(sp.hstack([b.weights for b in blocks], format="csr"))
    out.sort_indices()
    return out


def fixed_blocks(blocks: list[SynapseBlock], fixed: FixedPointNetwork) -> list:
    """``(w_int CSR int32, row exponents (N,), sign mode)`` per block: the
    FixedPointNetwork's own for ``W`` and ``W_in``, :func:`quantize_weights` per row at
    ``fixed.scale`` for the delayed blocks."""
    out = [(fixed.weights, fixed.weight_exp, fixed.sign_mode),
           (fixed.input_weights, fixed.input_weight_exp, fixed.input_sign_mode)]
    for b in blocks[2:]:
        w_int, exp, mode, _, _ = quantize_weights(b.weights, fixed.scale, per_row=True)
        w_int = sp.csr_matrix(w_int, dtype=np.int32)
        w_int.sort_indices()
        out.append((w_int, np.asarray(exp, np.int64), mode))
    return out


def _wrap32(a: np.ndarray) -> np.ndarray:
    return ((a.astype(np.int64) + 2**31) % 2**32) - 2**31


class DelayedActivation:
    """The activation every Sparse process of a network with delayed groups delivers at
    the next step, computed from the spikes so far (module docstring)."""

    def __init__(self, net, delayed, mode: str, fixed: FixedPointNetwork | None):
        self.blocks = synapse_blocks(net, delayed)
        self.mode = mode
        if mode == "float":
            self.stack = stacked_weights(self.blocks)
            self.fan_out = np.diff(sp.csc_matrix(self.stack).indptr)
        else:
            self.fixed = fixed_blocks(self.blocks, fixed)
            self.fan_out = [np.diff(sp.csc_matrix(w).indptr) for w, _, _ in self.fixed]

    def stacked_spikes(self, t: int, spikes: np.ndarray, x: np.ndarray) -> list:
        """Each block's source vector ``z_k[t]`` (bool), given raster rows ``<= t``."""
        out = []
        for b in self.blocks:
            src = spikes if b.source == NEURONS else x
            t_src = t - b.lag
            out.append(src[t_src].astype(bool) if t_src >= 0
                       else np.zeros(src.shape[1], bool))
        return out

    def after_step(self, t: int, spikes: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, int]:
        """(activation delivered at ``t + 1``, synaptic events) after step ``t``: float64
        in float, int64 (each block wrapped to int32, the sum wrapped) in fixed."""
        z = self.stacked_spikes(t, spikes, x)
        if self.mode == "float":
            zz = np.concatenate(z)
            total = np.asarray(self.stack[:, zz].sum(axis=1), np.float64).ravel()
            return total, int(self.fan_out[zz].sum())
        total = np.zeros(spikes.shape[1], np.int64)
        events = 0
        for (w_int, exp, _), fo, zk in zip(self.fixed, self.fan_out, z):
            acc = np.asarray(w_int[:, zk].sum(axis=1), np.int64).ravel()
            up = exp > 0
            acc[up] = acc[up] << exp[up]
            acc[~up] = acc[~up] >> -exp[~up]
            total += _wrap32(acc)
            events += int(fo[zk].sum())
        return _wrap32(total), events
