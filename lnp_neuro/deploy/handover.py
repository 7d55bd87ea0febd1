"""The hand-over: the deployed network written as NIR and read back, as every engine runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engines.base import DeployedNetwork
from ..model import FlatLayout
from ..model.network import SpikingNetwork
from ..nir import write_graph
from ..nir.reservoir_files import write_nir

__all__ = ["hand_over", "hand_over_graph", "population_summary"]


def hand_over(net: SpikingNetwork, path: Path):
    """Compact ``net`` to its active neurons and synapses, write it to ``path`` as NIR
    with the original neuron ids, and read it back: the
    :class:`~lnp_neuro.engines.base.DeployedNetwork` every engine runs."""
    compact, kept = net.compact()
    write_nir(compact, path, overwrite=True, neuron_ids=kept)
    deployed = DeployedNetwork.read(path)
    if (deployed.network.n_total_neurons != kept.size
            or not np.array_equal(deployed.neuron_ids, kept)):
        raise RuntimeError(f"{path}: the network read back is not the one written")
    return deployed


def hand_over_graph(layout: FlatLayout, path: Path):
    """Write a population graph to ``path`` as NIR and read it back: the
    :class:`~lnp_neuro.engines.base.DeployedNetwork` every engine runs (its flat layout)."""
    write_graph(layout.graph, path, overwrite=True)
    deployed = DeployedNetwork.read_graph(path)
    if (deployed.layout.offsets != layout.offsets
            or deployed.network.n_active_synapses != layout.network.n_active_synapses):
        raise RuntimeError(f"{path}: the graph read back is not the one written")
    return deployed


def population_summary(layout: FlatLayout) -> list[dict]:
    """Per population of a deployed graph: kind, size, place in ``spikes`` and latency
    (steps behind a framework that delivers feed-forward edges in the same step)."""
    return [{"name": name, "kind": pop.kind, "neurons": pop.n, "reset": pop.reset,
             "columns": list(layout.offsets[name]), "latency_steps": layout.latency[name],
             "run_npz_key": f"spikes/{name}"}
            for name, pop in layout.graph.populations.items()]


