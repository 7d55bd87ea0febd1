"""Tests of lnp_neuro.training: torch dynamics, surrogate gradient, BP, STDP."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from lnp_neuro import models
from lnp_neuro.model.network import SpikingNetwork
from lnp_neuro.training import (PairSTDP, STDPTrainer, SurrogateGradientBP, TorchSNN,
                                pair_stdp_update, select_readout_neurons, spike_traces,
                                superspike)


def _reference_raster(net: SpikingNetwork, x: np.ndarray) -> np.ndarray:
    """The simulator's equations written out plainly (float64; input delayed one step)."""
    w, w_in = net.effective_weights(), net.effective_input_weights()
    n = net.n_total_neurons
    u, v, s, x_prev = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(x.shape[1])
    out = []
    for t in range(x.shape[0]):
        u = u * (1 - net.du) + (w_in @ x_prev + w @ s)
        x_prev = x[t]
        v = v * (1 - net.dv) + u + net.bias
        s = ((v > net.v_threshold) & net.neuron_active).astype(float)
        v = np.where(s > 0, 0.0, v)
        out.append(s.astype(bool))
    return np.array(out)


def _random_nets():
    yield models.hrsnn(80, 0.1, seed=3, n_inputs=4, gain=1.5, bias=0.02)
    yield models.chrsnn(90, 3, seed=4, n_inputs=3, gain=2.0)
    net = models.hrsnn(70, 0.15, seed=5, n_inputs=2, gain=3.0)
    rng = np.random.default_rng(0)
    neuron_active = rng.random(net.n_total_neurons) > 0.2
    synapse_active = rng.random(net.weights.nnz) > 0.3
    yield net.copy(neuron_active=neuron_active, synapse_active=synapse_active)


@pytest.mark.parametrize("k", range(3))
def test_forward_matches_reference_equations(k):
    net = list(_random_nets())[k]
    x = np.random.default_rng(k).random((200, net.n_inputs)) < 0.3
    spikes = TorchSNN(net, dtype=torch.float64)(x).numpy().astype(bool)
    ref = _reference_raster(net, x.astype(float))
    assert 0 < spikes.mean() < 0.9  # non-trivial raster
    np.testing.assert_array_equal(spikes, ref)
    assert not spikes[:, ~net.neuron_active].any()


@pytest.mark.parametrize("k", range(3))
def test_forward_matches_native_simulator(k):
    from lnp_neuro.engines.simulator import simulate
    net = list(_random_nets())[k]
    x = np.random.default_rng(10 + k).random((300, net.n_inputs)) < 0.3
    spikes = TorchSNN(net, dtype=torch.float64)(x).numpy().astype(bool)
    sim = simulate(net, x, mode="float").spikes
    assert 0 < spikes.mean() < 0.9
    np.testing.assert_array_equal(spikes, np.asarray(sim, dtype=bool))


def test_batch_equals_separate_runs_and_state_continues():
    net = models.hrsnn(60, 0.1, seed=7, n_inputs=3, gain=1.5)
    rng = np.random.default_rng(1)
    x = rng.random((120, 2, 3)) < 0.3
    snn = TorchSNN(net, dtype=torch.float64)
    both = snn(x)
    for b in range(2):
        torch.testing.assert_close(both[:, b], snn(x[:, b]))
    first, state = snn(x[:60], return_state=True)
    second = snn(x[60:], state)
    torch.testing.assert_close(torch.cat([first, second]), both)


def test_superspike_surrogate_derivative():
    x = torch.tensor([-2.0, -0.1, 0.0, 0.3, 1.5], dtype=torch.float64, requires_grad=True)
    s = superspike(x, 5.0)
    np.testing.assert_array_equal(s.detach().numpy(), [0, 0, 0, 1, 1])
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (5 * np.abs(x.detach().numpy()) + 1) ** 2)


def test_torch_snn_validation():
    net = models.hrsnn(20, 0.2, seed=0)
    with pytest.raises(ValueError, match="surrogate_slope"):
        TorchSNN(net, surrogate_slope=0)
    with pytest.raises(ValueError, match="input_spikes"):
        TorchSNN(net)(np.zeros((10, net.n_inputs + 1)))


