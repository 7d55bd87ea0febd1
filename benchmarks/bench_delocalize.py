"""Speed and effect of LNP step III (delocalize) at paper scale (N = 5000).

Reference: the brief's target, "a few seconds" for tens of thousands of new synapses on an
N = 5000, 2.5 M-synapse network. Also prints the mean IPR (k = 20 leading eigenvectors,
ARPACK) before and after, and, on a disordered ring, the greedy rule against random
additions inside 2-hop neighbourhoods.
Run: .venv/bin/python benchmarks/bench_delocalize.py
"""
import time

import numpy as np
import scipy.sparse as sp

from lnp_neuro.model.build import hrsnn
from lnp_neuro.prune.delocalize import delocalize, local_degree_variance, mean_ipr


def ring(n, seed):
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return sp.csr_matrix((rng.standard_normal(2 * n), (np.r_[i, (i + 1) % n], np.r_[(i + 1) % n, i])),
                         shape=(n, n))


def random_ring_additions(w, n_new, seed):
    rng = np.random.default_rng(seed)
    n = w.shape[0]
    lil = w.tolil()
    added = 0
    while added < n_new:
        a = int(rng.integers(n))
        b = (a + int(rng.choice([-2, -1, 1, 2]))) % n
        if lil[b, a] == 0:
            lil[b, a] = rng.choice(w.data)
            added += 1
    return lil.tocsr()


def main() -> None:
    net = hrsnn(5000, 0.1, seed=0)
    full = net.effective_weights()
    rng = np.random.default_rng(0)
    pruned = full.copy()
    keep = rng.random(pruned.nnz) < 0.2
    pruned.data[~keep] = 0.0
    pruned.eliminate_zeros()
    for label, w in (("N=5000 density 0.1", full), ("N=5000 20% kept", pruned)):
        for n_new in (20_000, 50_000):
            t0, c0 = time.perf_counter(), time.process_time()
            new_w, info = delocalize(w, n_new, seed=0, excitatory=net.excitatory)
            f0, f1 = info.objective_before, info.objective_after
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"{label} ({w.nnz} synapses) + {n_new}: {dt:5.2f} s wall, {cpu:5.2f} s CPU "
                  f"(target: a few s); "
                  f"local degree variance {f0:.1f} -> {f1:.1f}")
        t0 = time.perf_counter()
        before = mean_ipr(w, k=20, seed=0)
        after = mean_ipr(new_w, k=20, seed=0)
        print(f"  mean IPR (k=20) before {before:.3e}, after +50000 {after:.3e} "
              f"(uniform = {1 / 5000:.1e}); {time.perf_counter() - t0:.1f} s for both")
    print("disordered ring N=200 (+100 synapses): mean IPR (all eigenvectors)")
    for seed in range(3):
        w = ring(200, seed)
        exact, _ = delocalize(w, 100, seed=seed, batch_size=1)
        batched, _ = delocalize(w, 100, seed=seed, n_rounds=8)
        rand = random_ring_additions(w, 100, seed)
        print(f"  seed {seed}: none {mean_ipr(w):.3f}  greedy exact {mean_ipr(exact):.3f}  "
              f"greedy 8 rounds {mean_ipr(batched):.3f}  random 2-hop {mean_ipr(rand):.3f}  "
              f"(F: {local_degree_variance(exact):.0f} / {local_degree_variance(batched):.0f} / "
              f"{local_degree_variance(rand):.2f})")


if __name__ == "__main__":
    main()
