"""Numba kernel of the native simulator's ``mode="fixed"`` (Lava's bit-accurate LIF + Sparse).

The arithmetic is the one of :mod:`lnp_neuro.engines.fixed_point` and :mod:`lnp_neuro.engines.simulator`
(design section 6); this module only makes it fast. What it does differently from a
direct transcription, and why each choice stays bit-exact:

- **The shift is folded into the neuron update.** Lava's Sparse applies the row's weight
  exponent to the accumulated sum and wraps the int32 result before the LIF reads it.
  The kernel keeps the raw per-row sums (``acc``) and applies ``(acc << left) >> right``
  (``left = max(e, 0)``, ``right = max(-e, 0)``: one of them is 0, so this is the shift by
  ``e``; ``>>`` is arithmetic like numpy's) and the wrap when the neuron reads its input,
  then clears the sum. One pass over the neurons per step instead of three.
- **int32 accumulators where exact.** Each presynaptic neuron spikes at most once per step
  and a CSC column holds a row at most once, so ``|acc[r]| <= sum_j |w_int[r, j]|``. When
  that bound (per matrix, :func:`accumulator_dtype`) is below ``2**31`` the sum never
  leaves int32 and an int32 accumulator holds it exactly; otherwise int64 is used. (Two's
  complement addition is associative modulo ``2**32``, but the exponent's right shift
  needs the true sum, hence the bound.)
- **Row blocks with 16-bit indices**: the rows (postsynaptic neurons) are split into
  ``ceil(N / 32768)`` blocks of equal size and each block gets its own CSC
  (``col_ptr[b, j]``, block-major storage), so a row index is stored as its uint16 offset
  inside its block, and the scatter adds a step's spikes block by block (each block's
  accumulators, at most 128 KiB of int32, stay in cache while it is filled). Weight
  integers (8-bit mantissas, at most 9 bits with the sign) are int16. At N <= 32768
  there is one block, the plain CSC. Most of the gain is the narrower index stream
  (docs/design.md, "Notes moved from the code"); integer sums do not depend on the order
  of the adds.
- **Unsigned indices everywhere in the hot loops.** numba wraps an index that could be
  negative (``a[i]`` with a signed ``i`` becomes ``a[i + len(a)]`` when ``i < 0``), which
  costs six instructions per array read; LLVM drops the check only where it can prove
  ``i >= 0``, and a storage position running from a pointer read out of memory is not
  such a case. The scatters therefore run their positions as uint64 and their rows as
  uint16 offsets: the inner loop is three instructions per event (a load of the offset,
  a load of the weight, an add into memory); the CSC transpose below likewise.
- **Branch-free update**: the truncating decay, the 24-bit wrap of ``u`` (Lava's two
  ``np.where``, reproduced exactly, including values that stay out of range), the
  saturation of ``v`` and the spike test are computed without data-dependent branches,
  and the dense loop only writes the raster row: appending to a list there serialises
  the loop (about twice the cost per neuron), so the spiking neurons are collected
  from the row afterwards.
- **Quiescent neurons are skipped.** A neuron with ``u = v = 0``, no bias and no input
  stays at ``u = v = 0`` without spiking (the decay of 0 is 0 and every threshold is
  positive). After a step with few events the kernel updates only the neurons not at
  rest plus those that the step's spikes reach (marked during the scatter), so the cost
  follows the activity; a busy step uses the plain dense loop, which is cheaper then.
  The order in which neurons are updated does not matter in integer arithmetic. (A
  neuron returns to exactly 0 only after its truncating decays run out, tens to
  hundreds of steps after its last input, so this pays where parts of a network are
  silent, not in a uniformly active one.)

Measured and left out: reverse Cuthill-McKee ordering (on the Erdos-Renyi HRSNN the
mean ``|i - j|`` of a synapse stays ~N/3 and the scatter was not faster at N = 100 000)
and a scatter that buffers the events of a step by row block before adding them (2-3x
slower than the direct one; the row-blocked CSC above needs no buffer).

Pruned neurons are handled without a branch: their ``active_mask`` is 0, which clears
their input, and their parameters (:func:`lnp_neuro.engines.simulator` prepares them) keep them at
0 without spiking.

Neuron kinds (:class:`~lnp_neuro.model.network.SpikingNetwork`) need no branch either. A
non-spiking neuron (a readout) gets the kernel threshold ``2**31 - 1``, above the
saturated ``v`` (at most ``2**23 - 1``), so it never spikes and ``v`` saturates as usual.
A neuron that resets by subtraction has ``sub_mask`` -1 instead of 0, which selects
``v - vsub`` instead of 0 as the value after a spike (:func:`_update`). Both keep the
quiescence test above valid: a neuron at rest has no input to spike on, whatever its kind.

The kernel is compiled with ``nogil=True`` so independent runs can share the cores
(:mod:`lnp_neuro._util.parallel`), and without ``parallel=True``: its results do not depend on
any thread count.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["run_fixed", "run_fixed_samples", "csr_to_narrow_csc", "accumulator_dtype",
           "index_dtype", "row_blocks", "WEIGHT_DTYPE", "ROW_INDEX_DTYPE", "MAX_BLOCK_ROWS"]

WEIGHT_DTYPE = np.int16        # weight integers: -256..255 (design section 6)
ROW_INDEX_DTYPE = np.uint16    # a row's offset inside its block
#: Largest block of rows: int32 accumulators of at most 128 KiB, offsets within uint16.
MAX_BLOCK_ROWS = 2 ** 15
_INT32_MAX = 2 ** 31 - 1
# A step whose candidate neurons (not at rest, or reached by its events) are fewer than
# n / _SPARSE_FRACTION is followed by a sparse update; else by the dense loop.
_SPARSE_FRACTION = 4


def accumulator_dtype(abs_row_sums_max: int):
    """int32 when every row's accumulated sum provably fits (module docstring), else int64."""
    return np.int32 if int(abs_row_sums_max) <= _INT32_MAX else np.int64


