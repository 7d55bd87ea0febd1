"""Readout neurons by betweenness, spike traces, ridge and MLP readouts."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro import models
from lnp_neuro.model.network import SpikingNetwork
from lnp_neuro.prune.betweenness import network_betweenness
from lnp_neuro.tasks import (MLPReadout, RidgeReadout, accuracy, exponential_trace,
                             load_digits_dataset, nrmse, pool_samples, readout_features,
                             select_readout_neurons)


def _net(weights: sp.csr_matrix) -> SpikingNetwork:
    n = weights.shape[0]
    return SpikingNetwork(weights=weights, input_weights=sp.csr_matrix((n, 1)),
                          tau_mem=np.full(n, 0.02), tau_syn=np.full(n, 0.005),
                          v_threshold=np.ones(n), bias=np.zeros(n))


def _bowtie(n_side=5):
    """Two directed rings joined through neuron 0 (every cross path passes through it)."""
    n = 2 * n_side + 1
    pre, post = [], []
    for ring in (range(1, n_side + 1), range(n_side + 1, n)):
        ring = list(ring) + [0]
        for a, b in zip(ring, ring[1:] + ring[:1]):
            pre.append(a)
            post.append(b)
    return sp.csr_matrix((np.ones(len(pre)), (post, pre)), shape=(n, n))


# ------------------------------------------------------------------ neuron choice
def test_hub_has_highest_betweenness_and_is_selected():
    net = _net(_bowtie())
    chosen = select_readout_neurons(net, fraction=0.05)
    bc = network_betweenness(net)
    assert chosen.tolist() == [0]
    assert bc[0] == bc.max() and np.all(bc[1:] < bc[0])
    # Pruning the hub removes it from the candidates.
    mask = np.ones(net.n_total_neurons, bool)
    mask[0] = False
    pruned = net.copy(neuron_active=mask)
    chosen = select_readout_neurons(pruned, fraction=0.05)
    assert 0 not in chosen and np.isnan(network_betweenness(pruned)[0])


def test_selects_top_ten_percent_of_active_neurons():
    net = models.hrsnn(120, density=0.1, seed=2)
    chosen = select_readout_neurons(net)
    bc = network_betweenness(net)
    assert chosen.size == 12 and np.all(np.diff(chosen) > 0)
    threshold = np.sort(bc)[::-1][11]
    assert np.all(bc[chosen] >= threshold)
    mask = net.neuron_active.copy()
    mask[::3] = False
    chosen = select_readout_neurons(net.copy(neuron_active=mask))
    assert chosen.size == math.ceil(0.1 * mask.sum()) and np.all(mask[chosen])


def test_choice_matches_networkx_exact_betweenness():
    """Independent reference: networkx's Brandes betweenness on the directed, unweighted
    graph of active synapses between active neurons."""
    import networkx as nx

    net = models.hrsnn(150, density=0.08, seed=4)
    mask = net.neuron_active.copy()
    mask[::7] = False
    net = net.copy(neuron_active=mask)
    active = np.flatnonzero(mask)
    w = net.effective_weights().tocoo()
    graph = nx.DiGraph()
    graph.add_nodes_from(active.tolist())
    graph.add_edges_from((int(a), int(b)) for a, b in zip(w.col, w.row) if a != b)
    bc = nx.betweenness_centrality(graph)
    n_select = math.ceil(0.1 * active.size)
    ranked = sorted(active.tolist(), key=lambda i: (-bc[i], i))
    chosen = select_readout_neurons(net, exact=True)
    ours = network_betweenness(net, exact=True)
    np.testing.assert_array_equal(chosen, np.sort(ranked[:n_select]))
    np.testing.assert_allclose(ours[active], [bc[i] for i in active], rtol=1e-9, atol=1e-15)


def test_selection_validation():
    net = _net(_bowtie())
    with pytest.raises(ValueError, match="fraction"):
        select_readout_neurons(net, fraction=0.0)
    with pytest.raises(ValueError, match="SpikingNetwork"):
        select_readout_neurons(np.eye(3))
    with pytest.raises(ValueError, match="no active neuron"):
        select_readout_neurons(net.copy(neuron_active=np.zeros(net.n_total_neurons, bool)))


# ----------------------------------------------------------------------- features
def test_exponential_trace_impulse_response():
    s = np.zeros((50, 2))
    s[5, 0] = 1
    s[10, 1] = 2
    r = exponential_trace(s, tau=0.02, dt=0.001)
    decay = math.exp(-0.001 / 0.02)
    np.testing.assert_allclose(r[5:, 0], decay ** np.arange(45), rtol=1e-12)
    assert np.all(r[:5] == 0) and np.all(r[:10, 1] == 0)
    np.testing.assert_allclose(r[10:, 1], 2 * decay ** np.arange(40), rtol=1e-12)
    r0 = exponential_trace(np.zeros((3, 2)), 0.02, 0.001, initial=[1.0, 4.0])
    np.testing.assert_allclose(r0, np.outer(decay ** np.arange(1, 4), [1.0, 4.0]))
    # The recursion by hand.
    rng = np.random.default_rng(0)
    spikes = rng.random((200, 3)) < 0.2
    expected = np.zeros((200, 3))
    acc = np.zeros(3)
    for t in range(200):
        acc = acc * decay + spikes[t]
        expected[t] = acc
    np.testing.assert_allclose(readout_features(spikes, [0, 1, 2]), expected, rtol=1e-12)
    np.testing.assert_allclose(readout_features(spikes, [2]), expected[:, [2]], rtol=1e-12)
    with pytest.raises(ValueError, match="neurons"):
        readout_features(spikes, [3])


def test_pool_samples():
    f = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(pool_samples(f, 3, "last"), [[4, 5], [10, 11]])
    np.testing.assert_array_equal(pool_samples(f, 3, "mean"), [[2, 3], [8, 9]])
    with pytest.raises(ValueError, match="multiple"):
        pool_samples(f, 4)


# ------------------------------------------------------------------------ readouts
def test_ridge_recovers_linear_map_and_matches_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) * [1, 2, 3, 4, 5] + 7
    w = rng.normal(size=(5, 2))
    y = x @ w + [1.0, -3.0]
    model = RidgeReadout(alpha=0.0).fit(x, y)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-9)
    # With a penalty: the closed form (Z^T Z + alpha I)^-1 Z^T (y - mean y) on
    # standardised Z, checked against scikit-learn's Ridge on the same Z.
    from sklearn.linear_model import Ridge

    z = (x - x.mean(0)) / x.std(0)
    noisy = y + rng.normal(size=y.shape)
    ours = RidgeReadout(alpha=30.0).fit(x, noisy)
    ref = Ridge(alpha=30.0).fit(z, noisy)
    np.testing.assert_allclose(ours.coef_, ref.coef_.T, rtol=1e-10)
    np.testing.assert_allclose(ours.predict(x), ref.predict(z), rtol=1e-10)
    # Silent (constant) features are harmless.
    ones = np.column_stack([x, np.zeros(200)])
    np.testing.assert_allclose(RidgeReadout(alpha=0.0).fit(ones, y).predict(ones), y,
                               atol=1e-9)


def test_ridge_classifier_on_digits():
    d = load_digits_dataset()
    model = RidgeReadout(alpha=1.0, task="classification").fit(d.intensities("train"),
                                                               d.train_labels)
    assert accuracy(model.predict(d.intensities("test")), d.test_labels) > 0.9


def _numeric_gradient(model, params, z, target, key, idx, h=1e-6):
    plus = {k: v.copy() for k, v in params.items()}
    minus = {k: v.copy() for k, v in params.items()}
    plus[key][idx] += h
    minus[key][idx] -= h
    return (model._loss_and_gradients(plus, z, target)[0]
            - model._loss_and_gradients(minus, z, target)[0]) / (2 * h)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_mlp_gradients_match_finite_differences(task):
    rng = np.random.default_rng(3)
    model = MLPReadout(n_hidden=4, task=task, weight_decay=0.1)
    params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
    z = rng.normal(size=(7, 3))
    target = rng.normal(size=(7, 2)) if task == "regression" else rng.integers(0, 2, 7)
    _, grads = model._loss_and_gradients(params, z, target)
    for key, value in params.items():
        for idx in np.ndindex(value.shape):
            num = _numeric_gradient(model, params, z, target, key, idx)
            assert grads[key][idx] == pytest.approx(num, rel=1e-5, abs=1e-8)


def test_mlp_learns_nonlinear_maps_a_linear_readout_cannot():
    # XOR: no linear readout separates it; 20 tanh units do.
    x = np.tile([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], (25, 1))
    labels = np.array([0, 1, 1, 0] * 25)
    mlp = MLPReadout(task="classification", n_epochs=300, seed=0).fit(x, labels)
    assert accuracy(mlp.predict(x), labels) == 1.0
    assert accuracy(RidgeReadout(task="classification").fit(x, labels).predict(x), labels) <= 0.75
    proba = mlp.predict_proba(x[:4])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Regression of y = sin(3 x): NRMSE well below the linear fit's.
    t = np.linspace(-1, 1, 200)[:, None]
    y = np.sin(3 * t)
    mlp = MLPReadout(n_epochs=300, seed=0).fit(t, y)
    lin = RidgeReadout(alpha=0.0).fit(t, y)
    assert nrmse(mlp.predict(t), y, y.std()) < 0.1 < nrmse(lin.predict(t), y, y.std())
    assert mlp.loss_curve_[-1] < mlp.loss_curve_[0]


def test_mlp_is_seeded_and_classifies_digits():
    d = load_digits_dataset()
    x, xt = d.intensities("train"), d.intensities("test")
    a = MLPReadout(task="classification", n_epochs=60, seed=1).fit(x, d.train_labels)
    b = MLPReadout(task="classification", n_epochs=60, seed=1).fit(x, d.train_labels)
    np.testing.assert_array_equal(a.decision_function(xt), b.decision_function(xt))
    assert accuracy(a.predict(xt), d.test_labels) > 0.9
    assert a.params_["W1"].shape == (64, 20)          # 20 hidden units (paper)


def test_readout_validation():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="n_hidden"):
        MLPReadout(n_hidden=0).fit(x, np.zeros(4))
    with pytest.raises(ValueError, match="task"):
        RidgeReadout(task="ranking").fit(x, np.zeros(4))
    with pytest.raises(ValueError, match="alpha"):
        RidgeReadout(alpha=-1).fit(x, np.zeros(4))
    with pytest.raises(ValueError, match="two classes"):
        MLPReadout(task="classification").fit(x, np.zeros(4))
    with pytest.raises(ValueError, match="rows"):
        RidgeReadout().fit(x, np.zeros(3))
    with pytest.raises(RuntimeError, match="not fitted"):
        MLPReadout().predict(x)
    with pytest.raises(ValueError, match="features"):
        RidgeReadout().fit(x, np.arange(4.0)).predict(np.zeros((2, 3)))


def test_sampled_choice_is_reproducible():
    net = models.hrsnn(200, density=0.1, seed=5)
    a = select_readout_neurons(net, exact=False, n_pivots=20)
    b = select_readout_neurons(net, exact=False, n_pivots=20)
    np.testing.assert_array_equal(a, b)
    assert a.size == 20
