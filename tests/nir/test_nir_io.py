"""Tests of lnp_neuro.nir.reservoir_files: lossless round trip, parameter mapping against NIR's
equations, and import of graphs written the way snnTorch / norse write them."""

from __future__ import annotations

import json
import warnings

import nir
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lnp_neuro.model.build import chrsnn, hrsnn
from lnp_neuro.model.network import SpikingNetwork
from lnp_neuro.nir.reservoir_files import (METADATA_KEY, Readout, from_nir, read_nir, to_nir,
                                           write_nir)


# ----------------------------------------------------------------- references
def project_reference(net: SpikingNetwork, x: np.ndarray):
    """The discrete model of lnp_neuro/network.py's docstring, written out plainly."""
    w = net.effective_weights().toarray()
    w_in = net.effective_input_weights().toarray()
    n = net.n_total_neurons
    u, v, s = np.zeros(n), np.zeros(n), np.zeros(n)
    spikes, vs = [], []
    for t in range(x.shape[0]):
        a_in = w_in @ x[t] + w @ s
        u = u * (1 - net.du) + a_in
        v = v * (1 - net.dv) + u + net.bias
        fired = (v > net.v_threshold) & net.neuron_active
        v = np.where(fired, 0.0, v)
        s = fired.astype(float)
        spikes.append(fired)
        vs.append(v)
    return np.array(spikes), np.array(vs)


def nir_euler(neuron, w_in, w_rec, x, dt, b_in=None, b_rec=None, i0=None):
    """Forward-Euler integration of NIR's CubaLIF / LIF equations, 0/1 spikes per step,
    recurrent edge delayed by one step (what every time-stepped NIR tool does); the
    synaptic current starts at ``i0`` (default 0)."""
    n = np.asarray(neuron.v_threshold).size
    i_syn, v, s = np.zeros(n), np.zeros(n), np.zeros(n)
    if i0 is not None:
        i_syn = np.array(i0, dtype=float)
    spikes, vs = [], []
    for t in range(x.shape[0]):
        drive = w_in @ x[t] + (0 if b_in is None else b_in)
        if w_rec is not None:
            drive = drive + w_rec @ s + (0 if b_rec is None else b_rec)
        if isinstance(neuron, nir.CubaLIF):
            i_syn = i_syn + dt / neuron.tau_syn * (neuron.w_in * drive - i_syn)
            v = v + dt / neuron.tau_mem * (neuron.v_leak - v + neuron.r * i_syn)
        else:
            v = v + dt / neuron.tau * (neuron.v_leak - v + neuron.r * drive)
        fired = v > neuron.v_threshold
        v = np.where(fired, neuron.v_reset, v)
        s = fired.astype(float)
        spikes.append(fired)
        vs.append(v)
    return np.array(spikes), np.array(vs)


def poisson_input(n_steps, n_in, rate=0.3, seed=0):
    return (np.random.default_rng(seed).random((n_steps, n_in)) < rate).astype(float)


def pruned_chrsnn(seed=3) -> SpikingNetwork:
    """A CHRSNN with everything a round trip can lose: pruned neurons and synapses,
    stored zero weights, input weights onto pruned neurons, a non-zero bias, history."""
    net = chrsnn(120, n_clusters=3, seed=seed)
    rng = np.random.default_rng(seed)
    w = net.weights.copy()
    w.data[rng.choice(w.nnz, 5, replace=False)] = 0.0  # stored zero synapses
    w_in = net.input_weights.copy()
    w_in.data[rng.choice(w_in.nnz, 3, replace=False)] = 0.0  # stored zeros in the input
    neuron_active = rng.random(net.n_total_neurons) > 0.15
    synapse_active = rng.random(w.nnz) > 0.25
    meta = dict(net.metadata, lnp_history=[{"iteration": 0, "neurons": 120, "synapses": 900,
                                            "lambda_max": 0.12, "mean_ipr": None}])
    return net.copy(weights=w, input_weights=w_in, synapse_active=synapse_active,
                    neuron_active=neuron_active,
                    bias=rng.normal(0.0, 0.02, net.n_total_neurons) / 3,
                    metadata=meta)


