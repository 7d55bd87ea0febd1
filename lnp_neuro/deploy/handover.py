"""The hand-over: the deployed network written as NIR and read back, as every engine runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engines.base import DeployedNetwork
from ..model import FlatLayout, flatten, to_network
from ..model.network import SpikingNetwork
from ..nir import write_graph
from ..nir.reservoir_files import write_nir
from ..tasks.deployed_readout import READOUT

__all__ = ["hand_over", "hand_over_graph", "population_summary", "deployed_reservoir",
           "reservoir_of"]


def hand_over(net: SpikingNetwork, path: Path, portable: Path | None = None):
    """Compact ``net`` to its active neurons and synapses, write it to ``path`` as NIR
    with the original neuron ids, and read it back: the
    :class:`~lnp_neuro.engines.base.DeployedNetwork` every engine runs.

    ``portable``: also write the same network there in the portable form (no Delay; the
    neurons spike one step earlier, :mod:`lnp_neuro.nir.portable`), for snnTorch and norse.
    """
    compact, kept = net.compact()
    write_nir(compact, path, overwrite=True, neuron_ids=kept)
    if portable is not None:
        write_nir(compact, portable, overwrite=True, neuron_ids=kept, portable=True)
    deployed = DeployedNetwork.read(path)
    if (deployed.network.n_total_neurons != kept.size
            or not np.array_equal(deployed.neuron_ids, kept)):
        raise RuntimeError(f"{path}: the network read back is not the one written")
    return deployed


def hand_over_graph(layout: FlatLayout, path: Path, portable: Path | None = None):
    """Compact each population of a graph to its active neurons and synapses
    (:meth:`~lnp_neuro.model.Graph.compact`), write it to ``path`` as NIR and read it back:
    the :class:`~lnp_neuro.engines.base.DeployedNetwork` every engine runs (its flat
    layout), ``neuron_ids`` the kept neurons' places in ``layout``'s network.

    Reason: every engine then runs the same neurons (norse steps the NIR file and reads no
    masks) and the report's counts are the deployed graph's own. A graph with nothing
    pruned is written as it is. ``portable``: also write the graph there in the portable
    form (no Delay nodes; population ``p`` spikes ``latency[p]`` steps earlier,
    :mod:`lnp_neuro.nir.portable`), for snnTorch and norse.
    """
    graph, kept = layout.graph.compact()
    written = layout if graph is layout.graph else flatten(graph)
    write_graph(graph, path, overwrite=True)
    if portable is not None:
        write_graph(graph, portable, overwrite=True, portable=True)
    deployed = DeployedNetwork.read_graph(path)
    if (deployed.layout.offsets != written.offsets
            or deployed.network.n_active_synapses != written.network.n_active_synapses):
        raise RuntimeError(f"{path}: the graph read back is not the one written")
    deployed.neuron_ids = np.concatenate([layout.offsets[name][0] + kept[name]
                                          for name in graph.populations]).astype(np.int64)
    return deployed


def population_summary(layout: FlatLayout) -> list[dict]:
    """Per population of a deployed graph: kind, size, place in ``spikes`` and latency
    (steps behind a framework that delivers feed-forward edges in the same step)."""
    return [{"name": name, "kind": pop.kind, "neurons": pop.n, "reset": pop.reset,
             "columns": list(layout.offsets[name]), "latency_steps": layout.latency[name],
             "run_npz_key": f"spikes/{name}"}
            for name, pop in layout.graph.populations.items()]


def _without_readout(graph) -> list[str]:
    """The populations of ``graph`` other than the forecast's readout :data:`READOUT`."""
    return [name for name in graph.populations if name != READOUT]


def deployed_reservoir(loaded) -> SpikingNetwork | None:
    """The reservoir of a graph ``lnp-deploy`` deployed with its forecast's readout (a
    recurrent population and the readout population
    :data:`~lnp_neuro.tasks.deployed_readout.READOUT`, which feeds nothing), as the one
    network a series task prunes and reads out again; None for any other network."""
    if not isinstance(loaded, FlatLayout):
        return None
    graph = loaded.graph
    rest = _without_readout(graph)
    readout = graph.populations.get(READOUT)
    if (readout is None or readout.spiking or len(rest) != 1
            or graph.recurrent_populations() != rest
            or any(p.source == READOUT for p in graph.projections)):
        return None
    return to_network(graph.subgraph(rest))


def reservoir_of(deployed: DeployedNetwork) -> SpikingNetwork:
    """The reservoir of a deployed graph that carries the forecast's readout population:
    the network the dynamics and activity are measured on (the readout is feed-forward
    and never spikes: it changes neither)."""
    graph = deployed.layout.graph
    return to_network(graph.subgraph(_without_readout(graph)))
