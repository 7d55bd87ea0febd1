"""This tree against another git revision (default ``main``), in one process, interleaved.

    .venv/bin/python benchmarks/compare_ref.py kernel            # simulate(), fixed and float
    .venv/bin/python benchmarks/compare_ref.py kernel --modes float --max-neurons 5000 --clock cpu
    .venv/bin/python benchmarks/compare_ref.py lnp --n 5000      # one LNP iteration
    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/compare_ref.py lnp   # single core

The revision's ``lnp_neuro`` is extracted with ``git archive`` into a temporary folder and
imported as ``lnp_ref``, so both versions run side by side on the same machine state:
``kernel`` times ``simulate`` of each (best of ``--repeats``, the two alternating) on the
networks of ``benchmarks/simulator.py`` and its scale rows, with the accumulate limit of
the same events, and checks that rasters, events and final states are identical; ``lnp``
runs one LNP iteration with each (wall and CPU seconds per step) and checks that the
pruned networks and histories are identical. On a machine shared with other jobs, the
CPU seconds of a single-core run (``NUMBA_NUM_THREADS=1``) are the steadier comparison.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_ref(rev: str):
    """Import ``lnp_neuro`` of git revision ``rev`` as the package ``lnp_ref``."""
    folder = Path(tempfile.mkdtemp(prefix="lnp_ref_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "lnp_neuro"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "lnp_neuro").rename(folder / "lnp_ref")
    sys.path.insert(0, str(folder))
    return importlib.import_module("lnp_ref")


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_simulator",
                                                  ROOT / "benchmarks" / "simulator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kernel(args) -> None:
    ref_models = importlib.import_module("lnp_ref.model.build")
    ref_fixed = importlib.import_module("lnp_ref.engines.fixed_point")
    ref_sim = importlib.import_module("lnp_ref.engines.simulator")
    from lnp_neuro import models
    from lnp_neuro.engines.fixed_point import quantize
    from lnp_neuro.engines.simulator import simulate
    bench = _bench_module()
    cases = [("N=1000 d=0.05", 1000, 50, 1000, 0.05), ("N=5000 d=0.02", 5000, 100, 1000, 0.05),
             ("N=20k busy", 20_000, 50, 300, 0.05), ("N=20k quiet", 20_000, 50, 300, 0.002),
             ("N=100k busy", 100_000, 50, 300, 0.05)]
    print(f"{'case':<16}{'mode':<7}{'activity':>9}{'ref s':>9}{'this s':>9}{'speed-up':>10}"
          f"{'this ev/s':>11}{'% limit':>9}  identical")
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    for label, n, fan_in, steps, rate in cases:
        if n > args.max_neurons:
            continue
        for mode in [m for m in (("fixed", "float") if n <= 5000 else ("fixed",))
                     if m in args.modes]:
            net = models.hrsnn(n, fan_in / n, seed=0, n_inputs=20)
            ref_net = ref_models.hrsnn(n, fan_in / n, seed=0, n_inputs=20)
            x = np.random.default_rng(1).random((steps, 20)) < rate
            q = quantize(net) if mode == "fixed" else None
            rq = ref_fixed.quantize(ref_net) if mode == "fixed" else None
            simulate(net, x[:3], mode=mode, quantization=q)
            ref_sim.simulate(ref_net, x[:3], mode=mode, quantization=rq)
            best = {"ref": np.inf, "this": np.inf}
            out = {}
            for _ in range(args.repeats):
                for name, fn, nn, qq in (("ref", ref_sim.simulate, ref_net, rq),
                                         ("this", simulate, net, q)):
                    t = clock()
                    out[name] = fn(nn, x, mode=mode, quantization=qq)
                    best[name] = min(best[name], clock() - t)
            a, b = out["ref"], out["this"]
            same = (np.array_equal(a.spikes, b.spikes) and a.synaptic_events == b.synaptic_events
                    and all(np.array_equal(getattr(a.final_state, f), getattr(b.final_state, f))
                            for f in ("v", "u", "pending_input", "pending_recurrent")))
            # The limit of the fixed run's events (the float run's raster differs: its
            # events are counted at the limit's events/s, as benchmarks/simulator.py does).
            qf = q if mode == "fixed" else quantize(net)
            spikes_f = b.spikes if mode == "fixed" else simulate(net, x, mode="fixed",
                                                                 quantization=qf).spikes
            events_f, limit_s, _ = bench.time_accumulate_limit(qf, x, spikes_f, args.repeats)
            limit = f"{(b.synaptic_events / best['this']) / (events_f / limit_s):.0%}"
            print(f"{label:<16}{mode:<7}{b.spikes.mean():>9.4f}{best['ref']:>9.3f}"
                  f"{best['this']:>9.3f}{best['ref'] / best['this']:>9.2f}x"
                  f"{b.synaptic_events / best['this']:>11.3g}{limit:>9}  {same}", flush=True)


def lnp_iteration(args) -> None:
    ref_models = importlib.import_module("lnp_ref.model.build")
    ref_prune = importlib.import_module("lnp_ref.prune")
    from lnp_neuro import models
    from lnp_neuro._util.threads import deterministic_threads
    from lnp_neuro.prune import lnp
    kw = dict(n_iter=1, seed=0, bo_budget=args.bo_budget, progress=False)
    results = {}
    with deterministic_threads():
        for name, run, build in (("ref", ref_prune.lnp, ref_models.hrsnn),
                                 ("this", lnp, models.hrsnn)):
            run(build(420, args.density, seed=0), **kw)           # compile / load kernels
            net = build(args.n, args.density, seed=0)
            cpu, wall = time.process_time(), time.perf_counter()
            pruned, history = run(net, **kw)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            results[name] = (pruned, history)
            steps = ", ".join(f"{k} {v:.1f}" for k, v in history[1]["step_seconds"].items())
            print(f"{name}: one iteration at N={args.n}: {history[1]['seconds']:.1f} s "
                  f"(start measurement {history[0]['seconds']:.1f} s; whole call {wall:.1f} s "
                  f"wall, {cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f}); {steps}", flush=True)
    (a, ha), (b, hb) = results["ref"], results["this"]
    same = (np.array_equal(a.weights.data, b.weights.data)
            and np.array_equal(a.weights.indices, b.weights.indices)
            and np.array_equal(a.tau_mem, b.tau_mem)
            and np.array_equal(a.neuron_active, b.neuron_active)
            and [h["lambda_max"] for h in ha] == [h["lambda_max"] for h in hb]
            and [h["mean_ipr"] for h in ha] == [h["mean_ipr"] for h in hb])
    print(f"identical network and history: {same}; speed-up of the iteration "
          f"{ha[1]['seconds'] / hb[1]['seconds']:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("kernel", "lnp"))
    ap.add_argument("--ref", default="main", help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n", type=int, default=5000, help="neurons of the LNP network")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--bo-budget", type=int, default=3)
    ap.add_argument("--modes", default="fixed,float",
                    help="kernel: comma-separated modes to time (fixed, float)")
    ap.add_argument("--max-neurons", type=int, default=100_000,
                    help="kernel: skip the cases with more neurons")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="kernel: wall seconds, or the CPU seconds of the timing thread "
                         "(steadier on a machine shared with other jobs)")
    args = ap.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    import numba

    from lnp_neuro._util.parallel import core_speedup
    print(f"this tree against {args.ref}; {os.cpu_count()} CPUs, numba "
          f"{numba.get_num_threads()} threads (speed-up of busy threads over one now: "
          f"{core_speedup():.2f}x), load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    load_ref(args.ref)
    kernel(args) if args.what == "kernel" else lnp_iteration(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