def assert_networks_identical(a: SpikingNetwork, b: SpikingNetwork) -> None:
    for name in ("weights", "input_weights"):
        ma, mb = getattr(a, name), getattr(b, name)
        assert ma.shape == mb.shape, name
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(ma, part), getattr(mb, part),
                                          err_msg=f"{name}.{part}")
        assert ma.data.dtype == mb.data.dtype
    for name in ("tau_mem", "tau_syn", "v_threshold", "bias", "excitatory",
                 "neuron_active", "synapse_active"):
        va, vb = getattr(a, name), getattr(b, name)
        assert va.dtype == vb.dtype, name
        np.testing.assert_array_equal(va, vb, err_msg=name)  # bit for bit
    if a.cluster is None:
        assert b.cluster is None
    else:
        np.testing.assert_array_equal(a.cluster, b.cluster)
        assert b.cluster.dtype == a.cluster.dtype
    assert a.dt == b.dt
    assert a.metadata == b.metadata


# ----------------------------------------------------------------- round trip
def test_round_trip_in_memory_is_lossless():
    net = pruned_chrsnn()
    assert not net.neuron_active.all() and not net.synapse_active.all()
    assert np.count_nonzero(net.weights.data == 0) >= 5
    assert np.count_nonzero(net.input_weights.data == 0) >= 3
    assert net.input_weights[~net.neuron_active].nnz > 0
    assert_networks_identical(net, from_nir(to_nir(net)))


def test_round_trip_through_file_is_lossless(tmp_path):
    net = pruned_chrsnn(seed=5)
    path = write_nir(net, tmp_path / "net.nir")
    assert path == tmp_path / "net.nir"
    assert_networks_identical(net, read_nir(path))
    plain = hrsnn(60, seed=2)
    write_nir(plain, tmp_path / "plain.nir")
    back = read_nir(tmp_path / "plain.nir")
    assert back.cluster is None
    assert_networks_identical(plain, back)


def test_round_trip_keeps_readout(tmp_path):
    net = hrsnn(40, seed=1)
    rng = np.random.default_rng(1)
    linear = rng.normal(size=(3, net.n_total_neurons))
    net2, readout = from_nir(to_nir(net, readout=linear), with_readout=True)
    assert_networks_identical(net, net2)
    np.testing.assert_array_equal(readout.weight, linear)
    assert readout.bias is None
    affine = Readout(rng.normal(size=(2, net.n_total_neurons)), rng.normal(size=2))
    write_nir(net, tmp_path / "r.nir", readout=affine)
    graph = nir.read(tmp_path / "r.nir")
    assert isinstance(graph.nodes["readout"], nir.Affine)
    assert tuple(graph.nodes["output"].output_type["output"]) == (2,)
    _, back = read_nir(tmp_path / "r.nir", with_readout=True)
    np.testing.assert_array_equal(back.weight, affine.weight)
    np.testing.assert_array_equal(back.bias, affine.bias)
    assert from_nir(to_nir(net), with_readout=True)[1] is None


def test_readout_is_validated():
    net = hrsnn(20, seed=0)
    with pytest.raises(ValueError, match="one column per neuron"):
        to_nir(net, readout=np.ones((2, 19)))
    with pytest.raises(ValueError, match="readout bias"):
        Readout(np.ones((2, 20)), np.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        Readout(np.full((1, 20), np.nan))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 25), n_in=st.integers(1, 4), density=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**32 - 1), clustered=st.booleans())
