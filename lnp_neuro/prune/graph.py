"""Lyapunov Noise Pruning of a graph of populations, one recurrent population at a time
(Chakraborty et al., ICLR 2024, Sec. 3.1, Algorithm 1, applied per population; design
section 3).

LNP (:func:`lnp_neuro.prune.pipeline.lnp`) is defined on one recurrent layer: its recurrent
matrix ``W`` (steps I and III prune and rewire it), its neurons (step II masks them, step IV
sets their ``tau_mem``) and its input matrix ``W_in`` (only the task-agnostic drive of the
operating-point measurement). A population ``p`` of a graph is such a layer once
everything that drives it is read as its input::

    a_p[t] = W_pp s_p[t-1] + [W_p,q1 | W_p,q2 | ... | W_p,x] [s_q1; s_q2; ...; x][t-1]

``W_pp`` is the recurrent projection (``weights`` of the view, with its synapse mask), and
``W_in`` is the horizontal concatenation of every other projection into ``p`` (inputs and
other populations, in the graph's projection order; synapses from pruned neurons of a
source population are left out). LNP runs on that view, and what it changed is written
back: ``p``'s ``neuron_active``, ``tau_mem`` and ``tau_syn`` (step II, step IV), and the
recurrent projection's weights and synapse mask (steps I and III; step III adds synapses,
so the projection's CSR is replaced). Every other projection stays as it is: a pruned
neuron stops (the flat layout's AND mask, :meth:`SpikingNetwork.synapse_and_mask`, and
:meth:`SpikingNetwork.effective_input_weights` drop the synapses from and to it).

Populations are pruned one after another in the graph's order, each on the graph its
predecessors left (a downstream population sees an upstream one's pruned neurons as
silent input channels). Seeds: with one recurrent population in the graph LNP gets
``seed`` itself, so that ``lnp_graph(from_network(net), ...)`` is ``lnp(net, ...)`` bit for
bit; otherwise population number ``i`` of :meth:`Graph.recurrent_populations` gets
``SeedSequence([seed, i])`` (independent streams that do not depend on which populations
are chosen).

Neurons. LNP's steps are defined for current-based LIF neurons (the operating-point
gains of step I and the timescales of step IV read ``tau_syn`` and ``tau_mem``), so
``cuba_lif`` populations are pruned, and ``lif`` ones (snnTorch's ``Leaky``/``RLeaky``, NIR's
``LIF``) as the current-based neuron with ``tau_syn = dt`` they are (step IV sets
``tau_mem`` only, so they stay ``lif``); another kind is refused, naming it. A population that
resets by subtraction is pruned with a warning: its view simulates the subtraction, but
the frozen-input gains of the linearisation (:func:`lnp_neuro.dynamics.operating_point.
operating_point`) re-run each membrane with a reset to zero, an approximation of such a
neuron's gain (the operating point and rates themselves are exact).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import scipy.sparse as sp

from ..model.graph import Graph
from ..model.network import SpikingNetwork
from ..model.population import Population
from ..model.projection import Projection
from .pipeline import lnp

__all__ = ["lnp_graph", "population_view", "population_seed"]

#: Kinds LNP prunes (module docstring).
_PRUNABLE_KINDS = ("cuba_lif", "lif")


def _chosen(graph: Graph, populations) -> list[str]:
    """The populations to prune, in the graph's order; ValueError naming a bad one."""
    recurrent = graph.recurrent_populations()
    if populations is None:
        return recurrent
    names = [populations] if isinstance(populations, str) else list(populations)
    if not names:
        raise ValueError("populations must name at least one population (None: every "
                         "recurrent one)")
    for name in names:
        if name not in graph.populations:
            raise ValueError(f"population {name!r} is not in the graph (populations: "
                             f"{', '.join(graph.populations)})")
        if name not in recurrent:
            raise ValueError(f"population {name!r} has no recurrent projection; LNP prunes "
                             f"recurrent populations only ({', '.join(recurrent) or 'none'})")
    return [name for name in graph.populations if name in names]


def population_seed(graph: Graph, name: str, seed: int | None) -> int | None:
    """LNP's seed for population ``name``: ``seed`` when the graph has one recurrent
    population, else one draw of ``SeedSequence([seed, i])``, ``i`` the population's
    place in :meth:`Graph.recurrent_populations` (module docstring)."""
    recurrent = graph.recurrent_populations()
    if seed is None or len(recurrent) == 1:
        return seed
    seq = np.random.SeedSequence([int(seed), recurrent.index(name)])
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def _recurrent_projection(graph: Graph, name: str) -> Projection:
    """The one recurrent projection of ``name`` (one step, as the flat layout runs it)."""
    own = [p for p in graph.projections if p.source == name and p.target == name]
    if len(own) != 1 or own[0].delay_steps != 1:
        delays = [p.delay_steps for p in own]
        raise ValueError(f"population {name!r}: LNP needs one recurrent projection with a "
                         f"delay of one step, got delays {delays}")
    return own[0]


