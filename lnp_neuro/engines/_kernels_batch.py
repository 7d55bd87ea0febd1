"""Numba kernel of :mod:`lnp_neuro.engines.batch` in ``mode="fixed"`` on a small or dense
network: many samples, each from rest, in one compiled call.

Each sample runs from rest (``u = v = 0``, nothing pending) for the same ``T`` steps, with
Lava's bit-accurate LIF + Sparse semantics (lava-nc 0.10.0 ``PyLifModelBitAcc`` and
``PySparseModelBitAcc``; the equations are in :mod:`lnp_neuro.engines.fixed_point`). The
samples do not interact, so the batch is a loop over samples inside one call: what a run
pays per sample in Python (argument checks, the state, the result, a kernel dispatch per
bias segment) is paid once per call. What differs from
:func:`lnp_neuro.engines._kernels_fixed.run_fixed`, and why each stays bit-exact:

- **Dense column adds.** A spike of presynaptic neuron ``j`` adds the dense column
  ``W[:, j]`` (row ``j`` of the transposed integers, over the span of rows the matrix
  reaches) to the accumulators instead of its stored entries. Adding zeros changes no
  integer and integer sums do not depend on the order of the adds; the accumulator type
  is the fixed kernel's (int32 only where every row's ``sum_j |w|`` fits,
  :func:`~lnp_neuro.engines._kernels_fixed.accumulator_dtype`), so the sums, hence the
  shifted activations, are the per-sample kernel's. The add is a contiguous loop that
  vectorises (16 int32 per AVX-512 add); on a dense matrix it beats the indexed scatter.
- **One vectorised update loop in 32-bit lanes.** :func:`_update_all` computes what
  :func:`~lnp_neuro.engines._kernels_fixed._input` followed by
  :func:`~lnp_neuro.engines._kernels_fixed._update` compute, written out for all neurons
  in one branch-free loop (called per neuron they do not vectorise). Lava's fixed-point
  LIF wraps every intermediate to int32 or keeps it inside 24 bits, so int32 arithmetic
  (wrapping) gives the same integers, with twice the lanes of int64; the one wider
  value, the decay's product ``u * keep`` (36 bits), is split so that it is not needed
  (:func:`_decay`). Every neuron is updated every step (no quiescence test: a small
  network is busy); the neurons and the dense blocks are padded to whole vectors with
  inert neurons (:func:`lnp_neuro.engines.batch.dense_layout`). A test compares the
  update with the per-sample kernel's on random states over the whole int32 range.

A neuron's bias in force at step ``t`` is row ``seg_of[t]`` of ``bias_table`` (one row per
segment of constant bias: :class:`~lnp_neuro.engines.onset.BiasSchedule`). ``rec_slot[t]``
is the slot of ``v_rec`` that receives ``v`` after step ``t``, or -1 (not recorded).

Larger or sparser networks, and ``mode="float"`` (whose sums follow Lava's order), run the
per-sample kernels from a compiled loop instead (``run_fixed_samples``,
``run_float_samples`` beside those kernels).

Compiled with ``nogil=True`` (blocks of samples run on threads:
:func:`lnp_neuro._util.parallel.map_blocks`) and without ``parallel=True``: every sample
is computed by one thread in a fixed order, whatever the thread count.
"""

from __future__ import annotations

import numba
import numpy as np

from ._kernels_fixed import _wrap32

__all__ = ["run_fixed_dense"]

_njit = numba.njit(cache=True, nogil=True)


@_njit
def _add_columns(w_t, lo, cols, n_cols, acc):
    # acc[lo + k] += w_t[j, k] for every listed column j: the dense accumulate (a slice,
    # so that the inner loop has no index wrap and vectorises), four columns per pass
    # (one load and store of the accumulators for four columns; integer sums do not
    # depend on the grouping, and each partial sum is exact in the widened arithmetic).
    span = w_t.shape[1]
    block = acc[lo:lo + span]
    c = 0
    while c + 4 <= n_cols:
        w0 = w_t[cols[c]]
        w1 = w_t[cols[c + 1]]
        w2 = w_t[cols[c + 2]]
        w3 = w_t[cols[c + 3]]
        for k in range(span):
            block[k] += (w0[k] + w1[k]) + (w2[k] + w3[k])
        c += 4
    while c < n_cols:
        w0 = w_t[cols[c]]
        for k in range(span):
            block[k] += w0[k]
        c += 1


@_njit
def _i32(value):
    # To int32, dropping the high bits (numba widens int32 arithmetic to int64; the casts
    # let the compiler keep 32-bit lanes, twice as many per vector).
    return np.int32(value)


@_njit
def _decay(value, keep):
    """``trunc(value * keep / 4096)`` wrapped to int32 (Lava's truncating 12-bit decay, as
    :func:`~lnp_neuro.engines._kernels_fixed._trunc_decay`), in 32-bit operations: with
    ``value = hi * 4096 + lo`` (``lo`` in [0, 4096)), ``floor(value * keep / 4096) =
    hi * keep + floor(lo * keep / 4096)`` exactly (``lo * keep < 2**25``; ``hi * keep``
    wraps like the int32 result), and rounding toward zero adds 1 where the product is
    negative with a remainder, ``(lo * keep) mod 4096 != 0``."""
    hi = _i32(value >> 12)
    low = _i32(_i32(value & 4095) * keep)
    floor = _i32(_i32(hi * keep) + _i32(low >> 12))
    return _i32(floor + _i32((value < 0) & ((low & 4095) != 0)))


