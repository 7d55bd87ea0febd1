"""Speed of the native simulator against Lava, on one network, in one run.

The same HRSNN (default N = 1000, density 5 %, 1000 steps, model defaults, 20 Poisson
inputs: ~20 % of the neurons fire per step, ~90 % of them are active) runs in

- Lava ``Loihi2SimCfg(select_tag="fixed_pt")`` (the reference; optionally also
  ``floating_pt`` with ``--lava-modes fixed,float``),
- ``lnp_neuro.engines.simulator`` in ``mode="fixed"`` and ``mode="float"``: the ``lnp_neuro``
  rows time runs of one prepared ``Simulator`` (its synapse layout is built once and
  counted in the start-up column, as Brian2's row times the run loop of a built network
  and the limit row its loop over a ready CSC); the ``simulate()`` rows time the same
  run through ``simulate()``, which prepares the network on every call,
- Brian2 (Stimberg, Brette & Goodman, eLife 8:e47314, 2019) on the same network with the
  same update equations and one-step synaptic delay: C++ standalone (``brian2 cpp``)
  where a C++ compiler exists, else the cython runtime (``brian2 cython``); skipped with a
  note when brian2 is not installed (``make install`` installs it, the ``bench`` extra),
- ``accumulate limit``: a bare numba loop that only adds the same synaptic events (the
  fixed-point run's spikes and inputs, the same quantised integer weights) into a dense
  int32 array: the cost of the events alone on this machine, with nothing else done, over
  a plain CSC (int32 weights, uint32 row indices, uint64 pointers: numba wraps a signed
  index that could be negative, a check that made this loop 1.6x slower). The kernel's
  narrower synapses (16-bit row offsets and weights) stream less data, so its scatter
  alone is a little faster than this loop; at N > 32768 it also stores them in blocks
  of rows (``lnp_neuro.engines._kernels_fixed``) that keep each block's accumulators in cache,
  and there the whole kernel runs faster than this loop (a percentage above 100).

Prints steps/s and synaptic events/s of each side by side with the ratio to Lava, each
``lnp_neuro`` row's share of the accumulate limit and its ratio to Brian2 (which runs
float64 like ``mode="float"``; the targets of both modes: >= 80 % of the limit, >= 2.5x
Brian2), and exits with status 1 if a raster differs from Lava's in the same mode.

Graph row (``--graph``, on by default): a graph of three populations made from the same
network's neurons and synapses (populations of 40 %, 40 % and 20 % of the neurons; only the
blocks A->A, A->B, B->B, B->C and C->C of its weights kept, the inputs into A only), run in
fixed point through its flat layout, with its own accumulate limit: the engine must run
it at the reservoir's events/s within 15 %. Its feed-forward chain carries fewer events
per step on the same drive, and a step's neuron updates cost the same whatever the events,
so the graph is driven at the input rate (from a fixed list) whose events per step come
closest to the reservoir's: the comparison is at the same load.

Scale rows (``--scale``, on by default; fixed point, fan-in 50, 20 Poisson inputs): the
same kernel at N = 20 000 driven to ~23 % and to ~0.1 % of the neurons spiking per step
(the quiet run must cost <= 30 % of the busy one: the cost follows the activity, not N),
and at N = 100 000 (~23 %; target >= 3e8 synaptic events/s), each next to the accumulate
limit of its own events. Lava's one-off
compile and start-up time is measured apart from its stepping (its first step is run
alone, the remaining steps are timed); the numba kernels are compiled before timing.

    .venv/bin/python benchmarks/simulator.py --neurons 1000 --density 0.05 --steps 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lnp_neuro import models  # noqa: E402
from lnp_neuro.engines.fixed_point import quantize  # noqa: E402
from lnp_neuro.engines.simulator import Simulator, simulate  # noqa: E402
from lnp_neuro.model import Graph, Population, Projection, flatten  # noqa: E402


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _density(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=_positive_int, default=1000)
    p.add_argument("--density", type=_density, default=0.05)
    p.add_argument("--steps", type=_positive_int, default=1000)
    p.add_argument("--lava-steps", type=_positive_int, default=None,
                   help="steps run in Lava (default: --steps); rasters compared on these")
    p.add_argument("--lava-modes", default="fixed",
                   help="comma-separated Lava modes to run: fixed, float (default fixed)")
    p.add_argument("--repeats", type=_positive_int, default=10,
                   help="timed repetitions of the native simulator, the accumulate limit and "
                        "the brian2 cpp program (the best of each is reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-rate", type=_density, default=0.05,
                   help="probability of an input spike per channel and step")
    p.add_argument("--graph", action=argparse.BooleanOptionalAction, default=True,
                   help="time a 3-population graph made from the same network (module "
                        "docstring)")
    p.add_argument("--scale", action=argparse.BooleanOptionalAction, default=True,
                   help="also the scale rows: N=20k busy/quiet and N=100k (fixed point)")
    p.add_argument("--scale-steps", type=_positive_int, default=300,
                   help="steps of each scale run")
    p.add_argument("--brian2", choices=("auto", "cpp", "cython", "off"), default="auto",
                   help="Brian2 row: C++ standalone if a compiler exists (auto), the "
                        "cython runtime, or none")
    args = p.parse_args(argv)
    modes = [m.strip() for m in args.lava_modes.split(",") if m.strip()]
    if not modes or any(m not in ("fixed", "float") for m in modes):
        p.error(f"--lava-modes must list fixed and/or float, got {args.lava_modes!r}")
    args.lava_modes = modes
    if args.lava_steps is None:
        args.lava_steps = args.steps
    if args.lava_steps > args.steps:
        p.error("--lava-steps must not exceed --steps")
    return args


def build(args):
    # The model's default operating point (gain 1 on the rate coupling, default input
    # coupling) with 20 Poisson inputs: ~20 % of the neurons spike per step, ~90 % of
    # them are active, the regime is input-driven rather than saturated.
    net = models.hrsnn(args.neurons, args.density, seed=args.seed, n_inputs=20)
    rng = np.random.default_rng(args.seed + 1)
    x = rng.random((args.steps, net.n_inputs)) < args.input_rate
    return net, x


def time_native(net, x, mode, repeats, quantization, per_call=False):
    """Best seconds of ``Simulator.run`` on a prepared network (as Brian2's row times its
    run loop on a built network), the start-up (kernel compile or cache load, and the
    one-off preparation), the last result, and with ``per_call`` also the best seconds of
    ``simulate()``, which prepares the network again on every call."""
    t0 = time.perf_counter()
    sim = Simulator(net, mode, quantization=quantization)
    sim.run(x[:5])                        # compile / load kernels, prepare the network
    warm = time.perf_counter() - t0
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = sim.run(x)
        best = min(best, time.perf_counter() - t0)
    best_call = np.inf
    for _ in range(repeats if per_call else 0):
        t0 = time.perf_counter()
        called = simulate(net, x, mode=mode, quantization=quantization)
        best_call = min(best_call, time.perf_counter() - t0)
        assert np.array_equal(called.spikes, result.spikes)
    return result, best, warm, best_call


def time_lava(net, x, mode, quantization):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    from lnp_neuro.engines.lava.backend import build_lava_network
    steps = x.shape[0]
    lava_net = build_lava_network(net, x, mode, quantization=quantization)
    lif = lava_net.lif
    cfg = Loihi2SimCfg(select_tag="fixed_pt" if mode == "fixed" else "floating_pt")
    try:
        t0 = time.perf_counter()
        lif.run(condition=RunSteps(num_steps=1), run_cfg=cfg)  # compile + start + 1 step
        startup = time.perf_counter() - t0
        stepping = 0.0
        if steps > 1:
            t0 = time.perf_counter()
            lif.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
            stepping = time.perf_counter() - t0
        recorded = lava_net.recorded_spikes(steps)
    finally:
        lif.stop()
    raster = np.zeros((steps, net.n_total_neurons), bool)
    raster[:, lava_net.kept] = recorded
    return raster, stepping, startup


@numba.njit  # not cached: loaded from a file path, the module has no stable name
def _accumulate(r_ptr, r_rows, r_vals, spk_ptr, spk_idx, i_ptr, i_rows, i_vals, in_ptr,
                in_idx, acc):
    # Only the synaptic adds of the run: each step's spiking neurons' and inputs' columns
    # added into int32 accumulators. Every index is unsigned (the pointers are uint64, the
    # rows uint32): numba wraps a signed index that could be negative, which costs six
    # instructions per array read in this loop (10.4 -> 6.7 ms at N = 1000).
    events = 0
    for t in range(spk_ptr.shape[0] - 1):
        for k in range(spk_ptr[t], spk_ptr[t + 1]):
            j = spk_idx[k]
            for p in range(r_ptr[j], r_ptr[j + 1]):
                acc[r_rows[p]] += r_vals[p]
            events += np.int64(r_ptr[j + 1] - r_ptr[j])
        for k in range(in_ptr[t], in_ptr[t + 1]):
            j = in_idx[k]
            for p in range(i_ptr[j], i_ptr[j + 1]):
                acc[i_rows[p]] += i_vals[p]
            events += np.int64(i_ptr[j + 1] - i_ptr[j])
    return events


def _event_lists(raster):
    steps, idx = np.nonzero(raster)
    ptr = np.zeros(raster.shape[0] + 1, np.uint64)
    np.cumsum(np.bincount(steps, minlength=raster.shape[0]), out=ptr[1:])
    return ptr, idx.astype(np.uint32)


def time_accumulate_limit(q, x, spikes, repeats):
    """Best time of the bare event-accumulate loop over the fixed run's events."""
    parts = []
    for mat in (q.weights, q.input_weights):
        csc = sp.csc_matrix(mat)
        csc.sort_indices()
        parts += [csc.indptr.astype(np.uint64), csc.indices.astype(np.uint32),
                  csc.data.astype(np.int32)]
    spk_ptr, spk_idx = _event_lists(spikes)
    in_ptr, in_idx = _event_lists(x)
    acc = np.zeros(spikes.shape[1], np.int32)
    args = (*parts[:3], spk_ptr, spk_idx, *parts[3:], in_ptr, in_idx, acc)
    t0 = time.perf_counter()
    _accumulate(*parts[:3], spk_ptr[:2], spk_idx, *parts[3:], in_ptr[:2], in_idx, acc)
    warm = time.perf_counter() - t0  # compilation (or cache load) and one step
    best, events = np.inf, 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        events = _accumulate(*args)
        best = min(best, time.perf_counter() - t0)
    return events, best, warm