def test_round_trip_property(n, n_in, density, seed, clustered):
    """Any network, any masks, stored zeros, pruned everything: the round trip is exact."""
    rng = np.random.default_rng(seed)
    w = sp.random(n, n, density=density, random_state=rng, format="csr")
    w.data = np.where(rng.random(w.nnz) < 0.1, 0.0, rng.normal(size=w.nnz))
    w_in = sp.random(n, n_in, density=0.5, random_state=rng, format="csr")
    dt = float(rng.uniform(1e-4, 1e-3))
    net = SpikingNetwork(
        weights=w, input_weights=w_in, tau_mem=dt * rng.uniform(1, 50, n),
        tau_syn=dt * rng.uniform(1, 10, n), v_threshold=rng.uniform(0.1, 2, n),
        bias=rng.normal(0, 0.1, n), dt=dt, excitatory=rng.random(n) < 0.8,
        cluster=rng.integers(0, 3, n) if clustered else None,
        neuron_active=rng.random(n) < 0.7, synapse_active=rng.random(w.nnz) < 0.6,
        metadata={"seed": seed, "note": "\u03bb history", "nested": {"x": [1.5, None]}})
    assert_networks_identical(net, from_nir(to_nir(net)))


# ----------------------------------------------------------------- what foreign tools see
def test_visible_arrays_are_what_runs():
    net = pruned_chrsnn()
    graph = to_nir(net)
    assert [type(graph.nodes[k]).__name__ for k in
            ("input", "input_weights", "neurons", "recurrent_weights", "output")] == \
        ["Input", "Linear", "CubaLIF", "Linear", "Output"]
    assert ("recurrent_weights", "neurons") in graph.edges
    np.testing.assert_array_equal(graph.nodes["recurrent_weights"].weight,
                                  net.effective_weights().toarray())
    np.testing.assert_array_equal(graph.nodes["input_weights"].weight,
                                  net.effective_input_weights().toarray())
    cuba = graph.nodes["neurons"]
    pruned = ~net.neuron_active
    assert np.all(cuba.v_leak[pruned] == 0)
    np.testing.assert_allclose(cuba.v_leak[~pruned],
                               (net.bias * net.tau_mem / net.dt)[~pruned], rtol=1e-15)
    np.testing.assert_allclose(cuba.r, net.tau_mem / net.dt, rtol=1e-15)
    np.testing.assert_allclose(cuba.w_in, net.tau_syn / net.dt, rtol=1e-15)
    assert np.all(cuba.v_reset == 0)
    meta = graph.metadata[METADATA_KEY]
    assert meta["dt"] == net.dt
    assert json.loads(meta["network_metadata_json"])["lnp_history"][0]["synapses"] == 900


def test_export_follows_nir_cubalif_equations_exactly():
    """Euler-integrating NIR's CubaLIF with the exported parameters reproduces the
    project's discrete dynamics (spikes identical, potentials to rounding)."""
    net = pruned_chrsnn(seed=7)
    x = poisson_input(120, net.n_inputs, seed=7)
    graph = to_nir(net)
    ref_spikes, ref_v = project_reference(net, x)
    assert 50 < ref_spikes.sum()
    nir_spikes, nir_v = nir_euler(graph.nodes["neurons"], graph.nodes["input_weights"].weight,
                                  graph.nodes["recurrent_weights"].weight, x, net.dt)
    np.testing.assert_array_equal(nir_spikes, ref_spikes)
    # A pruned neuron is silent in both; only its unobservable potential differs (the
    # export zeroes its v_leak), so potentials are compared on active neurons.
    active = net.neuron_active
    np.testing.assert_allclose(nir_v[:, active], ref_v[:, active], rtol=1e-9, atol=1e-12)


def test_single_spike_gives_analytic_response():
    """One input spike of weight w: u jumps by w, v = w after the spike step and
    v[1] = w (1 - dv) + w (1 - du), in NIR's equations with the exported parameters."""
    w, dt, tau_syn, tau_mem = 0.3, 1e-3, 5e-3, 8e-3
    net = SpikingNetwork(weights=sp.csr_matrix((1, 1)), input_weights=[[w]], tau_mem=tau_mem,
                         tau_syn=tau_syn, v_threshold=10.0, bias=0.0, dt=dt)
    graph = to_nir(net)
    x = np.array([[1.0], [0.0]])
    _, v = nir_euler(graph.nodes["neurons"], graph.nodes["input_weights"].weight, None, x, dt)
    du, dv = dt / tau_syn, dt / tau_mem
    np.testing.assert_allclose(v[:, 0], [w, w * (1 - dv) + w * (1 - du)], rtol=1e-12)
    # The brief's w_in = 1 would have made the synapse du = 0.2 times too weak.
    weak = nir.CubaLIF(tau_syn=np.array([tau_syn]), tau_mem=np.array([tau_mem]),
                       r=np.array([tau_mem / dt]), v_leak=np.zeros(1),
                       v_threshold=np.array([10.0]), w_in=1.0)
    _, v_weak = nir_euler(weak, np.array([[w]]), None, x, dt)
    np.testing.assert_allclose(v_weak[0, 0], w * du, rtol=1e-12)


