"""A :class:`~lnp_neuro.model.Graph` as a NIR graph (export), lossless through metadata.

Each population becomes one neuron node named by the population, with the inverse of the
import mapping (:mod:`lnp_neuro.nir.import_graph`), chosen so that the import's scale
``r dt/tau_mem (dt/tau_syn w_in)`` is 1 and the weights are written unchanged:

==============  ============  =====================================================
kind            NIR node      parameters
==============  ============  =====================================================
``cuba_lif``    ``CubaLIF``   r = tau_mem/dt, w_in = tau_syn/dt, v_leak = bias tau_mem/dt
``lif``         ``LIF``       tau = tau_mem, r = tau_mem/dt, v_leak = bias tau_mem/dt
``if``          ``IF``        r = 1/dt
``li``          ``LI``        tau = tau_mem, r = tau_mem/dt, v_leak = bias tau_mem/dt
``integrator``  ``I``         r = 1/dt
==============  ============  =====================================================

``v_reset`` is 0. NIR's ``IF`` and ``I`` have no ``v_leak``: their bias lives in the
metadata only, as does the reset mode (NIR resets to ``v_reset``).

Each projection becomes a ``Linear`` node named by the projection (dense ``W[post, pre]``;
pruned synapses, synapses of pruned neurons and stored zeros show as 0). This holds for a
projection imported from a convolutional chain too (``Conv1d`` / ``Conv2d`` / ``SumPool2d``
/ ``AvgPool2d`` / ``Flatten`` / ``Affine``, lowered to one matrix by
:mod:`lnp_neuro.nir.lowering`): it is written back as that one ``Linear`` of the flattened
``(C, H, W)`` indices, not as the original nodes, because the projection keeps only the
matrix (its weight sharing and shapes are gone after pruning), and its neuron nodes get
flat parameter vectors. The chain's bias was folded into the target's bias on import and
is exported there (``v_leak``). Timing: a NIR
stepper delivers a feed-forward edge in the same step and a recurrent (self) edge one step
later, while a projection here delivers ``delay_steps`` after the spike. A ``Delay`` node
``<projection>.delay`` on the edge before the ``Linear`` makes up the difference, so a
stepper that honours ``Delay`` reproduces these rasters: ``delay_steps dt`` for a projection
from an input or another population, ``(delay_steps - 1) dt`` for a self-projection (none
when that is 0). One ``Input`` node per input, one ``Output`` node per output population
(named ``output`` when there is one).

Metadata (key ``lnp_neuro``): on the graph ``graph_format_version``, ``dt``, the graph's
own metadata as JSON and the order of inputs, populations, projections and outputs; on a
neuron node ``neuron_active``, the exact ``bias``, ``excitatory``, ``cluster`` and
``reset``; on the graph also ``bias_onset_json`` when a population's bias starts late
(:func:`lnp_neuro.model.flat.bias_onsets`, read back by the import); on a ``Linear`` node the stored entries its dense matrix cannot show
(``hidden_post``, ``hidden_pre``, ``hidden_weight``, ``hidden_synapse_active``). The
visible arrays stay authoritative on import; the metadata only restores what they cannot
show.
"""

from __future__ import annotations

import json

import nir
import numpy as np

from ..model import Graph, Population, Projection
from ..model.flat import bias_onsets
from .portable import portable_nir
from .reservoir_export import METADATA_KEY, _hidden_entries, _without_wall_clock

__all__ = ["graph_to_nir", "GRAPH_FORMAT_VERSION", "IMPORT_METADATA_KEY"]

#: Version of the multi-population layout written under ``lnp_neuro`` on the graph.
GRAPH_FORMAT_VERSION = 1
#: Key of :attr:`Graph.metadata` the import writes (describes one import; not exported).
IMPORT_METADATA_KEY = "nir_import"


def _neuron_node(pop: Population, dt: float) -> nir.NIRNode:
    active = pop.neuron_active
    zeros = np.zeros(pop.n)
    meta = {"neuron_active": active.copy(), "excitatory": pop.excitatory.copy(),
            "bias": pop.bias.copy(), "reset": pop.reset}
    if pop.reset_delay:
        meta["reset_delay"] = True
    if pop.cluster is not None:
        meta["cluster"] = pop.cluster.astype(np.int64)
    metadata = {METADATA_KEY: meta}
    if pop.tau_mem is not None:
        # A pruned neuron shows no bias (and no synapses), so a NIR stepper keeps it silent.
        v_leak = np.where(active, pop.bias * pop.tau_mem / dt, 0.0)
    if pop.kind == "cuba_lif":
        return nir.CubaLIF(tau_syn=pop.tau_syn.copy(), tau_mem=pop.tau_mem.copy(),
                           r=pop.tau_mem / dt, v_leak=v_leak,
                           v_threshold=pop.v_threshold.copy(), v_reset=zeros,
                           w_in=pop.tau_syn / dt, metadata=metadata)
    if pop.kind == "lif":
        return nir.LIF(tau=pop.tau_mem.copy(), r=pop.tau_mem / dt, v_leak=v_leak,
                       v_threshold=pop.v_threshold.copy(), v_reset=zeros, metadata=metadata)
    if pop.kind == "if":
        return nir.IF(r=np.full(pop.n, 1.0 / dt), v_threshold=pop.v_threshold.copy(),
                      v_reset=zeros, metadata=metadata)
    if pop.kind == "li":
        return nir.LI(tau=pop.tau_mem.copy(), r=pop.tau_mem / dt, v_leak=v_leak,
                      metadata=metadata)
    return nir.I(r=np.full(pop.n, 1.0 / dt), metadata=metadata)


