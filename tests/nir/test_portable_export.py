"""The portable NIR form (lnp_neuro.nir.portable): loads in snnTorch 1.0.0 and norse 1.1.0
and, stepped there, reproduces our float raster shifted by the stored ``portable_shift``.

Measured (this file's seeds): the reservoir, the chain graph and the snnTorch classifier,
with and without its Linear biases, match exactly in both peers (float32 there, float64
here). The biased classifier is exact because its import starts each population's bias
``shift`` steps late (``bias_onset``, lnp_neuro.model.flat.bias_onsets), when the peer's
first step reaches it; without that onset, 59 of 792 entries differed at start-up. A
CubaLIF bias stays ``v_leak``: snnTorch refuses it.
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
def test_snntorch_classifier_portable_matches_with_and_without_bias(bias):
    """Imported from snnTorch (RLeaky + Leaky), exported portable: the recurrent Linear
    runs through a relay (snnTorch's RNN rewrite would feed the input into W_rec), the
    Linear biases become Affine biases. Exact with and without biases: the import's bias
    onset starts each bias when the peer's first step reaches its population (module
    docstring); measured 0 differing entries for input seeds 0-5."""
    graph = graph_from_nir(snntorch_classifier(bias=bias)[1])
    x = np.random.default_rng(0).random((200, 8)) < 0.3
    per_peer = _graph_mismatches(graph, x)
    for name, per_step in per_peer.items():
        assert per_step.sum() == 0, (name, int(per_step.sum()))
    np.testing.assert_array_equal(per_peer["snntorch"], per_peer["norse"])


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


@pytest.mark.parametrize("kind", ["reservoir", "graph"])
def test_lnp_deploy_nir_portable_writes_a_twin_that_reproduces_the_float_raster(tmp_path,
                                                                                kind):
    """``--nir-portable``: network.nir stays the exact hand-over (with its Delay nodes),
    network.portable.nir is its twin; stepped in both peers on run.npz's input it gives
    our float raster of network.nir, each population ``portable_shift`` steps early. The
    cpu target runs fixed point, so run.npz's own raster is compared with float only as
    far as the two agree (measured: the reservoir's fixed raster differs in 34 entries)."""
    from lnp_neuro.deploy.cli import main
    from lnp_neuro.engines.base import DeployedNetwork
    if kind == "reservoir":
        net = hrsnn(50, 0.2, seed=4, n_inputs=6)
        rng = np.random.default_rng(4)
        net = net.copy(neuron_active=rng.random(50) > 0.3)   # pruned neurons left out
        write_nir(net, tmp_path / "start.nir")
        node = "neurons"
    else:
        write_graph(chain_graph(), tmp_path / "start.nir")
        node = "B"
    out = tmp_path / "run"
    assert main(["--target", "cpu", "--network", str(tmp_path / "start.nir"), "--prune",
                 "none", "--input", "poisson", "--rate", "0.3", "--steps", "80", "--quiet",
                 "--nir-portable", "--out", str(out)]) == 0
    assert any(isinstance(v, nir.Delay) for v in nir.read(out / "network.nir").nodes.values())
    portable = nir.read(out / "network.portable.nir")
    assert not any(isinstance(v, nir.Delay) for v in portable.nodes.values())
    with np.load(out / "run.npz", allow_pickle=False) as run:
        x = run["input_spikes"]
    if kind == "reservoir":
        deployed = DeployedNetwork.read(out / "network.nir")
        ours = simulate(deployed.network, x, mode="float").spikes
    else:
        deployed = DeployedNetwork.read_graph(out / "network.nir")
        layout = deployed.layout
        ours = layout.split(simulate(layout.network, x, mode="float",
                                     delayed=layout.delayed).spikes)["B"]
    assert ours.sum() > 20
    shift = _shift(portable)[node]
    for name, module in _peers(portable).items():
        assert _mismatches(_run(module, x), ours, shift).sum() == 0, name


def test_forecast_deploy_portable_twin_carries_the_readout_into_both_peers(tmp_path):
    """A forecast deploy's graph ends in its readout population (``li``), which snnTorch
    cannot import; the portable twin writes it as a LIF that never spikes. snnTorch then
    reproduces the reservoir's float raster (one step early) and the readout's membrane
    (two steps early) once the start-up bias has decayed (module docstring of
    lnp_neuro.nir.portable: a bias starts at the peer's step 0); norse loads and runs it."""
    from lnp_neuro.deploy.cli import main
    from lnp_neuro.engines.base import DeployedNetwork
    from snntorch.import_nir import import_from_nir
    out = tmp_path / "run"
    assert main(["--target", "cpu", "--neurons", "60", "--iterations", "1", "--steps", "600",
                 "--task-samples", "300", "--nir-portable", "--quiet", "--out", str(out)]) == 0
    portable = nir.read(out / "network.portable.nir")
    assert isinstance(portable.nodes["readout"], nir.LIF)
    assert json.loads(portable.metadata["lnp_neuro"]["li_as_lif"]) == ["readout"]
    shift = _shift(portable)
    assert shift == {"reservoir": 1, "readout": 2}
    with np.load(out / "run.npz", allow_pickle=False) as run:
        x = run["input_spikes"]
    deployed = DeployedNetwork.read_graph(out / "network.nir")
    ours = simulate(deployed.network, x, mode="float", record_state=True)
    parts = deployed.layout.split(ours.spikes)
    first, last = deployed.layout.offsets["readout"]
    membrane = ours.v[:, first:last]
    with contextlib.redirect_stdout(io.StringIO()):
        snn = import_from_nir(portable)
    import torch
    state, spikes, mem = None, [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = snn(torch.from_numpy(x[t:t + 1].astype(np.float32)), state)
            assert not y.any()
            spikes.append(state["reservoir_prev_output"].numpy().ravel() > 0)
            mem.append(snn.readout.mem.numpy().ravel().copy())
    assert _mismatches(np.array(spikes), parts["reservoir"], 1).sum() == 0
    assert parts["reservoir"].sum() > 1000
    mem = np.array(mem)
    error = np.abs(mem[:-2] - membrane[2:]).max(axis=1)
    scale = np.abs(membrane).max()
    assert error[0] > 1e-3 * scale               # the bias's start-up, before it decays
    assert error[-100:].max() < 1e-4 * scale     # float32 against float64 afterwards
    norse_run = _run(_peers(portable)["norse"], x)
    assert norse_run.shape == (x.shape[0], 3) and not norse_run.any()