# ----------------------------------------------------------------- metadata authority
def test_visible_edits_win_over_metadata():
    net = hrsnn(30, seed=4).copy(bias=np.full(30, 0.01))
    graph = to_nir(net)
    graph.nodes["neurons"].v_leak[3] *= 2.0
    back = from_nir(graph)
    np.testing.assert_allclose(back.bias[3], 0.02, rtol=1e-12)
    np.testing.assert_array_equal(np.delete(back.bias, 3), np.delete(net.bias, 3))


def test_inconsistent_hidden_entry_is_reported():
    net = pruned_chrsnn()
    graph = to_nir(net)
    meta = graph.nodes["recurrent_weights"].metadata[METADATA_KEY]
    i, j = meta["hidden_post"][0], meta["hidden_pre"][0]
    graph.nodes["recurrent_weights"].weight[i, j] = 0.5
    with pytest.raises(ValueError, match="recurrent_weights.*edited inconsistently"):
        from_nir(graph)


# ----------------------------------------------------------------- foreign graphs
def snntorch_rsynaptic_graph(w_in, w_rec, alpha, beta, threshold):
    """A graph exactly as snntorch.export_nir writes Linear -> RSynaptic(all_to_all):
    dt = 1e-4 is implicit, tau = dt / (1 - decay), r = tau_mem/dt, w_in = tau_syn/dt,
    the recurrent layer is a nested NIRGraph."""
    dt = 1e-4
    n = w_rec.shape[0]
    alpha, beta, vthr = (np.ones(n) * alpha, np.ones(n) * beta, np.ones(n) * threshold)
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    rsynaptic = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=[n]),
               "lif": nir.CubaLIF(v_threshold=vthr, tau_mem=tau_mem, tau_syn=tau_syn,
                                  r=tau_mem / dt, v_leak=np.zeros_like(beta),
                                  w_in=tau_syn / dt),
               "w_rec": nir.Linear(weight=w_rec),
               "output": nir.Output(output_type=[n])},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([w_in.shape[1]])),
               "fc1": nir.Linear(weight=w_in),
               "lif1": rsynaptic,
               "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "output")])


def test_import_snntorch_rsynaptic_graph(tmp_path):
    rng = np.random.default_rng(11)
    n, n_in, alpha, beta = 25, 4, 0.8, 0.9
    w_in = rng.normal(0, 0.6, (n, n_in))
    w_rec = rng.normal(0, 0.3, (n, n)) * (rng.random((n, n)) < 0.3)
    graph = snntorch_rsynaptic_graph(w_in, w_rec, alpha, beta, 1.0)
    nir.write(tmp_path / "snn.nir", graph)
    net = read_nir(tmp_path / "snn.nir")
    # snnTorch's Synaptic: syn = alpha syn + input, mem = beta mem + syn.
    assert net.dt == pytest.approx(1e-4, rel=1e-12)
    np.testing.assert_allclose(1 - net.du, alpha, rtol=1e-12)
    np.testing.assert_allclose(1 - net.dv, beta, rtol=1e-12)
    np.testing.assert_allclose(net.weights.toarray(), w_rec, rtol=1e-12)
    np.testing.assert_allclose(net.input_weights.toarray(), w_in, rtol=1e-12)
    assert np.all(net.bias == 0) and net.neuron_active.all()
    assert net.metadata["dt_source"] == "r"
    x = poisson_input(80, n_in, seed=11)
    ref_spikes, _ = project_reference(net, x)
    cuba = graph.nodes["lif1"].nodes["lif"]
    nir_spikes, _ = nir_euler(cuba, w_in, w_rec, x, 1e-4)
    assert ref_spikes.sum() > 20
    np.testing.assert_array_equal(ref_spikes, nir_spikes)