#: (label, neurons, input rate): rates chosen for ~23 % and ~0.1 % of the neurons spiking
#: per step at fan-in 50 (the activity each run reaches is printed).
SCALE_RUNS = (("N=20k busy", 20_000, 0.05), ("N=20k quiet", 20_000, 0.002),
              ("N=100k busy", 100_000, 0.05))
SCALE_FAN_IN = 50


def time_scale(n, input_rate, steps, repeats, seed=0):
    """One scale run: (result, best seconds, start-up, limit seconds) of the fixed kernel."""
    net = models.hrsnn(n, SCALE_FAN_IN / n, seed=seed, n_inputs=20)
    x = np.random.default_rng(seed + 1).random((steps, net.n_inputs)) < input_rate
    q = quantize(net)
    res, secs, warm, _ = time_native(net, x, "fixed", repeats, q)
    events, limit_secs, _ = time_accumulate_limit(q, x, res.spikes, repeats)
    assert events == res.synaptic_events
    return res, secs, warm, limit_secs


def scale_rows(args):
    """Rows and summary lines of the scale runs (module docstring)."""
    rows, lines, by_label = [], [], {}
    for label, n, rate in SCALE_RUNS:
        res, secs, warm, limit_secs = time_scale(n, rate, args.scale_steps, args.repeats,
                                                 args.seed)
        by_label[label] = (res, secs)
        rows.append((f"{label} fixed", args.scale_steps, secs, res.synaptic_events, warm))
        rows.append((f"{label} limit", args.scale_steps, limit_secs, res.synaptic_events, 0.0))
        lines.append(f"{label}: {res.spikes.mean():.4f} of the neurons spike per step, "
                     f"{res.synaptic_events / secs:.3g} events/s "
                     f"({limit_secs / secs:.0%} of its accumulate limit)")
    busy, quiet = by_label["N=20k busy"][1], by_label["N=20k quiet"][1]
    lines.append(f"N=20k quiet / busy cost: {quiet / busy:.1%} (target <= 30 %)")
    res, secs = by_label["N=100k busy"]
    lines.append(f"N=100k: {res.synaptic_events / secs:.3g} events/s (target >= 3e8)")
    return rows, lines


