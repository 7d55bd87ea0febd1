"""First-fit against METIS partitioning: spikes between cores for the 400-neuron CHRSNN.

The case of issue 10: a 4-cluster CHRSNN of 400 neurons, pruned with LNP and driven
exactly as ``lnp-deploy --model chrsnn --neurons 400 --clusters 4`` does (Lorenz-63,
500 steps), placed on Loihi cores cut down to 128 neurons each. For every seed it prints
the inter-core spike messages, all messages, mesh hops and cores of both placements, on
Loihi's mesh (4 cores per tile, 8 x 4 tiles) and on the same mesh with one core per tile
(where hops between cores show). The unpruned network is placed too.

    .venv/bin/python benchmarks/mapping.py [--seeds 0,1,2] [--neurons-per-core 128]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from lnp_neuro.deploy import (DeployOptions, build_network, load_series, make_input,
                              prune_network, series_inputs)
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.hardware.mapping import STRATEGIES, core_limits, map_to_cores
from lnp_neuro.hardware.profiles import load_profile


def placements(net, raster, limits, seed: int) -> dict[str, dict]:
    out = {}
    for strategy in STRATEGIES:
        t = time.perf_counter()
        m = map_to_cores(net, limits, strategy, spikes=raster, seed=seed)
        out[strategy] = {"seconds": time.perf_counter() - t, "cores": m.cores_used,
                         "inter": m.routing.inter_core_spikes, "messages": m.routing.messages,
                         "hops": m.routing.hop_count}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--neurons-per-core", type=int, default=128)
    args = parser.parse_args()
    loihi = core_limits(load_profile("loihi"))
    geometries = {
        "loihi mesh (4 cores/tile)": dataclasses.replace(
            loihi, name="smallcore", neurons_per_core=args.neurons_per_core),
        "1 core/tile": dataclasses.replace(
            loihi, name="smallcore-1", neurons_per_core=args.neurons_per_core,
            cores_per_tile=1, mesh_tiles_x=16, mesh_tiles_y=8),
    }
    print(f"CHRSNN 400 neurons, 4 clusters, Lorenz drive 500 steps, "
          f"{args.neurons_per_core} neurons per core")
    print(f"{'seed':>4} {'network':>9} {'geometry':>26} {'strategy':>10} {'cores':>5} "
          f"{'inter-core':>10} {'messages':>9} {'hops':>7} {'map s':>6}")
    for seed in (int(s) for s in args.seeds.split(",")):
        options = DeployOptions(model="chrsnn", neurons=400, clusters=4, seed=seed,
                                progress=False)
        series, info = load_series(options)
        net0 = build_network(options, series_inputs(series, options))
        inputs, _, _ = make_input(options, net0, series, info)
        net1, _ = prune_network(options, net0, inputs, lambda *a: None)
        for label, net in (("unpruned", net0), ("LNP", net1)):
            raster = simulate(net, inputs, mode="fixed").spikes
            for geometry, limits in geometries.items():
                for strategy, row in placements(net, raster, limits, seed).items():
                    print(f"{seed:>4} {label:>9} {geometry:>26} {strategy:>10} "
                          f"{row['cores']:>5} {row['inter']:>10} {row['messages']:>9} "
                          f"{row['hops']:>7} {row['seconds']:>6.2f}")


if __name__ == "__main__":
    main()