def test_import_snntorch_rleaky_style_graph():
    """RLeaky-style nested graph (LIF + recurrent Linear, tau = dt/(1-beta), r = tau/dt):
    snnTorch's mem = beta mem + input maps to tau_syn = dt (u = this step's input)."""
    rng = np.random.default_rng(12)
    n, n_in, beta, dt = 20, 3, 0.85, 1e-4
    w_in = rng.normal(0, 0.7, (n, n_in))
    w_rec = rng.normal(0, 0.3, (n, n)) * (rng.random((n, n)) < 0.3)
    tau = np.full(n, dt / (1 - beta))
    rleaky = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=[n]),
               "lif": nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n),
                              v_threshold=np.ones(n)),
               "w_rec": nir.Linear(weight=w_rec),
               "output": nir.Output(output_type=[n])},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([n_in])), "fc": nir.Linear(weight=w_in),
               "rleaky": rleaky, "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "fc"), ("fc", "rleaky"), ("rleaky", "output")])
    net = from_nir(graph)
    assert net.dt == pytest.approx(dt, rel=1e-12)
    np.testing.assert_array_equal(net.du, np.ones(n))
    np.testing.assert_allclose(1 - net.dv, beta, rtol=1e-12)
    np.testing.assert_allclose(net.weights.toarray(), w_rec, rtol=1e-12)
    x = poisson_input(100, n_in, seed=12)
    ref_spikes, _ = project_reference(net, x)
    nir_spikes, _ = nir_euler(rleaky.nodes["lif"], w_in, w_rec, x, dt)
    assert ref_spikes.sum() > 20
    np.testing.assert_array_equal(ref_spikes, nir_spikes)


def test_import_lif_with_affine_bias_folds_exactly():
    """A LIF layer (no synaptic current) maps onto tau_syn = dt; an Affine input bias
    folds exactly into the neuron bias. Known result: both simulations coincide."""
    rng = np.random.default_rng(2)
    n, n_in, dt = 20, 3, 1e-3
    tau = rng.uniform(5e-3, 2e-2, n)
    lif = nir.LIF(tau=tau, r=np.ones(n), v_leak=np.full(n, 0.05), v_threshold=np.full(n, 0.04))
    w_in, b_in = rng.normal(0, 0.6, (n, n_in)), rng.normal(0, 0.05, n)
    w_rec = rng.normal(0, 0.2, (n, n)) * (rng.random((n, n)) < 0.4)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([n_in])),
               "aff": nir.Affine(weight=w_in, bias=b_in),
               "lif": lif,
               "rec": nir.Affine(weight=w_rec, bias=np.zeros(n)),  # norse style: zero bias
               "out": nir.Output(output_type=np.array([n]))},
        edges=[("in", "aff"), ("aff", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])
    with pytest.raises(ValueError, match="pass dt"):
        from_nir(graph)
    net = from_nir(graph, dt=dt)
    np.testing.assert_array_equal(net.tau_syn, np.full(n, dt))
    scale = dt / tau
    np.testing.assert_allclose(net.bias, dt * 0.05 / tau + scale * b_in, rtol=1e-12)
    np.testing.assert_allclose(net.weights.toarray(), scale[:, None] * w_rec, rtol=1e-12)
    x = poisson_input(150, n_in, seed=2)
    ref_spikes, ref_v = project_reference(net, x)
    nir_spikes, nir_v = nir_euler(lif, w_in, w_rec, x, dt, b_in=b_in)
    assert ref_spikes.sum() > 20
    np.testing.assert_array_equal(ref_spikes, nir_spikes)
    np.testing.assert_allclose(ref_v, nir_v, rtol=1e-9, atol=1e-12)
    # Dale identity inferred from outgoing weight signs.
    col_neg = (w_rec < 0).any(0)
    col_pos = (w_rec > 0).any(0)
    np.testing.assert_array_equal(net.excitatory, ~(col_neg & ~col_pos))