def chain_graph(net) -> Graph:
    """Three populations A (40 %), B (40 %), C (20 %) of ``net``'s neurons with its blocks
    A->A, A->B, B->B, B->C, C->C and its inputs into A (module docstring)."""
    n = net.n_total_neurons
    cuts = {"A": (0, int(0.4 * n)), "B": (int(0.4 * n), int(0.8 * n)), "C": (int(0.8 * n), n)}
    pops = [Population(name, "cuba_lif", b - a, tau_mem=net.tau_mem[a:b],
                       tau_syn=net.tau_syn[a:b], v_threshold=net.v_threshold[a:b],
                       bias=net.bias[a:b]) for name, (a, b) in cuts.items()]
    w = net.effective_weights()
    block = {(src, dst): w[slice(*cuts[dst])][:, slice(*cuts[src])]
             for src, dst in (("A", "A"), ("A", "B"), ("B", "B"), ("B", "C"), ("C", "C"))}
    projections = [Projection("x", "A", net.input_weights[slice(*cuts["A"])])]
    projections += [Projection(src, dst, mat) for (src, dst), mat in block.items()]
    return Graph(inputs={"x": net.n_inputs}, populations=pops, projections=projections,
                 outputs=["C"], dt=net.dt)


#: Input rates tried for the graph row (module docstring).
GRAPH_INPUT_RATES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7)


