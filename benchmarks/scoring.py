"""Scoring a data set's samples (``lnp-deploy --data``): on one thread, and in blocks on the cores.

    .venv/bin/python benchmarks/scoring.py --neurons 1000 --samples 64 --steps 100

``lnp_neuro.deploy.data._scores`` runs every sample from rest through one prepared
``Simulator``, batched (``Simulator.run_batch``), the blocks of samples on numba's threads
(the kernels release the GIL). This times it with one worker and with ``--workers``
(default: numba's thread count), alternating the two, best of ``--repeats``, on a
recurrent network (the HRSNN of ``benchmarks/simulator.py``, its last ``--classes``
neurons the output population) and random Poisson samples, in float and in fixed point;
prints samples/s of each and their ratio, and exits with status 1 if a score differs.
The porting benchmark against snnTorch's own batched forward pass (issue 26) is not here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lnp_neuro import models  # noqa: E402
from lnp_neuro.deploy.data import _scores  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=1000)
    p.add_argument("--density", type=float, default=0.05)
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--steps", type=int, default=100, help="steps per sample")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--input-rate", type=float, default=0.05)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    workers = args.workers or numba.get_num_threads()
    net = models.hrsnn(args.neurons, args.density, seed=0, n_inputs=20)
    rng = np.random.default_rng(1)
    inputs = rng.random((args.samples, args.steps, net.n_inputs)) < args.input_rate
    n, k = net.n_total_neurons, args.classes
    columns, places = np.arange(n - k, n), np.arange(k)
    print(f"machine: {os.cpu_count()} CPUs, numba {numba.get_num_threads()} threads, load "
          f"average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; network {n} neurons, "
          f"{net.n_active_synapses} synapses; {args.samples} samples of {args.steps} steps")
    failed = False
    for mode in ("float", "fixed"):
        run = {w: (lambda w=w: _scores(net, columns, places, k, True, inputs, 1, mode, w))
               for w in (1, workers)}
        scores = {w: fn() for w, fn in run.items()}          # compile, prepare, check
        same = np.array_equal(scores[1], scores[workers])
        failed |= not same
        best = {w: np.inf for w in run}
        for _ in range(args.repeats):
            for w, fn in run.items():
                t0 = time.perf_counter()
                fn()
                best[w] = min(best[w], time.perf_counter() - t0)
        rate = {w: args.samples / s for w, s in best.items()}
        print(f"{mode}: 1 worker {rate[1]:.1f} samples/s, {workers} workers "
              f"{rate[workers]:.1f} samples/s ({rate[workers] / rate[1]:.2f}x); "
              f"identical scores: {same}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
