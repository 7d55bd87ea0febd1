"""Run a :class:`~lnp_neuro.model.network.SpikingNetwork` in Lava (lava-nc 0.10.0, Loihi 2 on CPU).

Process graph built for the active neurons (pruned ones are compacted away first and
the raster is expanded back; they never spike)::

    RingBuffer(x) --s_out--> Sparse(W_in) --a_out--> LIF --s_out--> SpikeRecorder
                                                    ^      |
                                                    +------+  Sparse(W) (recurrent)

run under ``Loihi2SimCfg(select_tag="floating_pt" | "fixed_pt")`` (design section 6).

- ``floating_pt``: LIF ``du = dt/tau_syn``, ``dv = dt/tau_mem``, ``vth = v_threshold``,
  ``bias_mant = bias``; Sparse weights are the float effective weights.
- ``fixed_pt``: the integers of :func:`lnp_neuro.engines.fixed_point.quantize` (12-bit du/dv,
  17-bit vth, bias mantissa/exponent, 8-bit weights with the sign mode of the matrix and
  one ``weight_exp`` per Sparse process: the rows (postsynaptic neurons) of each distinct
  exponent get their own Sparse, all feeding the LIF's ``a_in``, where Lava sums them).

The neuron process is Lava's own ``LIF`` when every kept neuron spikes and resets to zero
(:attr:`~lnp_neuro.model.network.SpikingNetwork.is_plain_lif`, the reservoirs). Otherwise it is
our :class:`~lnp_neuro.engines.lava.procs.lif_reset.LIFResetKinds`: Lava's LIF
sub-threshold arithmetic (its abstract LIF process models) with a per-neuron spike and
reset, because Lava 0.10's LIF can only reset to zero::

    s = (v > vth) & spiking          (fixed: vth << 6, as Lava compares)
    v <- v - vth where s & reset_subtract ;  v <- 0 where s & ~reset_subtract

``tau_mem = inf`` needs no special process: ``dv = 0`` keeps ``v`` exact in both modes.

Per-neuron ``du``, ``dv`` and ``vth`` are passed as arrays. Lava's ``LIF`` docstring
allows a single value for the whole population, but its CPU process models apply them
element-wise (the Var is handed to the model as given), which is what heterogeneous
time constants need; on Loihi hardware each distinct decay pair would need its own
compartment profile.

The spikes are recorded by our :class:`~lnp_neuro.engines.lava.procs.spike_recorder.
SpikeRecorder`, 32 neurons to a word, instead of Lava's ``Monitor``: Lava 0.10 reads a Var
back one element per channel message, which made reading a ``Monitor`` of the default
network (1000 neurons x 500 steps) take 8.7 s against a 2.2 s run.

Synapses of more than one step (``delayed``, :mod:`lnp_neuro.engines.delays`): the
LIF's spikes and the RingBuffer's inputs go to our
:class:`~lnp_neuro.engines.lava.procs.delay_lines.DelayLines`, which sends every synapse
block its source ``delay - 1`` steps late, stacked; ``floating_pt`` runs one Sparse of the
stacked matrix, ``fixed_pt`` one Sparse per block and weight exponent (the other blocks'
columns empty)::

    RingBuffer(x) --+--> DelayLines --z--> Sparse(s) --a_out--> LIF --s_out--> SpikeRecorder
                    LIF.s_out --^

A network with a ``bias_onset`` (:mod:`lnp_neuro.engines.onset`) runs in segments of
constant bias: the LIF starts with the bias of the neurons whose onset is 0, and
``bias_mant`` (``bias_exp`` in ``fixed_pt``) is set between ``run`` calls at each onset.

The runtime is always stopped, also when the run fails (then the run's error is raised).
A run that does not finish (an error, SIGINT / SIGTERM turned into an exception by
:func:`lnp_neuro._util.interrupts.signals_raise`) kills its worker processes and frees its
shared memory instead of waiting for them; workers forked by the run are killed by the
kernel if this process dies (:func:`lnp_neuro._util.interrupts.children_die_with_parent`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from ..._util.interrupts import children_die_with_parent, kill_children
from ...model.network import SpikingNetwork
from ..delays import NEURONS, check_delayed, fixed_blocks, stacked_weights, synapse_blocks
from ..fixed_point import FixedPointNetwork, quantize
from ..onset import BiasSchedule
from .compat import ensure_lava

__all__ = ["run_lava", "build_lava_network", "LavaNetwork"]

_MODES = {"float": "floating_pt", "fixed": "fixed_pt"}


class LavaNetwork:
    """The Lava processes of one network (compacted to its active neurons).

    Attributes: ``source`` (RingBuffer or None without inputs), ``input_sparse`` and
    ``recurrent_sparse`` (lists of Sparse processes: one per distinct weight exponent in
    fixed point, one in float), ``lif`` (Lava's ``LIF``, or
    :class:`~lnp_neuro.engines.lava.procs.lif_reset.LIFResetKinds` for a network that
    is not :attr:`~lnp_neuro.model.network.SpikingNetwork.is_plain_lif`), ``recorder`` (the
    :class:`~lnp_neuro.engines.lava.procs.spike_recorder.SpikeRecorder` on the LIF's
    ``s_out``), ``kept`` (original indices of the LIF neurons), ``n_steps``, ``mode``,
    ``bias``: the LIF's full ``bias_mant`` and ``bias_exp`` (set from the start only for
    the neurons whose ``bias_onset`` is 0) and ``schedule`` (:class:`~lnp_neuro.engines.
    onset.BiasSchedule` of the kept neurons), which :func:`run_lava` sets between runs.
    """

    bias: tuple = ()
    schedule: BiasSchedule = BiasSchedule(None)

    def __init__(self, source, input_sparse, lif, recurrent_sparse, recorder, kept,
                 n_steps, mode):
        self.source = source
        self.input_sparse = input_sparse
        self.lif = lif
        self.recurrent_sparse = recurrent_sparse
        self.recorder = recorder
        self.kept = kept
        self.n_steps = n_steps
        self.mode = mode

    def recorded_spikes(self, n_steps: int) -> np.ndarray:
        """The first ``n_steps`` recorded steps, bool (n_steps, len(kept)); the runtime
        must be started and paused (after a run, before ``stop``)."""
        from .procs.spike_recorder import unpack_spikes
        return unpack_spikes(self.recorder.words.get(), len(self.kept))[:n_steps]


def _sign_mode(name: str):
    from lava.utils.weightutils import SignMode
    return {"excitatory": SignMode.EXCITATORY, "inhibitory": SignMode.INHIBITORY,
            "mixed": SignMode.MIXED}[name]


def _amount(compact, amount) -> dict:
    """``reset_amount`` of :class:`~lnp_neuro.engines.lava.procs.lif_reset.LIFResetKinds`
    when the network sets one (snnTorch's delayed subtraction), else nothing: the
    process then subtracts the threshold, and Lava's own LIF needs no such Var."""
    if amount is None or compact.is_plain_lif:
        return {}
    return {"reset_amount": np.asarray(amount).copy()}


def _exponent_parts(w_int: sp.csr_matrix, row_exp: np.ndarray, sign_mode: str):
    """One (weights, Sparse kwargs) per distinct exponent, each with only its rows."""
    parts = []
    for exp, rows in FixedPointNetwork.exponent_groups(row_exp).items():
        keep = np.zeros(w_int.shape[0])
        keep[rows] = 1
        part = sp.csr_matrix(sp.diags(keep) @ w_int, dtype=np.int32)
        part.eliminate_zeros()
        part.sort_indices()
        parts.append((part, dict(weight_exp=exp, num_weight_bits=8,
                                 sign_mode=_sign_mode(sign_mode))))
    if not parts:  # no neurons at all
        parts.append((sp.csr_matrix(w_int, dtype=np.int32), dict(weight_exp=0)))
    return parts


def _compact_block(mat: sp.csr_matrix, kept: np.ndarray, source: str) -> sp.csr_matrix:
    out = mat[kept][:, kept] if source == NEURONS else mat[kept]
    out = sp.csr_matrix(out)
    out.sort_indices()
    return out


def _delayed_parts(net, delayed, kept, mode, fixed):
    """The DelayLines arguments and the (weights, Sparse kwargs) fed by its stacked
    output (module docstring), on the compacted neurons."""
    blocks = synapse_blocks(net, delayed)
    lines = dict(sources=[0 if b.source == NEURONS else 1 for b in blocks],
                 lags=[b.lag for b in blocks])
    if mode == "float":
        for b in blocks:
            b.weights = _compact_block(b.weights, kept, b.source)
        return lines, [(stacked_weights(blocks), {})]
    ints = fixed_blocks(blocks, fixed)
    widths = [len(kept) if b.source == NEURONS else net.n_inputs for b in blocks]
    parts, start, total = [], 0, sum(widths)
    for b, (w_int, exp, sign), width in zip(blocks, ints, widths):
        w = _compact_block(w_int, kept, b.source)
        padded = sp.hstack([sp.csr_matrix((len(kept), start), dtype=np.int32), w,
                            sp.csr_matrix((len(kept), total - start - width), dtype=np.int32)],
                           format="csr", dtype=np.int32)
        parts += _exponent_parts(padded, np.asarray(exp)[kept], sign)
        start += width
    return lines, parts


def _sparse_processes(parts, out_port, lif) -> list:
    """One Sparse process per ``(weights, keyword arguments)`` of ``parts``, each reading
    ``out_port`` and feeding the LIF's ``a_in`` (where Lava sums them); Lava is imported
    by the caller (:func:`lnp_neuro.engines.lava.compat.ensure_lava`)."""
    from lava.proc.sparse.process import Sparse
    processes = []
    for weights, kw in parts:
        proc = Sparse(weights=weights, **kw)
        out_port.connect(proc.s_in)
        proc.a_out.connect(lif.a_in)
        processes.append(proc)
    return processes


def build_lava_network(net: SpikingNetwork, input_spikes: np.ndarray, mode: str = "fixed",
                       *, quantization: FixedPointNetwork | None = None,
                       initial_state: Mapping | None = None, delayed=()) -> LavaNetwork:
    """Create (not run) the Lava processes of ``net`` driven by ``input_spikes`` (T, n_in);
    ``delayed``: synapse groups of more than one step (module docstring)."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {tuple(_MODES)}, got {mode!r}")
    ensure_lava()
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF

    from .procs.spike_recorder import SpikeRecorder

    x = np.asarray(input_spikes)
    n_steps = x.shape[0]
    compact, kept = net.compact()
    n = compact.n_total_neurons
    u0 = np.zeros(n)
    v0 = np.zeros(n)
    if initial_state is not None:
        if not isinstance(initial_state, Mapping) or set(initial_state) - {"v", "u"}:
            raise ValueError("initial_state for the Lava back end must be a mapping with "
                             "'v' and/or 'u' arrays (float membrane units)")
        full = {k: np.broadcast_to(np.asarray(initial_state.get(k, 0.0), np.float64),
                                   (net.n_total_neurons,)) for k in ("v", "u")}
        u0, v0 = full["u"][kept].copy(), full["v"][kept].copy()

    # Lava's own LIF for the plain networks (every neuron spiking and resetting to
    # zero: its results and speed stay those of Lava); LIFResetKinds only when a kept
    # neuron resets by subtraction or does not spike.
    if compact.is_plain_lif:
        neuron_process, kinds = LIF, {}
    else:
        from .procs.lif_reset import LIFResetKinds
        neuron_process = LIFResetKinds
        kinds = dict(reset_subtract=compact.reset_subtract.astype(np.int32),
                     spiking=compact.spiking.astype(np.int32))

    schedule = BiasSchedule(compact.bias_onset)
    if mode == "fixed":
        fixed = quantize(net) if quantization is None else quantization
        if fixed.size != net.n_total_neurons:
            raise ValueError(f"quantization describes {fixed.size} neurons, net has "
                             f"{net.n_total_neurons}")
        fx = fixed.compact(kept)
        bias = (fx.bias_mant.copy(), fx.bias_exp.copy())
        lif = neuron_process(shape=(n,), du=fx.du.copy(), dv=fx.dv.copy(), vth=fx.vth.copy(),
                             bias_mant=schedule.bias_at(bias[0], 0),
                             bias_exp=schedule.bias_at(bias[1], 0),
                             u=np.round(u0 * fx.scale).astype(np.int64),
                             v=np.round(v0 * fx.scale).astype(np.int64), **kinds,
                             **_amount(compact, fx.vsub))
        rec_parts = _exponent_parts(fx.weights, fx.weight_exp, fx.sign_mode)
        in_parts = _exponent_parts(fx.input_weights, fx.input_weight_exp, fx.input_sign_mode)
        data = x.T.astype(np.int32)
    else:
        bias = (compact.bias.copy(),)
        lif = neuron_process(shape=(n,), du=compact.du.copy(), dv=compact.dv.copy(),
                             vth=compact.v_threshold.copy(),
                             bias_mant=schedule.bias_at(bias[0], 0),
                             bias_exp=np.zeros(n), u=u0, v=v0, **kinds,
                             **_amount(compact, compact.reset_amount))
        rec_parts = [(sp.csr_matrix(compact.weights, copy=True), {})]
        in_parts = [(sp.csr_matrix(compact.input_weights, copy=True), {})]
        data = x.T.astype(np.float64)

    delayed = check_delayed(net, delayed)
    if delayed:
        from .procs.delay_lines import DelayLines
        lines_kw, parts = _delayed_parts(net, delayed, kept, mode,
                                         fixed if mode == "fixed" else None)
        lines = DelayLines(n_neurons=n, n_inputs=net.n_inputs, **lines_kw)
        lif.s_out.connect(lines.s_in)
        source = None
        if net.n_inputs > 0 and n_steps > 0:
            source = RingBuffer(data=data)
            source.s_out.connect(lines.x_in)
        synapses = _sparse_processes(parts, lines.z_out, lif)
        recorder = SpikeRecorder(n_neurons=max(n, 1), n_steps=max(n_steps, 1))
        lif.s_out.connect(recorder.s_in)
        return _with_bias(LavaNetwork(source, [], lif, synapses, recorder, kept, n_steps,
                                      mode), bias, schedule)

    recurrent = _sparse_processes(rec_parts, lif.s_out, lif)
    source, input_sparse = None, []
    if net.n_inputs > 0 and n_steps > 0:
        source = RingBuffer(data=data)
        input_sparse = _sparse_processes(in_parts, source.s_out, lif)
    recorder = SpikeRecorder(n_neurons=max(n, 1), n_steps=max(n_steps, 1))
    lif.s_out.connect(recorder.s_in)
    return _with_bias(LavaNetwork(source, input_sparse, lif, recurrent, recorder, kept,
                                  n_steps, mode), bias, schedule)


def _with_bias(lava_net: LavaNetwork, bias: tuple, schedule: BiasSchedule) -> LavaNetwork:
    lava_net.bias, lava_net.schedule = bias, schedule
    return lava_net


def _run_segments(lava_net: LavaNetwork, n_steps: int, run_cfg) -> None:
    """Run ``n_steps`` in one ``run`` call, or, with a bias onset, one call per segment
    of constant bias, setting the LIF's ``bias_mant`` (and ``bias_exp``) in between on
    the paused runtime (Lava keeps the state, the RingBuffer's position and the
    Sparse buffers across ``run`` calls)."""
    from lava.magma.core.run_conditions import RunSteps
    lif = lava_net.lif
    for t0, t1 in lava_net.schedule.segments(n_steps):
        if t0 > 0:
            lif.bias_mant.set(lava_net.schedule.bias_at(lava_net.bias[0], t0))
            if len(lava_net.bias) > 1:
                lif.bias_exp.set(lava_net.schedule.bias_at(lava_net.bias[1], t0))
        lif.run(condition=RunSteps(num_steps=t1 - t0), run_cfg=run_cfg)


def _abort_runtime(lif, children_before: set) -> None:
    """End a Lava run that did not finish: kill its workers, free its shared memory.

    The worker processes are SIGKILLed and reaped; the shared-memory manager is asked to
    shut down (it unlinks the segments of ``/dev/shm`` the channels used) and killed when
    it does not answer; the runtime is marked stopped so that its ``__del__`` does not
    wait for the dead workers at interpreter exit.
    """
    runtime = getattr(lif, "_runtime", None)
    infrastructure = getattr(runtime, "_messaging_infrastructure", None)
    kill_children(getattr(infrastructure, "actors", None) or [])
    smm = getattr(infrastructure, "_smm", None)
    if smm is not None:
        with contextlib.suppress(Exception):
            smm.shutdown()
    if runtime is not None:
        runtime._is_started = False
        runtime._is_running = False
        watchdog = getattr(runtime, "_watchdog_manager", None)
        if watchdog is not None:
            with contextlib.suppress(Exception):
                watchdog.stop()
    kill_children(set(multiprocessing.active_children()) - children_before)


def run_lava(net: SpikingNetwork, input_spikes, mode: str = "fixed", *,
             quantization: FixedPointNetwork | None = None,
             initial_state: Mapping | None = None, delayed=()) -> np.ndarray:
    """Run ``net`` in Lava for ``T = len(input_spikes)`` steps; returns spikes bool (T, N).

    Parameters
    ----------
    net : SpikingNetwork
    input_spikes : array (T, n_inputs), bool or 0/1
    mode : "fixed" (``Loihi2SimCfg(select_tag="fixed_pt")``, bit-accurate) or "float"
        (``floating_pt``)
    quantization : FixedPointNetwork, optional
        Integers for fixed mode; default ``quantize(net)`` (the same as the simulator).
    initial_state : mapping {"v", "u"}, optional
        Start state in float membrane units (rounded to integers in fixed mode).
    delayed : sequence of DelayedSynapses, optional
        Synapse groups of more than one step (``FlatLayout.delayed``; module docstring).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {tuple(_MODES)}, got {mode!r}")
    x = np.asarray(input_spikes)
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ValueError(f"input_spikes must have shape (T, n_inputs={net.n_inputs}), "
                         f"got {x.shape}")
    if x.dtype != np.bool_ and (not np.issubdtype(x.dtype, np.number)
                                or np.any((x != 0) & (x != 1))):
        raise ValueError("input_spikes must be boolean or hold only 0 and 1")
    x = x != 0
    n_steps = x.shape[0]
    raster = np.zeros((n_steps, net.n_total_neurons), dtype=bool)
    if n_steps == 0 or net.n_active_neurons == 0:
        return raster
    lava_net = build_lava_network(net, x, mode, quantization=quantization,
                                  initial_state=initial_state, delayed=delayed)
    ensure_lava()
    from lava.magma.core.run_configs import Loihi2SimCfg

    lif = lava_net.lif
    children_before = set(multiprocessing.active_children())
    try:
        with children_die_with_parent():
            _run_segments(lava_net, n_steps, Loihi2SimCfg(select_tag=_MODES[mode]))
            recorded = lava_net.recorded_spikes(n_steps)
    except BaseException:
        # Lava's own stop() waits for every worker to answer, which never happens while
        # they are mid-run (an interrupt) or dead (a failure): end them instead, and let
        # the original error through, not a follow-up one.
        _abort_runtime(lif, children_before)
        raise
    lif.stop()
    raster[:, lava_net.kept] = recorded
    return raster
