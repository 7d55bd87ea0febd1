"""A researcher's notebook, as a script: build a reservoir, prune and deploy it, compare the
pruning methods, and plot accuracy against energy, with the public API only.

    python examples/notebook_example.py                # N = 1000 on loihi-sim (a few minutes)
    python examples/notebook_example.py --quick        # N = 60 on cpu (seconds; run by the tests)

Each ``# %%`` cell can be pasted into Jupyter, where a deployment and a comparison show
their headline (SOP ratio, energy, accuracy before -> after, caveats) as a table.
"""

# %% imports
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matplotlib.figure import Figure

import lnp_neuro

#: The full size is the default deployment (README, "lnp-deploy"); the quick one is a
#: smoke run of the same flow.
SIZES = {
    "full": {"neurons": 1000, "target": "loihi-sim", "methods": ("none", "lnp", "random"),
             "options": {}},
    "quick": {"neurons": 60, "target": "cpu", "methods": ("lnp", "random"),
              "options": {"steps": 60, "iterations": 1, "task_samples": 300,
                          "vpt_starts": 0}},
}
#: Inputs of the Lorenz-63 drive: an ON/OFF pair per dimension, 8 staggered copies each.
LORENZ_INPUTS = 3 * 2 * 8


def build(out: Path, neurons: int) -> Path:
    """Build the heterogeneous recurrent SNN (HRSNN) and save it as the network to deploy."""
    net = lnp_neuro.models.hrsnn(neurons, density=0.1, seed=0, n_inputs=LORENZ_INPUTS)
    print(f"built {net.n_active_neurons} neurons, {net.n_active_synapses} synapses")
    path = out / "hrsnn.npz"
    net.save(path)
    return path


def deploy(network: Path, size: dict) -> list:
    """Prune the network with each method and deploy it on the target: one call each
    (what ``lnp-deploy --network hrsnn.npz --prune METHOD`` does)."""
    runs = []
    for method in size["methods"]:
        run = lnp_neuro.run_deployment(network=network, target=size["target"], prune=method,
                                       **size["options"])
        print(run, end="\n\n")      # in Jupyter: `run` alone shows the headline table
        for row in run.report["history"]:
            print(f"  iteration {row['iteration']}: {row['neurons']} neurons, "
                  f"{row['synapses']} synapses")
        runs.append(run)
    return runs


def plot_accuracy_against_energy(runs: list, path: Path) -> Path:
    """One point per run: the deployed network's one-step NRMSE (lower is better) against
    its energy on the target's profile, with the unpruned network's and persistence's
    NRMSE as lines."""
    fig = Figure(figsize=(6, 4), dpi=90)
    ax = fig.add_subplot(1, 1, 1)
    for run in runs:
        task = run.report["task"]
        ax.scatter(run.report["energy_joules"], task["pruned"], label=run.label)
    first = runs[0].report["task"]
    ax.axhline(first["unpruned"], linestyle=":", color="grey", label="unpruned")
    ax.axhline(first["persistence"], linestyle="--", color="black", label="persistence")
    ax.set_xscale("log")
    ax.set_xlabel(f"energy of the run on {runs[0].report['profile']} (J)")
    ax.set_ylabel("one-step NRMSE")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.14, bottom=0.15)
    fig.savefig(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the reduced size (N = 60, cpu)")
    parser.add_argument("--out", type=Path, default=Path("notebook-out"),
                        help="folder for the network, the runs, the comparison and the plot")
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    args.out.mkdir(parents=True, exist_ok=True)
    # %% build, prune + deploy, compare, plot
    network = build(args.out, size["neurons"])
    runs = deploy(network, size)
    comparison = lnp_neuro.compare(runs, out=args.out / "comparison", force=True)
    plot = plot_accuracy_against_energy(runs, args.out / "accuracy_vs_energy.png")
    print(f"comparison: {comparison.path / 'report.html'}\nplot: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