def test_affine_bias_into_filtering_synapse_is_a_constant_current():
    """An Affine bias b into a CubaLIF with tau_syn > dt is a constant input current: the
    synaptic current settles at w_in b, which adds r w_in b dt/tau_mem to v every step.
    Known result: NIR's equations started from that settled current give the imported
    network's raster and potentials from rest, exactly; the warning names the node."""
    n, n_in, dt = 4, 2, 1e-3
    rng = np.random.default_rng(4)
    cuba = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.full(n, 10.0),
                       v_leak=np.zeros(n), v_threshold=np.ones(n), w_in=np.full(n, 5.0))
    w_in, b_in = rng.normal(0.0, 0.2, (n, n_in)), np.array([0.01, 0.02, 0.03, 0.05])
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([n_in])),
               "aff": nir.Affine(weight=w_in, bias=b_in),
               "lif": cuba, "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "aff"), ("aff", "lif"), ("lif", "output")])
    with pytest.warns(UserWarning, match="'aff' .Affine.: its bias is imported as a constant"):
        net = from_nir(graph, dt=dt)
    # settled u = (r dt/tau_mem) w_in b; v gets it every step: bias = 10*0.1*5*b = 5 b.
    np.testing.assert_allclose(net.bias, 5.0 * b_in, rtol=1e-12)
    x = poisson_input(200, n_in, seed=4)
    ref_spikes, ref_v = project_reference(net, x)
    nir_spikes, nir_v = nir_euler(cuba, w_in, None, x, dt, b_in=b_in, i0=cuba.w_in * b_in)
    assert ref_spikes.sum() > 10
    np.testing.assert_array_equal(ref_spikes, nir_spikes)
    np.testing.assert_allclose(ref_v, nir_v, rtol=1e-9, atol=1e-12)
    # With tau_syn == dt the synapse does not filter: exact from rest, no warning.
    cuba.tau_syn = np.full(n, 1e-3)
    cuba.w_in = np.ones(n)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*Affine.*")
        net = from_nir(graph, dt=1e-3)
    np.testing.assert_allclose(net.bias, b_in, rtol=1e-12)


def test_norse_exported_time_constants_give_clear_error():
    """norse.torch.to_nir writes tau = dt / tau_inv (1e-5 s for its 10 ms default)."""
    n, dt = 3, 1e-3
    cuba = nir.CubaLIF(tau_mem=np.full(n, dt / 100.0), tau_syn=np.full(n, dt / 200.0),
                       r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([2])),
               "linear": nir.Affine(weight=np.ones((n, 2)), bias=np.zeros(n)),
               "lif": cuba, "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "linear"), ("linear", "lif"), ("lif", "output")])
    with pytest.raises(ValueError, match="'lif' .CubaLIF. does not map.*tau_mem must be >= dt"):
        from_nir(graph, dt=dt)


def test_unsupported_and_malformed_graphs():
    n = 3
    cuba = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.full(n, 10.0),
                       v_leak=np.zeros(n), v_threshold=np.ones(n), w_in=np.full(n, 5.0))
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0,
                      dilation=1, groups=1, bias=np.zeros(1))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([1, 4, 4])), "conv1": conv,
               "lif": cuba, "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "conv1"), ("conv1", "lif"), ("lif", "output")], type_check=False)
    with pytest.raises(ValueError, match="node 'conv1' of type Conv2d is not supported"):
        from_nir(graph)
    two = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([n])), "a": cuba,
               "b": nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n),
                            v_threshold=np.ones(n)),
               "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "a"), ("a", "b"), ("b", "output")])
    # Two populations (the NIR paper's Braille network has this shape) are refused with
    # an error naming both nodes and why they cannot be merged.
    with pytest.raises(ValueError, match="2 spiking populations .'a' .CubaLIF., 'b' .LIF.."
                                         ".*same step"):
        from_nir(two, dt=1e-3)
    reset = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.full(n, 10.0),
                        v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.full(n, -0.1))
    direct = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])), "lif": reset,
                                 "output": nir.Output(output_type=np.array([n]))},
                          edges=[("input", "lif"), ("lif", "output")])
    with pytest.raises(ValueError, match="v_reset must be 0"):
        from_nir(direct, dt=1e-3)
    with pytest.raises(TypeError, match="nir.NIRGraph"):
        from_nir(cuba)


