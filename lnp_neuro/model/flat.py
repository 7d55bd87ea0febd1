"""The flat layout: a graph as one neuron index, the form the engines run.

Populations are laid end to end in the graph's order (population ``p`` holds neurons
``offsets[p][0] .. offsets[p][1] - 1``), inputs likewise on the input channels. Every
projection between populations becomes a block of one sparse matrix ``W`` (N x N), every
projection from an input a block of ``W_in`` (N x n_in). With ``delay_steps = 1`` for every
projection the step of the whole graph is the step of :mod:`lnp_neuro.model.network`::

    a[t] = W_in x[t-1] + W s[t-1]

which is what the native kernels, the numpy reference and Lava already run, bit for bit.
A projection of ``delay_steps = d > 1`` goes instead into the delayed synapse group of
``d`` (:class:`DelayedSynapses`: ``weights`` from the neurons, ``input_weights`` from the
inputs), kept apart on :attr:`FlatLayout.delayed`, and the step becomes::

    a[t] = W_in x[t-1] + W s[t-1] + sum_d (W_in_d x[t-d] + W_d s[t-d])

Keeping ``W``/``W_in`` for delay 1 leaves a graph without delays with exactly the network
and the engine path it had; :mod:`lnp_neuro.engines.delays` runs the groups. Pruned
synapses of a delayed projection are left out of its group (its mask is not carried).
The per-population kinds become per-neuron parameters (``tau_syn = dt`` for the kinds
without a synaptic filter, ``tau_mem = inf`` without leak, ``spiking`` False for readouts,
``reset_subtract``, ``bias_onset``: :func:`bias_onsets`). A one-population graph flattens to exactly the network it was built
from (:func:`from_network` / :func:`to_network`), so the reservoir runs as it always has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .graph import Graph
from .network import SpikingNetwork
from .population import Population
from .projection import Projection

__all__ = ["DelayedSynapses", "FlatLayout", "bias_onsets", "flatten", "from_network", "to_network", "RESERVOIR", "INPUT"]

#: Key of :attr:`Graph.metadata` an import writes (lnp_neuro.nir.export.IMPORT_METADATA_KEY).
IMPORT_METADATA_KEY = "nir_import"
#: Names of the one population and the one input of a graph made from a SpikingNetwork.
RESERVOIR = "reservoir"
INPUT = "input"


@dataclass(eq=False)
class DelayedSynapses:
    """The projections of one delay ``delay`` (> 1 step) on the flat index.

    ``weights`` (N x N, from neurons) and ``input_weights`` (N x n_in, from inputs) are
    canonical CSR matrices of the active synapses: a spike at step ``t`` reaches the
    synaptic current at ``t + delay`` (module docstring).
    """

    delay: int
    weights: sp.csr_matrix
    input_weights: sp.csr_matrix


@dataclass(eq=False)
class FlatLayout:
    """A graph laid out on one neuron index, and the network the engines run.

    ``offsets[name] = (start, stop)`` of each population in the network's neurons,
    ``input_offsets[name]`` of each input in its input channels; ``latency`` per
    population (:meth:`Graph.latency`); ``delayed``: the :class:`DelayedSynapses` of each
    distinct delay above one step, by increasing delay (empty without such projections).
    """

    graph: Graph
    network: SpikingNetwork
    offsets: dict
    input_offsets: dict
    latency: dict
    delayed: tuple = ()

    def split(self, raster: np.ndarray) -> dict[str, np.ndarray]:
        """``{population: raster[:, start:stop]}`` of a ``[T, N]`` array of the network."""
        raster = np.asarray(raster)
        return {name: raster[:, a:b] for name, (a, b) in self.offsets.items()}

    def join_inputs(self, inputs) -> np.ndarray:
        """One ``[T, n_in]`` array from ``{input name: [T, channels]}`` (or the array)."""
        if not isinstance(inputs, dict):
            return np.asarray(inputs)
        missing = sorted(set(self.input_offsets) - set(inputs))
        if missing:
            raise ValueError(f"no spikes given for input(s) {missing}")
        return np.concatenate([np.asarray(inputs[name]) for name in self.input_offsets],
                              axis=1)


def _offsets(sizes: dict) -> dict:
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = (start, start + n)
        start += n
    return out


def _blocks(projections: list[Projection], rows: dict, cols: dict,
            shape: tuple[int, int]) -> tuple[sp.csr_matrix, np.ndarray]:
    """One canonical CSR from per-projection blocks, with the synapse masks aligned."""
    r_all, c_all, d_all, m_all = [], [], [], []
    for proj in projections:
        coo = proj.weights.tocoo()   # canonical CSR -> COO keeps the entry order
        r_all.append(coo.row.astype(np.int64) + rows[proj.target][0])
        c_all.append(coo.col.astype(np.int64) + cols[proj.source][0])
        d_all.append(coo.data)
        m_all.append(proj.synapse_active)
    if not r_all:
        return sp.csr_matrix(shape), np.zeros(0, bool)
    r, c = np.concatenate(r_all), np.concatenate(c_all)
    order = np.lexsort((c, r))   # canonical CSR order: by row, then column
    r, c = r[order], c[order]
    data, mask = np.concatenate(d_all)[order], np.concatenate(m_all)[order]
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.add.at(indptr, r + 1, 1)
    mat = sp.csr_matrix((data, c.astype(np.int32), np.cumsum(indptr)), shape=shape)
    return mat, mask


def _active_only(projections: list[Projection]) -> list[Projection]:
    """The projections with their pruned synapses removed, for the matrices that carry no
    mask of their own (``W_in`` and the delayed groups: a pruned synapse carries nothing)."""
    return [Projection(p.source, p.target, p.active_weights(), name=p.name)
            for p in projections]


def bias_onsets(graph: Graph) -> dict[str, int]:
    """Per population, the step from which its bias acts (``SpikingNetwork.bias_onset``).

    What: 0 for a graph built here or written by :mod:`lnp_neuro.nir.export` (every hop
    has its Delay); for a graph imported from a framework that delivers feed-forward
    edges in the same step (snnTorch, norse), the import's ``shift`` of the population
    (``metadata["nir_import"]["shift"]``), or the ``bias_onset`` the import read back
    from a file of ours that carries one. Reason: such a population spikes ``shift``
    steps after the source framework (module docstring of :mod:`lnp_neuro.model.graph`),
    so its bias (``v_leak``, folded ``Affine`` biases) must start ``shift`` steps late too,
    at the step the source framework's first step reaches it.
    """
    imported = graph.metadata.get(IMPORT_METADATA_KEY)
    if not isinstance(imported, dict):
        return {name: 0 for name in graph.populations}
    onsets = imported.get("bias_onset", imported.get("shift", {})) or {}
    return {name: int(onsets.get(name, 0)) for name in graph.populations}


def flatten(graph: Graph) -> FlatLayout:
    """Lay ``graph`` out on one neuron index (module docstring).

    Projections of ``delay_steps = 1`` form the network's ``W`` and ``W_in``; longer ones
    form one :class:`DelayedSynapses` per distinct delay (``layout.delayed``).
    """
    pops = list(graph.populations.values())
    offsets = _offsets({p.name: p.n for p in pops})
    input_offsets = _offsets(graph.inputs)
    n, n_in = graph.n_neurons, graph.n_inputs
    direct = [p for p in graph.projections if p.delay_steps == 1]
    recurrent = [p for p in direct if p.source in graph.populations]
    external = [p for p in direct if p.source in graph.inputs]
    weights, synapse_active = _blocks(recurrent, offsets, offsets, (n, n))
    input_weights, _ = _blocks(_active_only(external), offsets, input_offsets, (n, n_in))
    cat = np.concatenate
    clusters = [p.cluster for p in pops]
    onsets = bias_onsets(graph)
    network = SpikingNetwork(
        weights=weights, input_weights=input_weights,
        tau_mem=cat([p.tau_mem_or_inf() for p in pops]),
        tau_syn=cat([p.tau_syn_or(graph.dt) for p in pops]),
        v_threshold=cat([p.threshold_or_one() for p in pops]),
        bias=cat([p.bias for p in pops]), dt=graph.dt,
        excitatory=cat([p.excitatory for p in pops]),
        cluster=None if any(c is None for c in clusters) else cat(clusters),
        neuron_active=cat([p.neuron_active for p in pops]),
        synapse_active=synapse_active,
        metadata=dict(graph.metadata),
        reset_subtract=cat([np.full(p.n, p.reset == "subtract") for p in pops]),
        spiking=cat([np.full(p.n, p.spiking) for p in pops]),
        bias_onset=cat([np.full(p.n, onsets[p.name], np.int64) for p in pops]),
        reset_amount=(cat([p.reset_amount(graph.dt) for p in pops])
                      if any(p.reset_delay for p in pops) else None),
    )
    delayed = []
    for d in sorted({p.delay_steps for p in graph.projections} - {1}):
        group = _active_only([p for p in graph.projections if p.delay_steps == d])
        from_pops = [p for p in group if p.source in graph.populations]
        from_inputs = [p for p in group if p.source in graph.inputs]
        delayed.append(DelayedSynapses(
            delay=d, weights=_blocks(from_pops, offsets, offsets, (n, n))[0],
            input_weights=_blocks(from_inputs, offsets, input_offsets, (n, n_in))[0]))
    return FlatLayout(graph=graph, network=network, offsets=offsets,
                      input_offsets=input_offsets, latency=graph.latency(),
                      delayed=tuple(delayed))


def from_network(net: SpikingNetwork, name: str = RESERVOIR) -> Graph:
    """The graph of a :class:`SpikingNetwork`: one input, one population and its input and
    recurrent projections (``flatten(from_network(net)).network`` equals ``net``)."""
    if not net.is_plain_lif or net.has_bias_onset:
        kinds = "a network with non-spiking, reset-by-subtraction or late-bias neurons"
        raise ValueError(f"from_network takes the one-population reservoir form, not {kinds}")
    pop = Population(name=name, kind="cuba_lif", n=net.n_total_neurons, tau_mem=net.tau_mem,
                     tau_syn=net.tau_syn, v_threshold=net.v_threshold, bias=net.bias,
                     neuron_active=net.neuron_active, excitatory=net.excitatory,
                     cluster=net.cluster)
    projections = [Projection(INPUT, name, net.input_weights, name=f"{INPUT}->{name}"),
                   Projection(name, name, net.weights, synapse_active=net.synapse_active,
                              name=f"{name}->{name}")]
    return Graph(inputs={INPUT: net.n_inputs}, populations=[pop], projections=projections,
                 outputs=[name], dt=net.dt, metadata=dict(net.metadata))


def to_network(graph: Graph) -> SpikingNetwork:
    """The flat network of ``graph`` (:func:`flatten`); a ``SpikingNetwork`` holds
    one-step synapses only, so a projection of more than one step is refused (run the
    graph's :class:`FlatLayout` instead, whose ``delayed`` carries it)."""
    for proj in graph.projections:
        if proj.delay_steps != 1:
            raise ValueError(f"projection {proj.name!r}: delay_steps={proj.delay_steps}; a "
                             f"SpikingNetwork holds one-step synapses only (use flatten)")
    return flatten(graph).network
