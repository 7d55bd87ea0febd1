"""Numba kernel of the native simulator's ``mode="float"`` (Lava's ``floating_pt`` LIF + Sparse).

Lava's float Sparse sums, per postsynaptic row, the weights of the spiking presynaptic
neurons with scipy's CSR row sum, i.e. numpy's ``add.reduceat``: the first weight plus
numpy's pairwise sum of the rest, in presynaptic index order (:mod:`lnp_neuro.engines.simulator`,
design section 6). This kernel computes exactly that sum, so rasters and states are
bit-identical to Lava's (and to :mod:`lnp_neuro.engines.numpy_ref`). How, and why each
choice keeps the bits:

- **Buckets, then one ordered sum per row.** A step's events are scattered column by
  column (CSC, spiking presynaptic neurons in ascending order, so every row receives its
  weights in ascending presynaptic order) into a per-row bucket: row ``r`` owns the
  slots ``base[r] .. base[r + 1]`` (its CSR row pointer: as many slots as the row has
  synapses, so a bucket never overflows) and ``nxt[r]`` is its next free slot. The inner
  loop is the fixed kernel's accumulate with one more store (load ``nxt[r]``, store the
  weight there, store ``nxt[r] + 1``), with no branch. Before the neurons read their
  input every row's bucket is summed in numpy's order (:func:`_row_sum`: the first
  weight, then for the rest a plain loop from 0.0 below 8 items, 8 interleaved partial
  sums combined as a tree plus the last incomplete block up to 128 items, the recursive
  halving above) and emptied. The float64 weights stay float64: the same values in the
  same order give the same sum.
- **Rows summed class by class.** The loops of that sum run as many times as the row has
  items, a number that changes from row to row, so summing the rows in index order
  mispredicts a loop exit or two per row, which cost more than the additions. The rows
  are therefore counting-sorted by item count each step (:func:`_sum_rows`) and summed
  one class after the other, all rows of a class together, operation by operation. (The
  previous kernel built the 8 partial sums during the scatter, with two data-dependent
  branches per event; measurements in docs/design.md.)
- **Narrow, unsigned indices.** Row indices are uint16 up to 65 536 rows (uint32 above),
  and the hot loops run their positions as uint64: numba wraps an index that could be
  negative (six instructions per array read), as in :mod:`lnp_neuro.engines._kernels_fixed`.
- **Branch-free update.** The spike test and the reset (:func:`_spike_reset`, the one
  place that says what a spike does to ``v``) are selects, not branches, and the dense loop
  only writes the raster row; the spiking neurons are collected from it afterwards.
- **Quiescent neurons are skipped.** A neuron with ``u`` and ``v`` exactly +0.0 (sign bit
  clear), no bias and no input stays there without spiking when its threshold is not
  negative and its decay factors are finite: ``0.0 * (1 - du)`` is +-0.0, adding the input
  ``+0.0`` gives +0.0, likewise ``v`` (``+0.0 + -0.0`` is +0.0). After a step with few events
  the kernel updates only the neurons not at rest plus the rows the step's events reach
  (marked during the scatter), as the fixed kernel does; a busy step uses the dense loop.
  The update order does not matter: neurons do not read each other within a step. In
  float the state of a neuron that once had input decays toward 0 without reaching it for
  thousands of steps, so this pays where parts of a network have been silent (a graph's
  later populations, a ported model before its input arrives), not after activity.

Row blocks (the fixed kernel's 16-bit offsets for N > 32 768) were measured for the buckets
and left out: with blocks of 64 to 512 rows the per-block column pointers cost more than
the smaller bucket footprint saved (docs/design.md). The order of the additions is
Lava's, so the float kernel does not reach the fixed kernel's speed, whose integer sums
may be added in any order: its scatter alone costs about what an unordered float64
scatter-add costs, and the ordered sums about as much again.

Neuron kinds (:class:`~lnp_neuro.model.network.SpikingNetwork`): a non-spiking neuron gets the
threshold ``+inf`` in ``vth`` (``v > inf`` is never true, so it never spikes or resets,
without a test of its own); ``reset_sub`` is ``(flags, amounts)``: a neuron with
``flags[i]`` set resets to ``v - amounts[i]`` (the threshold, or snnTorch's delayed
subtraction) instead of 0. ``reset_sub`` is None when no neuron subtracts, which compiles a
separate specialisation without that select.

Compiled with ``nogil=True`` (independent runs may share the cores) and without
``parallel=True``: nothing here depends on a thread count.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["run_float", "run_float_samples"]

# Module-level definitions so that numba's on-disk cache (cache=True) can be used.
_njit = numba.njit(cache=True, nogil=True)
# A step whose candidate neurons (not at rest, or reached by its events) are fewer than
# n / _SPARSE_FRACTION is followed by a sparse update; else by the dense loop (as in
# lnp_neuro.engines._kernels_fixed).
_SPARSE_FRACTION = 4
# Classes of rows by item count in _sum_rows: 0 .. 128 items (numpy's pairwise sum of up to
# 128 items after the first is one leaf), and 129 or more.
_CLASSES = 130


@_njit
def _pairwise_leaf(a, start, n):
    # numpy's pairwise summation for n <= 128 (numpy/_core/src/umath/loops_utils.h.src):
    # a plain loop below 8 items, else 8 interleaved partial sums combined as a tree.
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0 = a[start]
    r1 = a[start + 1]
    r2 = a[start + 2]
    r3 = a[start + 3]
    r4 = a[start + 4]
    r5 = a[start + 5]
    r6 = a[start + 6]
    r7 = a[start + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res

@_njit
def _pairwise_sum(a, start, n):
    # numpy's pairwise sum: above 128 items it splits at n2 = n//2 - (n//2) % 8 and
    # adds left + right. Evaluated with an explicit stack (post-order) instead of
    # recursion, which numba cannot cache.
    if n <= 128:
        return _pairwise_leaf(a, start, n)
    node_start = np.empty(128, np.int64)
    node_n = np.empty(128, np.int64)
    node_done = np.empty(128, np.bool_)
    values = np.empty(128, np.float64)
    top = 0
    n_values = 0
    node_start[0] = start
    node_n[0] = n
    node_done[0] = False
    top = 1
    while top > 0:
        top -= 1
        s = node_start[top]
        m = node_n[top]
        if m <= 128:
            values[n_values] = _pairwise_leaf(a, s, m)
            n_values += 1
        elif node_done[top]:
            right = values[n_values - 1]
            left = values[n_values - 2]
            n_values -= 2
            values[n_values] = left + right
            n_values += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            node_done[top] = True           # revisit after both halves
            top += 1
            node_start[top] = s + m2        # right half, evaluated second
            node_n[top] = m - m2
            node_done[top] = False
            top += 1
            node_start[top] = s             # left half, evaluated first
            node_n[top] = m2
            node_done[top] = False
            top += 1
    return values[0]

@_njit
def _row_sum(bucket, lo, hi):
    # np.add.reduceat of the items bucket[lo:hi] (ascending presynaptic order): the first
    # item, plus numpy's pairwise sum of the others (module docstring); 0.0 for none.
    c = hi - lo
    if c == 0:
        return 0.0
    first = bucket[lo]
    n = c - 1
    if n == 0:
        return first
    a = lo + np.uint64(1)
    if n < 8:
        res = 0.0
        for q in range(a, hi):
            res += bucket[q]
        return first + res
    if n > 128:
        return first + _pairwise_sum(bucket, np.int64(a), np.int64(n))
    # _pairwise_leaf inlined on unsigned positions
    r0 = bucket[a]
    r1 = bucket[a + np.uint64(1)]
    r2 = bucket[a + np.uint64(2)]
    r3 = bucket[a + np.uint64(3)]
    r4 = bucket[a + np.uint64(4)]
    r5 = bucket[a + np.uint64(5)]
    r6 = bucket[a + np.uint64(6)]
    r7 = bucket[a + np.uint64(7)]
    stop = a + np.uint64(n - (n & 7))
    q = a + np.uint64(8)
    while q < stop:
        r0 += bucket[q]
        r1 += bucket[q + np.uint64(1)]
        r2 += bucket[q + np.uint64(2)]
        r3 += bucket[q + np.uint64(3)]
        r4 += bucket[q + np.uint64(4)]
        r5 += bucket[q + np.uint64(5)]
        r6 += bucket[q + np.uint64(6)]
        r7 += bucket[q + np.uint64(7)]
        q += np.uint64(8)
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while q < hi:
        res += bucket[q]
        q += np.uint64(1)
    return first + res


@_njit
def _sum_rows(bucket, base, nxt, out, order, start, pos, res, lanes):
    """``out[r]`` = the reduceat sum of every row's bucket, which is emptied.

    The rows are taken class by class, a class being the rows with the same number of
    items ``c`` (a counting sort of the rows by count; the last class holds every row with
    ``_CLASSES - 1`` items or more and is summed row by row). Within a class every row
    goes through the same operations, so they are done for all its rows at once, one
    operation after the other, with the rows in the innermost loop (``pos``: the rows'
    first slots; ``res``, ``lanes``: their running sums): no loop exit depends on a row,
    and the rows' additions are independent of each other, where summing the rows in
    index order mispredicted a loop exit or two per row and waited on each row's chain of
    additions. Each row's own additions keep numpy's order (:func:`_row_sum`)."""
    n = out.shape[0]
    last = _CLASSES - 1
    for k in range(_CLASSES + 1):
        start[k] = 0
    for i in range(n):
        start[min(np.int64(nxt[i] - base[i]), last) + 1] += 1
    for k in range(_CLASSES):
        start[k + 1] += start[k]
    for i in range(n):
        c = min(np.int64(nxt[i] - base[i]), last)
        order[start[c]] = i
        start[c] += 1
    lo_k = 0
    for c in range(_CLASSES):
        hi_k = start[c]
        m = hi_k - lo_k
        if m == 0:
            continue
        cls = order[lo_k:hi_k]
        if c == 0:
            for k in range(m):
                out[cls[k]] = 0.0
        elif c < last:
            for k in range(m):
                pos[k] = np.uint64(base[cls[k]])
            nn = c - 1              # the items after the first
            if nn < 8:              # a plain loop from 0.0
                for k in range(m):
                    res[k] = 0.0
                for q in range(1, c):
                    off = np.uint64(q)
                    for k in range(m):
                        res[k] += bucket[pos[k] + off]
            else:                   # 8 partial sums over the complete blocks of 8,
                for j in range(8):      # a tree, then the incomplete block one by one
                    off = np.uint64(1 + j)
                    lane = lanes[j]
                    for k in range(m):
                        lane[k] = bucket[pos[k] + off]
                stop = nn - (nn & 7)
                for blk in range(8, stop, 8):
                    for j in range(8):
                        off = np.uint64(1 + blk + j)
                        lane = lanes[j]
                        for k in range(m):
                            lane[k] += bucket[pos[k] + off]
                l0 = lanes[0]
                l1 = lanes[1]
                l2 = lanes[2]
                l3 = lanes[3]
                l4 = lanes[4]
                l5 = lanes[5]
                l6 = lanes[6]
                l7 = lanes[7]
                for k in range(m):
                    res[k] = (((l0[k] + l1[k]) + (l2[k] + l3[k]))
                              + ((l4[k] + l5[k]) + (l6[k] + l7[k])))
                for q in range(stop, nn):
                    off = np.uint64(1 + q)
                    for k in range(m):
                        res[k] += bucket[pos[k] + off]
            if c == 1:
                for k in range(m):
                    out[cls[k]] = bucket[pos[k]]
            else:
                for k in range(m):
                    out[cls[k]] = bucket[pos[k]] + res[k]
        else:
            for k in range(m):
                r = cls[k]
                out[r] = _row_sum(bucket, np.uint64(base[r]), np.uint64(nxt[r]))
        lo_k = hi_k
    for i in range(n):
        nxt[i] = base[i]


@_njit
def _sum_rows_or_zero(bucket, base, nxt, out, order, start, events, pos, res, lanes):
    # _sum_rows, or 0.0 for every row when the step scattered nothing into the buckets.
    if events == 0:
        out[:] = 0.0
    else:
        _sum_rows(bucket, base, nxt, out, order, start, pos, res, lanes)


@_njit
def _take(r_bucket, r_base, r_nxt, i_bucket, i_base, i_nxt, i):
    # The summed recurrent and input activations of row i, and its buckets emptied.
    ar = _row_sum(r_bucket, np.uint64(r_base[i]), np.uint64(r_nxt[i]))
    ai = _row_sum(i_bucket, np.uint64(i_base[i]), np.uint64(i_nxt[i]))
    r_nxt[i] = r_base[i]
    i_nxt[i] = i_base[i]
    return ar, ai


@_njit
def _scatter(col_ptr, row_idx, data, cols, n_cols, nxt, bucket):
    # Each weight of the listed columns into the next free slot of its row's bucket.
    events = 0
    for k in range(n_cols):
        j = cols[k]
        lo = np.uint64(col_ptr[j])
        hi = np.uint64(col_ptr[j + 1])
        for p in range(lo, hi):
            r = row_idx[p]
            q = nxt[r]
            bucket[np.uint64(q)] = data[p]
            nxt[r] = q + np.uint32(1)      # unsigned + unsigned: no float64 promotion
        events += np.int64(hi - lo)
    return events


@_njit
def _scatter_marking(col_ptr, row_idx, data, cols, n_cols, nxt, bucket, listed, cand,
                     n_cand):
    # As _scatter, and every row reached that is not yet a candidate becomes one.
    events = 0
    for k in range(n_cols):
        j = cols[k]
        lo = np.uint64(col_ptr[j])
        hi = np.uint64(col_ptr[j + 1])
        for p in range(lo, hi):
            r = row_idx[p]
            q = nxt[r]
            bucket[np.uint64(q)] = data[p]
            nxt[r] = q + np.uint32(1)      # unsigned + unsigned: no float64 promotion
            if listed[r] == 0:
                listed[r] = 1
                cand[n_cand] = r
                n_cand += 1
        events += np.int64(hi - lo)
    return events, n_cand


@_njit
def _spike_reset(vi, i, vth, reset_sub):
    """(spiked, v after the step) of a neuron at ``vi``: above its threshold it spikes and
    resets to 0, or by subtraction (snnTorch's "subtract" reset) of ``reset_sub[1][i]``
    where ``reset_sub[0][i]``. ``reset_sub`` None (no neuron subtracts) compiles the plain
    reset alone."""
    spiked = vi > vth[i]
    if reset_sub is None:
        after = 0.0
    else:
        after = vi - reset_sub[1][i] if reset_sub[0][i] else 0.0
    return spiked, (after if spiked else vi)


@_njit
def _update(i, a, one_minus_du, one_minus_dv, vth, bias, reset_sub, u, v):
    # Lava's floating_pt LIF on input a, operation for operation; returns spiked.
    ui = u[i] * one_minus_du[i]
    ui = ui + a
    vi = v[i] * one_minus_dv[i] + ui + bias[i]
    u[i] = ui
    spiked, after = _spike_reset(vi, i, vth, reset_sub)
    v[i] = after
    return spiked


@_njit
def _not_at_rest(u_bits, v_bits, can_rest, active, awake):
    # The active neurons not provably at rest (pruned ones are never updated).
    n_aw = 0
    for i in range(u_bits.shape[0]):
        awake[n_aw] = i
        n_aw += np.int64(active[i] & (((u_bits[i] | v_bits[i]) != 0) | (can_rest[i] == 0)))
    return n_aw


@_njit
def run_float(t0, n_steps, x, active, one_minus_du, one_minus_dv, vth, bias, reset_sub,
              r_ptr, r_idx, r_dat, r_base, i_ptr, i_idx, i_dat, i_base,
              v, u, pend_in, pend_rec, spikes, record, v_rec, u_rec):
    """Steps ``t0 .. t0 + n_steps - 1``; returns (synaptic events, steps that updated only
    the neurons not at rest).

    On entry the pending activations are in ``pend_rec``/``pend_in``
    (:class:`~lnp_neuro.engines.simulator.NetworkState`); on exit they are there again, so
    calls can be chained (the progress bar's chunks, the bias onsets).
    """
    n = v.shape[0]
    n_in = x.shape[1]
    r_nxt = r_base[:-1].copy()
    i_nxt = i_base[:-1].copy()
    r_bucket = np.empty(max(r_base[n], 1), np.float64)
    i_bucket = np.empty(max(i_base[n], 1), np.float64)
    spiking = np.empty(n, np.uint32)
    in_spiking = np.empty(max(n_in, 1), np.uint32)
    cand = np.empty(n, np.uint32)        # neurons to update at the next step (sparse)
    awake = np.empty(n, np.uint32)       # neurons not at rest after this step's update
    listed = np.zeros(n, np.uint8)       # 1 while a neuron is in cand
    order = np.empty(n, np.uint32)       # rows by item count (_sum_rows)
    start = np.zeros(_CLASSES + 1, np.int64)
    pos = np.empty(n, np.uint64)         # work arrays of _sum_rows
    res = np.empty(n, np.float64)
    lanes = np.empty((8, n), np.float64)
    u_bits = u.view(np.int64)
    v_bits = v.view(np.int64)
    # 1 where a neuron at +0.0 without input provably stays there (module docstring).
    can_rest = np.zeros(n, np.uint8)
    for i in range(n):
        can_rest[i] = np.uint8(active[i] and bias[i] == 0.0 and vth[i] >= 0.0
                               and np.isfinite(one_minus_du[i])
                               and np.isfinite(one_minus_dv[i]))
    fan_out = np.diff(r_ptr)
    in_fan_out = np.diff(i_ptr)
    sparse_limit = (n + _SPARSE_FRACTION - 1) // _SPARSE_FRACTION
    events = 0
    r_ev = i_ev = 0             # events of the last dense scatter, per matrix
    sparse = False
    sparse_steps = 0
    n_cand = 0
    n_aw = 0
    next_rest_scan = 0
    for step in range(n_steps):
        t = t0 + step
        row = spikes[t]
        n_sp = 0
        if not sparse:
            if step > 0:        # at step 0 the pending activations are the caller's
                _sum_rows_or_zero(r_bucket, r_base, r_nxt, pend_rec, order, start, r_ev,
                                  pos, res, lanes)
                _sum_rows_or_zero(i_bucket, i_base, i_nxt, pend_in, order, start, i_ev,
                                  pos, res, lanes)
            for i in range(n):
                if active[i]:
                    row[i] = _update(i, (0.0 + pend_rec[i]) + pend_in[i], one_minus_du,
                                     one_minus_dv, vth, bias, reset_sub, u, v)
        else:
            sparse_steps += 1
            n_aw = 0
            for k in range(n_cand):
                i = cand[k]
                listed[i] = 0
                ar, ai = _take(r_bucket, r_base, r_nxt, i_bucket, i_base, i_nxt, i)
                if not active[i]:
                    continue
                s = _update(i, (0.0 + ar) + ai, one_minus_du, one_minus_dv, vth, bias,
                            reset_sub, u, v)
                row[i] = s
                spiking[n_sp] = i
                n_sp += np.int64(s)
                awake[n_aw] = i
                n_aw += np.int64(((u_bits[i] | v_bits[i]) != 0) | (can_rest[i] == 0))
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
        # The same choice of the next step's update as the fixed kernel's (its comments):
        # events counted only up to sparse_limit, the rest scan made after few events.
        step_events = 0
        for k in range(n_sp):
            step_events += fan_out[spiking[k]]
            if step_events >= sparse_limit:
                break
        if step_events < sparse_limit:
            for k in range(n_x):
                step_events += in_fan_out[in_spiking[k]]
        have_awake = sparse
        sparse = False
        if step + 1 < n_steps and step_events * _SPARSE_FRACTION < n:
            if not have_awake and step >= next_rest_scan:
                n_aw = _not_at_rest(u_bits, v_bits, can_rest, active, awake)
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
            ev, n_cand = _scatter_marking(r_ptr, r_idx, r_dat, spiking, n_sp, r_nxt,
                                          r_bucket, listed, cand, n_aw)
            ev2, n_cand = _scatter_marking(i_ptr, i_idx, i_dat, in_spiking, n_x, i_nxt,
                                           i_bucket, listed, cand, n_cand)
            events += ev + ev2
        else:
            r_ev = _scatter(r_ptr, r_idx, r_dat, spiking, n_sp, r_nxt, r_bucket)
            i_ev = _scatter(i_ptr, i_idx, i_dat, in_spiking, n_x, i_nxt, i_bucket)
            events += r_ev + i_ev
    # Hand the pending activations back in NetworkState's form.
    for i in range(n):
        pend_rec[i], pend_in[i] = _take(r_bucket, r_base, r_nxt, i_bucket, i_base, i_nxt, i)
    return events, sparse_steps


@_njit
def run_float_samples(x, seg_start, bias_table, active, one_minus_du, one_minus_dv, vth,
                      reset_sub, r_ptr, r_idx, r_dat, r_base, i_ptr, i_idx, i_dat, i_base,
                      v, u, spikes, counts, record, v_all, u_all, rec_slot, v_rec):
    """Samples ``x[b]`` each from rest through :func:`run_float`, one call per segment of
    constant bias, from one compiled loop (as
    :func:`lnp_neuro.engines._kernels_fixed.run_fixed_samples`): the batched float run
    (:mod:`lnp_neuro.engines.batch`), which keeps this kernel's summation order."""
    n_samples, n_steps = x.shape[0], x.shape[1]
    n = v.shape[0]
    keep = spikes.shape[0] == n_samples
    pend_in = np.zeros(n, np.float64)
    pend_rec = np.zeros(n, np.float64)
    for b in range(n_samples):
        for i in range(n):
            v[i] = 0.0
            u[i] = 0.0
            pend_in[i] = 0.0
            pend_rec[i] = 0.0
        sb = spikes[b if keep else 0]
        if not keep:            # the kernel's sparse steps write only the rows they update
            sb[:] = False
        for k in range(seg_start.shape[0] - 1):
            t0 = seg_start[k]
            run_float(t0, seg_start[k + 1] - t0, x[b], active, one_minus_du, one_minus_dv, vth,
                      bias_table[k], reset_sub, r_ptr, r_idx, r_dat, r_base, i_ptr, i_idx,
                      i_dat, i_base, v, u, pend_in, pend_rec, sb, record, v_all, u_all)
        for t in range(n_steps):
            for i in range(n):
                counts[b, i] += sb[t, i]
        if record:
            for t in range(n_steps):
                if rec_slot[t] >= 0:
                    for i in range(n):
                        v_rec[b, rec_slot[t], i] = v_all[t, i]
