"""Scale benchmark of one LNP iteration (steps I-IV) at paper scale, next to naive references.

    .venv/bin/python benchmarks/lnp_scale.py                 # N=5000, density 0.1
    .venv/bin/python benchmarks/lnp_scale.py --iters-small 100   # full 100 iterations at N=1000

Prints seconds per step and the peak resident memory of one LNP iteration on an HRSNN with
N neurons (default 5000, ~2.5 M synapses), then the naive references timed at N=1000 and
extrapolated to N: a dense continuous-Lyapunov solve (Bartels-Stewart, O(N^3)) for the
covariance, and networkx's exact Brandes betweenness (O(N E); timed on a subset of
sources, which it costs linearly, and scaled to all sources). Targets: one iteration at
N=5000 <= 120 s and <= 4 GiB; 100 iterations at N=1000 <= 10 min (timed over
``--iters-small`` iterations and extrapolated linearly unless it is 100).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # kB on Linux


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="neurons of the large network")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--bo-budget", type=int, default=3, help="step IV evaluations")
    ap.add_argument("--ref-n", type=int, default=1000, help="size of the naive reference runs")
    ap.add_argument("--ref-sources", type=int, default=50,
                    help="networkx betweenness sources timed (scaled to all)")
    ap.add_argument("--iters-small", type=int, default=3,
                    help="LNP iterations timed at --ref-n neurons (100 = the full target)")
    ap.add_argument("--target-density", type=float, default=0.02,
                    help="density the N=--ref-n run reaches after --iters-small iterations "
                         "(the default synapse_keep=0.9 per iteration would empty the "
                         "network long before 100 iterations)")
    ap.add_argument("--skip-large", action="store_true",
                    help="only the iterations at N=--ref-n (no N=--n iteration, "
                         "no naive references)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from lnp_neuro.models import hrsnn
    from lnp_neuro.prune import lnp

    if not args.skip_large:
        t = time.perf_counter()
        net = hrsnn(args.n, args.density, seed=args.seed)
        print(f"HRSNN N={args.n} density={args.density}: {net.n_synapses} synapses "
              f"(built in {time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        pruned, history = lnp(net, n_iter=1, seed=args.seed, bo_budget=args.bo_budget, progress=False)
        total = time.perf_counter() - t
        h = history[1]
        print(f"\none LNP iteration at N={args.n}: {total:.1f} s total "
              f"(start measurement {history[0]['seconds']:.1f} s: spectrum + IPR), "
              f"peak RSS {peak_rss_gib():.2f} GiB")
        for step, sec in h["step_seconds"].items():
            print(f"  {step:12s} {sec:7.1f} s")
        print(f"  neurons {history[0]['neurons']} -> {h['neurons']}, synapses "
              f"{history[0]['synapses']} -> {h['synapses']} (+{h['synapses_added']} delocalisation), "
              f"lambda_max {history[0]['lambda_max']:.3g} -> {h['lambda_max']:.3g} /s, "
              f"covariance {h['noise'].get('covariance_method')}, leak shift "
              f"{h['noise'].get('leak_shift', 0):.3g} /s")
        print(f"  target: <= 120 s and <= 4 GiB -> "
              f"{'MET' if h['seconds'] <= 120 and peak_rss_gib() <= 4 else 'NOT MET'} "
              f"(iteration {h['seconds']:.1f} s)")

    # ---------------------------------------------------------- naive references
    ref = hrsnn(args.ref_n, args.density, seed=args.seed)
    if not args.skip_large:
        import networkx as nx
        import scipy.linalg as sla

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
        scale_ne = (args.n * net.n_synapses) / (args.ref_n * ref.n_synapses)
        print(f"\nnaive references (timed at N={args.ref_n}, extrapolated to N={args.n}):")
        print(f"  dense Lyapunov solve     {t_lyap:8.1f} s  x (N ratio)^3 = {scale3:7.0f} -> "
              f"{t_lyap * scale3:9.0f} s   (LNP step I: {h['step_seconds'].get('noise', 0):.1f} s)")
        print(f"  networkx betweenness     {t_bc:8.1f} s  x N*E ratio    = {scale_ne:7.0f} -> "
              f"{t_bc * scale_ne:9.0f} s   (LNP step II: {h['step_seconds'].get('nodes', 0):.1f} s)")
        print(f"  dense memory of A and C at N={args.n}: {2 * args.n ** 2 * 8 / 2 ** 30:.2f} GiB")

    # ---------------------------------------------------------- 100 iterations at ref N
    t = time.perf_counter()
    _, hist_small = lnp(ref, n_iter=args.iters_small, seed=args.seed, bo_budget=args.bo_budget,
                        target_density=args.target_density, progress=False)
    t_small = time.perf_counter() - t
    per_iter = t_small / max(args.iters_small, 1)
    projected = per_iter * 100
    print(f"\nLNP at N={args.ref_n}: {args.iters_small} iterations in {t_small:.1f} s "
          f"({per_iter:.1f} s/iteration) -> 100 iterations "
          f"{'measured' if args.iters_small == 100 else 'extrapolated'}: {projected / 60:.1f} min "
          f"(target <= 10 min: {'MET' if projected <= 600 else 'NOT MET'})")
    print(f"  neurons {hist_small[0]['neurons']} -> {hist_small[-1]['neurons']}, synapses "
          f"{hist_small[0]['synapses']} -> {hist_small[-1]['synapses']}")
    print(f"peak RSS of the whole run {peak_rss_gib():.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
