"""LNP on a graph of populations (lnp_neuro.prune.graph): the reservoir graph gives lnp's
own result bit for bit; on a graph of several populations only the recurrent projection
of the pruned population changes."""

import warnings

import numpy as np
import pytest
from conftest import recurrent_graph

from lnp_neuro.model import Graph, Population, Projection, flatten, from_network
from lnp_neuro.model.build import hrsnn
from lnp_neuro.prune.graph import lnp_graph, population_seed, population_view
from lnp_neuro.prune.pipeline import lnp

FAST = dict(ipr_k=None, bo_budget=2, spectrum_options=dict(n_steps=50, k=4, n_transient=50),
            timescale_options=dict(n_candidates=200))
#: History fields that are wall-clock times (differ between two identical runs).
TIMES = ("seconds", "step_seconds")


def _same_csr(a, b) -> bool:
    return a.shape == b.shape and all(np.array_equal(getattr(a, k), getattr(b, k))
                                      for k in ("data", "indices", "indptr"))


def test_reservoir_graph_gives_lnp_bit_for_bit():
    net = hrsnn(120, 0.2, seed=0)
    expected, history = lnp(net, n_iter=2, seed=3, target_density=0.05, progress=False,
                            **FAST)
    graph, graph_history = lnp_graph(from_network(net), n_iter=2, seed=3,
                                     target_density=0.05, **FAST)
    got = flatten(graph).network
    assert _same_csr(got.weights, expected.weights)
    assert _same_csr(got.input_weights, expected.input_weights)
    for field in ("neuron_active", "synapse_active", "tau_mem", "tau_syn", "v_threshold",
                  "bias", "excitatory"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    assert got.n_active_synapses < net.n_active_synapses
    assert [row["population"] for row in graph_history] == ["reservoir"] * 3
    strip = [{k: v for k, v in row.items() if k not in TIMES + ("population",)}
             for row in graph_history]
    assert strip == [{k: v for k, v in row.items() if k not in TIMES} for row in history]
    assert graph.metadata["lnp"]["reservoir"]["synapses"] == \
        expected.metadata["lnp"]["synapses"]


def test_two_population_graph_prunes_only_the_recurrent_synapses():
    graph = recurrent_graph()
    with pytest.warns(UserWarning, match="resets by subtraction"):
        pruned, history = lnp_graph(graph, n_iter=2, seed=0, target_density=0.1,
                                    min_neurons=5, **FAST)
    for before, after in zip(graph.projections, pruned.projections):
        if before.name == "R->R":
            continue
        assert after is before
    for name in ("I", "O"):
        assert pruned.populations[name] is graph.populations[name]
    r0, r1 = flatten(graph), flatten(pruned)
    rec0, rec1 = (next(p for p in g.projections if p.name == "R->R") for g in (graph, pruned))
    active = pruned.populations["R"].neuron_active
    density = lambda proj, mask: (np.count_nonzero(
        proj.synapse_active & mask[np.repeat(np.arange(proj.shape[0]),
                                             np.diff(proj.weights.indptr))]
        & mask[proj.weights.indices]) / mask.sum() ** 2)
    d0, d1 = density(rec0, np.ones(20, bool)), density(rec1, active)
    assert d1 < d0 and abs(d1 - 0.1) < abs(d0 - 0.1)
    assert r1.network.n_active_synapses < r0.network.n_active_synapses
    assert {row["population"] for row in history} == {"R"}
    assert [row["synapses"] for row in history] == sorted(
        [row["synapses"] for row in history], reverse=True)
    # The flat layout drops a pruned neuron's synapses in every projection (AND mask).
    mask = pruned.populations["R"].neuron_active.copy()
    mask[0] = False
    masked = Graph(pruned.inputs, [Population(**{**_fields(pruned.populations["R"]),
                                                 "neuron_active": mask}),
                                   pruned.populations["I"], pruned.populations["O"]],
                   pruned.projections, pruned.outputs, pruned.dt)
    flat = flatten(masked).network
    assert flat.effective_weights()[:, 0].nnz == 0 and flat.effective_weights()[0].nnz == 0
    assert not flat.effective_input_weights()[0].toarray().any()


def _fields(pop: Population) -> dict:
    return {f: getattr(pop, f) for f in ("name", "kind", "n", "tau_mem", "tau_syn",
                                          "v_threshold", "bias", "reset", "neuron_active",
                                          "excitatory", "cluster")}


def test_view_drives_each_population_with_every_other_projection():
    graph = recurrent_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        view = population_view(graph, "R")
    x_r = next(p for p in graph.projections if p.name == "x->R")
    assert _same_csr(view.input_weights, x_r.weights)
    assert view.reset_subtract.all()


def _two_recurrent_graph() -> Graph:
    """input -> A (recurrent) -> B (recurrent): B's view is driven by A's spikes."""
    rng = np.random.default_rng(0)
    pops = [Population(n, "cuba_lif", 15, tau_mem=20e-3, tau_syn=5e-3, v_threshold=1.0)
            for n in ("A", "B")]
    w = lambda shape: (rng.random(shape) < 0.4) * rng.normal(0.3, 0.2, shape)
    return Graph({"x": 4}, pops, [Projection("x", "A", w((15, 4))),
                                  Projection("A", "A", w((15, 15))),
                                  Projection("A", "B", w((15, 15))),
                                  Projection("B", "B", w((15, 15)))])


def test_choice_of_populations_and_seeds():
    graph = _two_recurrent_graph()
    assert graph.recurrent_populations() == ["A", "B"]
    assert population_view(graph, "B").n_inputs == 15
    seeds = {population_seed(graph, n, 4) for n in ("A", "B")}
    assert len(seeds) == 2 and 4 not in seeds
    pruned, history = lnp_graph(graph, ["B"], n_iter=1, seed=4, target_density=0.2,
                                min_neurons=5, **FAST)
    assert pruned.populations["A"] is graph.populations["A"]
    assert {row["population"] for row in history} == {"B"}
    everything, history = lnp_graph(graph, n_iter=1, seed=4, target_density=0.2,
                                    min_neurons=5, **FAST)
    assert [row["population"] for row in history] == ["A", "A", "B", "B"]
    with pytest.raises(ValueError, match="'C' is not in the graph"):
        lnp_graph(graph, ["C"], n_iter=1, seed=0, target_density=0.1)
    with pytest.raises(ValueError, match="'O' has no recurrent projection"):
        lnp_graph(recurrent_graph(), ["O"], n_iter=1, seed=0, target_density=0.1)


def test_refuses_neurons_other_than_cuba_lif():
    graph = recurrent_graph()
    i_pop = Population("I", "if", 4, v_threshold=1.5)
    graph = Graph(graph.inputs, [graph.populations["R"], i_pop, graph.populations["O"]],
                  graph.projections + [Projection("I", "I", np.ones((4, 4)))],
                  graph.outputs, graph.dt)
    with pytest.raises(ValueError, match="'I' is a if population.*cuba_lif"):
        lnp_graph(graph, n_iter=1, seed=0, target_density=0.1)


def test_compact_keeps_the_active_part():
    graph = recurrent_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pruned, _ = lnp_graph(graph, n_iter=1, seed=0, target_density=0.1, min_neurons=5,
                              node_quantile=0.2, **FAST)
    assert not pruned.populations["R"].neuron_active.all()
    compact, kept = pruned.compact()
    assert compact.populations["R"].n == pruned.populations["R"].neuron_active.sum()
    before, after = flatten(pruned).network, flatten(compact).network
    assert after.n_total_neurons == before.n_active_neurons
    assert after.n_active_synapses == before.n_active_synapses
    ids = np.concatenate([flatten(pruned).offsets[n][0] + k for n, k in kept.items()])
    np.testing.assert_array_equal(
        after.effective_weights().toarray(),
        before.effective_weights().toarray()[np.ix_(ids, ids)])
    assert graph.compact()[0] is graph