def graph_rows(net, x, repeats, events_to_match, seed=0):
    """Rows and summary of the 3-population graph (module docstring)."""
    flat = flatten(chain_graph(net)).network
    q = quantize(flat)
    draws = np.random.default_rng(seed + 2).random(x.shape)
    rate = min(GRAPH_INPUT_RATES, key=lambda r: abs(
        simulate(flat, draws < r, mode="fixed", quantization=q).synaptic_events
        - events_to_match))
    x = draws < rate
    res, secs, warm, _ = time_native(flat, x, "fixed", repeats, q)
    events, limit_secs, _ = time_accumulate_limit(q, x, res.spikes, repeats)
    assert events == res.synaptic_events
    rows = [("graph (3 pops) fixed", x.shape[0], secs, res.synaptic_events, warm),
            ("graph (3 pops) limit", x.shape[0], limit_secs, res.synaptic_events, 0.0)]
    return rows, res.synaptic_events / secs, limit_secs / secs, rate, res.synaptic_events


def brian2_target(choice: str) -> str | None:
    """'cpp' (C++ standalone) where a C++ compiler exists, else 'cython'; None: no brian2."""
    if choice == "off":
        return None
    try:
        import brian2  # noqa: F401
    except ImportError:
        return None
    if choice != "auto":
        return choice
    import shutil
    return "cpp" if shutil.which("g++") or shutil.which("c++") else "cython"