def test_select_readout_neurons_top_betweenness_of_a_path():
    # directed path 0 -> 1 -> ... -> 9: betweenness of node k is k (9 - k), max at 4 and 5
    n = 10
    w = sp.csr_matrix((np.full(n - 1, 0.1), (np.arange(1, n), np.arange(n - 1))), shape=(n, n))
    net = SpikingNetwork(weights=w, input_weights=np.ones((n, 1)), tau_mem=0.02,
                         tau_syn=0.005, v_threshold=1.0, bias=0.0)
    np.testing.assert_array_equal(select_readout_neurons(net, 0.1), [4])  # tie -> lower index
    np.testing.assert_array_equal(select_readout_neurons(net, 0.2), [4, 5])
    pruned = net.copy(neuron_active=np.arange(n) != 4)
    assert 4 not in select_readout_neurons(pruned, 0.2)
    with pytest.raises(ValueError, match="fraction"):
        select_readout_neurons(net, 0.0)


def _memory_task(seed=0, n_seq=24, steps=60):
    """Target: which of two input channels fired more over the last ~20 ms (learnable)."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.05, 0.5, size=(n_seq, steps, 2))
    x = rng.random((n_seq, steps, 2)) < rates
    filt = spike_traces(x.transpose(1, 0, 2), 1e-3, 10e-3).transpose(1, 0, 2)
    y = (filt[..., :1] - filt[..., 1:]) / 3.0
    y[:, :10] = np.nan  # washout
    return x, y


def test_bp_loss_goes_down_and_respects_masks_and_dale():
    net = models.hrsnn(60, 0.15, seed=2, n_inputs=2, gain=1.0, input_scale=0.8)
    rng = np.random.default_rng(3)
    net = net.copy(synapse_active=rng.random(net.weights.nnz) > 0.3,
                   neuron_active=np.arange(net.n_total_neurons) != 5)
    x, y = _memory_task()
    bp = SurrogateGradientBP(epochs=12, batch_size=8, learning_rate=1e-2, seed=0,
                             progress=False, patience=12)
    bp.fit(net, x, y)
    first, best = bp.history_[0]["val_loss"], min(h["val_loss"] for h in bp.history_)
    # Initial val loss is that of an untrained readout (about var(y) + readout noise); a
    # trained readout must at least halve it on this learnable task.
    assert best < 0.5 * first
    assert best < 0.5 * np.nanvar(y)
    trained = bp.network_
    # pruned synapses untouched, masks unchanged, Dale signs kept
    inactive = ~net.synapse_and_mask()
    np.testing.assert_array_equal(trained.weights.data[inactive], net.weights.data[inactive])
    np.testing.assert_array_equal(trained.synapse_active, net.synapse_active)
    np.testing.assert_array_equal(trained.neuron_active, net.neuron_active)
    pre, _ = trained.synapse_pre_post()
    exc = net.excitatory[pre]
    assert np.all(trained.weights.data[exc] >= 0) and np.all(trained.weights.data[~exc] <= 0)
    assert not np.array_equal(trained.weights.data, net.weights.data)  # recurrent trained
    assert 5 not in bp.readout_neurons_


def test_bp_classification_learns_two_patterns():
    rng = np.random.default_rng(0)
    steps = 40
    x, labels = _two_pattern_task(rng, 40, steps)
    net = models.hrsnn(50, 0.1, seed=1, n_inputs=2, input_scale=0.8)
    bp = SurrogateGradientBP("classification", epochs=15, batch_size=10, learning_rate=2e-2,
                             seed=0, progress=False, patience=15).fit(net, x, labels)
    x_test, lab = _two_pattern_task(rng, 40, steps)
    assert bp.score(x_test, lab) >= 0.9


def test_bp_is_deterministic():
    net = models.hrsnn(40, 0.15, seed=2, n_inputs=2, input_scale=0.8)
    x, y = _memory_task(n_seq=10, steps=40)
    runs = [SurrogateGradientBP(epochs=3, batch_size=4, seed=7, progress=False).fit(net, x, y)
            for _ in range(2)]
    assert runs[0].history_ == runs[1].history_
    np.testing.assert_array_equal(runs[0].network_.weights.data, runs[1].network_.weights.data)
    np.testing.assert_array_equal(runs[0].predict(x), runs[1].predict(x))


def test_bp_parameter_validation():
    with pytest.raises(ValueError, match="task"):
        SurrogateGradientBP("ranking")
    with pytest.raises(ValueError, match="epochs"):
        SurrogateGradientBP(epochs=0)
    net = models.hrsnn(20, 0.2, seed=0, n_inputs=2)
    with pytest.raises(ValueError, match="X must have shape"):
        SurrogateGradientBP(progress=False).fit(net, np.zeros((3, 10, 5)), np.zeros((3, 10, 1)))


# ---------------------------------------------------------------------- STDP
def test_pair_stdp_two_neurons_analytic():
    dt, tau_p, tau_m, a_p, a_m = 1e-3, 20e-3, 15e-3, 0.01, 0.012
    s = np.zeros((40, 2), bool)
    s[10, 0] = True   # pre (neuron 0) at 10
    s[15, 1] = True   # post (neuron 1) at 15
    pre, post = np.array([0, 1]), np.array([1, 0])  # synapses 0->1 and 1->0
    dw = pair_stdp_update(s, pre, post, dt, a_plus=a_p, a_minus=a_m, tau_plus=tau_p,
                          tau_minus=tau_m)
    # 0->1: pre before post by 5 ms -> potentiation; 1->0: post before pre -> depression
    np.testing.assert_allclose(dw, [a_p * np.exp(-5e-3 / tau_p), -a_m * np.exp(-5e-3 / tau_m)])
    # simultaneous spikes form no pair
    s2 = np.zeros((5, 2), bool)
    s2[2] = True
    np.testing.assert_array_equal(pair_stdp_update(s2, pre, post, dt), [0.0, 0.0])


def test_pair_stdp_equals_all_pairs_brute_force():
    rng = np.random.default_rng(0)
    s = rng.random((60, 7)) < 0.2
    pre, post = np.nonzero(rng.random((7, 7)) < 0.5)
    dt, tp, tm, ap, am = 1e-3, 10e-3, 25e-3, 0.02, 0.01
    got = pair_stdp_update(s, pre, post, dt, a_plus=ap, a_minus=am, tau_plus=tp,
                           tau_minus=tm, block_size=3)
    want = np.zeros(pre.size)
    for e, (j, i) in enumerate(zip(pre, post)):
        for tj in np.flatnonzero(s[:, j]):
            for ti in np.flatnonzero(s[:, i]):
                delta = (ti - tj) * dt
                if delta > 0:
                    want[e] += ap * np.exp(-delta / tp)
                elif delta < 0:
                    want[e] -= am * np.exp(delta / tm)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def _two_neuron_net(w=0.05):
    # neuron 0 fires whenever input 0 spikes, neuron 1 whenever input 1 spikes (du = 1)
    weights = sp.csr_matrix(np.array([[0.0, w], [w, 0.0]]))
    return SpikingNetwork(weights=weights, input_weights=np.eye(2) * 2.0, tau_mem=0.01,
                          tau_syn=1e-3, v_threshold=1.0, bias=0.0, dt=1e-3,
                          excitatory=np.array([True, True]))


def test_pair_stdp_fit_on_network_potentiates_causal_synapse():
    net = _two_neuron_net()
    x = np.zeros((60, 2), bool)
    x[[10, 30], 0] = True   # neuron 0 fires at 11 and 31 (input arrives one step later)
    x[[13, 33], 1] = True   # neuron 1 fires 3 ms after neuron 0
    raster = TorchSNN(net, dtype=torch.float64)(x).numpy().astype(bool)
    np.testing.assert_array_equal(raster[1:], x[:-1])  # the intended spike times
    rule = PairSTDP(a_plus=0.01, a_minus=0.01, tau_plus=20e-3, tau_minus=20e-3,
                    w_max_factor=2.0, progress=False)
    out = rule.fit(net, x).network_
    w_max = 2.0 * 0.05
    # expected: all pairs (10->13, 10->33, 30->13 (post first), 30->33) for 0->1
    k = lambda d: np.exp(-d * 1e-3 / 20e-3)
    dw_01 = 0.01 * (k(3) + k(23) + k(3)) - 0.01 * k(17)
    dw_10 = -0.01 * (k(3) + k(3) + k(23)) + 0.01 * k(17)
    w = out.weights.toarray()
    np.testing.assert_allclose(w[1, 0], 0.05 + w_max * dw_01)
    np.testing.assert_allclose(w[0, 1], 0.05 + w_max * dw_10)
    assert w[1, 0] > 0.05 > w[0, 1] > 0


def test_stdp_keeps_sign_clips_and_respects_masks():
    net = models.hrsnn(60, 0.2, seed=4, n_inputs=2, gain=2.0, input_scale=0.8)
    rng = np.random.default_rng(1)
    net = net.copy(synapse_active=rng.random(net.weights.nnz) > 0.3)
    x = rng.random((3, 150, 2)) < 0.3
    rule = PairSTDP(a_plus=0.5, a_minus=0.5, epochs=2, progress=False)  # big: hits clips
    out = rule.fit(net, x).network_
    pre, _ = net.synapse_pre_post()
    exc = net.excitatory[pre]
    w0, w1 = net.weights.data, out.weights.data
    assert np.all(w1[exc] >= 0) and np.all(w1[~exc] <= 0)
    for m in (exc, ~exc):
        assert np.abs(w1[m]).max() <= 2.0 * np.abs(w0[m & net.synapse_and_mask()]).max() + 1e-12
    inactive = ~net.synapse_and_mask()
    np.testing.assert_array_equal(w1[inactive], w0[inactive])
    assert not np.array_equal(w1, w0)
    # same input, same result
    again = PairSTDP(a_plus=0.5, a_minus=0.5, epochs=2, progress=False).fit(net, x).network_
    np.testing.assert_array_equal(again.weights.data, w1)


def _two_pattern_task(rng, n_seq, steps):
    labels = rng.integers(0, 2, n_seq)
    rates = np.where(labels[:, None] == 0, [0.4, 0.05], [0.05, 0.4])
    return rng.random((n_seq, steps, 2)) < rates[:, None, :], labels


def test_stdp_trainer_then_readout_learns():
    rng = np.random.default_rng(5)
    x, labels = _two_pattern_task(rng, 40, 40)
    net = models.hrsnn(60, 0.15, seed=2, n_inputs=2, input_scale=0.8)
    tr = STDPTrainer("classification", stdp_kwargs={"epochs": 2},
                     readout_kwargs={"epochs": 30, "batch_size": 10, "learning_rate": 2e-2,
                                     "patience": 30}, seed=0, progress=False)
    tr.fit(net, x, labels)
    val = [h["val_loss"] for h in tr.history_["readout"]]
    assert min(val) < 0.5 * np.log(2)  # cross-entropy well below chance level (ln 2)
    assert not np.array_equal(tr.network_.weights.data, net.weights.data)  # STDP acted
    x_test, lab = _two_pattern_task(rng, 40, 40)
    assert tr.score(x_test, lab) >= 0.9
    with pytest.raises(ValueError, match="train_recurrent"):
        STDPTrainer(readout_kwargs={"train_recurrent": True})


def test_to_network_round_trip_and_readout_pretraining_phases():
    net = models.hrsnn(40, 0.15, seed=2, n_inputs=2, input_scale=0.8)
    net = net.copy(neuron_active=np.arange(net.n_total_neurons) != 3)
    back = TorchSNN(net, dtype=torch.float64, train_recurrent=True, train_input=True).to_network()
    np.testing.assert_array_equal(back.weights.data, net.weights.data)
    np.testing.assert_array_equal(back.input_weights.toarray(), net.input_weights.toarray())
    x, y = _memory_task(n_seq=10, steps=40)
    bp = SurrogateGradientBP(epochs=2, pretrain_readout_epochs=3, batch_size=4, seed=1,
                             progress=False, patience=5).fit(net, x, y)
    phases = [h["phase"] for h in bp.history_]
    assert phases == ["readout"] * 3 + ["all"] * 2
    assert bp.best_score_ == min(h["val_loss"] for h in bp.history_)
