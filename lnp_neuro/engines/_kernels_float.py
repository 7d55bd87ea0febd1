"""Numba kernels of the native simulator's ``mode="float"`` (Lava's ``floating_pt`` LIF + Sparse).

Lava's float Sparse sums, per postsynaptic row, the weights of the spiking presynaptic
neurons with scipy's CSR row sum, i.e. numpy's ``add.reduceat``: the first weight plus
numpy's pairwise sum of the rest, in presynaptic index order (:mod:`lnp_neuro.engines.simulator`,
design section 6). :func:`_gather_reduce` computes that sum on the fly while visiting the
spiking columns in ascending order, so rasters and states are bit-identical to Lava's.

Neuron kinds (:class:`~lnp_neuro.model.network.SpikingNetwork`): a non-spiking neuron gets the
threshold ``+inf`` in ``vth`` (``v > inf`` is never true, so it never spikes or resets,
without a test of its own); a neuron with ``reset_sub[i]`` set resets to
``v - v_threshold`` instead of 0, a test made only on a spike. ``reset_sub`` is None when
no neuron subtracts, which compiles a separate specialisation without that test, so
that plain networks run the same machine code as without neuron kinds.

Compiled with ``nogil=True`` (independent runs may share the cores) and without
``parallel=True``: nothing here depends on a thread count.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["run_float"]

# Module-level definitions so that numba's on-disk cache (cache=True) can be used.
_njit = numba.njit(cache=True, nogil=True)


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
def _gather_reduce(col_ptr, row_idx, data, spiking, n_spiking, spiked,
                   row_ptr, row_col, row_data, first, count, block, partial,
                   buffer, out):
    # Lava's float Sparse sums, per postsynaptic row, the weights of the spiking
    # columns in ascending column order with np.add.reduceat: first + pairwise(rest).
    # For up to 128 items numpy's pairwise sum is: a plain loop from 0.0 below 8
    # items, else 8 partial sums r[k] = a[k] + a[k+8] + ... over the complete blocks
    # of 8, combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the items of the
    # last incomplete block added one by one. Visiting the spiking columns in
    # ascending order, that is computed on the fly per row: ``block`` holds the
    # current incomplete block, ``partial`` the 8 partial sums. Rows with more than
    # 128 items (rare) are summed again from their CSR row (``spiked`` marks the
    # spiking columns) with the recursive algorithm. Rows without input get 0.
    # block and partial are flat (N * 8) arrays; unsigned indices (also the storage
    # position p) spare numba's negative-index wrap-around checks in this hot loop.
    events = 0
    eight = np.uint64(8)
    for k in range(n_spiking):
        j = spiking[k]
        spiked[j] = True
        lo = np.uint64(col_ptr[j])
        hi = np.uint64(col_ptr[j + 1])
        for p in range(lo, hi):
            r = np.uint64(row_idx[p])
            c = count[r]
            if c == 0:
                first[r] = data[p]
            else:
                i = c - 1                  # index among the items after the first
                slot = i & 7
                base = r * eight
                block[base + np.uint64(slot)] = data[p]
                if slot == 7:
                    if i == 7:
                        for q in range(8):
                            partial[base + np.uint64(q)] = block[base + np.uint64(q)]
                    elif i < 128:
                        for q in range(8):
                            partial[base + np.uint64(q)] += block[base + np.uint64(q)]
            count[r] = c + 1
        events += np.int64(hi - lo)
    for r in range(out.shape[0]):
        c = count[r]
        if c == 0:
            out[r] = 0.0
            continue
        n = c - 1
        b = r * 8
        if n == 0:
            out[r] = first[r]
        elif n < 8:
            res = 0.0
            for q in range(n):
                res += block[b + q]
            out[r] = first[r] + res
        elif n <= 128:
            res = ((partial[b] + partial[b + 1]) + (partial[b + 2] + partial[b + 3])) + \
                  ((partial[b + 4] + partial[b + 5]) + (partial[b + 6] + partial[b + 7]))
            for q in range(n & 7):
                res += block[b + q]
            out[r] = first[r] + res
        else:
            m = 0
            for p in range(np.uint64(row_ptr[r]), np.uint64(row_ptr[r + 1])):
                if spiked[row_col[p]]:
                    buffer[m] = row_data[p]
                    m += 1
            out[r] = buffer[0] + _pairwise_sum(buffer, 1, m - 1)
        count[r] = 0
    for k in range(n_spiking):
        spiked[spiking[k]] = False
    return events

@_njit
def run_float(t0, n_steps, x, active, one_minus_du, one_minus_dv, vth, bias, reset_sub,
               r_ptr, r_idx, r_dat, r_rptr, r_rcol, r_rdat,
               i_ptr, i_idx, i_dat, i_rptr, i_rcol, i_rdat,
               v, u, pend_in, pend_rec, spikes, record, v_rec, u_rec):
    n = v.shape[0]
    n_in = x.shape[1]
    first = np.zeros(n, np.float64)
    count = np.zeros(n, np.int64)
    block = np.zeros(n * 8, np.float64)
    partial = np.zeros(n * 8, np.float64)
    spiked = np.zeros(n, np.bool_)
    in_spiked = np.zeros(max(n_in, 1), np.bool_)
    r_buffer = np.empty(max(n, 1), np.float64)
    i_buffer = np.empty(max(n_in, 1), np.float64)
    spiking = np.empty(n, np.int64)
    in_spiking = np.empty(max(n_in, 1), np.int64)
    events = 0
    for step in range(n_steps):
        t = t0 + step
        n_sp = 0
        for i in range(n):
            if not active[i]:
                continue
            a = (0.0 + pend_rec[i]) + pend_in[i]
            ui = u[i] * one_minus_du[i]
            ui = ui + a
            vi = v[i] * one_minus_dv[i] + ui + bias[i]
            u[i] = ui
            if vi > vth[i]:
                # Reset to 0, or by subtraction (snnTorch's "subtract" reset): reset_sub
                # is (flags, amounts), or None when no neuron subtracts: numba then
                # compiles the plain reset alone (the branch on None is pruned at
                # compile time).
                if reset_sub is None:
                    vi = 0.0
                elif reset_sub[0][i]:
                    vi = vi - reset_sub[1][i]
                else:
                    vi = 0.0
                spikes[t, i] = True
                spiking[n_sp] = i
                n_sp += 1
            v[i] = vi
        if record:
            for i in range(n):
                v_rec[t, i] = v[i]
                u_rec[t, i] = u[i]
        n_x = 0
        for j in range(n_in):
            if x[t, j]:
                in_spiking[n_x] = j
                n_x += 1
        events += _gather_reduce(r_ptr, r_idx, r_dat, spiking, n_sp, spiked,
                                 r_rptr, r_rcol, r_rdat, first, count, block,
                                 partial, r_buffer, pend_rec)
        events += _gather_reduce(i_ptr, i_idx, i_dat, in_spiking, n_x, in_spiked,
                                 i_rptr, i_rcol, i_rdat, first, count, block,
                                 partial, i_buffer, pend_in)
    return events