def time_brian2(net, x, target, repeats=1):
    """Run the float model in Brian2; returns (raster, seconds of the run, start-up).

    Same equations and order as Lava's floating_pt LIF (lnp_neuro.engines.simulator module doc):
    the synapses of the spikes of step t (recurrent and input) are added into ``a_rec`` and
    ``a_in`` in Brian2's ``synapses`` slot, which comes after ``groups`` (the update) and
    ``thresholds`` of the same step, so they reach u at t + 1 like Lava's Sparse delay.
    With C++ standalone the seconds are Brian2's own measure of the simulation loop
    (``device._last_run_time``), the best of ``repeats`` runs of the compiled program
    (as the native rows are the best of ``--repeats``); the start-up is code generation
    plus compilation.
    """
    import tempfile

    import brian2 as b2
    b2.start_scope()
    b2.prefs.logging.console_log_level = "ERROR"
    steps, n = x.shape[0], net.n_total_neurons
    out_dir = None
    if target == "cpp":
        out_dir = tempfile.mkdtemp(prefix="brian2_bench_")
        b2.set_device("cpp_standalone", directory=out_dir, build_on_run=True)
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = net.dt * b2.second
    group = b2.NeuronGroup(n, """u : 1
                                 v : 1
                                 a_rec : 1
                                 a_in : 1
                                 omdu : 1 (constant)
                                 omdv : 1 (constant)
                                 vth : 1 (constant)
                                 bias : 1 (constant)""",
                           threshold="v > vth", reset="v = 0", method="exact")
    group.omdu = 1 - net.du
    group.omdv = 1 - net.dv
    group.vth = net.v_threshold
    group.bias = net.bias
    group.run_regularly("""u = u * omdu + (a_rec + a_in)
                           v = v * omdv + u + bias
                           a_rec = 0
                           a_in = 0""", when="groups")
    w = sp.coo_matrix(net.effective_weights())
    rec = b2.Synapses(group, group, "w : 1 (constant)", on_pre="a_rec_post += w")
    rec.connect(i=w.col.astype(np.int64), j=w.row.astype(np.int64))
    rec.w = w.data
    t_idx, in_idx = np.nonzero(x)
    source = b2.SpikeGeneratorGroup(net.n_inputs, in_idx, t_idx * net.dt * b2.second)
    w_in = sp.coo_matrix(net.effective_input_weights())
    inp = b2.Synapses(source, group, "w : 1 (constant)", on_pre="a_in_post += w")
    inp.connect(i=w_in.col.astype(np.int64), j=w_in.row.astype(np.int64))
    inp.w = w_in.data
    monitor = b2.SpikeMonitor(group)
    network = b2.Network(group, rec, source, inp, monitor)
    try:
        if target == "cpp":
            t0 = time.perf_counter()
            network.run(steps * net.dt * b2.second)
            total = time.perf_counter() - t0
            seconds = float(b2.device._last_run_time)
            startup = total - seconds
            for _ in range(repeats - 1):
                b2.device.run(with_output=False)    # the same compiled program again
                seconds = min(seconds, float(b2.device._last_run_time))
        else:
            t0 = time.perf_counter()
            network.run(net.dt * b2.second)          # code generation + compilation
            startup = time.perf_counter() - t0
            t0 = time.perf_counter()
            network.run((steps - 1) * net.dt * b2.second)
            seconds = time.perf_counter() - t0
        raster = np.zeros((steps, n), bool)
        step_of = np.round(np.asarray(monitor.t / b2.second) / net.dt).astype(np.int64)
        raster[step_of, np.asarray(monitor.i)] = True
    finally:
        if target == "cpp":
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
    timed_steps = steps if target == "cpp" else steps - 1
    return raster, seconds, startup, timed_steps