def index_dtype(n_rows: int):
    """Smallest unsigned type that holds every row index."""
    return np.uint16 if n_rows <= 2 ** 16 else np.uint32


def row_blocks(n_rows: int) -> tuple[int, int]:
    """(number of row blocks, rows per block) of the fixed kernel's CSC (module docstring)."""
    n_blocks = max(1, -(-int(n_rows) // MAX_BLOCK_ROWS))
    return n_blocks, max(1, -(-int(n_rows) // n_blocks))


_njit = numba.njit(cache=True, nogil=True)


@_njit
def csr_to_narrow_csc(indptr, indices, data, block_rows, col_ptr, row_idx, values, row_abs):
    """Transpose a CSR integer matrix into the kernel's row-blocked CSC in counting passes.

    ``col_ptr`` (n_blocks, n_cols + 1), zeros on entry: entries of block ``b`` (rows
    ``b * block_rows ..``) and column ``j`` are ``col_ptr[b, j] .. col_ptr[b, j + 1]``,
    blocks stored one after the other. ``row_idx`` (the row's offset in its block) and
    ``values`` (nnz, narrow types) are filled; rows come out ascending inside each column
    (rows are visited in order), every stored entry is kept (the event count is the stored
    fan-out, as in scipy's ``tocsc``). ``row_abs[r]`` gets ``sum_j |w[r, j]|``, the
    accumulator bound.
    """
    # Unsigned indices: numba wraps a signed index that could be negative (module
    # docstring); with them this transpose takes 83 instead of 216 us at N = 1000.
    n_blocks = col_ptr.shape[0]
    n_cols = col_ptr.shape[1] - 1
    n_rows = indptr.shape[0] - 1
    rows_per_block = np.uint64(block_rows)
    one = np.uint64(1)
    for r in range(n_rows):
        b = np.uint64(r) // rows_per_block
        for p in range(np.uint64(indptr[r]), np.uint64(indptr[r + 1])):
            col_ptr[b, np.uint64(indices[p]) + one] += 1
    base = 0
    for b in range(n_blocks):
        col_ptr[b, 0] = base
        for c in range(n_cols):
            col_ptr[b, c + 1] += col_ptr[b, c]
        base = col_ptr[b, n_cols]
    nxt = col_ptr[:, :-1].copy()
    for r in range(n_rows):
        b = np.uint64(r) // rows_per_block
        offset = np.uint64(r) - b * rows_per_block
        total = 0
        for p in range(np.uint64(indptr[r]), np.uint64(indptr[r + 1])):
            c = np.uint64(indices[p])
            q = np.uint64(nxt[b, c])
            row_idx[q] = offset
            values[q] = data[p]
            nxt[b, c] = q + one
            total += abs(np.int64(data[p]))
        row_abs[r] = total


@_njit
def _wrap32(value):
    # Two's-complement wrap to int32 (numpy's int32 arithmetic), as a truncating cast.
    return np.int64(np.int32(value))


@_njit
def _trunc_decay(value, keep):
    # Lava: sign(p) * (|p| >> 12) of p = value * keep, then int32. Rounding toward zero is
    # floor((p + 4095) / 4096) for p < 0 and floor(p / 4096) otherwise.
    prod = np.int64(value) * keep
    return _wrap32((prod + ((prod >> 63) & 4095)) >> 12)


@_njit
def _update(i, a, keep_u, keep_v, vth, bias, sub_mask, u, v):
    """One LIF step of neuron ``i`` on input ``a`` (int32 activation, before the shift by
    6); returns (spiked, wrapped).

    ``sub_mask`` is ``(mask, vsub)``: on a spike ``v`` becomes ``(vol - vsub) & mask``,
    0 for a neuron that resets to zero (``mask`` 0), ``vol - vsub`` for one that resets by
    subtraction (``mask`` -1, all bits set; ``vsub`` the threshold, or snnTorch's delayed
    amount). ``vol < 2**23`` and ``0 < vsub < 2**23`` there, so no saturation is needed.
    ``sub_mask`` None (no neuron subtracts) compiles the plain reset to 0: the mask's load
    then costs nothing in the update loop."""
    uv_max = np.int64(8388608)                        # 2**23
    act = _wrap32(a << 6)
    cur = _wrap32(_trunc_decay(u[i], keep_u[i]) + act)
    # Lava: w = cur - 2**24 where cur > 2**23; then w = cur + 2**24 where w <= -2**23.
    up = np.int64(cur > uv_max)
    down = np.int64(cur <= -uv_max)
    w = cur - (up - down) * (2 * uv_max)
    vol = _wrap32(_wrap32(_trunc_decay(v[i], keep_v[i]) + w) + bias[i])
    vol = min(max(vol, -(uv_max - 1)), uv_max - 1)
    spiked = vol > vth[i]
    u[i] = w
    if sub_mask is None:
        v[i] = 0 if spiked else vol
    else:
        v[i] = ((vol - sub_mask[1][i]) & sub_mask[0][i]) if spiked else vol
    return spiked, up | down


@_njit
def _shifted(acc_value, left, right):
    return _wrap32((np.int64(acc_value) << left) >> right)


@_njit
def _scatter(col_ptr, row_idx, data, block_rows, cols, n_cols, acc):
    # Block by block: each block's accumulators are filled by all of the step's columns
    # before the next block's (module docstring).
    events = 0
    for b in range(col_ptr.shape[0]):
        block = acc[b * block_rows:]
        for k in range(n_cols):
            j = cols[k]
            lo = np.uint64(col_ptr[b, j])
            hi = np.uint64(col_ptr[b, j + 1])
            for p in range(lo, hi):
                block[row_idx[p]] += data[p]
            events += np.int64(hi - lo)
    return events


@_njit
def _scatter_marking(col_ptr, row_idx, data, block_rows, cols, n_cols, acc, listed, cand,
                     n_cand):
    # As _scatter, and every row reached that is not yet a candidate becomes one.
    events = 0
    for b in range(col_ptr.shape[0]):
        first = np.uint64(b * block_rows)
        for k in range(n_cols):
            j = cols[k]
            lo = np.uint64(col_ptr[b, j])
            hi = np.uint64(col_ptr[b, j + 1])
            for p in range(lo, hi):
                r = first + np.uint64(row_idx[p])
                acc[r] += data[p]
                if listed[r] == 0:
                    listed[r] = 1
                    cand[n_cand] = r
                    n_cand += 1
            events += np.int64(hi - lo)
    return events, n_cand


@_njit
def _input(i, acc_rec, acc_in, r_left, r_right, i_left, i_right, active_mask):
    # The activation neuron i reads: both Sparse outputs after their exponents, each
    # wrapped to int32, summed and wrapped (Lava), then cleared; 0 for a pruned neuron.
    a = _wrap32(_shifted(acc_rec[i], r_left[i], r_right[i])
                + _shifted(acc_in[i], i_left[i], i_right[i])) & active_mask[i]
    acc_rec[i] = 0
    acc_in[i] = 0
    return a


@_njit
def _not_at_rest(u, v, bias, awake):
    n_aw = 0
    for i in range(u.shape[0]):
        awake[n_aw] = i
        n_aw += np.int64((u[i] | v[i] | bias[i]) != 0)
    return n_aw


@_njit
def run_fixed(t0, n_steps, x, active_mask, keep_u, keep_v, vth, bias, sub_mask,
              r_ptr, r_idx, r_dat, r_block, r_left, r_right,
              i_ptr, i_idx, i_dat, i_block, i_left, i_right,
              v, u, pend_in, pend_rec, acc_rec, acc_in, spikes, record, v_rec, u_rec):
    """Steps ``t0 .. t0 + n_steps - 1``; returns (synaptic events, current wraps, steps
    that updated only the neurons not at rest).

    On entry the pending activations are in ``pend_rec``/``pend_in`` (after the exponent,
    as in :class:`~lnp_neuro.engines.simulator.NetworkState`) and the accumulators are 0; on exit
    the same holds again, so calls can be chained (the progress bar's chunks).
    """
    n = v.shape[0]
    n_in = x.shape[1]
    spiking = np.empty(n, np.uint32)
    in_spiking = np.empty(max(n_in, 1), np.uint32)
    cand = np.empty(n, np.uint32)        # neurons to update at the next step (sparse)
    awake = np.empty(n, np.uint32)       # neurons not at rest after this step's update
    listed = np.zeros(n, np.uint8)       # 1 while a neuron is in cand
    fan_out = np.zeros(n, np.int64)
    for b in range(r_ptr.shape[0]):
        for j in range(n):
            fan_out[j] += r_ptr[b, j + 1] - r_ptr[b, j]
    in_fan_out = np.zeros(max(n_in, 1), np.int64)
    for b in range(i_ptr.shape[0]):
        for j in range(n_in):
            in_fan_out[j] += i_ptr[b, j + 1] - i_ptr[b, j]
    sparse_limit = (n + _SPARSE_FRACTION - 1) // _SPARSE_FRACTION
    events = 0
    wraps = 0
    sparse = False
    sparse_steps = 0
    n_cand = 0
    n_aw = 0
    next_rest_scan = 0
    for step in range(n_steps):
        t = t0 + step
        row = spikes[t]
        n_sp = 0
        if step == 0:
            for i in range(n):
                a = _wrap32(pend_rec[i] + pend_in[i]) & active_mask[i]
                s, wr = _update(i, a, keep_u, keep_v, vth, bias, sub_mask, u, v)
                row[i] = s
                wraps += wr
        elif not sparse:
            # Dense: no list appends in this loop (they would serialise it); the spiking
            # neurons are collected from the raster row afterwards.
            for i in range(n):
                a = _input(i, acc_rec, acc_in, r_left, r_right, i_left, i_right, active_mask)
                s, wr = _update(i, a, keep_u, keep_v, vth, bias, sub_mask, u, v)
                row[i] = s
                wraps += wr
        else:
            # Sparse: the candidates only; the ones not at rest afterwards are collected
            # here, so no scan over all neurons is needed for the next step.
            sparse_steps += 1
            n_aw = 0
            for k in range(n_cand):
                i = cand[k]
                listed[i] = 0
                a = _input(i, acc_rec, acc_in, r_left, r_right, i_left, i_right, active_mask)
                s, wr = _update(i, a, keep_u, keep_v, vth, bias, sub_mask, u, v)
                row[i] = s
                spiking[n_sp] = i
                n_sp += np.int64(s)
                wraps += wr
                awake[n_aw] = i
                n_aw += np.int64((u[i] | v[i] | bias[i]) != 0)
        if not sparse or step == 0:
            for i in range(n):
                spiking[n_sp] = i
                n_sp += np.int64(row[i])
        if record:
            for i in range(n):
                v_rec[t, i] = v[i]
                u_rec[t, i] = u[i]
        n_x = 0
        for j in range(n_in):
            in_spiking[n_x] = j
            n_x += np.int64(x[t, j])
        # Work of the next step when sparse: the neurons not at rest plus at most one per
        # event. After a dense step the neurons not at rest are found by a scan, made
        # only after few events, and not again for 16 steps when it found too many.
        # Counted only up to sparse_limit (step_events * F < n <=> step_events <
        # sparse_limit): a busy step stops after a few spiking neurons.
        step_events = 0
        for k in range(n_sp):
            step_events += fan_out[spiking[k]]
            if step_events >= sparse_limit:
                break
        if step_events < sparse_limit:
            for k in range(n_x):
                step_events += in_fan_out[in_spiking[k]]
        have_awake = sparse          # this step ran sparse: awake[:n_aw] is current
        sparse = False
        if step + 1 < n_steps and step_events * _SPARSE_FRACTION < n:
            if not have_awake and step >= next_rest_scan:
                n_aw = _not_at_rest(u, v, bias, awake)
                have_awake = True
            if have_awake:
                sparse = (n_aw + step_events) * _SPARSE_FRACTION < n
                if not sparse:
                    next_rest_scan = step + 16
        if sparse:
            for k in range(n_aw):
                i = awake[k]
                listed[i] = 1
                cand[k] = i
            ev, n_cand = _scatter_marking(r_ptr, r_idx, r_dat, r_block, spiking, n_sp,
                                          acc_rec, listed, cand, n_aw)
            ev2, n_cand = _scatter_marking(i_ptr, i_idx, i_dat, i_block, in_spiking, n_x,
                                           acc_in, listed, cand, n_cand)
            events += ev + ev2
        else:
            events += _scatter(r_ptr, r_idx, r_dat, r_block, spiking, n_sp, acc_rec)
            events += _scatter(i_ptr, i_idx, i_dat, i_block, in_spiking, n_x, acc_in)
    # Hand the pending activations back in NetworkState's form.
    for i in range(n):
        pend_rec[i] = _shifted(acc_rec[i], r_left[i], r_right[i])
        pend_in[i] = _shifted(acc_in[i], i_left[i], i_right[i])
        acc_rec[i] = 0
        acc_in[i] = 0
    return events, wraps, sparse_steps


@_njit
def run_fixed_samples(x, seg_start, bias_table, active_mask, keep_u, keep_v, vth, sub_mask,
                      r_ptr, r_idx, r_dat, r_block, r_left, r_right,
                      i_ptr, i_idx, i_dat, i_block, i_left, i_right,
                      acc_rec, acc_in, v, u, spikes, counts, record, v_all, u_all, rec_slot,
                      v_rec):
    """Samples ``x[b]`` (``[B, T, n_in]``) each from rest through :func:`run_fixed`, one call
    per segment of constant bias (``seg_start``: the segments' first steps, then ``T``;
    ``bias_table[k]``: segment ``k``'s bias), from one compiled loop: the batched run of
    a large network (:mod:`lnp_neuro.engines.batch`), bit for bit as many runs since it
    is the same kernel on the same inputs. Writes ``spikes`` ``[B, T, N]`` (or, given
    ``[1, T, N]``, uses it as every sample's scratch raster) and adds each sample's spike
    counts to ``counts`` ``[B, N]``. ``v_all``/``u_all`` ``[T, N]`` are the kernel's
    record (``record``), copied to ``v_rec[b, rec_slot[t]]``. Returns the current
    wraps."""
    n_samples, n_steps = x.shape[0], x.shape[1]
    n = v.shape[0]
    keep = spikes.shape[0] == n_samples
    pend_in = np.zeros(n, np.int64)
    pend_rec = np.zeros(n, np.int64)
    wraps = 0
    for b in range(n_samples):
        for i in range(n):
            v[i] = 0
            u[i] = 0
            pend_in[i] = 0
            pend_rec[i] = 0
        sb = spikes[b if keep else 0]
        if not keep:            # the kernel's sparse steps write only the rows they update
            sb[:] = False
        for k in range(seg_start.shape[0] - 1):
            t0 = seg_start[k]
            _, wr, _ = run_fixed(t0, seg_start[k + 1] - t0, x[b], active_mask, keep_u, keep_v,
                                 vth, bias_table[k], sub_mask, r_ptr, r_idx, r_dat, r_block,
                                 r_left, r_right, i_ptr, i_idx, i_dat, i_block, i_left,
                                 i_right, v, u, pend_in, pend_rec, acc_rec, acc_in,
                                 sb, record, v_all, u_all)
            wraps += wr
        for t in range(n_steps):
            for i in range(n):
                counts[b, i] += sb[t, i]
        if record:
            for t in range(n_steps):
                if rec_slot[t] >= 0:
                    for i in range(n):
                        v_rec[b, rec_slot[t], i] = v_all[t, i]
    return wraps
