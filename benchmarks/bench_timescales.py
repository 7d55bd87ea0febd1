"""Time of LNP step IV (optimize_timescales, budget 8) on the paper-scale HRSNN (N = 5000).

Reference: the brief's per-iteration budget, ~120 s for all of steps I-IV at N = 5000.
Run: .venv/bin/python benchmarks/bench_timescales.py [N] [budget]
"""
import sys
import time

import numpy as np

from lnp_neuro.model.build import chrsnn, hrsnn
from lnp_neuro.prune.timescales import lyapunov_objective, optimize_timescales


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    budget = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for name, build in (("hrsnn", lambda: hrsnn(n, 0.1, seed=0)),
                        ("chrsnn", lambda: chrsnn(n, 4, seed=0))):
        net = build()
        t0 = time.perf_counter()
        lam = lyapunov_objective()
        one = lam(net, None)
        t_one = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        new_net, res = optimize_timescales(net, budget=budget, seed=0, progress=False)
        t_bo, c_bo = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name} N={n} synapses={net.n_active_synapses}: one objective eval {t_one:6.2f} s; "
              f"optimize_timescales(budget={budget}) {t_bo:6.2f} s wall, {c_bo:6.2f} s CPU "
              f"(reference budget: "
              f"~120 s per LNP iteration for all steps)")
        print(f"  objective (lambda_max + 1)^2: current {res.values[0]:.4g}, best "
              f"{res.best_value:.4g}; best (shape, scale) per group "
              f"{np.round(res.best_params, 5).tolist()}")
        print(f"  tau_mem mean {1e3 * res.tau_before.mean():.2f} ms -> "
              f"{1e3 * res.tau_after.mean():.2f} ms")


if __name__ == "__main__":
    main()