def main(argv=None) -> int:
    args = parse_args(argv)
    net, x = build(args)
    q = quantize(net)
    from lnp_neuro._util.parallel import core_speedup
    print(f"machine: {os.cpu_count()} CPUs, numba {numba.__version__} with "
          f"{numba.get_num_threads()} threads (speed-up of busy threads over one now: "
          f"{core_speedup():.2f}x; the kernels here run on one), load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} at start")
    print(f"network: {net.n_active_neurons} neurons, {net.n_active_synapses} synapses "
          f"(density {net.density:.3f}), {net.n_inputs} inputs, {args.steps} steps; "
          f"quantisation: weight_exp {sorted(set(q.weight_exp.tolist()))} (per neuron), "
          f"rms(dw)/rms(w) "
          f"{q.error.weight_rms_rel:.3f}, mean |dw|/|w| {q.error.weight_mean_rel:.3f}, "
          f"{q.error.weights_flushed} weights flushed to 0")

    rows, failed = [], False
    native = {}
    for mode in ("fixed", "float"):
        res, secs, warm, per_call = time_native(net, x, mode, args.repeats,
                                                q if mode == "fixed" else None, per_call=True)
        native[mode] = res
        rows.append((f"lnp_neuro {mode}", args.steps, secs, res.synaptic_events, warm))
        rows.append((f"  simulate() {mode}", args.steps, per_call, res.synaptic_events, 0.0))
    fired = native["fixed"].spikes
    print(f"activity (fixed): {fired.mean():.3f} spikes per neuron and step, "
          f"{fired.any(axis=0).mean():.2f} of the neurons fire")

    events, secs, warm = time_accumulate_limit(q, x, fired, args.repeats)
    if events != native["fixed"].synaptic_events:
        print(f"EVENT COUNT MISMATCH: accumulate limit {events}, lnp_neuro fixed "
              f"{native['fixed'].synaptic_events}")
        failed = True
    rows.append(("accumulate limit", args.steps, secs, events, warm))

    target = brian2_target(args.brian2)
    if target is None:
        print("brian2 row skipped: " + ("--brian2 off" if args.brian2 == "off" else
                                        "brian2 is not installed (make install)"))
    else:
        b_raster, secs, startup, b_steps = time_brian2(net, x, target, args.repeats)
        fan_out = np.diff(sp.csc_matrix(net.effective_weights()).indptr)
        fan_in = np.diff(sp.csc_matrix(net.effective_input_weights()).indptr)
        first = args.steps - b_steps      # the cython row leaves its first step untimed
        b_events = int((b_raster[first:] @ fan_out).sum() + (x[first:] @ fan_in).sum())
        rows.append((f"brian2 {target}", b_steps, secs, b_events, startup))
        ours = native["float"].spikes
        differ = np.argwhere(b_raster != ours)
        if differ.size == 0:
            print(f"raster check: brian2 {target} == lnp_neuro float on {args.steps} steps")
        else:
            print(f"raster note: brian2 {target} differs from lnp_neuro float in "
                  f"{len(differ)} of {ours.size} entries, first at step {differ[0, 0]} "
                  f"(Brian2 sums the synaptic inputs in its own order, not numpy's "
                  f"pairwise order that Lava's float Sparse uses)")

    lava_rows = {}
    for mode in args.lava_modes:
        lx = x[:args.lava_steps]
        raster, stepping, startup = time_lava(net, lx, mode, q if mode == "fixed" else None)
        # Lava's events: the same raster, so the same synaptic work (recount on its raster
        # only for the steps it ran; the first step is not in the timed part).
        ev = simulate(net, lx, mode=mode, quantization=q if mode == "fixed" else None)
        same = np.array_equal(raster, ev.spikes)
        first_step_events = simulate(net, lx[:1], mode=mode,
                                     quantization=q if mode == "fixed" else None).synaptic_events
        timed_steps = max(args.lava_steps - 1, 1)
        lava_rows[mode] = (timed_steps, stepping, ev.synaptic_events - first_step_events)
        tag = "fixed_pt" if mode == "fixed" else "floating_pt"
        rows.append((f"Lava {tag}", timed_steps, stepping,
                     ev.synaptic_events - first_step_events, startup))
        if not same:
            failed = True
            bad = np.argwhere(raster != ev.spikes)
            print(f"RASTER MISMATCH Lava {tag} vs lnp_neuro {mode}: {len(bad)} entries, "
                  f"first (step, neuron) {bad[:3].tolist()}")
        else:
            print(f"raster check: Lava {tag} == lnp_neuro {mode} on {args.lava_steps} "
                  f"steps ({int(raster.sum())} spikes)")
    if args.lava_steps < args.steps:
        print(f"note: Lava ran {args.lava_steps} of the {args.steps} steps (--lava-steps); "
              f"its rates are per step and comparable")

    graph_line = None
    if args.graph:
        reservoir_events = native["fixed"].synaptic_events
        extra, graph_eps, graph_of_limit, rate, events = graph_rows(
            net, x, args.repeats, reservoir_events, args.seed)
        rows += extra
        reservoir_eps = reservoir_events / next(
            secs for name, _, secs, _, _ in rows if name == "lnp_neuro fixed")
        graph_line = (f"3-population graph (input rate {rate}, {events} events against the "
                      f"reservoir's {reservoir_events}): {graph_eps:.3g} events/s, "
                      f"{graph_eps / reservoir_eps:.0%} of the reservoir's "
                      f"(target: within 15 %), {graph_of_limit:.0%} of its accumulate limit")

    scale_lines = []
    if args.scale:
        extra, scale_lines = scale_rows(args)
        rows += extra

    ref = lava_rows.get("fixed") or next(iter(lava_rows.values()))
    ref_sps = ref[0] / ref[1] if ref[1] > 0 else float("nan")
    print()
    print(f"{'engine':<22}{'steps':>7}{'seconds':>10}{'steps/s':>12}{'events/s':>12}"
          f"{'x Lava fixed':>14}{'startup s':>11}")
    for name, steps, secs, events, startup in rows:
        sps = steps / secs if secs > 0 else float("inf")
        eps = events / secs if secs > 0 else float("inf")
        print(f"{name:<22}{steps:>7}{secs:>10.3f}{sps:>12.4g}{eps:>12.4g}"
              f"{sps / ref_sps:>14.1f}{startup:>11.2f}")
    by_name = {name: (steps / secs if secs > 0 else float("inf"), events / secs)
               for name, steps, secs, events, _ in rows}
    limit_eps = by_name["accumulate limit"][1]
    peer = next((name for name in by_name if name.startswith("brian2")), None)
    print()
    for mode in ("fixed", "float"):
        for label in (f"lnp_neuro {mode}", f"  simulate() {mode}"):
            eps = by_name[label][1]
            line = f"{label.strip()}: {eps / limit_eps:.0%} of the accumulate limit"
            if peer is not None:
                line += f", {eps / by_name[peer][1]:.2f}x {peer} (events/s)"
            if label in ("lnp_neuro fixed", "lnp_neuro float"):
                line += " (targets: >= 80 % of the limit, >= 2.5x Brian2)"
            print(line)
    if graph_line:
        print("\n" + graph_line)
    if scale_lines:
        print("\n" + "\n".join(scale_lines))
    if peer is not None:
        limit_vs_peer = limit_eps / by_name[peer][1]
        print(f"\naccumulate limit: {limit_vs_peer:.2f}x {peer} (events/s)")
    print("\nlnp_neuro rows: runs of one prepared Simulator (the network's kernel layout "
          "built once, like Brian2's built network and Lava's compiled processes); "
          "simulate() rows: the same run through simulate(), which builds the layout on "
          "every call")
    print("startup: numba kernel load/compile and the preparation for lnp_neuro, the "
          "kernel compile for the accumulate limit, compile + runtime start + first step "
          "for Lava, code generation + compilation for Brian2 (not in the timed columns)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