def test_dt_contradiction_is_refused():
    net = hrsnn(10, seed=0)
    with pytest.raises(ValueError, match="contradicts"):
        from_nir(to_nir(net), dt=2e-3)
    assert from_nir(to_nir(net), dt=net.dt).dt == net.dt


# ----------------------------------------------------------------- files
def test_write_refuses_overwrite_and_leaves_no_temp_files(tmp_path):
    net = hrsnn(15, seed=0)
    path = tmp_path / "a.nir"
    write_nir(net, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="a.nir exists"):
        write_nir(hrsnn(15, seed=1), path)
    assert path.read_bytes() == before
    write_nir(hrsnn(15, seed=1), path, overwrite=True)
    assert read_nir(path).metadata["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nir"]
    with pytest.raises(ValueError, match="must end in .nir"):
        write_nir(net, tmp_path / "a.h5")


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.nir"):
        read_nir(tmp_path / "nothere.nir")
    bad = tmp_path / "corrupt.nir"
    bad.write_bytes(b"\x89HDF\r\n garbage" * 10)
    with pytest.raises(ValueError, match="corrupt.nir: not a readable NIR file"):
        read_nir(bad)
    truncated = tmp_path / "trunc.nir"
    write_nir(hrsnn(20, seed=0), tmp_path / "full.nir")
    truncated.write_bytes((tmp_path / "full.nir").read_bytes()[:900])
    with pytest.raises(ValueError, match="trunc.nir"):
        read_nir(truncated)
    foreign = tmp_path / "conv.nir"
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0,
                      dilation=1, groups=1, bias=np.zeros(1))
    nir.write(foreign, nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([1, 4, 4])), "conv": conv,
               "output": nir.Output(output_type=np.array([1, 3, 3]))},
        edges=[("input", "conv"), ("conv", "output")], type_check=False))
    with pytest.raises(ValueError, match="conv.nir: node 'conv' of type Conv2d"):
        read_nir(foreign)


# ----------------------------------------------------------------- timing, dt, ids
def test_input_delay_is_a_delay_node_of_one_step():
    """The graph says what the engines do: Input -> Delay(dt) -> input Linear."""
    net = hrsnn(30, seed=2, n_inputs=5)
    graph = to_nir(net)
    delay = graph.nodes["input_delay"]
    assert isinstance(delay, nir.Delay)
    np.testing.assert_array_equal(delay.delay, np.full(5, net.dt))
    assert ("input", "input_delay") in graph.edges
    assert ("input_delay", "input_weights") in graph.edges
    assert ("input", "input_weights") not in graph.edges
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our own graph imports without a timing warning
        back = from_nir(graph)
    assert_networks_identical(net, back)


def test_graph_without_delay_warns_and_other_delays_are_refused():
    net = hrsnn(12, seed=1, n_inputs=3)
    graph = to_nir(net)
    bare = nir.NIRGraph(nodes={k: v for k, v in graph.nodes.items() if k != "input_delay"},
                        edges=[e for e in graph.edges if "input_delay" not in e]
                        + [("input", "input_weights")], metadata={})
    with pytest.warns(UserWarning, match="no one-step Delay node"):
        from_nir(bare, dt=net.dt)
    two_steps = to_nir(net)
    two_steps.nodes["input_delay"].delay = np.full(3, 2 * net.dt)
    with pytest.raises(ValueError, match="'input_delay' .Delay.: .*exactly one step"):
        from_nir(two_steps)
    misplaced = nir.NIRGraph(
        nodes={**{k: v for k, v in graph.nodes.items() if k != "input_delay"},
               "late": nir.Delay(delay=np.full(12, net.dt))},
        edges=[("input", "input_weights"), ("input_weights", "neurons"),
               ("neurons", "recurrent_weights"), ("recurrent_weights", "late"),
               ("late", "neurons"), ("neurons", "output")], metadata={})
    with pytest.raises(ValueError, match="'late' .Delay. is supported only"):
        from_nir(misplaced, dt=net.dt)


