"""Native event-driven CPU simulator, exact to Lava's LIF + Sparse process models.

One step of the network, as Lava (lava-nc 0.10.0) executes a ``RingBuffer -> Sparse ->
LIF`` input path with a recurrent ``LIF -> Sparse -> LIF`` loop under ``Loihi2SimCfg``
(design section 6). Both synaptic paths, input included, are delayed by one step, because
every ``Sparse`` process sends the activation it accumulated at the previous step before
it receives this step's spikes (its ``a_buff``)::

    a[t]  = W_in x[t-1] + W s[t-1]            (a[0] = 0; x[t] is input_spikes[t])
    u[t]  = u[t-1] (1 - du) + a[t]
    v[t]  = v[t-1] (1 - dv) + u[t] + bias
    s[t]  = v[t] > v_threshold ;  v[t] <- 0 where s[t]

per neuron kind (:class:`~lnp_neuro.model.network.SpikingNetwork`): a neuron with
``reset_subtract`` resets by ``v[t] <- v[t] - reset_amount`` in the same step (snnTorch's
subtract reset; the amount is ``v_threshold`` unless the network sets ``reset_amount``, as
for snnTorch's delayed reset; in ``mode="fixed"`` ``v <- v - vsub``, ``vsub = vth << 6``
by default, which stays inside the 24-bit range); a non-spiking neuron (``spiking`` False: NIR's ``LI``/``Integrator``, a readout)
never spikes and never resets; ``tau_mem = inf`` gives ``dv = 0``, no leak (the fixed
``dv`` rounds to 0 too). All three engines implement these rules and agree bit for bit.

``mode="float"`` computes exactly what Lava's ``floating_pt`` models compute, operation
for operation in float64, including the summation order of the synaptic input: Lava sums
the weights of the spiking presynaptic neurons with ``scipy``'s CSR row sum, i.e. numpy's
``add.reduceat`` (first weight + numpy's pairwise sum of the rest, in presynaptic index
order). The same order is used here, so rasters and states are bit-identical.

``mode="fixed"`` is Lava's bit-accurate ``fixed_pt`` arithmetic (Loihi: 12-bit decays with
the ``ds_offset`` of 1 on the current, truncation toward zero, 24-bit wrap of ``u``, 24-bit
saturation of ``v``, activation and threshold shifted by 6, bias mantissa/exponent,
8-bit weight mantissas with a shared exponent applied to each accumulated sum, int32
intermediates) on the integers of :func:`lnp_neuro.engines.fixed_point.quantize` (with one
weight exponent per Sparse process; per-neuron exponents are one Sparse per exponent).

The synaptic work per step is proportional to the synapses of the neurons that spiked:
the weights are read column by column (CSC) for the spiking presynaptic neurons only. The
kernels are compiled with numba (``engine="numba"``): :mod:`lnp_neuro.engines._kernels_float` and
:mod:`lnp_neuro.engines._kernels_fixed` (narrow types, int32 accumulators where provably exact,
the exponent folded into the neuron update, neurons at rest skipped; its docstring says
why each stays bit-exact). They release the GIL, so independent runs can share the cores
(:mod:`lnp_neuro._util.parallel`). ``engine="numpy"`` is a vectorised reference that follows
Lava's formulation step by step, independent of the kernels, used to cross-check them and
as a fallback when numba is missing (:mod:`lnp_neuro.engines.numpy_ref`).

:class:`Simulator` prepares a network once (the kernels' synapse layout and per-neuron
constants) and runs it on any number of inputs; :func:`simulate` is one run of a fresh
``Simulator``; :meth:`Simulator.run_batch` runs many samples, each from rest, in one
compiled call (:mod:`lnp_neuro.engines.batch`).

Pruned neurons (``net.neuron_active`` False) are never updated and never spike (their
state stays 0); pruned synapses carry nothing (``net.effective_weights()``).

Synapses of more than one step (``delayed``: the
:class:`~lnp_neuro.model.flat.DelayedSynapses` of a graph's
:class:`~lnp_neuro.model.flat.FlatLayout`) add ``W_d s[t-d] + W_in_d x[t-d]`` to ``a[t]``.
Such a network runs a separate path, so that the one above keeps its code and speed: the
activation of every step is computed by :class:`~lnp_neuro.engines.delays.DelayedActivation`
(the Sparse processes Lava runs for it, module docstring there) and handed to the kernels
as the pending activation of a one-step call, which then only update the neurons
(``engine="numba"``); the numpy engine does the same inside its own step loop.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import replace
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from .._util.validation import progress_bar
from ..model.network import SpikingNetwork
from .batch import BatchResult, dense_fits, dense_layout, run_batch
from .delays import DelayedActivation, check_delayed
from .fixed_point import DECAY_BITS, UV_BITS, FixedPointNetwork, quantize
from .numpy_ref import run_numpy as _run_numpy
from .onset import BiasSchedule
from .state import NetworkState, SimulationResult

__all__ = ["simulate", "Simulator", "SimulationResult", "BatchResult", "NetworkState",
           "numba_available"]

_MODES = ("float", "fixed")
_ENGINES = ("auto", "numba", "numpy")
_CHUNK_STEPS = 250       # steps per kernel call, so that a progress bar can move
_UV_MAX = 2 ** (UV_BITS - 1)
_BIAS_ARG = 5            # index of the bias in both kernels' arguments after t0, n_steps


# ----------------------------------------------------------------------- numba kernels
try:  # numba is a declared dependency; the numpy engine keeps the module importable.
    import numba as _numba
except ImportError:  # pragma: no cover - exercised only where numba is absent
    _numba = None


def numba_available() -> bool:
    return _numba is not None


# ------------------------------------------------------------------- preparation
def _csc_parts(mat: sp.spmatrix, dtype):
    # Row indices in the narrowest unsigned type (less memory traffic per event, no
    # negative-index check); the float64 weights and the visiting order are unchanged.
    from ._kernels_fixed import index_dtype
    csc = sp.csc_matrix(mat, copy=True)
    csc.sort_indices()  # rows ascending inside a column; columns are visited in order
    return (csc.indptr.astype(np.int64), csc.indices.astype(index_dtype(csc.shape[0])),
            csc.data.astype(dtype))


def _bucket_base(mat: sp.spmatrix):
    """Row ``r``'s slots ``base[r] .. base[r + 1]`` in the float kernel's buckets: its CSR row
    pointer, as many slots as the row has synapses (lnp_neuro.engines._kernels_float)."""
    indptr = sp.csr_matrix(mat).indptr
    return indptr.astype(np.uint32 if indptr[-1] < 2 ** 32 - 1 else np.uint64)


def _check_inputs(net: SpikingNetwork, input_spikes) -> np.ndarray:
    x = np.asarray(input_spikes)
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ValueError(f"input_spikes must have shape (T, n_inputs={net.n_inputs}), "
                         f"got {x.shape}")
    if x.dtype != np.bool_:
        if not (np.issubdtype(x.dtype, np.number)) or np.any((x != 0) & (x != 1)):
            raise ValueError("input_spikes must be boolean or hold only 0 and 1")
        x = x != 0
    return np.ascontiguousarray(x, dtype=np.bool_)


def _initial_state(net: SpikingNetwork, initial_state, mode: str,
                   fixed: FixedPointNetwork | None) -> NetworkState:
    n = net.n_total_neurons
    if initial_state is None:
        state = NetworkState.zeros(n, mode)
    elif isinstance(initial_state, NetworkState):
        if initial_state.mode != mode:
            raise ValueError(f"initial_state was produced in mode={initial_state.mode!r}, "
                             f"cannot continue in mode={mode!r}")
        state = NetworkState(initial_state.v, initial_state.u, initial_state.pending_input,
                             initial_state.pending_recurrent, mode)
    elif isinstance(initial_state, Mapping):
        unknown = set(initial_state) - {"v", "u"}
        if unknown:
            raise ValueError(f"initial_state keys must be 'v' and/or 'u', got {sorted(unknown)}")
        values = {}
        for key in ("v", "u"):
            arr = np.asarray(initial_state.get(key, 0.0), dtype=np.float64)
            arr = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr
            if arr.shape != (n,) or not np.all(np.isfinite(arr)):
                raise ValueError(f"initial_state[{key!r}] must be {n} finite values, "
                                 f"got shape {arr.shape}")
            if mode == "fixed":
                arr = np.round(arr * fixed.scale)
                if np.any(np.abs(arr) >= _UV_MAX):
                    raise ValueError(f"initial_state[{key!r}] exceeds the 24-bit range "
                                     f"(|x| * scale must be < 2**23, scale={fixed.scale})")
                arr = arr.astype(np.int64)
            values[key] = arr
        z = np.zeros(n, np.float64 if mode == "float" else np.int64)
        state = NetworkState(values["v"], values["u"], z, z, mode)
    else:
        raise ValueError("initial_state must be None, a NetworkState or a mapping with "
                         f"'v'/'u' arrays, got {type(initial_state).__name__}")
    if state.v.shape[0] != n:
        raise ValueError(f"initial_state describes {state.v.shape[0]} neurons, net has {n}")
    inactive = ~net.neuron_active
    for arr in (state.v, state.u, state.pending_input, state.pending_recurrent):
        arr[inactive] = 0
    return state


# ------------------------------------------------------------------------ engines
def _numba_layout(net, mode, fixed):
    """What the numba kernels read on every run of ``net``, in their types (built once
    per :class:`Simulator`)."""
    return _float_layout(net) if mode == "float" else _fixed_layout(net, fixed)


def _run_numba(net, x, mode, fixed, state, record, progress, layout, schedule=None):
    schedule = schedule or BiasSchedule(None)
    if mode == "float":
        return _run_numba_float(layout, x, state, record, progress, schedule)
    return _run_numba_fixed(layout, x, state, record, progress, schedule)


def _float_layout(net):
    w = net.effective_weights()
    w_in = net.effective_input_weights()
    # Copies, like the weights': the layout is what the network was when it was built.
    # A non-spiking neuron's threshold is +inf here: v > inf never holds (kernel docstring).
    # reset_sub is None when no neuron subtracts (the kernel's plain specialisation).
    vth = np.where(net.spiking, net.v_threshold, np.inf).astype(np.float64)
    reset_sub = ((np.array(net.reset_subtract, np.bool_),
                  np.array(net.subtract_amount, np.float64))
                 if net.reset_subtract.any() else None)
    return (np.array(net.neuron_active, np.bool_), 1 - net.du, 1 - net.dv,
            vth, np.array(net.bias, np.float64), reset_sub,
            *_csc_parts(w, np.float64), _bucket_base(w),
            *_csc_parts(w_in, np.float64), _bucket_base(w_in))


def _run_numba_float(layout, x, state, record, progress, schedule):
    from ._kernels_float import run_float
    n, steps = state.v.shape[0], x.shape[0]
    spikes = np.zeros((steps, n), np.bool_)
    rec_shape = (steps, n) if record else (0, n)
    events = 0
    v_rec = np.zeros(rec_shape, np.float64)
    u_rec = np.zeros(rec_shape, np.float64)
    args = (x, *layout, state.v, state.u, state.pending_input, state.pending_recurrent,
            spikes, record, v_rec, u_rec)
    for t0, length in _chunks(steps, progress, schedule.cuts(steps)):
        events += run_float(t0, length, *schedule.with_bias(args, _BIAS_ARG, t0))[0]
    return spikes, (v_rec if record else None), (u_rec if record else None), events, 0


def _fixed_matrix(mat: sp.spmatrix, exponents: np.ndarray):
    """Row-blocked CSC parts of an integer weight matrix in the fixed kernel's narrow
    types (pointers, row offsets, weights, rows per block), the exponent as (left, right)
    shifts per row and the accumulator dtype that is exact for it
    (lnp_neuro.engines._kernels_fixed)."""
    from ._kernels_fixed import (ROW_INDEX_DTYPE, WEIGHT_DTYPE, accumulator_dtype,
                                 csr_to_narrow_csc, row_blocks)
    csr = mat if sp.isspmatrix_csr(mat) else sp.csr_matrix(mat)
    n_rows, n_cols = csr.shape
    n_blocks, block_rows = row_blocks(n_rows)
    col_ptr = np.zeros((n_blocks, n_cols + 1), np.int64)
    row_idx = np.empty(csr.nnz, ROW_INDEX_DTYPE)
    values = np.empty(csr.nnz, WEIGHT_DTYPE)
    row_abs = np.zeros(n_rows, np.int64)
    csr_to_narrow_csc(csr.indptr, csr.indices, csr.data, block_rows, col_ptr, row_idx,
                      values, row_abs)
    exponents = np.asarray(exponents, np.int64)
    parts = (col_ptr, row_idx, values, np.int64(block_rows),
             np.maximum(exponents, 0).astype(np.uint8),
             np.maximum(-exponents, 0).astype(np.uint8))
    return parts, accumulator_dtype(int(row_abs.max(initial=0)))


def _fixed_layout(net, fixed):
    """The fixed kernel's per-neuron constants and synapse layout: a tuple of the
    arguments of :func:`lnp_neuro.engines._kernels_fixed.run_fixed` from ``active_mask`` to
    ``i_right``, and the two accumulator dtypes."""
    active = np.ascontiguousarray(net.neuron_active)
    # Pruned neurons: input masked to 0, no decay, no bias and a threshold v never reaches,
    # so they stay at 0 without a branch in the kernel. All fit int32 (12-bit decays,
    # 23-bit threshold, bias < 2**19), which keeps the data the update loop streams small.
    # Non-spiking neurons get the same unreachable threshold (v saturates at 2**23 - 1);
    # sub_mask is (-1 where a spike subtracts, 0 where it resets to 0; the amount
    # subtracted), or None when no neuron subtracts (the kernel compiles the plain reset).
    unity = 2 ** DECAY_BITS
    keep_u = np.where(active, unity - (fixed.du + 1), 0).astype(np.int32)
    keep_v = np.where(active, unity - fixed.dv, 0).astype(np.int32)
    vth = np.where(active & net.spiking, fixed.effective_vth, 2 ** 31 - 1).astype(np.int32)
    bias = np.where(active, fixed.effective_bias, 0).astype(np.int32)
    sub_mask = ((np.where(net.reset_subtract, -1, 0).astype(np.int32),
                 fixed.effective_vsub.astype(np.int32))
                if net.reset_subtract.any() else None)
    active_mask = np.where(active, -1, 0).astype(np.int32)
    rec_parts, rec_acc = _fixed_matrix(fixed.weights, fixed.weight_exp)
    in_parts, in_acc = _fixed_matrix(fixed.input_weights, fixed.input_weight_exp)
    return ((active_mask, keep_u, keep_v, vth, bias, sub_mask, *rec_parts, *in_parts),
            rec_acc, in_acc)


def _fixed_kernel_args(layout, x, state, record):
    """Arguments of :func:`lnp_neuro.engines._kernels_fixed.run_fixed` after its ``t0, n_steps``,
    and by name the arrays it writes: ``v``, ``u`` (its own copies, written back to
    ``state`` by the caller), ``spikes``, ``v_rec``, ``u_rec``."""
    statics, rec_acc, in_acc = layout
    n, steps = state.v.shape[0], x.shape[0]
    spikes = np.zeros((steps, n), np.bool_)
    # u and v live in int32 when they fit (they always do once the kernel has written
    # them: the current is an int32 moved toward 0 by the wrap, v saturates at 24 bits).
    fits32 = all(np.all(np.abs(a) <= 2 ** 31 - 1) for a in (state.v, state.u))
    uv_dtype = np.int32 if fits32 else np.int64
    v = state.v.astype(uv_dtype)
    u = state.u.astype(uv_dtype)
    rec_shape = (steps, n) if record else (0, n)
    out = dict(v=v, u=u, spikes=spikes, v_rec=np.zeros(rec_shape, uv_dtype),
               u_rec=np.zeros(rec_shape, uv_dtype))
    args = (x, *statics, v, u, state.pending_input, state.pending_recurrent,
            np.zeros(n, rec_acc), np.zeros(n, in_acc), spikes, record,
            out["v_rec"], out["u_rec"])
    return args, out


def _run_numba_fixed(layout, x, state, record, progress, schedule):
    from ._kernels_fixed import run_fixed
    args, out = _fixed_kernel_args(layout, x, state, record)
    events = wraps = 0
    for t0, length in _chunks(x.shape[0], progress, schedule.cuts(x.shape[0])):
        ev, wr, _ = run_fixed(t0, length, *schedule.with_bias(args, _BIAS_ARG, t0))
        events += ev
        wraps += wr
    state.v[:] = out["v"]
    state.u[:] = out["u"]
    return (out["spikes"], out["v_rec"] if record else None, out["u_rec"] if record else None,
            events, wraps)


def _without_synapses(net, fixed):
    """``net`` (and its integers) with empty synapse matrices: the kernels' layout for a
    network whose activation is computed outside them (delayed groups)."""
    n, n_in = net.n_total_neurons, net.n_inputs
    empty = net.copy(weights=sp.csr_matrix((n, n)), input_weights=sp.csr_matrix((n, n_in)))
    if fixed is None:
        return empty, None
    return empty, replace(fixed, weights=sp.csr_matrix((n, n), dtype=np.int32),
                          input_weights=sp.csr_matrix((n, n_in), dtype=np.int32))


def _run_numba_delayed(layout, activation, x, mode, state, record, progress, schedule):
    """One kernel call per step on a layout without synapses; the activation of step
    ``t + 1`` (:class:`~lnp_neuro.engines.delays.DelayedActivation`) is set as the pending
    activation in between (``pending_input`` 0), which the kernels add to nothing."""
    steps = x.shape[0]
    events = wraps = 0
    bar = progress_bar(steps, bool(progress), "simulate", unit="step")
    try:
        if mode == "float":
            from ._kernels_float import run_float
            n = state.v.shape[0]
            spikes = np.zeros((steps, n), np.bool_)
            rec_shape = (steps, n) if record else (0, n)
            v_rec = np.zeros(rec_shape, np.float64)
            u_rec = np.zeros(rec_shape, np.float64)
            args = (x, *layout, state.v, state.u, state.pending_input,
                    state.pending_recurrent, spikes, record, v_rec, u_rec)
            for t in range(steps):
                run_float(t, 1, *schedule.with_bias(args, _BIAS_ARG, t))
                total, ev = activation.after_step(t, spikes, x)
                state.pending_recurrent[:] = total
                state.pending_input[:] = 0
                events += ev
                bar.update(1)
            return spikes, (v_rec if record else None), (u_rec if record else None), events, 0
        from ._kernels_fixed import run_fixed
        args, out = _fixed_kernel_args(layout, x, state, record)
        for t in range(steps):
            _, wr, _ = run_fixed(t, 1, *schedule.with_bias(args, _BIAS_ARG, t))
            wraps += wr
            total, ev = activation.after_step(t, out["spikes"], x)
            state.pending_recurrent[:] = total
            state.pending_input[:] = 0
            events += ev
            bar.update(1)
    finally:
        bar.close()
    state.v[:] = out["v"]
    state.u[:] = out["u"]
    return (out["spikes"], out["v_rec"] if record else None, out["u_rec"] if record else None,
            events, wraps)


def _chunks(steps: int, progress: bool, cuts=()):
    """``(t0, length)`` of the kernel calls of a run: at most ``_CHUNK_STEPS`` each, and
    none across a step of ``cuts`` (a bias onset: the next call gets another bias)."""
    bar = progress_bar(steps, bool(progress), "simulate", unit="step")
    bounds = sorted({*range(0, steps, _CHUNK_STEPS), *cuts, steps})
    try:
        for t0, t1 in zip(bounds[:-1], bounds[1:]):
            yield t0, t1 - t0
            bar.update(t1 - t0)
    finally:
        bar.close()


_warned_no_numba = False


class Simulator:
    """One network, prepared once and run on any number of inputs.

    ``simulate(net, x, mode, ...)`` is ``Simulator(net, mode, ...).run(x, ...)``. The first
    :meth:`run` validates the configuration, quantises the network in ``mode="fixed"``
    when no ``quantization`` is given, and builds what the kernels read on every step:
    the weights transposed into their narrow-typed CSC and the per-neuron constants. Later
    runs reuse it, as Lava reuses a compiled process and Brian2 a built network, which
    pays where runs are many and short (trials, closed-loop samples).

    The network is read at the first run: change it afterwards and build a new
    ``Simulator``. Runs do not share state: each starts from ``initial_state`` (rest by
    default). A network with a ``bias_onset`` runs in segments cut at its onsets, each
    with the bias in force then (:mod:`lnp_neuro.engines.onset`); the onset steps count
    from every run's first step, also when it continues from a ``NetworkState``.

    Parameters
    ----------
    net : SpikingNetwork
    mode : "float" | "fixed"
        Lava ``floating_pt`` or bit-accurate ``fixed_pt`` arithmetic.
    quantization : FixedPointNetwork, optional
        Integer parameters for ``mode="fixed"``; default ``quantize(net)``.
    engine : "auto" | "numba" | "numpy"
        Event-driven compiled kernels, or the vectorised numpy reference.
    delayed : sequence of DelayedSynapses, optional
        Synapse groups of more than one step (``FlatLayout.delayed``; module docstring).
        With them ``initial_state`` cannot be a NetworkState: the spikes still on their
        way are not part of it.
    """

    def __init__(self, net: SpikingNetwork, mode: str = "float", *,
                 quantization: FixedPointNetwork | None = None, engine: str = "auto",
                 delayed=()):
        self.net = net
        self.mode = mode
        self.quantization = quantization
        self.engine = engine
        self.delayed = tuple(delayed or ())
        self._prepared = None        # (engine, FixedPointNetwork or None, kernel layout)
        self._dense = None           # run_batch's dense layout: [] none, [layout] built
        self._schedule = BiasSchedule(getattr(net, "bias_onset", None))
        self._lock = threading.Lock()

    def _prepare(self):
        # Runs may come from several threads at once (the kernels release the GIL); the
        # lock makes the first of them prepare and the others wait for it.
        with self._lock:
            if self._prepared is None:
                self._prepared = self._build()
            return self._prepared

    def _build(self):
        net, mode, engine = self.net, self.mode, self.engine
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if engine not in _ENGINES:
            raise ValueError(f"engine must be one of {_ENGINES}, got {engine!r}")
        if not isinstance(net, SpikingNetwork):
            raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
        fixed = None
        if mode == "fixed":
            fixed = quantize(net) if self.quantization is None else self.quantization
            if not isinstance(fixed, FixedPointNetwork):
                raise ValueError("quantization must be a FixedPointNetwork "
                                 "(lnp_neuro.engines.fixed_point.quantize)")
            if (fixed.size != net.n_total_neurons
                    or fixed.input_weights.shape[1] != net.n_inputs):
                raise ValueError(f"quantization describes {fixed.size} neurons and "
                                 f"{fixed.input_weights.shape[1]} inputs, net has "
                                 f"{net.n_total_neurons} and {net.n_inputs}")
        elif self.quantization is not None:
            raise ValueError("quantization is only used with mode='fixed'")
        if engine == "auto":
            engine = "numba" if _numba is not None else "numpy"
            global _warned_no_numba
            if engine == "numpy" and not _warned_no_numba:
                warnings.warn("numba is not installed: lnp_neuro.engines.simulator falls back to "
                              "the slow numpy engine (pip install numba)", RuntimeWarning,
                              stacklevel=4)
                _warned_no_numba = True
        elif engine == "numba" and _numba is None:
            raise ValueError("engine='numba' needs the numba package (pip install numba)")
        if self.delayed:
            activation = DelayedActivation(net, check_delayed(net, self.delayed), mode, fixed)
            layout = None
            if engine == "numba":
                bare_net, bare_fixed = _without_synapses(net, fixed)
                layout = _numba_layout(bare_net, mode, bare_fixed)
            return engine, fixed, (layout, activation)
        layout = _numba_layout(net, mode, fixed) if engine == "numba" else None
        return engine, fixed, layout

    def _batch_layout(self):
        """The dense layout of :meth:`run_batch` in ``mode="fixed"`` (built once), or None
        when the per-sample kernels run the batch (:mod:`lnp_neuro.engines.batch`)."""
        engine, fixed, layout = self._prepare()
        with self._lock:
            if self._dense is None:
                fits = (engine == "numba" and self.mode == "fixed" and not self.delayed
                        and dense_fits(fixed))
                self._dense = [dense_layout(fixed, *layout)] if fits else []
            return self._dense[0] if self._dense else None

    def run_batch(self, inputs, v_steps=None, raster: bool = True) -> BatchResult:
        """Every sample of ``inputs`` from rest, as many :meth:`run` calls bit for bit, in
        one compiled loop (:mod:`lnp_neuro.engines.batch`).

        Parameters
        ----------
        inputs : array (B, T, n_inputs), bool or 0/1
            ``inputs[b, t]`` reaches the neurons at step ``t + 1`` (Lava's Sparse delay).
        v_steps : sequence of int, optional
            Steps (negative: from the end) after which ``v`` is returned, per sample.
        raster : bool
            Return the rasters ``[B, T, N]``; False: only the spike counts ``[B, N]``
            (no raster is kept, scoring's case).
        """
        return run_batch(self, inputs, v_steps, raster)

    def run(self, input_spikes, record_state: bool = False, initial_state=None, *,
            progress: bool = False) -> SimulationResult:
        """Run ``T`` steps on ``input_spikes`` with Lava's semantics (module docstring).

        Parameters
        ----------
        input_spikes : array (T, n_inputs), bool or 0/1
            ``input_spikes[t]`` reaches the neurons at step ``t + 1`` (Lava's Sparse delay).
        record_state : bool
            Also return ``v`` and ``u`` of every step.
        initial_state : None | NetworkState | mapping {"v": (N,), "u": (N,)}
            Start state; a mapping is in float membrane units (rounded to integers in
            fixed mode), a NetworkState is a ``final_state`` of an earlier run (same mode).
        progress : bool
            Show a tqdm progress bar.
        """
        engine, fixed, layout = self._prepare()
        schedule = self._schedule
        if not isinstance(record_state, (bool, np.bool_)):
            raise ValueError(f"record_state must be True or False, got {record_state!r}")
        net, mode = self.net, self.mode
        x = _check_inputs(net, input_spikes)
        if self.delayed and isinstance(initial_state, NetworkState):
            raise ValueError("a network with delayed synapses cannot continue from a "
                             "NetworkState (the spikes on their way are not part of it); "
                             "give initial_state as a {'v', 'u'} mapping")
        state = _initial_state(net, initial_state, mode, fixed)
        if self.delayed:
            layout, activation = layout
            if engine == "numba":
                result = _run_numba_delayed(layout, activation, x, mode, state,
                                            bool(record_state), progress, schedule)
            else:
                result = _run_numpy(net, x, mode, fixed, state, bool(record_state), progress,
                                    activation=activation)
        elif engine == "numba":
            result = _run_numba(net, x, mode, fixed, state, bool(record_state), progress,
                                layout, schedule)
        else:
            result = _run_numpy(net, x, mode, fixed, state, bool(record_state), progress)
        spikes, v_rec, u_rec, events, wraps = result
        scale = None
        if mode == "fixed":
            scale = fixed.scale
            if record_state:
                v_rec = v_rec / scale
                u_rec = u_rec / scale
        return SimulationResult(spikes=spikes, v=v_rec, u=u_rec, final_state=state,
                                mode=mode, scale=scale, synaptic_events=int(events),
                                current_wraps=int(wraps))


def simulate(net: SpikingNetwork, input_spikes, mode: str = "float",
             record_state: bool = False, initial_state=None, *,
             quantization: FixedPointNetwork | None = None, engine: str = "auto",
             progress: bool = False, delayed=()) -> SimulationResult:
    """Run ``net`` for ``T`` steps on ``input_spikes`` with Lava's semantics (module doc).

    One run of a :class:`Simulator` (the parameters are its and its ``run``'s); to run the
    same network many times, keep a ``Simulator`` and its preparation instead.

    Parameters
    ----------
    net : SpikingNetwork
    input_spikes : array (T, n_inputs), bool or 0/1
        ``input_spikes[t]`` reaches the neurons at step ``t + 1`` (Lava's Sparse delay).
    mode : "float" | "fixed"
        Lava ``floating_pt`` or bit-accurate ``fixed_pt`` arithmetic.
    record_state : bool
        Also return ``v`` and ``u`` of every step.
    initial_state : None | NetworkState | mapping {"v": (N,), "u": (N,)}
        Start state; a mapping is in float membrane units (rounded to integers in
        fixed mode), a NetworkState is a ``final_state`` of an earlier run (same mode).
    quantization : FixedPointNetwork, optional
        Integer parameters for ``mode="fixed"``; default ``quantize(net)``.
    engine : "auto" | "numba" | "numpy"
        Event-driven compiled kernels, or the vectorised numpy reference.
    progress : bool
        Show a tqdm progress bar.
    delayed : sequence of DelayedSynapses, optional
        Synapse groups of more than one step (:class:`Simulator`).
    """
    return Simulator(net, mode, quantization=quantization, engine=engine,
                     delayed=delayed).run(
        input_spikes, record_state, initial_state, progress=progress)
