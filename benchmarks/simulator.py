"""Speed of the native simulator against Lava, on one network, in one run.

The same HRSNN (default N = 1000, density 5 %, 1000 steps, model defaults, 20 Poisson
inputs: ~20 % of the neurons fire per step, ~90 % of them are active) runs in

- Lava ``Loihi2SimCfg(select_tag="fixed_pt")`` (the reference; optionally also
  ``floating_pt`` with ``--lava-modes fixed,float``),
- ``lnp_neuro.simulator.simulate`` in ``mode="fixed"`` and ``mode="float"``.

Prints steps/s and synaptic events/s of each side by side with the ratio to Lava, and
exits with status 1 if a raster differs from Lava's in the same mode. Lava's one-off
compile and start-up time is measured apart from its stepping (its first step is run
alone, the remaining steps are timed); the numba kernels are compiled before timing.

    .venv/bin/python benchmarks/simulator.py --neurons 1000 --density 0.05 --steps 1000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lnp_neuro import models  # noqa: E402
from lnp_neuro.fixed_point import quantize  # noqa: E402
from lnp_neuro.simulator import simulate  # noqa: E402


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
    p.add_argument("--repeats", type=_positive_int, default=3,
                   help="timed repetitions of the native simulator (best is reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-rate", type=_density, default=0.05,
                   help="probability of an input spike per channel and step")
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


def time_native(net, x, mode, repeats, quantization):
    t0 = time.perf_counter()
    simulate(net, x[:5], mode=mode, quantization=quantization)  # compile / load kernels
    warm = time.perf_counter() - t0
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = simulate(net, x, mode=mode, quantization=quantization)
        best = min(best, time.perf_counter() - t0)
    return result, best, warm


def time_lava(net, x, mode, quantization):
    from lnp_neuro.backends.lava_backend import build_lava_network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
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
        data = lava_net.monitor.get_data()[lif.name]["s_out"]
    finally:
        lif.stop()
    raster = np.zeros((steps, net.size), bool)
    raster[:, lava_net.kept] = np.asarray(data).reshape(steps, -1) != 0
    return raster, stepping, startup


def main(argv=None) -> int:
    args = parse_args(argv)
    net, x = build(args)
    q = quantize(net)
    print(f"network: {net.n_neurons} neurons, {net.n_synapses} synapses "
          f"(density {net.density:.3f}), {net.n_inputs} inputs, {args.steps} steps; "
          f"quantisation: weight_exp {sorted(set(q.weight_exp.tolist()))} (per neuron), "
          f"rms(dw)/rms(w) "
          f"{q.error.weight_rms_rel:.3f}, mean |dw|/|w| {q.error.weight_mean_rel:.3f}, "
          f"{q.error.weights_flushed} weights flushed to 0")

    rows, failed = [], False
    native = {}
    for mode in ("fixed", "float"):
        res, secs, warm = time_native(net, x, mode, args.repeats, q if mode == "fixed" else None)
        native[mode] = res
        rows.append((f"lnp_neuro {mode}", args.steps, secs, res.synaptic_events, warm))
    fired = native["fixed"].spikes
    print(f"activity (fixed): {fired.mean():.3f} spikes per neuron and step, "
          f"{fired.any(axis=0).mean():.2f} of the neurons fire")

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

    ref = lava_rows.get("fixed") or next(iter(lava_rows.values()))
    ref_sps = ref[0] / ref[1] if ref[1] > 0 else float("nan")
    print()
    print(f"{'engine':<18}{'steps':>7}{'seconds':>10}{'steps/s':>12}{'events/s':>12}"
          f"{'x Lava fixed':>14}{'startup s':>11}")
    for name, steps, secs, events, startup in rows:
        sps = steps / secs if secs > 0 else float("inf")
        eps = events / secs if secs > 0 else float("inf")
        print(f"{name:<18}{steps:>7}{secs:>10.3f}{sps:>12.4g}{eps:>12.4g}"
              f"{sps / ref_sps:>14.1f}{startup:>11.2f}")
    print("\nstartup: numba kernel load/compile for lnp_neuro, compile + runtime start + "
          "first step for Lava (not in the timed columns)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
