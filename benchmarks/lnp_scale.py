"""LNP at paper scale: one iteration at N = 5000, and the paper's 100 iterations (--full).

    .venv/bin/python benchmarks/lnp_scale.py              # one iteration at N=5000, density 0.1
    .venv/bin/python benchmarks/lnp_scale.py --full       # + 100 iterations at N=5000
    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/lnp_scale.py   # the same on one core

Targets (design section 3, "Schedule"): one LNP iteration (steps I-IV and the measurement
that closes it) at N = 5000 in <= 30 s; the paper's schedule of 100 iterations at N = 5000
in <= 1 h with a peak resident memory <= 4 GiB. The network is the default HRSNN
(density 0.1, ~2.5 M synapses); step IV has ``--bo-budget`` evaluations; the 100-iteration
run reaches ``--target-density`` geometrically (the default ``synapse_keep=0.9`` per
iteration would empty the network long before 100 iterations).

Printed: seconds per step and per iteration, the start measurement (spectrum + IPR of
the unpruned network, not part of an iteration), the peak resident memory
(``resource.getrusage``, the whole process), the machine (CPUs, numba threads, load
average) and, next to LNP's steps I and II, the naive references timed at ``--ref-n``
and extrapolated to N: a dense continuous-Lyapunov solve (Bartels-Stewart, O(N^3)) for the
covariance and networkx's exact Brandes betweenness (O(N E), timed on a subset of
sources). BLAS is pinned to one thread (``lnp_neuro._util.threads``), as in ``lnp-deploy``; the
package's own multi-core paths use numba's thread count and give the same bits with any.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ITERATION_TARGET_S = 30.0
FULL_TARGET_S = 3600.0
MEMORY_TARGET_GIB = 4.0


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # kB on Linux


def machine_line() -> str:
    import numba

    from lnp_neuro._util.parallel import core_speedup
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"machine: {os.cpu_count()} CPUs, numba {numba.__version__} with "
            f"{numba.get_num_threads()} threads (speed-up of busy threads over one now: "
            f"{core_speedup():.2f}x), load average {load}")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="neurons of the network")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--bo-budget", type=int, default=3, help="step IV evaluations")
    ap.add_argument("--full", action="store_true",
                    help="also the paper's schedule: --iterations iterations at N=--n")
    ap.add_argument("--iterations", type=int, default=100, help="iterations of --full")
    ap.add_argument("--target-density", type=float, default=0.01,
                    help="density the --full run reaches after --iterations iterations")
    ap.add_argument("--ref-n", type=int, default=1000, help="size of the naive references")
    ap.add_argument("--ref-sources", type=int, default=50,
                    help="networkx betweenness sources timed (scaled to all)")
    ap.add_argument("--no-references", action="store_true", help="skip the naive references")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", action="store_true",
                    help="a progress bar over the --full run's iterations (on stderr)")
    return ap.parse_args(argv)


def one_iteration(args) -> tuple[dict, list]:
    from lnp_neuro.model.build import hrsnn
    from lnp_neuro.prune import lnp

    t = time.perf_counter()
    net = hrsnn(args.n, args.density, seed=args.seed)
    print(f"HRSNN N={args.n} density={args.density}: {net.n_active_synapses} synapses "
          f"(built in {time.perf_counter() - t:.1f} s)", flush=True)
    t = time.perf_counter()
    _, history = lnp(net, n_iter=1, seed=args.seed, bo_budget=args.bo_budget, progress=False)
    total = time.perf_counter() - t
    start, h = history
    print(f"\none LNP iteration at N={args.n}: {h['seconds']:.1f} s "
          f"(target <= {ITERATION_TARGET_S:.0f} s: "
          f"{'MET' if h['seconds'] <= ITERATION_TARGET_S else 'NOT MET'}); "
          f"start measurement {start['seconds']:.1f} s (spectrum + IPR of the unpruned "
          f"network); call {total:.1f} s; peak RSS {peak_rss_gib():.2f} GiB")
    for step, sec in h["step_seconds"].items():
        print(f"  {step:12s} {sec:7.1f} s")
    print(f"  neurons {start['neurons']} -> {h['neurons']}, synapses {start['synapses']} -> "
          f"{h['synapses']} (+{h['synapses_added']} delocalisation), lambda_max "
          f"{start['lambda_max']:.4g} -> {h['lambda_max']:.4g} /s, covariance "
          f"{h['noise'].get('covariance_method')}, leak shift "
          f"{h['noise'].get('leak_shift', 0):.3g} /s", flush=True)
    return h, history


def references(args, h: dict) -> None:
    import networkx as nx
    import scipy.linalg as sla

    from lnp_neuro.model.build import hrsnn

    ref = hrsnn(args.ref_n, args.density, seed=args.seed)
    leak = 1.0 / ref.tau_mem
    a = ref.weights.toarray() * leak[:, None]
    a[np.diag_indices(args.ref_n)] -= leak
    a -= (max(0.0, float(np.max(np.linalg.eigvals(a).real))) + 5.0) * np.eye(args.ref_n)
    t = time.perf_counter()
    sla.solve_continuous_lyapunov(a, -np.eye(args.ref_n))
    t_lyap = time.perf_counter() - t
    pre, post = ref.synapse_pre_post()
    g = nx.DiGraph()
    g.add_nodes_from(range(args.ref_n))
    g.add_edges_from(zip(pre.tolist(), post.tolist()))
    t = time.perf_counter()
    nx.betweenness_centrality(g, k=args.ref_sources, seed=0)
    t_bc = (time.perf_counter() - t) * args.ref_n / args.ref_sources
    scale3 = (args.n / args.ref_n) ** 3
    n_syn = args.density * args.n * (args.n - 1)
    scale_ne = (args.n * n_syn) / (args.ref_n * ref.n_active_synapses)
    print(f"\nnaive references (timed at N={args.ref_n}, extrapolated to N={args.n}):")
    print(f"  dense Lyapunov solve     {t_lyap:8.1f} s  x (N ratio)^3 = {scale3:7.0f} -> "
          f"{t_lyap * scale3:9.0f} s   (LNP step I: {h['step_seconds'].get('noise', 0):.1f} s)")
    print(f"  networkx betweenness     {t_bc:8.1f} s  x N*E ratio    = {scale_ne:7.0f} -> "
          f"{t_bc * scale_ne:9.0f} s   (LNP step II: {h['step_seconds'].get('nodes', 0):.1f} s)")
    print(f"  dense memory of A and C at N={args.n}: {2 * args.n ** 2 * 8 / 2 ** 30:.2f} GiB",
          flush=True)


def full_schedule(args) -> None:
    from lnp_neuro.model.build import hrsnn
    from lnp_neuro.prune import lnp

    net = hrsnn(args.n, args.density, seed=args.seed)
    t = time.perf_counter()
    _, history = lnp(net, n_iter=args.iterations, seed=args.seed, bo_budget=args.bo_budget,
                     target_density=args.target_density, progress=args.progress)
    total = time.perf_counter() - t
    per_iter = [h["seconds"] for h in history[1:]]
    peak = peak_rss_gib()
    met = total <= FULL_TARGET_S and peak <= MEMORY_TARGET_GIB
    print(f"\n{args.iterations} LNP iterations at N={args.n} (to density "
          f"{args.target_density}): {total:.0f} s = {total / 60:.1f} min, peak RSS "
          f"{peak:.2f} GiB (targets <= {FULL_TARGET_S / 60:.0f} min and <= "
          f"{MEMORY_TARGET_GIB:.0f} GiB: {'MET' if met else 'NOT MET'})")
    print(f"  per iteration: first {per_iter[0]:.1f} s, median {np.median(per_iter):.1f} s, "
          f"last {per_iter[-1]:.1f} s; start measurement {history[0]['seconds']:.1f} s")
    print(f"  neurons {history[0]['neurons']} -> {history[-1]['neurons']}, synapses "
          f"{history[0]['synapses']} -> {history[-1]['synapses']}, lambda_max "
          f"{history[0]['lambda_max']:.4g} -> {history[-1]['lambda_max']:.4g} /s")
    totals: dict[str, float] = {}
    for h in history[1:]:
        for step, sec in h["step_seconds"].items():
            totals[step] = totals.get(step, 0.0) + sec
    print("  seconds per step over the run: " + ", ".join(f"{k} {v:.0f}"
                                                          for k, v in totals.items()))


def main(argv=None) -> int:
    args = parse_args(argv)
    from lnp_neuro._util.threads import deterministic_threads

    print(machine_line(), flush=True)
    with deterministic_threads():
        from lnp_neuro.model.build import hrsnn
        from lnp_neuro.prune import lnp
        t = time.perf_counter()
        lnp(hrsnn(420, args.density, seed=args.seed), n_iter=1, seed=args.seed,
            bo_budget=args.bo_budget, progress=False)
        print(f"warm-up (numba kernels compiled or loaded, N=420, not timed): "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        h, _ = one_iteration(args)
        if not args.no_references:
            references(args, h)
        if args.full:
            full_schedule(args)
    print(f"\npeak RSS of the whole run {peak_rss_gib():.2f} GiB; {machine_line()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
