"""Batched runs of one prepared network: many samples, each from rest
(:meth:`lnp_neuro.engines.simulator.Simulator.run_batch`).

What. ``inputs`` ``[B, T, n_inputs]`` (spikes) give ``spikes`` ``[B, T, N]`` and, when
asked, ``v`` after chosen steps ``[B, len(v_steps), N]`` (a non-spiking output's score is
its membrane at the last step). Sample ``b``'s rows are, bit for bit, what
``Simulator.run(inputs[b], record_state=True)`` returns from rest: the same Lava LIF +
Sparse semantics (lava-nc 0.10.0 ``floating_pt`` / ``fixed_pt`` process models; the
equations are in :mod:`lnp_neuro.engines.simulator`), the same bias onsets
(:mod:`lnp_neuro.engines.onset`).

How. The samples run in one compiled loop. In ``mode="fixed"`` a network whose dense
weight blocks are small and not too sparse (:func:`dense_fits`) runs
:func:`lnp_neuro.engines._kernels_batch.run_fixed_dense`: dense column adds, exact
because integer sums do not depend on the order or on added zeros, and a vectorised
neuron update. A larger or sparser one runs the per-sample event-driven kernel from the
loop (``run_fixed_samples``), and so does every network in ``mode="float"``
(``run_float_samples``): its sums follow Lava's order (the first weight plus numpy's
pairwise sum of the rest), which column adds do not keep. The numpy engine and a network
with delayed synapse groups run the samples one by one through ``Simulator.run`` (same
results, no batching).

Reason. Scoring a data set (``lnp-deploy --data``) runs hundreds of short samples of a
small network; one by one, the Python work of each run (checks, state, result, a kernel
call per bias segment) costs more than its steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BatchResult", "run_batch", "dense_fits", "DENSE_MAX_ENTRIES",
           "DENSE_MIN_DENSITY"]

#: Largest dense block (presynaptic neurons with synapses x span of rows reached) the
#: fixed-point batch accumulates by column adds: 1 Mi int32 entries, 4 MiB.
DENSE_MAX_ENTRIES = 1 << 20
#: Smallest fraction of stored synapses in the dense blocks for column adds: below it the
#: per-sample event-driven kernel is as fast or faster (measured crossover on random
#: reservoirs: docs/design.md, "Batched scoring").
DENSE_MIN_DENSITY = 0.15
# int32 lanes of an AVX-512 vector: the dense path pads its neurons and blocks to these.
_LANES = 16


@dataclass(eq=False)
class BatchResult:
    """``spikes`` bool ``[B, T, N]`` (None unless ``raster``); ``counts`` int64 ``[B, N]``,
    each neuron's spikes in each sample; ``v`` float ``[B, len(v_steps), N]`` (the
    membrane after those steps, after the reset; in ``mode="fixed"`` the integers divided
    by ``scale``, as ``SimulationResult.v``) or None; ``current_wraps`` summed over the
    samples (``mode="fixed"``)."""

    spikes: np.ndarray | None
    counts: np.ndarray
    v: np.ndarray | None
    mode: str
    scale: float | None
    current_wraps: int


def check_batch_inputs(n_inputs: int, inputs) -> np.ndarray:
    """``inputs`` as a C-contiguous bool ``[B, T, n_inputs]`` (0/1 numbers accepted)."""
    x = np.asarray(inputs)
    if x.ndim != 3 or x.shape[2] != n_inputs:
        raise ValueError(f"inputs must have shape (samples, T, n_inputs={n_inputs}), "
                         f"got {x.shape}")
    if x.dtype != np.bool_:
        if not np.issubdtype(x.dtype, np.number) or np.any((x != 0) & (x != 1)):
            raise ValueError("inputs must be boolean or hold only 0 and 1")
        x = x != 0
    return np.ascontiguousarray(x, dtype=np.bool_)


def _record_slots(v_steps, steps: int) -> tuple[np.ndarray, int]:
    """``rec_slot[t]``: the index in ``v_steps`` of step ``t`` (-1: not recorded)."""
    slots = np.full(max(steps, 1), -1, np.int64)
    if v_steps is None:
        return slots, 0
    v_steps = [int(t) for t in np.atleast_1d(np.asarray(v_steps, np.int64))]
    for k, t in enumerate(v_steps):
        if not -steps <= t < steps:
            raise ValueError(f"v_steps holds step {t}, the run has {steps} steps")
        t %= steps
        if slots[t] >= 0:
            raise ValueError(f"v_steps names step {t} twice")
        slots[t] = k
    return slots, len(v_steps)


def _dense_block(mat):
    """The transposed dense integers of ``mat`` (N x n_pre, CSR) restricted to the rows it
    reaches: ``(pre_row, w_t, lo)``, ``pre_row[j]`` the row of ``w_t`` of presynaptic
    ``j`` (-1: no synapse), ``w_t`` ``[n_pre_with_synapses, span]``, ``lo`` the first row."""
    if not mat.has_canonical_format:     # duplicates add up, as the kernels add them
        mat = mat.copy()
        mat.sum_duplicates()
    post = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
    pre = mat.indices
    has = np.bincount(pre, minlength=mat.shape[1]) > 0
    lo = int(post.min()) if post.size else 0
    span = int(post.max()) + 1 - lo if post.size else 0
    pre_row = np.full(mat.shape[1], -1, np.int64)
    pre_row[has] = np.arange(int(has.sum()))
    w_t = np.zeros((int(has.sum()), span), np.int64)
    w_t[pre_row[pre], post - lo] = mat.data
    return pre_row, w_t, lo


def _block_shape(mat) -> tuple[int, int, int]:
    """(presynaptic neurons with synapses, span of rows reached, stored entries)."""
    if mat.nnz == 0:
        return 0, 0, 0
    rows = np.flatnonzero(np.diff(mat.indptr))
    return (int(np.count_nonzero(np.bincount(mat.indices, minlength=mat.shape[1]))),
            int(rows[-1] - rows[0] + 1), int(mat.nnz))


def dense_fits(fixed) -> bool:
    """Whether the fixed-point batch accumulates by dense column adds: each matrix's dense
    block (presynaptic neurons with synapses x rows reached) holds at most
    :data:`DENSE_MAX_ENTRIES` entries, at least :data:`DENSE_MIN_DENSITY` of them stored."""
    for mat in (fixed.weights, fixed.input_weights):
        n_pre, span, nnz = _block_shape(mat)
        if n_pre * span > DENSE_MAX_ENTRIES or nnz < DENSE_MIN_DENSITY * n_pre * span:
            return False
    return True


def _padded(values: np.ndarray, size: int, fill) -> np.ndarray:
    out = np.full(size, fill, values.dtype)
    out[:values.size] = values
    return out


def _padded_block(w_t: np.ndarray, lo: int, n_pad: int, dtype):
    """``w_t`` widened with zero columns to a multiple of :data:`_LANES` that ends inside
    ``n_pad``; its new first row."""
    span = -(-w_t.shape[1] // _LANES) * _LANES
    first = min(lo, n_pad - span)
    out = np.zeros((w_t.shape[0], span), dtype)
    out[:, lo - first:lo - first + w_t.shape[1]] = w_t
    return out, np.int64(first)


def dense_layout(fixed, statics, rec_acc, in_acc) -> tuple:
    """What :func:`~lnp_neuro.engines._kernels_batch.run_fixed_dense` reads after the bias
    table, from ``active_mask`` to ``i_right`` (``statics``: the fixed kernel's layout,
    ``lnp_neuro.engines.simulator._fixed_layout``): the per-neuron constants, the reset
    masks, the two dense blocks in their accumulator types and the exponent shifts.

    The neurons are padded to a multiple of :data:`_LANES` with inert ones (no input, no
    decay, no bias, a threshold ``v`` never reaches: they stay at 0 and never spike) and
    the dense blocks to whole vectors, so that the vectorised loops run no scalar tail."""
    n = fixed.size
    n_pad = max(_LANES, -(-n // _LANES) * _LANES)
    active_mask, keep_u, keep_v, vth = statics[:4]
    sub_mask, sub_amount = statics[5] or (np.zeros(n, np.int32), np.zeros(n, np.int32))
    r_pre, r_w, r_lo = _dense_block(fixed.weights)
    i_pre, i_w, i_lo = _dense_block(fixed.input_weights)
    r_w, r_lo = _padded_block(r_w, r_lo, n_pad, rec_acc)
    i_w, i_lo = _padded_block(i_w, i_lo, n_pad, in_acc)
    zero = [_padded(a, n_pad, 0) for a in (active_mask, keep_u, keep_v, sub_mask,
                                            sub_amount, *statics[10:12], *statics[16:18])]
    return (*zero[:3], _padded(vth, n_pad, 2 ** 31 - 1), *zero[3:5], r_pre, r_w, r_lo,
            *zero[5:7], i_pre, i_w, i_lo, *zero[7:9])


def run_batch(sim, inputs, v_steps=None, raster: bool = True) -> BatchResult:
    """Every sample of ``inputs`` from rest through the prepared ``sim`` (module
    docstring); :meth:`Simulator.run_batch` documents the parameters."""
    engine, fixed, layout = sim._prepare()
    net, mode = sim.net, sim.mode
    x = check_batch_inputs(net.n_inputs, inputs)
    n_samples, steps = x.shape[0], x.shape[1]
    n = net.n_total_neurons
    rec_slot, n_rec = _record_slots(v_steps, steps)
    # Without the raster the kernels reuse one sample's raster as scratch.
    spikes = np.zeros((n_samples if raster else min(n_samples, 1), steps, n), np.bool_)
    counts = np.zeros((n_samples, n), np.int64)
    scale = fixed.scale if mode == "fixed" else None
    if engine != "numba" or sim.delayed or n_samples == 0 or steps == 0:
        result = _one_by_one(sim, x, rec_slot, n_rec, scale)
        if not raster:
            result.spikes = None
        return result
    segments = sim._schedule.segments(steps)
    seg_start = np.array([a for a, _ in segments] + [steps], np.int64)
    # The kernel modules are imported at the first run, as in simulator.py: importing the
    # engines should not load numba code that a run may never need.
    if mode == "float":
        from ._kernels_float import run_float_samples
        v_rec = np.zeros((n_samples, n_rec, n), np.float64)
        bias_table = np.stack([sim._schedule.bias_at(layout[4], a) for a, _ in segments])
        record = n_rec > 0
        v_all = np.zeros((steps if record else 0, n), np.float64)
        run_float_samples(x, seg_start, bias_table, *layout[:4], layout[5], *layout[6:],
                          np.zeros(n), np.zeros(n), spikes, counts, record, v_all,
                          v_all.copy(), rec_slot, v_rec)
        return BatchResult(spikes if raster else None, counts, v_rec if n_rec else None, mode,
                           None, 0)
    statics, rec_acc, in_acc = layout
    bias_table = np.stack([sim._schedule.bias_at(statics[4], a) for a, _ in segments])
    v_rec = np.zeros((n_samples, n_rec, n), np.int32)
    dense = sim._batch_layout()
    if dense is not None:
        from ._kernels_batch import run_fixed_dense
        n_pad = dense[0].size
        seg_of = np.repeat(np.arange(len(segments)), np.diff(seg_start))
        table = np.zeros((len(segments), n_pad), bias_table.dtype)
        table[:, :n] = bias_table
        wraps = run_fixed_dense(x, seg_of, table, *dense, np.zeros(n_pad, rec_acc),
                                np.zeros(n_pad, in_acc), np.zeros(n_pad, np.int32),
                                np.zeros(n_pad, np.int32), spikes, counts, rec_slot, v_rec)
    else:
        from ._kernels_fixed import run_fixed_samples
        v, u = np.zeros(n, np.int32), np.zeros(n, np.int32)
        acc_rec, acc_in = np.zeros(n, rec_acc), np.zeros(n, in_acc)
        record = n_rec > 0
        v_all = np.zeros((steps if record else 0, n), np.int32)
        wraps = run_fixed_samples(x, seg_start, bias_table, *statics[:4], statics[5],
                                  *statics[6:], acc_rec, acc_in, v, u, spikes, counts, record,
                                  v_all, v_all.copy(), rec_slot, v_rec)
    return BatchResult(spikes if raster else None, counts, v_rec / scale if n_rec else None,
                       mode, scale, int(wraps))


def _one_by_one(sim, x, rec_slot, n_rec, scale) -> BatchResult:
    """The samples through ``Simulator.run``, one by one (numpy engine, delayed synapses)."""
    n = sim.net.n_total_neurons
    spikes = np.zeros((x.shape[0], x.shape[1], n), np.bool_)
    v_rec = np.zeros((x.shape[0], n_rec, n), np.float64)
    wraps = 0
    recorded = np.flatnonzero(rec_slot[:x.shape[1]] >= 0)
    for b in range(x.shape[0]):
        result = sim.run(x[b], record_state=n_rec > 0)
        spikes[b] = result.spikes
        wraps += result.current_wraps
        if n_rec:
            v_rec[b, rec_slot[recorded]] = result.v[recorded]
    return BatchResult(spikes, spikes.sum(axis=1, dtype=np.int64), v_rec if n_rec else None,
                       sim.mode, scale, wraps)