def test_graph_with_r_one_needs_dt_and_names_the_flag():
    """norse and the NIR paper write r = 1 and no dt: dt must be given."""
    n = 3
    cuba = nir.CubaLIF(tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.ones(n),
                       v_leak=np.zeros(n), v_threshold=np.ones(n), w_in=np.ones(n))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                                "w": nir.Linear(weight=np.ones((n, 2))), "lif": cuba,
                                "output": nir.Output(output_type=np.array([n]))},
                         edges=[("input", "w"), ("w", "lif"), ("lif", "output")])
    with pytest.raises(ValueError, match="'lif' has r = 1.*--dt"):
        from_nir(graph)
    with pytest.warns(UserWarning, match="Delay"):
        net = from_nir(graph, dt=1e-3)
    # u jumps by (dt/tau_syn) w_in (r dt/tau_mem) = 0.2 * 0.1 per unit of input.
    np.testing.assert_allclose(net.input_weights.toarray(), np.full((n, 2), 0.02), rtol=1e-12)


def test_neuron_ids_round_trip(tmp_path):
    from lnp_neuro.nir.reservoir_files import graph_neuron_ids, read_nir_graph
    net, kept = pruned_chrsnn().compact()
    write_nir(net, tmp_path / "c.nir", neuron_ids=kept)
    np.testing.assert_array_equal(graph_neuron_ids(read_nir_graph(tmp_path / "c.nir")), kept)
    assert graph_neuron_ids(to_nir(net)) is None
    with pytest.raises(ValueError, match="distinct"):
        to_nir(net, neuron_ids=np.zeros(net.n_total_neurons, int))


def test_type_check_failure_is_read_leniently_with_a_warning(tmp_path):
    """An exporter that declares a wrong Output size fails nir's type check; the graph is
    read again without it and imported, with a warning naming the file."""
    net = hrsnn(10, seed=0, n_inputs=2)
    graph = to_nir(net)
    graph.nodes["output"] = nir.Output(output_type={"output": np.array([7])})
    bad = nir.NIRGraph(nodes=graph.nodes, edges=graph.edges, metadata=graph.metadata,
                       type_check=False)
    nir.write(tmp_path / "loose.nir", bad)
    with pytest.raises(ValueError):
        nir.read(tmp_path / "loose.nir")  # nir itself refuses it
    with pytest.warns(UserWarning, match="loose.nir: fails nir's type check"):
        back = read_nir(tmp_path / "loose.nir")
    assert_networks_identical(net, back)


def test_format_version_1_files_keep_the_one_step_convention():
    """Files written before the Delay node (format version 1) said the input's one-step
    delay in their metadata only; they read as before, without a timing warning."""
    net = hrsnn(12, seed=3, n_inputs=3)
    graph = to_nir(net)
    meta = dict(graph.metadata[METADATA_KEY], format_version=1)
    old = nir.NIRGraph(nodes={k: v for k, v in graph.nodes.items() if k != "input_delay"},
                       edges=[e for e in graph.edges if "input_delay" not in e]
                       + [("input", "input_weights")], metadata={METADATA_KEY: meta})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = from_nir(old)
    assert_networks_identical(net, back)


def test_network_without_inputs_round_trips_without_a_timing_warning():
    """An empty input Delay node (no channels) says nothing about timing."""
    net = SpikingNetwork(weights=sp.random(5, 5, 0.5, random_state=0),
                         input_weights=np.zeros((5, 0)), tau_mem=0.01, tau_syn=0.005,
                         v_threshold=1.0, bias=0.0)
    graph = to_nir(net)
    assert graph.nodes["input_delay"].delay.shape == (0,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_networks_identical(net, from_nir(graph))
