"""A graph of populations: named inputs, populations, projections and outputs.

The core model every stage shares (design section 1): a network is built (the reservoir
is a graph with one recurrent population) or imported from NIR, pruned population by
population, written back as NIR and compiled by each engine.

Timing. Every projection delivers ``delay_steps >= 1`` steps after the presynaptic spike
(:mod:`lnp_neuro.model.projection`), as on Loihi, where each hop through a ``Sparse`` costs
one step. Frameworks that step NIR graphs (snnTorch, norse) deliver feed-forward edges in
the same step and recurrent edges one step later. For a graph whose feed-forward paths from
the inputs to a population all have the same length, the two rasters agree up to a shift:
population ``p`` spikes here at step ``t + latency[p]`` where the source framework spikes at
``t``, with ``latency[p]`` the number of feed-forward hops from the inputs (:meth:`Graph.
latency`; the input's own hop counts, so a population fed by an input has latency 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .population import Population
from .projection import Projection

__all__ = ["Graph", "feed_forward_depth"]


@dataclass(eq=False)
class Graph:
    """Inputs, populations, projections and outputs of a spiking network.

    Parameters
    ----------
    inputs : dict {name: channels}
        External spike inputs, in the order their channels are concatenated.
    populations : list or dict of :class:`Population`
        In the order of the engines' neuron index (flat layout).
    projections : list of :class:`Projection`
        At most one per (source, target, delay).
    outputs : list of str
        Populations read out as the graph's output (may be empty).
    dt : float
        Time step in seconds.
    metadata : dict
        JSON-serialisable facts (model, seed, provenance).
    """

    inputs: dict
    populations: object
    projections: list
    outputs: list = field(default_factory=list)
    dt: float = 1e-3
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.dt = float(self.dt)
        except (TypeError, ValueError):
            raise ValueError(f"graph dt must be a number of seconds, got {self.dt!r}") from None
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise ValueError(f"graph dt must be a positive number of seconds, got {self.dt}")
        inputs = {}
        for name, size in dict(self.inputs).items():
            if (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                    or size < 0):
                raise ValueError(f"input {name!r}: its size must be a non-negative integer, "
                                 f"got {size!r}")
            inputs[str(name)] = int(size)
        self.inputs = inputs
        pops = (list(self.populations.values()) if isinstance(self.populations, dict)
                else list(self.populations))
        self.populations = {}
        for pop in pops:
            if not isinstance(pop, Population):
                raise ValueError(f"populations must be Population objects, got "
                                 f"{type(pop).__name__}")
            if pop.name in self.populations or pop.name in self.inputs:
                raise ValueError(f"node name {pop.name!r} is used twice")
            self.populations[pop.name] = pop
        if not self.populations:
            raise ValueError("a graph needs at least one population")
        self.projections = list(self.projections)
        seen = {}
        for proj in self.projections:
            if not isinstance(proj, Projection):
                raise ValueError(f"projections must be Projection objects, got "
                                 f"{type(proj).__name__}")
            where = f"projection {proj.name!r}"
            if proj.target not in self.populations:
                raise ValueError(f"{where}: target {proj.target!r} is not a population of the "
                                 f"graph")
            if proj.source not in self.populations and proj.source not in self.inputs:
                raise ValueError(f"{where}: source {proj.source!r} is neither an input nor a "
                                 f"population of the graph")
            expected = (self.populations[proj.target].n, self.size(proj.source))
            if proj.shape != expected:
                raise ValueError(f"{where}: weights have shape {proj.shape}, expected "
                                 f"{expected} (target neurons, source neurons)")
            if proj.source in self.populations and not self.populations[proj.source].spiking:
                raise ValueError(f"{where}: source {proj.source!r} is a non-spiking "
                                 f"{self.populations[proj.source].kind} population")
            key = (proj.source, proj.target, proj.delay_steps)
            if key in seen:
                raise ValueError(f"{where} duplicates projection {seen[key]!r} (same source, "
                                 f"target and delay); sum their weights into one")
            if proj.name in seen.values():
                raise ValueError(f"projection name {proj.name!r} is used twice")
            seen[key] = proj.name
        self.outputs = [str(o) for o in self.outputs]
        for out in self.outputs:
            if out not in self.populations:
                raise ValueError(f"output {out!r} is not a population of the graph")
        if not isinstance(self.metadata, dict):
            raise ValueError(f"graph metadata must be a dict, got {type(self.metadata).__name__}")
        try:
            json.dumps(self.metadata)
        except TypeError as exc:
            raise ValueError(f"graph metadata must be JSON-serialisable: {exc}") from None

    # ------------------------------------------------------------------ queries
    def size(self, name: str) -> int:
        """Channels of an input or neurons of a population."""
        if name in self.inputs:
            return self.inputs[name]
        return self.populations[name].n

    @property
    def n_inputs(self) -> int:
        return sum(self.inputs.values())

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations.values())

    def projections_into(self, target: str) -> list[Projection]:
        return [p for p in self.projections if p.target == target]

    def recurrent_populations(self) -> list[str]:
        """Populations with a projection onto themselves (what LNP prunes by default)."""
        return [name for name in self.populations
                if any(p.is_recurrent for p in self.projections if p.source == name)]

    def subgraph(self, names) -> "Graph":
        """The populations ``names`` alone: their projections among themselves and from
        the inputs (every input kept, so the channels stay where they were); outputs among
        them, else the last of them. A deployed reservoir with its readout population
        gives the reservoir back (the network LNP pruned and the dynamics are measured on)."""
        keep = [name for name in self.populations if name in set(names)]
        missing = sorted(set(names) - set(keep))
        if missing or not keep:
            raise ValueError(f"subgraph: {missing or names} not populations of the graph")
        projections = [p for p in self.projections if p.target in keep
                       and (p.source in keep or p.source in self.inputs)]
        outputs = [o for o in self.outputs if o in keep] or keep[-1:]
        return Graph(inputs=dict(self.inputs),
                     populations=[self.populations[n] for n in keep],
                     projections=projections, outputs=outputs, dt=self.dt,
                     metadata=dict(self.metadata))

    def latency(self) -> dict[str, int]:
        """Steps from an input spike to the first possible spike of each population.

        The longest path in ``delay_steps`` from any input over the projections that are
        not part of a cycle (module docstring); a population no input reaches has latency
        0. Recurrent loops (cycles) add no latency: they run one step per hop in every
        framework.
        """
        return feed_forward_depth(self.projections, list(self.populations),
                                  lambda p: p.delay_steps)

    def compact(self) -> tuple["Graph", dict[str, np.ndarray]]:
        """Drop pruned neurons and synapses; returns (graph, kept indices per population).

        Each population keeps its active neurons (``neuron_active`` all True after), each
        projection the active synapses between kept neurons (stored zeros included, as
        :meth:`SpikingNetwork.compact`), renumbered. Inputs keep every channel. The graph
        itself is returned when nothing is pruned. Raises ``ValueError`` naming a
        population with no active neuron left.

        Reason: a pruned neuron is silent only where the masks are read; a graph without
        them runs the same on every engine (also those, such as norse, that step the NIR
        file) and its neuron and synapse counts are the active ones.
        """
        pops = self.populations
        if (all(p.neuron_active.all() for p in pops.values())
                and all(p.synapse_active.all() for p in self.projections)):
            return self, {name: np.arange(p.n) for name, p in pops.items()}
        kept = {name: np.flatnonzero(p.neuron_active) for name, p in pops.items()}
        for name, idx in kept.items():
            if idx.size == 0:
                raise ValueError(f"population {name!r} has no active neuron left")
        new_pops = [Population(
            name=p.name, kind=p.kind, n=kept[p.name].size,
            **{f: None if getattr(p, f) is None else getattr(p, f)[kept[p.name]]
               for f in ("tau_mem", "tau_syn", "v_threshold", "cluster")},
            bias=p.bias[kept[p.name]], reset=p.reset, reset_delay=p.reset_delay,
            excitatory=p.excitatory[kept[p.name]]) for p in pops.values()]
        return Graph(inputs=dict(self.inputs), populations=new_pops,
                     projections=[self._compact_projection(p, kept) for p in self.projections],
                     outputs=list(self.outputs), dt=self.dt,
                     metadata=json.loads(json.dumps(self.metadata))), kept

    def _compact_projection(self, proj: Projection, kept: dict) -> Projection:
        """``proj`` restricted to its active synapses between kept neurons, renumbered."""
        w = proj.weights
        post = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        pre = w.indices.astype(np.int64)
        n_post = kept[proj.target].size
        post_map = np.full(w.shape[0], -1)
        post_map[kept[proj.target]] = np.arange(n_post)
        if proj.source in self.populations:
            pre_map = np.full(w.shape[1], -1)
            pre_map[kept[proj.source]] = np.arange(kept[proj.source].size)
            n_pre = kept[proj.source].size
        else:
            pre_map, n_pre = np.arange(w.shape[1]), w.shape[1]
        keep = proj.synapse_active & (post_map[post] >= 0) & (pre_map[pre] >= 0)
        mat = sp.csr_matrix((w.data[keep], (post_map[post[keep]], pre_map[pre[keep]])),
                            shape=(n_post, n_pre))
        return Projection(proj.source, proj.target, mat, delay_steps=proj.delay_steps,
                          name=proj.name)

    def summary(self) -> str:
        lines = [f"graph: {len(self.inputs)} input(s) ({self.n_inputs} channels), "
                 f"{len(self.populations)} population(s) ({self.n_neurons} neurons), "
                 f"{len(self.projections)} projection(s), dt {self.dt:g} s"]
        for pop in self.populations.values():
            lines.append(f"  {pop.name}: {pop.kind} x {pop.n}, reset {pop.reset}"
                         f"{' (delayed)' if pop.reset_delay else ''}")
        for proj in self.projections:
            lines.append(f"  {proj.name}: {proj.weights.nnz} synapses, delay "
                         f"{proj.delay_steps}")
        return "\n".join(lines)


def feed_forward_depth(projections, populations: list[str], weight) -> dict[str, int]:
    """Per population, the longest path from any source to it, a projection counting
    ``weight(projection)``, over the projections outside cycles (a cycle's strongly
    connected component is one node of the condensation; self-projections are ignored)."""
    g = nx.DiGraph()
    g.add_nodes_from(populations)
    for p in projections:
        if not p.is_recurrent:
            g.add_edge(p.source, p.target, weight=weight(p))
    cond = nx.condensation(g)
    member = cond.graph["mapping"]
    best = {c: 0 for c in cond.nodes}
    for c in nx.topological_sort(cond):
        for node in cond.nodes[c]["members"]:
            for _, succ, data in g.out_edges(node, data=True):
                if member[succ] != c:
                    best[member[succ]] = max(best[member[succ]], best[c] + data["weight"])
    return {name: best[member[name]] for name in populations}
