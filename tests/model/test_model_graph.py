"""The population graph: validation, latency, and the flat layout engines run."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import chain_graph, delayed_graph, recurrent_graph
from lnp_neuro import models
from lnp_neuro.model import Graph, Population, Projection, flatten, from_network, to_network


def test_population_kinds_fill_their_parameters():
    lif = Population("p", "lif", 3, tau_mem=0.01, v_threshold=1.0)
    assert lif.spiking and np.all(lif.tau_syn_or(1e-3) == 1e-3)
    integ = Population("q", "integrator", 2)
    assert not integ.spiking and np.all(np.isinf(integ.tau_mem_or_inf()))


@pytest.mark.parametrize("kwargs, field", [
    (dict(kind="cuba_lif", n=3, tau_mem=0.01, v_threshold=1.0), "tau_syn"),
    (dict(kind="li", n=3, tau_mem=0.01, v_threshold=1.0), "v_threshold"),
    (dict(kind="if", n=3, tau_mem=0.01, v_threshold=1.0), "tau_mem"),
    (dict(kind="lif", n=3, tau_mem=[0.01, 0.02], v_threshold=1.0), "tau_mem"),
    (dict(kind="lif", n=3, tau_mem=0.01, v_threshold=-1.0), "v_threshold"),
    (dict(kind="lif", n=3, tau_mem=0.01, v_threshold=1.0, reset="soft"), "reset"),
    (dict(kind="alif", n=3), "kind"),
])
def test_population_errors_name_population_and_field(kwargs, field):
    with pytest.raises(ValueError, match=f"population 'pop'.*{field}"):
        Population("pop", **kwargs)


def test_graph_errors_name_the_projection():
    g = chain_graph()
    pops = list(g.populations.values())
    bad = Projection("x", "B", sp.csr_matrix((4, 6)), name="x_to_B")
    with pytest.raises(ValueError, match="projection 'x_to_B'.*shape"):
        Graph(g.inputs, pops, g.projections + [bad])
    with pytest.raises(ValueError, match="projection 'ghost'.*source 'nowhere'"):
        Graph(g.inputs, pops, [Projection("nowhere", "A", sp.csr_matrix((12, 6)),
                                          name="ghost")])
    with pytest.raises(ValueError, match="delay_steps"):
        Projection("x", "A", sp.csr_matrix((12, 6)), delay_steps=0)
    with pytest.raises(ValueError, match="duplicates"):
        Graph(g.inputs, pops, g.projections + [Projection("x", "A", sp.csr_matrix((12, 6)),
                                                          name="again")])
    with pytest.raises(ValueError, match="output 'C'"):
        Graph(g.inputs, pops, g.projections, outputs=["C"])


def test_latency_counts_feed_forward_hops_not_loops():
    assert chain_graph().latency() == {"A": 1, "B": 2}
    assert recurrent_graph().latency() == {"R": 1, "I": 2, "O": 3}


def test_reservoir_flattens_to_the_network_it_came_from():
    net = models.chrsnn(200, 4, seed=3)
    flat = flatten(from_network(net)).network
    for name in ("weights", "input_weights"):
        a, b = getattr(net, name), getattr(flat, name)
        assert a.shape == b.shape
        for part in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(a, part), getattr(b, part))
    for name in ("tau_mem", "tau_syn", "v_threshold", "bias", "excitatory", "cluster",
                 "neuron_active", "synapse_active"):
        assert np.array_equal(getattr(net, name), getattr(flat, name)), name
    assert flat.is_plain_lif


def test_flat_layout_places_each_projection_in_its_block():
    g = recurrent_graph()
    layout = flatten(g)
    net = layout.network
    assert layout.offsets == {"R": (0, 20), "I": (20, 24), "O": (24, 27)}
    dense = net.weights.toarray()
    for proj in g.projections:
        if proj.source in g.inputs:
            rows = slice(*layout.offsets[proj.target])
            np.testing.assert_array_equal(net.input_weights.toarray()[rows],
                                          proj.weights.toarray())
        else:
            block = dense[slice(*layout.offsets[proj.target]),
                          slice(*layout.offsets[proj.source])]
            np.testing.assert_array_equal(block, proj.weights.toarray())
    assert net.weights.nnz == sum(p.weights.nnz for p in g.projections
                                  if p.source in g.populations)
    assert list(net.reset_subtract) == [True] * 20 + [False] * 7
    assert list(net.spiking) == [True] * 24 + [False] * 3
    assert np.all(np.isinf(net.tau_mem[20:24])) and np.all(net.tau_syn[20:] == 1e-3)
    raster = np.arange(2 * 27).reshape(2, 27)
    assert layout.split(raster)["I"].tolist() == raster[:, 20:24].tolist()


def test_flat_layout_keeps_pruning_masks_aligned():
    g = recurrent_graph()
    rec = next(p for p in g.projections if p.is_recurrent)
    rng = np.random.default_rng(0)
    rec.synapse_active = rng.random(rec.weights.nnz) < 0.5
    g.populations["R"].neuron_active[3] = False
    net = flatten(g).network
    # The active synapses of the flat matrix are the recurrent block's active ones plus
    # every synapse of the other projections.
    eff = net.effective_weights().toarray()[:20, :20]
    expected = rec.active_weights().toarray()
    expected[3, :] = 0
    expected[:, 3] = 0
    np.testing.assert_array_equal(eff, expected)


def test_flatten_puts_delays_in_their_own_groups():
    g = delayed_graph()
    layout = flatten(g)
    by_name = {p.name: p for p in g.projections}
    assert [d.delay for d in layout.delayed] == [2, 3, 4]
    assert layout.network.weights.nnz == 0      # A->A and A->B are delayed
    np.testing.assert_array_equal(layout.network.input_weights.toarray()[:12],
                                  by_name["x->A"].weights.toarray())
    two, three, four = layout.delayed
    np.testing.assert_array_equal(two.weights.toarray()[:12, :12],
                                  by_name["A->A"].weights.toarray())
    np.testing.assert_array_equal(three.weights.toarray()[12:, :12],
                                  by_name["A->B"].weights.toarray())
    np.testing.assert_array_equal(four.input_weights.toarray()[12:],
                                  by_name["x->B"].weights.toarray())
    assert two.input_weights.nnz == three.input_weights.nnz == four.weights.nnz == 0


def test_flatten_without_delays_has_no_delayed_groups():
    assert flatten(chain_graph()).delayed == ()
    assert flatten(recurrent_graph()).delayed == ()


def test_to_network_refuses_delays():
    with pytest.raises(ValueError, match="projection 'A->A': delay_steps=2"):
        to_network(delayed_graph())
