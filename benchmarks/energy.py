"""Speed of SOP counting at the paper's scale (N = 5000, density 0.1: 2.5 M synapses).

Prints the vectorised count (spike counts @ fan-out, lnp_neuro.hardware.energy.count_sops) side by
side with the straightforward reference: per time step, the sparse matrix-vector product
of the AND-masked connectivity with the spike vector, summed. Both must agree exactly.

    .venv/bin/python benchmarks/energy.py [--steps 1000] [--rate 0.02]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lnp_neuro.hardware.energy import count_sops
from lnp_neuro.model.build import hrsnn


def reference_sops(raster: np.ndarray, net) -> int:
    pattern = net.effective_weights().copy()
    pattern.data[:] = 1.0
    total = 0
    for row in raster:
        total += int((pattern @ row.astype(np.float64)).sum())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.02, help="spike probability per step")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    net = hrsnn(args.neurons, density=0.1, seed=0)
    net = net.copy(neuron_active=rng.random(net.n_total_neurons) > 0.3,
                   synapse_active=rng.random(net.weights.nnz) > 0.5)
    build = time.perf_counter() - t0
    raster = rng.random((args.steps, net.n_total_neurons)) < args.rate
    t0 = time.perf_counter()
    fast = count_sops(raster, net.weights, net.neuron_active, net.synapse_active)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_sops(raster, net)
    t_ref = time.perf_counter() - t0
    print(f"network: N={net.n_total_neurons}, stored synapses={net.weights.nnz:,}, "
          f"active (AND-mask)={net.n_active_synapses:,} (built in {build:.1f} s)")
    print(f"raster: {args.steps} steps, {int(raster.sum()):,} spikes")
    print(f"{'method':<40}{'seconds':>10}{'SOPs':>16}")
    print(f"{'count_sops (counts @ fan-out)':<40}{t_fast:>10.3f}{fast:>16,}")
    print(f"{'reference (per-step sparse matvec)':<40}{t_ref:>10.3f}{ref:>16,}")
    print(f"speed-up x{t_ref / t_fast:.1f}; counts agree: {fast == ref}")


if __name__ == "__main__":
    main()
