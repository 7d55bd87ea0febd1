"""Vectorised numpy reference engine of :mod:`lnp_neuro.engines.simulator` (``engine="numpy"``).

It follows Lava's formulation step by step (lava-nc 0.10.0 ``floating_pt`` and
``fixed_pt`` LIF + Sparse process models; the equations are in the docstring of
:mod:`lnp_neuro.engines.simulator`), reads the network as Lava does on every step and prepares
nothing. It is the reference the numba kernels (:mod:`lnp_neuro.engines._kernels_float`,
:mod:`lnp_neuro.engines._kernels_fixed`) are cross-checked against and the fallback when numba is
missing. It lives apart from the kernel driver because it changes for a different reason:
only when Lava's arithmetic is re-read, never for a kernel's layout or speed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._util.validation import progress_bar
from .fixed_point import ACT_SHIFT, DECAY_BITS, UV_BITS

__all__ = ["run_numpy", "sorted_csr"]

_UV_MAX = 2 ** (UV_BITS - 1)


def sorted_csr(mat: sp.spmatrix) -> sp.csr_matrix:
    """A CSR copy with sorted column indices: the canonical matrix Lava receives, whose
    row sums (``add.reduceat``) fix the float summation order (also the kernels' CSR)."""
    out = sp.csr_matrix(mat, copy=True)
    out.sort_indices()
    return out


def _wrap32(a: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32, ``((a + 2**31) mod 2**32) - 2**31`` in int64: Lava's
    fixed_pt int32 intermediates."""
    return ((a.astype(np.int64) + 2**31) % 2**32) - 2**31


def run_numpy(net, x, mode, fixed, state, record, progress, layout=None, activation=None):
    """Run ``x`` from ``state`` (updated in place); returns ``(spikes, v_rec, u_rec,
    synaptic events, current wraps)`` like the numba driver. ``layout`` is unused: the
    reference engine prepares nothing and reads the network as Lava does, per step; a
    neuron's bias is 0 at the steps before its ``net.bias_onset``.
    ``activation`` (:class:`~lnp_neuro.engines.delays.DelayedActivation`, for a network
    with delayed synapse groups) replaces the two Sparse processes: what it delivers
    after step ``t`` is the whole activation of step ``t + 1`` (``pending_recurrent``;
    ``pending_input`` stays 0)."""
    n, steps = net.n_total_neurons, x.shape[0]
    active = net.neuron_active
    can_spike = active & net.spiking             # non-spiking neurons never spike
    subtract = net.reset_subtract
    spikes = np.zeros((steps, n), np.bool_)
    v_rec = u_rec = None
    if record:
        dtype = np.float64 if mode == "float" else np.int64
        v_rec = np.zeros((steps, n), dtype)
        u_rec = np.zeros((steps, n), dtype)
    v, u = state.v, state.u
    pend_in, pend_rec = state.pending_input, state.pending_recurrent
    events = wraps = 0
    if mode == "float":
        # Canonical (sorted) rows: the summation order is that of Lava, which receives
        # canonical matrices (effective_input_weights() may come back unsorted).
        w, w_in = sorted_csr(net.effective_weights()), sorted_csr(net.effective_input_weights())
        omdu, omdv = 1 - net.du, 1 - net.dv
    else:
        w, w_in = fixed.weights, fixed.input_weights
        unity = 2 ** DECAY_BITS
        keep_u, keep_v = unity - (fixed.du + 1), unity - fixed.dv
        vth_eff, bias_eff = fixed.effective_vth, fixed.effective_bias
    # Bias onset (SpikingNetwork.bias_onset): a neuron's bias is 0 before its onset step.
    onset = getattr(net, "bias_onset", None)
    late = onset is not None and bool(np.any(onset))
    bias_full = net.bias if mode == "float" else bias_eff
    fan_out = np.diff(sp.csc_matrix(w).indptr)
    fan_out_in = np.diff(sp.csc_matrix(w_in).indptr)

    def trunc_decay(val, keep):
        prod = val * keep
        return _wrap32(np.sign(prod) * (np.abs(prod) >> DECAY_BITS))

    bar = progress_bar(steps, bool(progress), "simulate", unit="step")
    try:
        for t in range(steps):
            bias = np.where(onset <= t, bias_full, 0) if late else bias_full
            if mode == "float":
                a = (0.0 + pend_rec) + pend_in
                u_new = u * omdu
                u_new = u_new + a
                v_new = v * omdv + u_new + bias
                s = (v_new > net.v_threshold) & can_spike
                v_new = np.where(s, np.where(subtract, v_new - net.subtract_amount, 0.0),
                                 v_new)
            else:
                act = _wrap32(_wrap32(pend_rec + pend_in) << ACT_SHIFT)
                cur = _wrap32(trunc_decay(u, keep_u) + act)
                wrapped = np.where(cur > _UV_MAX, cur - 2 * _UV_MAX, cur)
                wrapped = np.where(wrapped <= -_UV_MAX, cur + 2 * _UV_MAX, wrapped)
                wraps += int(np.count_nonzero((wrapped != cur) & active))
                u_new = wrapped
                v_new = _wrap32(_wrap32(trunc_decay(v, keep_v) + u_new) + bias)
                v_new = np.clip(v_new, -(_UV_MAX - 1), _UV_MAX - 1)
                s = (v_new > vth_eff) & can_spike
                # v_new <= 2**23 - 1 and 0 < vsub < 2**23: the result stays in 24 bits.
                v_new = np.where(s, np.where(subtract, v_new - fixed.effective_vsub, 0), v_new)
            u[active] = u_new[active]
            v[active] = v_new[active]
            spikes[t] = s
            if record:
                v_rec[t], u_rec[t] = v, u
            if activation is not None:
                total, ev = activation.after_step(t, spikes, x)
                pend_rec[:] = total
                pend_in[:] = 0
                events += ev
                bar.update(1)
                continue
            # Sparse processes: accumulate this step's spikes for delivery at t + 1.
            for mat, pend, spk, fo, exp in ((w, pend_rec, s, fan_out, "rec"),
                                            (w_in, pend_in, x[t], fan_out_in, "in")):
                events += int(fo[spk].sum())
                total = np.asarray(mat[:, spk].sum(axis=1)).ravel()
                if mode == "fixed":
                    e = fixed.weight_exp if exp == "rec" else fixed.input_weight_exp
                    total = total.astype(np.int64)
                    up = e > 0
                    total[up] = total[up] << e[up]
                    total[~up] = total[~up] >> -e[~up]
                    total = _wrap32(total)
                pend[:] = total
            bar.update(1)
    finally:
        bar.close()
    return spikes, v_rec, u_rec, events, wraps
