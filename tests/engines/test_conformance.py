"""One test body, every engine: the same small graphs run on the native kernels, the
numpy reference, Lava and norse (the way Brian2 runs one test body on every device).

Exactness: native fixed == numpy fixed == Lava fixed, and native float == numpy float ==
Lava float, spike for spike (they implement the same integer or float64 operations);
norse steps the NIR graph in float32 with NIR's same-step feed-forward edges, so its
rasters are compared after the latency shift (lnp_neuro.model.graph) with the tolerance
of :data:`NORSE_MAX_MISMATCH_FRACTION`. norse refuses projections of more than one step
(it drops NIR's Delay nodes), so the delayed graph is not run there.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from conftest import chain_graph, conv_graph, delayed_graph, drive, recurrent_graph

from lnp_neuro.engines.base import DeployedNetwork, Engine, get_engine
from lnp_neuro.model import flatten
from lnp_neuro.nir import graph_to_nir

GRAPHS = {"chain": chain_graph, "chain_subtract": lambda: chain_graph(reset="subtract"),
          "chain_subtract_delayed": lambda: chain_graph(reset="subtract", reset_delay=True),
          "recurrent": recurrent_graph, "conv": conv_graph, "delayed": delayed_graph}
#: Graphs with projections of more than one step: norse refuses them.
NOT_NORSE = {"delayed"}
EXACT = [("native", "fixed"), ("lava", "fixed"), ("native", "float"), ("lava", "float")]
#: norse runs float32: a near-threshold spike may flip; at most this fraction of cells.
NORSE_MAX_MISMATCH_FRACTION = 0.01

_HAVE = {"lava": importlib.util.find_spec("lava") is not None,
         "norse": importlib.util.find_spec("norse") is not None}


def deployed(graph) -> DeployedNetwork:
    """The graph as the engines receive it: the flat network with its layout."""
    layout = flatten(graph)
    return DeployedNetwork(graph=graph_to_nir(graph), network=layout.network,
                           neuron_ids=np.arange(layout.network.n_total_neurons),
                           layout=layout)


def run(engine, graph_name: str, mode: str) -> np.ndarray:
    graph = GRAPHS[graph_name]()
    engine = get_engine(engine) if isinstance(engine, str) else engine
    return engine.run(deployed(graph), drive(graph), mode).spikes


_REFERENCE: dict = {}


def reference(graph_name: str, mode: str) -> np.ndarray:
    """The numpy reference engine's raster (computed once per graph and mode)."""
    key = (graph_name, mode)
    if key not in _REFERENCE:
        _REFERENCE[key] = run("numpy", graph_name, mode)
    return _REFERENCE[key]


@pytest.mark.parametrize("mode", ["fixed", "float"])
@pytest.mark.parametrize("graph_name", sorted(GRAPHS))
def test_every_spiking_population_is_exercised(graph_name, mode):
    graph = GRAPHS[graph_name]()
    per_pop = flatten(graph).split(reference(graph_name, mode))
    for name, pop in graph.populations.items():
        if pop.spiking:
            assert per_pop[name].any(), f"{name} never spikes: the case tests nothing"
        else:
            assert not per_pop[name].any()


@pytest.mark.parametrize("engine, mode", EXACT)
@pytest.mark.parametrize("graph_name", sorted(GRAPHS))
def test_engine_equals_reference_bit_for_bit(graph_name, engine, mode):
    if engine in _HAVE and not _HAVE[engine]:
        pytest.skip(f"{engine} is not installed")
    np.testing.assert_array_equal(run(engine, graph_name, mode), reference(graph_name, mode))


@pytest.mark.parametrize("graph_name", sorted(GRAPHS))
def test_norse_within_float32_tolerance(graph_name):
    if not _HAVE["norse"]:
        pytest.skip("norse is not installed")
    if graph_name in NOT_NORSE:
        with pytest.raises(ValueError, match="more than one step"):
            run("norse", graph_name, "float")
        return
    ours = reference(graph_name, "float")
    theirs = run("norse", graph_name, "float")
    graph = GRAPHS[graph_name]()
    # The last latency steps of each population are beyond norse's run.
    valid = ours.shape[0] - max(flatten(graph).latency.values())
    mismatches = np.count_nonzero(ours[:valid] != theirs[:valid])
    assert mismatches <= NORSE_MAX_MISMATCH_FRACTION * ours[:valid].size, mismatches


def _buggy_engine(flip: str) -> Engine:
    """The native engine with one semantic slip: ``flip`` = "reset" swaps the reset rule,
    "delay" delivers the input one step late, "readout" lets the readout spike (at a
    low threshold), "groups" delivers every delayed synapse group one step early."""
    native = get_engine("native")

    def runner(dep, x, mode, progress):
        net = dep.network
        if flip == "reset":
            net = net.copy(reset_subtract=~net.reset_subtract)
        elif flip == "groups":
            pass
        elif flip == "readout":
            net = net.copy(spiking=np.ones_like(net.spiking),
                           v_threshold=np.where(net.spiking, net.v_threshold, 1e-3))
        else:
            x = np.vstack([np.zeros_like(x[:1]), x[:-1]])
        layout = dep.layout
        if flip == "groups":
            layout = replace(layout, delayed=tuple(replace(g, delay=g.delay - 1)
                                                   for g in layout.delayed if g.delay > 2))
        bugged = DeployedNetwork(dep.graph, net, dep.neuron_ids, layout=layout)
        return native.runner(bugged, x, mode, progress)

    return Engine(f"buggy-{flip}", "native with an injected bug", runner)


@pytest.mark.parametrize("flip, graph_name", [("reset", "chain"), ("reset", "recurrent"),
                                              ("delay", "chain"), ("readout", "recurrent"),
                                              ("delay", "delayed"), ("groups", "delayed")])
def test_an_injected_bug_is_caught(flip, graph_name):
    for mode in ("fixed", "float"):
        assert np.any(run(_buggy_engine(flip), graph_name, mode)
                      != reference(graph_name, mode)), mode


@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_delayed_subtraction_changes_the_raster(mode):
    """snnTorch's delayed subtraction (``threshold / beta`` at the spike) is not the plain
    subtraction: the conformance case exercises the amount, not just the flag."""
    assert (reference("chain_subtract_delayed", mode)
            != reference("chain_subtract", mode)).any()