def _drive_matrix(graph: Graph, name: str, rec: Projection) -> sp.csr_matrix:
    """``[W_p,q1 | W_p,q2 | ...]``: every other projection into ``name``, side by side,
    without pruned synapses and synapses from pruned neurons of a source population."""
    blocks = []
    for proj in graph.projections_into(name):
        if proj is rec:
            continue
        w = proj.weights if proj.synapse_active.all() else proj.active_weights()
        source = graph.populations.get(proj.source)
        if source is not None and not source.neuron_active.all():
            w = sp.csr_matrix(w @ sp.diags(source.neuron_active.astype(np.float64)))
        blocks.append(w)
    if not blocks:
        return sp.csr_matrix((graph.populations[name].n, 0))
    return sp.csr_matrix(blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr"))


def population_view(graph: Graph, name: str) -> SpikingNetwork:
    """The one-layer network LNP prunes for population ``name`` (module docstring).

    Raises ``ValueError`` naming the population for a kind LNP does not prune or
    without one one-step recurrent projection; warns for reset by subtraction.
    """
    pop = graph.populations[name]
    if pop.kind not in _PRUNABLE_KINDS:
        raise ValueError(f"population {name!r} is a {pop.kind} population; LNP's steps are "
                         f"defined for current-based LIF neurons (cuba_lif, and lif with "
                         f"tau_syn = dt) only")
    rec = _recurrent_projection(graph, name)
    if pop.reset == "subtract":
        warnings.warn(f"population {name!r} resets by subtraction; LNP's linearisation "
                      f"(frozen-input gains) assumes a reset to zero, so its gains are an "
                      f"approximation for this population", UserWarning, stacklevel=3)
    return SpikingNetwork(
        weights=rec.weights, input_weights=_drive_matrix(graph, name, rec),
        tau_mem=pop.tau_mem, tau_syn=pop.tau_syn_or(graph.dt), v_threshold=pop.v_threshold,
        bias=pop.bias, dt=graph.dt, excitatory=pop.excitatory, cluster=pop.cluster,
        neuron_active=pop.neuron_active, synapse_active=rec.synapse_active,
        metadata=json.loads(json.dumps(graph.metadata)),
        reset_subtract=np.full(pop.n, pop.reset == "subtract"),
        reset_amount=pop.reset_amount(graph.dt) if pop.reset_delay else None)


def _write_back(graph: Graph, name: str, pruned: SpikingNetwork, summary: dict) -> Graph:
    """``graph`` with population ``name`` and its recurrent projection as LNP left them."""
    old = graph.populations[name]
    pop = Population(name=name, kind=old.kind, n=old.n, tau_mem=pruned.tau_mem,
                     tau_syn=pruned.tau_syn if old.tau_syn is not None else None,
                     v_threshold=old.v_threshold, bias=old.bias,
                     reset=old.reset, reset_delay=old.reset_delay,
                     neuron_active=pruned.neuron_active,
                     excitatory=old.excitatory, cluster=old.cluster)
    rec = _recurrent_projection(graph, name)
    new_rec = Projection(rec.source, rec.target, pruned.weights,
                         synapse_active=pruned.synapse_active, delay_steps=rec.delay_steps,
                         name=rec.name)
    metadata = json.loads(json.dumps(graph.metadata))
    metadata.setdefault("lnp", {})[name] = summary
    return Graph(inputs=dict(graph.inputs),
                 populations=[pop if p.name == name else p
                              for p in graph.populations.values()],
                 projections=[new_rec if p is rec else p for p in graph.projections],
                 outputs=list(graph.outputs), dt=graph.dt, metadata=metadata)


def lnp_graph(graph: Graph, populations=None, *, n_iter: int, seed: int | None,
              target_density: float | None, progress: bool = False, **lnp_kwargs
              ) -> tuple[Graph, list[dict]]:
    """LNP on every chosen recurrent population of ``graph`` (module docstring).

    Parameters
    ----------
    graph : the starting graph; not modified.
    populations : a name or names of recurrent populations; None (default): every
        population with a recurrent projection (:meth:`Graph.recurrent_populations`).
    n_iter, target_density, progress, lnp_kwargs : passed to :func:`lnp` for each
        population (``target_density`` is each population's own recurrent density).
    seed : see the module docstring (``seed`` itself for a graph of one recurrent
        population).

    Returns
    -------
    pruned : the graph with the chosen populations pruned; ``metadata["lnp"][name]`` holds
        each population's summary (:func:`lnp`'s ``metadata["lnp"]``).
    history : every population's :func:`lnp` history, in the order pruned, each row with
        ``"population"`` added.
    """
    if not isinstance(graph, Graph):
        raise ValueError(f"graph must be a Graph, got {type(graph).__name__}")
    names = _chosen(graph, populations)
    for name in names:   # refuse before any work is done
        if graph.populations[name].kind not in _PRUNABLE_KINDS:
            population_view(graph, name)
    current, history = graph, []
    for name in names:
        view = population_view(current, name)
        pruned, rows = lnp(view, n_iter=n_iter, seed=population_seed(graph, name, seed),
                           target_density=target_density, progress=progress, **lnp_kwargs)
        current = _write_back(current, name, pruned, pruned.metadata["lnp"])
        history.extend({"population": name, **row} for row in rows)
    return current, history
