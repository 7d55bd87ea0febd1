"""Projections of more than one step: a spike arrives exactly ``delay_steps`` later on
every engine, and a graph without such projections runs the path it always ran."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import chain_graph, delayed_graph, drive

from lnp_neuro.engines.base import DeployedNetwork, get_engine
from lnp_neuro.engines.simulator import Simulator, simulate
from lnp_neuro.model import Graph, Population, Projection, flatten
from lnp_neuro.model.flat import DelayedSynapses
from lnp_neuro.nir import graph_to_nir

_HAVE_LAVA = importlib.util.find_spec("lava") is not None

T_SPIKE = 5            # the one input spike
D_AB, D_XB, D_AA = 3, 5, 2


def one_spike_graph() -> Graph:
    """x -> A (if, weight 2, delay 1): A spikes once, at T_SPIKE + 1; A -> B (if,
    threshold 0.4, weight 0.5, delay D_AB); x -> B (weight 0.75, delay D_XB); A -> A
    (weight 0.25, delay D_AA, below threshold). Weights are exact in fixed point."""
    a = Population("A", "if", 1, v_threshold=1.0)
    b = Population("B", "if", 1, v_threshold=0.4)
    return Graph(inputs={"x": 1}, populations=[a, b],
                 projections=[Projection("x", "A", np.array([[2.0]])),
                              Projection("A", "A", np.array([[0.25]]), delay_steps=D_AA),
                              Projection("A", "B", np.array([[0.5]]), delay_steps=D_AB),
                              Projection("x", "B", np.array([[0.75]]), delay_steps=D_XB)],
                 outputs=["B"], dt=1e-3)


def _input(steps: int = 16) -> np.ndarray:
    x = np.zeros((steps, 1), bool)
    x[T_SPIKE, 0] = True
    return x


@pytest.mark.parametrize("mode", ["fixed", "float"])
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_a_spike_arrives_exactly_delay_steps_later(engine, mode):
    layout = flatten(one_spike_graph())
    res = simulate(layout.network, _input(), mode, record_state=True, engine=engine,
                   delayed=layout.delayed)
    t_a = T_SPIKE + 1
    # tau_syn = dt for "if": u[t] is exactly the activation a[t].
    expected_u = np.zeros((16, 2))
    expected_u[t_a, 0] = 2.0
    expected_u[t_a + D_AA, 0] = 0.25
    expected_u[t_a + D_AB, 1] = 0.5
    expected_u[T_SPIKE + D_XB, 1] = 0.75
    np.testing.assert_array_equal(res.u, expected_u)
    expected_s = np.zeros((16, 2), bool)
    expected_s[t_a, 0] = True
    expected_s[[t_a + D_AB, T_SPIKE + D_XB], 1] = True
    np.testing.assert_array_equal(res.spikes, expected_s)
    # Events: the input spike reaches A and B, A's spike reaches A and B.
    assert res.synaptic_events == 4


@pytest.mark.skipif(not _HAVE_LAVA, reason="lava is not installed")
@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_lava_delivers_a_spike_delay_steps_later(mode):
    graph = one_spike_graph()
    layout = flatten(graph)
    dep = DeployedNetwork(graph=graph_to_nir(graph), network=layout.network,
                          neuron_ids=np.arange(2), layout=layout)
    spikes = get_engine("lava").run(dep, _input(), mode).spikes
    assert sorted(map(tuple, np.argwhere(spikes))) == [
        (T_SPIKE + 1, 0), (T_SPIKE + 1 + D_AB, 1), (T_SPIKE + D_XB, 1)]


def test_default_path_is_untouched():
    # No delayed group: the Simulator prepares the plain kernel layout, and a graph runs
    # through its layout exactly as its flat network does on its own.
    graph = chain_graph()
    layout = flatten(graph)
    assert layout.delayed == ()
    x = drive(graph)
    for mode in ("fixed", "float"):
        sim = Simulator(layout.network, mode, engine="numba")
        plain = sim.run(x)
        assert isinstance(sim._prepared[2], tuple) and len(sim._prepared[2]) > 2
        dep = DeployedNetwork(graph=graph_to_nir(graph), network=layout.network,
                              neuron_ids=np.arange(layout.network.n_total_neurons),
                              layout=layout)
        np.testing.assert_array_equal(get_engine("native").run(dep, x, mode).spikes,
                                      plain.spikes)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_delayed_path_with_empty_groups_equals_the_default_path(engine):
    # Fixed point sums the Sparse outputs modulo 2**32, so the generic path with an empty
    # delayed group must reproduce the default path bit for bit, states included.
    layout = flatten(chain_graph())
    net, x = layout.network, drive(chain_graph())
    n, n_in = net.n_total_neurons, net.n_inputs
    empty = DelayedSynapses(3, sp.csr_matrix((n, n)), sp.csr_matrix((n, n_in)))
    a = simulate(net, x, "fixed", record_state=True, engine=engine)
    b = simulate(net, x, "fixed", record_state=True, engine=engine, delayed=[empty])
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)
    assert a.synaptic_events == b.synaptic_events


def test_delayed_network_refuses_a_network_state_to_continue_from():
    layout = flatten(delayed_graph())
    x = drive(delayed_graph(), steps=10)
    first = simulate(layout.network, x, "fixed", delayed=layout.delayed)
    with pytest.raises(ValueError, match="NetworkState"):
        simulate(layout.network, x, "fixed", delayed=layout.delayed,
                 initial_state=first.final_state)


def test_delayed_groups_must_fit_the_network():
    layout = flatten(delayed_graph())
    bad = DelayedSynapses(1, layout.delayed[0].weights, layout.delayed[0].input_weights)
    with pytest.raises(ValueError, match="delays > 1"):
        simulate(layout.network, drive(delayed_graph(), steps=5), delayed=[bad])