def _visible_weights(graph: Graph, proj: Projection) -> np.ndarray:
    """Dense ``W[post, pre]`` without pruned synapses and synapses of pruned neurons."""
    dense = proj.active_weights().toarray()
    dense[~graph.populations[proj.target].neuron_active, :] = 0.0
    if proj.source in graph.populations:
        dense[:, ~graph.populations[proj.source].neuron_active] = 0.0
    return dense


def _linear_node(graph: Graph, proj: Projection) -> nir.Linear:
    visible = _visible_weights(graph, proj)
    rows, cols, vals, idx = _hidden_entries(proj.weights, visible)
    return nir.Linear(weight=visible, metadata={METADATA_KEY: {
        "hidden_post": rows, "hidden_pre": cols, "hidden_weight": vals,
        "hidden_synapse_active": proj.synapse_active[idx].copy(),
    }})


def _claim(names: set, name: str, what: str) -> str:
    if name in names:
        raise ValueError(f"{what}: NIR node name {name!r} is already used by another node; "
                         f"rename the population or projection")
    names.add(name)
    return name


def _portable_shift(graph: Graph) -> dict[str, int]:
    """Per population, the steps it runs earlier without the Delay nodes: its latency.

    Raises ``ValueError`` naming a projection for which dropping its Delay is not that
    shift: a self-projection of more than one step (its Delay cannot go), or a feed-forward
    one whose delay differs from the latency difference of its ends (paths of unequal
    length: no single shift per population).
    """
    latency = graph.latency()
    for proj in graph.projections:
        if proj.is_recurrent:
            if proj.delay_steps != 1:
                raise ValueError(f"projection {proj.name!r}: a recurrent delay of "
                                 f"{proj.delay_steps} steps has no portable form (no Delay)")
            continue
        before = latency.get(proj.source, 0)
        if latency[proj.target] != before + proj.delay_steps:
            raise ValueError(f"projection {proj.name!r}: its paths from the inputs differ in "
                             f"length, so without Delay nodes no one shift per population "
                             f"reproduces the raster (no portable form)")
    return dict(latency)


def graph_to_nir(graph: Graph, portable: bool = False) -> nir.NIRGraph:
    """Export ``graph`` as a NIR graph (module docstring: nodes, timing, metadata).

    ``portable``: the portable form (:mod:`lnp_neuro.nir.portable`): no Delay nodes, each
    population ``p`` spikes ``latency[p]`` steps earlier (``portable_shift``), time
    constants in steps of 1e-4 s, for snnTorch's and norse's importers.

    Raises ``ValueError`` naming the node when two nodes would get the same NIR name, and
    naming the projection when the graph has no portable form (:func:`_portable_shift`).
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"graph must be a lnp_neuro.model.Graph, got {type(graph).__name__}")
    dt = graph.dt
    names: set = set()
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    for name, channels in graph.inputs.items():
        nodes[_claim(names, name, f"input {name!r}")] = nir.Input(
            input_type={"input": np.array([channels])})
    for name, pop in graph.populations.items():
        nodes[_claim(names, name, f"population {name!r}")] = _neuron_node(pop, dt)
    for proj in graph.projections:
        where = f"projection {proj.name!r}"
        nodes[_claim(names, proj.name, where)] = _linear_node(graph, proj)
        steps = proj.delay_steps - 1 if proj.is_recurrent else proj.delay_steps
        if steps:
            delay = _claim(names, f"{proj.name}.delay", where)
            nodes[delay] = nir.Delay(delay=np.full(graph.size(proj.source), steps * dt))
            edges += [(proj.source, delay), (delay, proj.name)]
        else:
            edges.append((proj.source, proj.name))
        edges.append((proj.name, proj.target))
    output_nodes = {}
    for pop in graph.outputs:
        out = "output" if len(graph.outputs) == 1 else f"{pop}.output"
        output_nodes[pop] = _claim(names, out, f"output {pop!r}")
        nodes[out] = nir.Output(output_type={"output": np.array([graph.populations[pop].n])})
        edges.append((pop, out))
    metadata = {k: v for k, v in graph.metadata.items() if k != IMPORT_METADATA_KEY}
    layout = {"inputs": list(graph.inputs), "populations": list(graph.populations),
              "projections": [p.name for p in graph.projections],
              "outputs": output_nodes}
    graph_meta = {METADATA_KEY: {
        "graph_format_version": GRAPH_FORMAT_VERSION,
        "dt": float(dt),
        "graph_metadata_json": json.dumps(_without_wall_clock(metadata), sort_keys=True),
        "layout_json": json.dumps(layout),
    }}
    onsets = bias_onsets(graph)
    if any(onsets.values()):
        # The Delay nodes carry the timing; the late start of the biases (a graph imported
        # from a same-step framework) has no NIR form, so it goes in the metadata.
        graph_meta[METADATA_KEY]["bias_onset_json"] = json.dumps(onsets, sort_keys=True)
    exact = nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)
    if portable:
        return portable_nir(exact, _portable_shift(graph), dt, METADATA_KEY)
    return exact
