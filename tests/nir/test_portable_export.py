"""The portable NIR form (lnp_neuro.nir.portable): loads in snnTorch 1.0.0 and norse 1.1.0
and, stepped there, reproduces our float raster shifted by the stored ``portable_shift``.

Measured (this file's seeds): the reservoir, the chain graph and the bias-free snnTorch
classifier match exactly in both peers (float32 there, float64 here). The classifier
with its Linear biases differs at the start only: our bias acts from step 0 while the
input arrives ``latency`` steps late, so each population has ``shift`` more steps of bias
than in the peer; the difference decays and is erased by a spike's reset (one differing
spike, at step 0, for this seed).
"""

from __future__ import annotations

import contextlib
import io
import json

import nir
import numpy as np
import pytest
from conftest import chain_graph, snntorch_classifier

from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import Graph, Population, Projection, flatten
from lnp_neuro.model.build import hrsnn
from lnp_neuro.nir import graph_from_nir, graph_to_nir, write_graph
from lnp_neuro.nir.portable import PORTABLE_DT
from lnp_neuro.nir.reservoir_files import to_nir, write_nir

pytest.importorskip("torch")
pytest.importorskip("snntorch")
pytest.importorskip("norse")


def _peers(graph: nir.NIRGraph) -> dict:
    """The graph loaded by both peers (snnTorch prints while importing: silenced)."""
    import norse.torch as norse
    from snntorch.import_nir import import_from_nir
    with contextlib.redirect_stdout(io.StringIO()):
        snn = import_from_nir(graph)
    return {"snntorch": snn, "norse": norse.from_nir(graph, dt=PORTABLE_DT,
                                                     ignore_warnings=True)}


def _run(module, x: np.ndarray) -> np.ndarray:
    """Step ``module`` one input row at a time; the output's raster."""
    import torch
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = module(torch.from_numpy(x[t:t + 1].astype(np.float32)), state)
            out.append(y[0].numpy() > 0)
    return np.array(out)


def _shift(graph: nir.NIRGraph) -> dict:
    return json.loads(graph.metadata["lnp_neuro"]["portable_shift"])


def _mismatches(peer: np.ndarray, ours: np.ndarray, shift: int) -> np.ndarray:
    """Steps where the peer's ``s[t]`` differs from our ``s[t + shift]`` (per step)."""
    return (peer[:peer.shape[0] - shift] != ours[shift:]).sum(axis=1)


def test_reservoir_portable_file_runs_in_both_peers_one_step_early(tmp_path):
    net = hrsnn(100, density=0.1, seed=0)
    path = write_nir(net, tmp_path / "net.portable.nir", portable=True)
    graph = nir.read(path)
    assert not any(isinstance(v, nir.Delay) for v in graph.nodes.values())
    assert _shift(graph) == {"neurons": 1}
    assert graph.metadata["lnp_neuro"]["dt"] == PORTABLE_DT
    assert graph.metadata["lnp_neuro"]["source_dt"] == net.dt
    x = np.random.default_rng(0).random((200, net.n_inputs)) < 0.3
    ours = simulate(net, x, mode="float").spikes
    assert ours.sum() > 1000
    for name, module in _peers(graph).items():
        peer = _run(module, x)
        assert peer.shape == ours.shape, name
        assert _mismatches(peer, ours, 1).sum() == 0, name


def _graph_mismatches(graph: Graph, x: np.ndarray) -> dict:
    """Per peer, the per-step mismatch count of the output population (shifted)."""
    portable = graph_to_nir(graph, portable=True)
    assert not any(isinstance(v, nir.Delay) for v in portable.nodes.values())
    layout = flatten(graph)
    assert _shift(portable) == layout.latency
    out = graph.outputs[0]
    ours = layout.split(simulate(layout.network, x, mode="float",
                                 delayed=layout.delayed).spikes)[out]
    assert ours.sum() > 50
    return {name: _mismatches(_run(m, x), ours, layout.latency[out])
            for name, m in _peers(portable).items()}


def test_chain_graph_portable_matches_in_both_peers(tmp_path):
    graph = chain_graph()
    write_graph(graph, tmp_path / "chain.nir", portable=True)
    nir.read(tmp_path / "chain.nir")   # passes nir's type check
    x = np.random.default_rng(0).random((300, 6)) < 0.3
    for name, per_step in _graph_mismatches(graph, x).items():
        assert per_step.sum() == 0, name


@pytest.mark.parametrize("bias", [False, True])
def test_snntorch_classifier_portable_matches_up_to_bias_start_up(bias):
    """Imported from snnTorch (RLeaky + Leaky), exported portable: the recurrent Linear
    runs through a relay (snnTorch's RNN rewrite would feed the input into W_rec), the
    Linear biases become Affine biases. Bias: start-up mismatches only (module doc)."""
    graph = graph_from_nir(snntorch_classifier(bias=bias)[1])
    x = np.random.default_rng(1).random((200, 8)) < 0.3
    for name, per_step in _graph_mismatches(graph, x).items():
        if not bias:
            assert per_step.sum() == 0, name
        else:
            # Measured: 1 differing spike, at step 0 (two steps of bias more here).
            assert per_step.sum() <= 1 and per_step[2:].sum() == 0, (name, per_step)


def test_default_export_is_exact_and_unchanged():
    net = hrsnn(30, density=0.2, seed=1)
    graph = to_nir(net)
    assert list(graph.nodes) == ["input", "input_delay", "input_weights", "neurons",
                                 "recurrent_weights", "output"]
    assert isinstance(graph.nodes["input_delay"], nir.Delay)
    assert "portable_shift" not in graph.metadata["lnp_neuro"]
    assert graph.metadata["lnp_neuro"]["dt"] == net.dt
    np.testing.assert_array_equal(graph.nodes["neurons"].tau_mem, net.tau_mem)
    chain = graph_to_nir(chain_graph())
    assert {k for k, v in chain.nodes.items() if isinstance(v, nir.Delay)} == {
        "x->A.delay", "A->B.delay"}
    assert "portable_shift" not in chain.metadata["lnp_neuro"]


def test_graph_without_a_portable_form_is_refused_naming_the_projection():
    rng = np.random.default_rng(0)
    a = Population("A", "lif", 3, tau_mem=10e-3, v_threshold=1.0)
    b = Population("B", "lif", 2, tau_mem=10e-3, v_threshold=1.0)
    graph = Graph(inputs={"x": 2}, populations=[a, b],
                  projections=[Projection("x", "A", rng.random((3, 2))),
                               Projection("A", "B", rng.random((2, 3))),
                               Projection("x", "B", rng.random((2, 2)))],
                  outputs=["B"], dt=1e-3)
    with pytest.raises(ValueError, match="'x->B'.*no portable form"):
        graph_to_nir(graph, portable=True)
    graph_to_nir(graph)   # the exact form has the Delays it needs
