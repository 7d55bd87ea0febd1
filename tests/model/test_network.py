"""The framework-neutral network model and its constructors (SPEC section 1)."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import SpikingNetwork
from lnp_neuro.model.build import chrsnn, hrsnn


def tiny(**changes):
    w = sp.csr_matrix(np.array([[0.0, 0.5, 0.0], [-1.0, 0.0, 0.2], [0.0, 0.3, 0.0]]))
    kw = dict(weights=w, input_weights=np.ones((3, 2)), tau_mem=[0.02, 0.01, 0.005],
              tau_syn=0.005, v_threshold=1.0, bias=0.0, dt=1e-3)
    kw.update(changes)
    return SpikingNetwork(**kw)


def test_counts_and_masks():
    net = tiny()
    assert (net.n_total_neurons, net.n_active_neurons, net.n_active_synapses,
            net.n_inputs) == (3, 3, 4, 2)
    pre, post = net.synapse_pre_post()
    # canonical CSR order: row (post) major, sorted pre within a row
    assert list(zip(post.tolist(), pre.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    pruned = net.copy(neuron_active=[True, False, True])
    # every synapse touches neuron 1, so none survives the AND mask
    assert pruned.n_active_neurons == 2 and pruned.n_active_synapses == 0
    assert pruned.effective_weights().nnz == 0
    masked = net.copy(synapse_active=[True, False, True, True])
    assert masked.n_active_synapses == 3
    assert masked.effective_weights()[1, 0] == 0 and masked.effective_weights()[0, 1] == 0.5
    np.testing.assert_allclose(net.du, 0.2)
    np.testing.assert_allclose(net.dv, [0.05, 0.1, 0.2])


def test_counts_of_a_pruned_network_and_their_text():
    net = tiny(neuron_active=[True, True, False], synapse_active=[True, False, True, True])
    # Stored synapses (post, pre): (0,1) active, (1,0) masked, (1,2) and (2,1) touch neuron 2.
    assert (net.n_active_neurons, net.n_total_neurons, net.n_active_synapses) == (2, 3, 1)
    assert net.density == 1 / 2 ** 2
    assert repr(net) == ("SpikingNetwork(n_active_neurons=2/3, n_active_synapses=1, "
                         "n_inputs=2, dt=0.001)")
    assert "2/3 neurons active, 1 active synapses (density 0.2500)" in net.summary()


@pytest.mark.parametrize("old, new", [("size", "n_total_neurons"),
                                      ("n_neurons", "n_active_neurons"),
                                      ("n_synapses", "n_active_synapses")])
def test_deprecated_counts_warn_and_name_their_replacement(old, new):
    net = tiny(neuron_active=[True, True, False])
    with pytest.warns(DeprecationWarning, match=f"SpikingNetwork.{old} is deprecated.*"
                                                f"use SpikingNetwork.{new}"):
        value = getattr(net, old)
    assert value == getattr(net, new) == {"size": 3, "n_neurons": 2, "n_synapses": 2}[old]


def test_compact_keeps_active_part():
    net = tiny(neuron_active=[True, True, False])
    small, keep = net.compact()
    assert keep.tolist() == [0, 1]
    assert small.n_total_neurons == 2 and small.n_active_synapses == 2
    np.testing.assert_array_equal(small.weights.toarray(), [[0, 0.5], [-1, 0]])
    np.testing.assert_array_equal(small.tau_mem, [0.02, 0.01])


@pytest.mark.parametrize("changes, message", [
    (dict(tau_mem=[0.02, -0.01, 0.005]), "tau_mem must be positive; neuron 1"),
    (dict(tau_syn=[0.005, 0.0005, 0.005]), "tau_syn must be >= dt"),
    (dict(v_threshold=[1.0, 0.0, 1.0]), "v_threshold must be positive"),
    (dict(weights=sp.csr_matrix(np.array([[0, np.nan], [0, 0]]))), "weights has 1 non-finite"),
    (dict(weights=sp.csr_matrix(np.ones((3, 2)))), "weights must be square"),
    (dict(input_weights=np.ones((2, 2))), "input_weights must have shape (3, n_inputs)"),
    (dict(bias=[0.0, 1.0]), "bias must have shape (3,)"),
    (dict(dt=-1.0), "dt must be a positive"),
    (dict(synapse_active=[True]), "synapse_active must have one entry per stored synapse (4)"),
    (dict(metadata={"x": object()}), "metadata must be JSON-serialisable"),
])
def test_validation_names_the_parameter(changes, message):
    with pytest.raises(ValueError) as err:
        tiny(**changes)
    assert message in str(err.value)


def test_save_load_round_trip(tmp_path):
    net = chrsnn(60, 3, seed=4)
    net = net.copy(neuron_active=np.arange(60) % 7 != 0,
                   synapse_active=np.arange(net.weights.nnz) % 5 != 0,
                   metadata={**net.metadata, "note": "ü"})
    path = net.save(tmp_path / "net.npz")
    back = SpikingNetwork.load(path)
    assert (back.weights != net.weights).nnz == 0
    assert (back.input_weights != net.input_weights).nnz == 0
    for field in ("tau_mem", "tau_syn", "v_threshold", "bias", "excitatory", "cluster",
                  "neuron_active", "synapse_active"):
        np.testing.assert_array_equal(getattr(back, field), getattr(net, field), err_msg=field)
    assert back.metadata == net.metadata and back.dt == net.dt
    with pytest.raises(FileExistsError):
        net.save(path)
    net.save(path, overwrite=True)


def test_load_refuses_pickles_and_garbage(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, tau_mem=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="bad.npz"):
        SpikingNetwork.load(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable"):
        SpikingNetwork.load(junk)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        SpikingNetwork.load(tmp_path / "missing.npz")


def test_hrsnn_statistics():
    net = hrsnn(2000, 0.05, seed=1, tau_mem_shape=4.0, tau_mem_scale=5e-3)
    # Bernoulli(p) wiring without autapses: expected N(N-1)p synapses, 5 sigma band
    expected = 2000 * 1999 * 0.05
    assert abs(net.n_active_synapses - expected) < 5 * np.sqrt(expected)
    assert net.weights.diagonal().sum() == 0
    assert abs(net.excitatory.mean() - 0.8) < 1e-9
    # Dale's law: the sign of every synapse is the sign of its presynaptic neuron
    pre, _ = net.synapse_pre_post()
    assert np.all((net.weights.data > 0) == net.excitatory[pre])
    # gamma(k=4, theta=5 ms): mean 20 ms, variance k theta^2; clipped at 2 dt
    assert net.tau_mem.min() >= 2e-3
    assert abs(net.tau_mem.mean() - 0.020) < 4 * np.sqrt(4 * 5e-3 ** 2 / 2000)
    # the scaling makes the bulk radius sqrt(N p E[G^2]) of the rate coupling G equal the
    # gain (1.0); the spiking weights are G divided row-wise by the steady-state gain
    g_data = net.rate_coupling().data
    radius = np.sqrt(2000 * net.n_active_synapses / 2000 ** 2 * np.mean(g_data ** 2))
    assert radius == pytest.approx(1.0, rel=1e-9)
    _, post = net.synapse_pre_post()
    np.testing.assert_allclose(net.weights.data * net.rate_gain[post], g_data)


def test_hrsnn_gain_sets_spectral_radius():
    # Circular law (Girko; Rajan & Abbott 2006 for balanced E/I): the eigenvalue bulk of a
    # zero-mean random matrix has radius sqrt(N p E[w^2]) = gain; balanced 80/20 E/I with a
    # 4x inhibitory ratio has zero mean input, so the largest |eigenvalue| is close to gain.
    net = hrsnn(400, 0.2, seed=3, gain=1.5)
    radius = np.abs(np.linalg.eigvals(net.rate_coupling().toarray())).max()
    assert 1.3 < radius < 1.8


def test_rate_gain_is_the_steady_state_drive():
    # Constant input current: one input spike every step through weight w onto a neuron
    # with no recurrence settles at u = w tau_syn/dt and v = u tau_mem/dt (module doc of
    # network.py); rate_gain * w * rate (in RATE_UNIT_HZ units) is v in thresholds.
    from lnp_neuro.engines.simulator import simulate
    from lnp_neuro.model.network import RATE_UNIT_HZ
    w = 1e-3
    net = SpikingNetwork(weights=sp.csr_matrix((1, 1)), input_weights=[[w]], tau_mem=0.02,
                         tau_syn=0.005, v_threshold=1e6, bias=0.0, dt=1e-3)
    v = simulate(net, np.ones((400, 1), bool), record_state=True).v[-1, 0]
    rate_units = 1.0 / (RATE_UNIT_HZ * net.dt)  # one spike per step
    assert v == pytest.approx(net.rate_gain[0] * w * rate_units * net.v_threshold[0], rel=1e-6)


def test_gain_moves_spiking_network_from_input_driven_to_amplified():
    # The surrogate's transition at gain ~1 shows up in the spiking network: below it the
    # rate follows the input; above it recurrence multiplies it (RATE_UNIT_HZ docstring).
    from lnp_neuro.engines.simulator import simulate
    x = np.random.default_rng(0).random((400, 6)) < 0.03
    rates = {}
    for gain in (0.5, 3.0):
        net = hrsnn(600, 0.1, seed=0, n_inputs=6, gain=gain)
        rates[gain] = simulate(net, x).spikes.mean() / net.dt
    assert 5 < rates[0.5] < 80          # Hz, input-driven
    assert rates[3.0] > 3 * rates[0.5]


def test_constructors_are_deterministic():
    a, b = hrsnn(300, 0.1, seed=7), hrsnn(300, 0.1, seed=7)
    assert (a.weights != b.weights).nnz == 0
    np.testing.assert_array_equal(a.tau_mem, b.tau_mem)
    c = hrsnn(300, 0.1, seed=8)
    assert (a.weights != c.weights).nnz > 0


def test_chrsnn_clusters_and_wiring():
    net = chrsnn(400, 4, seed=2, intra_density=0.3, inter_density=0.01)
    assert np.bincount(net.cluster).tolist() == [100] * 4
    pre, post = net.synapse_pre_post()
    same = net.cluster[pre] == net.cluster[post]
    intra_pairs = 4 * 100 * 99
    inter_pairs = 400 * 399 - intra_pairs
    assert abs(same.sum() / intra_pairs - 0.3) < 0.02
    assert abs((~same).sum() / inter_pairs - 0.01) < 0.003
    # distinct timescales: cluster mean tau grows with the geometric default spacing
    means = [net.tau_mem[net.cluster == k].mean() for k in range(4)]
    assert all(a < b for a, b in zip(means, means[1:]))
    assert json.loads(json.dumps(net.metadata))["n_clusters"] == 4


@pytest.mark.parametrize("call, message", [
    (lambda: hrsnn(100, 0.0), "density must be in (0, 1]"),
    (lambda: hrsnn(100, 1.5), "density must be in (0, 1]"),
    (lambda: hrsnn(1, 0.1), "n_neurons must be an integer >= 2"),
    (lambda: hrsnn(100, 0.1, tau_mem_scale=-1.0), "tau_mem_scale must be a positive"),
    (lambda: chrsnn(100, 0), "n_clusters must be an integer >= 1"),
    (lambda: chrsnn(100, 3, tau_mem_shape=[1.0, 2.0]), "tau_mem_shape must be a number or one value per cluster (3)"),
    (lambda: chrsnn(100, 2, inter_density=2.0), "inter_density must be in [0, 1]"),
])
def test_constructor_validation(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)