@_njit
def _update_all(acc_rec, acc_in, r_left, r_right, i_left, i_right, active_mask, keep_u,
                keep_v, vth, bias, sub_mask, sub_amount, u, v, row):
    """One step of every neuron: :func:`~lnp_neuro.engines._kernels_fixed._input` then
    :func:`~lnp_neuro.engines._kernels_fixed._update`, the same integer results, written
    out in one branch-free loop over the neurons so that it vectorises (called per
    neuron they do not), in 32-bit lanes: every step of Lava's arithmetic wraps to int32
    (or stays inside 24 bits) except the decay's product, which :func:`_decay` splits.
    The reset to 0 is ``sub_mask`` 0 (``(vol - vsub) & 0``). Returns the current wraps."""
    uv_max = np.int32(8388608)                        # 2**23
    wraps = 0
    for i in range(v.shape[0]):
        # Each Sparse output after its exponent, wrapped to int32; their wrapped sum.
        ar = _wrap32((np.int64(acc_rec[i]) << r_left[i]) >> r_right[i])
        ai = _wrap32((np.int64(acc_in[i]) << i_left[i]) >> i_right[i])
        a = _i32(_i32(ar + ai) & active_mask[i])
        acc_rec[i] = 0
        acc_in[i] = 0
        act = _i32(a << 6)
        cur = _i32(_decay(u[i], keep_u[i]) + act)
        up = _i32(cur > uv_max)                       # Lava's 24-bit wrap of u
        down = _i32(cur <= -uv_max)
        w = _i32(cur - _i32(_i32(up - down) << 24))
        vol = _i32(_i32(_decay(v[i], keep_v[i]) + w) + bias[i])
        vol = _i32(min(max(vol, _i32(1 - uv_max)), _i32(uv_max - 1)))
        spiked = vol > vth[i]
        u[i] = w
        v[i] = _i32(_i32(vol - sub_amount[i]) & sub_mask[i]) if spiked else vol
        row[i] = spiked
        wraps += up | down
    return wraps


@_njit
def run_fixed_dense(x, seg_of, bias_table, active_mask, keep_u, keep_v, vth, sub_mask,
                    sub_amount, r_pre, r_w, r_lo, r_left, r_right, i_pre, i_w, i_lo, i_left,
                    i_right, acc_rec, acc_in, v, u, spikes, counts, rec_slot, v_rec):
    """Samples ``x[b]`` (``[B, T, n_in]`` bool) from rest, fixed point, dense accumulation
    (module docstring); writes ``spikes`` ``[B, T, N]`` (or, given ``[1, T, N]``, uses it
    as every sample's scratch raster), the spike counts ``counts`` ``[B, N]`` and the
    recorded ``v`` (integers).

    The per-neuron arrays, ``bias_table``'s rows and the work arrays (``acc_rec``/``acc_in``
    in the accumulator types, ``v``/``u``) have ``n_pad >= N`` entries, the ones after ``N``
    inert (lnp_neuro.engines.batch.dense_layout). ``sub_mask``, ``sub_amount``: -1 and
    ``vsub`` where a spike subtracts, 0 where it resets to 0 (:func:`_update_all`).
    ``r_pre[j]``: row of presynaptic neuron ``j`` in ``r_w`` (``[n_pre, span]``, the
    transposed recurrent integers of rows ``r_lo .. r_lo + span``), -1 for a neuron
    without synapses; ``i_pre``, ``i_w`` and ``i_lo`` likewise for the inputs. Returns
    the current wraps."""
    n_samples, n_steps, n_in = x.shape
    n = spikes.shape[2]
    n_pad = v.shape[0]
    row = np.zeros(n_pad, np.bool_)
    keep = spikes.shape[0] == n_samples
    has_pre = r_pre >= 0
    in_has_pre = i_pre >= 0
    spiking = np.empty(n, np.uint32)
    in_spiking = np.empty(max(n_in, 1), np.uint32)
    wraps = 0
    for b in range(n_samples):
        for i in range(n_pad):
            v[i] = 0
            u[i] = 0
            acc_rec[i] = 0
            acc_in[i] = 0
        xb = x[b]
        sb = spikes[b if keep else 0]
        cb = counts[b]
        for t in range(n_steps):
            wraps += _update_all(acc_rec, acc_in, r_left, r_right, i_left, i_right,
                                 active_mask, keep_u, keep_v, vth, bias_table[seg_of[t]],
                                 sub_mask, sub_amount, u, v, row)
            out = sb[t]
            for i in range(n):
                out[i] = row[i]
                cb[i] += row[i]
            slot = rec_slot[t]
            if slot >= 0:
                for i in range(n):
                    v_rec[b, slot, i] = v[i]
            if t + 1 == n_steps:
                break
            n_sp = 0
            for i in range(n):
                spiking[n_sp] = r_pre[i]
                n_sp += np.int64(row[i] & has_pre[i])
            _add_columns(r_w, r_lo, spiking, n_sp, acc_rec)
            n_x = 0
            for j in range(n_in):
                in_spiking[n_x] = i_pre[j]
                n_x += np.int64(xb[t, j] & in_has_pre[j])
            _add_columns(i_w, i_lo, in_spiking, n_x, acc_in)
    return wraps
