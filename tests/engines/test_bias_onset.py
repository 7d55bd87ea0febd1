"""Bias onset (SpikingNetwork.bias_onset, lnp_neuro.engines.onset): a neuron's bias is 0
before its onset step, in every engine, and a network without onset runs as before."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import chain_graph, delayed_graph, drive

from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import flatten
from lnp_neuro.model.network import SpikingNetwork

HAVE_LAVA = importlib.util.find_spec("lava") is not None


def _single(onset: int) -> SpikingNetwork:
    """One neuron, no synapses, no leak (tau_mem = inf), bias 0.3, threshold 1."""
    return SpikingNetwork(weights=sp.csr_matrix((1, 1)), input_weights=sp.csr_matrix((1, 1)),
                          tau_mem=np.inf, tau_syn=1e-3, v_threshold=1.0, bias=0.3, dt=1e-3,
                          bias_onset=[onset])


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_single_neuron_bias_starts_at_its_onset(engine):
    x = np.zeros((10, 1), bool)
    res = simulate(_single(3), x, "float", record_state=True, engine=engine)
    # v = 0 for t < 3, then 0.3, 0.6, 0.9, 1.2 -> spike at t = 6, reset to 0, ...
    expected_v = [0, 0, 0, 0.3, 0.6, 0.9, 0.0, 0.3, 0.6, 0.9]
    np.testing.assert_allclose(res.v[:, 0], expected_v, atol=1e-12)
    assert np.flatnonzero(res.spikes[:, 0]).tolist() == [6]
    fixed = simulate(_single(3), x, "fixed", engine=engine)
    assert np.flatnonzero(fixed.spikes[:, 0]).tolist() == [6]


def _biased(graph, onsets: dict):
    """``graph`` with biases on every population and the import's shift as onsets."""
    rng = np.random.default_rng(5)
    pops = [replace(p, bias=rng.uniform(0.05, 0.3, p.n)) for p in graph.populations.values()]
    meta = {**graph.metadata, "nir_import": {"shift": onsets, "written_by_lnp_neuro": False}}
    return replace(graph, populations=pops, metadata=meta)


GRAPHS = {"chain": lambda: _biased(chain_graph(), {"A": 1, "B": 2}),
          "delayed": lambda: _biased(delayed_graph(), {"A": 2, "B": 5})}


def _run(name, mode, engine):
    graph = GRAPHS[name]()
    layout = flatten(graph)
    x = drive(graph, steps=60)
    if engine == "lava":
        from lnp_neuro.engines.lava.backend import run_lava
        return run_lava(layout.network, x, mode, delayed=layout.delayed)
    return simulate(layout.network, x, mode, engine=engine, delayed=layout.delayed).spikes


@pytest.mark.parametrize("name", list(GRAPHS))
def test_flatten_sets_the_shift_as_onset_only_for_imports(name):
    graph = GRAPHS[name]()
    net = flatten(graph).network
    a, b = graph.populations["A"].n, graph.populations["B"].n
    shift = graph.metadata["nir_import"]["shift"]
    assert net.bias_onset.tolist() == [shift["A"]] * a + [shift["B"]] * b
    plain = replace(graph, metadata={})
    assert not flatten(plain).network.has_bias_onset


@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_engines_agree_with_onsets(name, mode):
    ref = _run(name, mode, "numpy")
    np.testing.assert_array_equal(_run(name, mode, "numba"), ref)
    plain = GRAPHS[name]()
    plain = flatten(replace(plain, metadata={}))
    without = simulate(plain.network, drive(plain.graph, steps=60), mode,
                       delayed=plain.delayed).spikes
    assert (without != ref).any()   # the onset changes the start-up of this graph
    if HAVE_LAVA:
        np.testing.assert_array_equal(_run(name, mode, "lava"), ref)


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_default_network_unchanged(mode):
    graph = _biased(chain_graph(), {})
    net = flatten(graph).network
    assert not net.has_bias_onset
    x = drive(graph, steps=80)
    zero = net.copy(bias_onset=None)
    for engine in ("numba", "numpy"):
        np.testing.assert_array_equal(simulate(net, x, mode, engine=engine).spikes,
                                      simulate(zero, x, mode, engine=engine).spikes)
    # Continuing from a NetworkState chains like one run when there is no onset.
    whole = simulate(net, x, mode)
    first = simulate(net, x[:30], mode)
    rest = simulate(net, x[30:], mode, initial_state=first.final_state)
    np.testing.assert_array_equal(np.vstack([first.spikes, rest.spikes]), whole.spikes)


def test_onset_stored_only_when_set(tmp_path):
    graph = GRAPHS["chain"]()
    net = flatten(graph).network
    net.save(tmp_path / "onset.npz")
    back = SpikingNetwork.load(tmp_path / "onset.npz")
    np.testing.assert_array_equal(back.bias_onset, net.bias_onset)
    plain = net.copy(bias_onset=None)
    plain.save(tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz") as z:
        assert "bias_onset" not in z.files
    with np.load(tmp_path / "onset.npz") as z:
        assert "bias_onset" in z.files


def test_exact_export_hands_the_onset_over(tmp_path):
    """Our exact NIR file keeps its Delay nodes (no same-step shift on re-import) and
    carries the onset in its metadata: the re-imported graph runs the same raster."""
    from lnp_neuro.nir import graph_from_nir, graph_to_nir, read_graph, write_graph
    graph = GRAPHS["chain"]()
    write_graph(graph, tmp_path / "onset.nir")
    back = read_graph(tmp_path / "onset.nir")
    assert back.metadata["nir_import"]["shift"] == {"A": 0, "B": 0}
    original, again = flatten(graph), flatten(back)
    np.testing.assert_array_equal(again.network.bias_onset, original.network.bias_onset)
    x = drive(graph, steps=60)
    for mode in ("float", "fixed"):
        np.testing.assert_array_equal(simulate(again.network, x, mode).spikes,
                                      simulate(original.network, x, mode).spikes)
    # A graph built here has no onset, and neither has its re-import.
    plain = replace(graph, metadata={})
    assert not flatten(graph_from_nir(graph_to_nir(plain))).network.has_bias_onset


@pytest.mark.skipif(not HAVE_LAVA, reason="lava is not installed")
@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_single_neuron_in_lava(mode):
    from lnp_neuro.engines.lava.backend import run_lava
    spikes = run_lava(_single(3), np.zeros((10, 1), bool), mode)
    assert np.flatnonzero(spikes[:, 0]).tolist() == [6]
