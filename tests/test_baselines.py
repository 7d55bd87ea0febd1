"""Baselines: activity pruning (Rust et al. 1997) and the Erdos-Renyi random network."""

import numpy as np
import pytest

from lnp_neuro.models import chrsnn, hrsnn
from lnp_neuro.prune.baselines import activity_prune, random_network_like


def test_activity_prune_removes_least_active_and_stops_at_90_percent():
    net = hrsnn(100, 0.1, seed=0)
    activity = np.arange(100, dtype=float)[::-1]          # neuron 99 is least active

    def retrain(model):
        # Performance proportional to the number of active neurons: 10 % loss after
        # pruning 10 neurons.
        return model.n_neurons / 100.0

    pruned, history = activity_prune(net, lambda m: activity, retrain, fraction=0.04, n_iter=50)
    # 100 -> 96 -> 92 -> 88 -> 85 ... neurons; ratio >= 0.9 holds down to 90 neurons.
    assert [h["neurons"] for h in history[:4]] == [100, 96, 92, 88]
    assert history[-1]["accepted"] is False and history[-1]["ratio"] < 0.9
    assert all(h["accepted"] for h in history[:-1])
    assert pruned.n_neurons == history[-2]["neurons"] >= 90
    # The least active neurons went first.
    removed = np.flatnonzero(~pruned.neuron_active)
    assert set(removed) == set(range(100 - removed.size, 100))
    assert pruned.metadata["activity_pruning"]["neurons"][0] == 100


def test_activity_prune_lower_is_better_and_n_iter_limit():
    net = hrsnn(50, 0.1, seed=1)
    calls = []

    def retrain(model):
        calls.append(model.n_neurons)
        return 1.0                                   # error metric, constant

    pruned, history = activity_prune(net, lambda m: np.random.default_rng(0).random(m.size),
                                     retrain, fraction=0.1, n_iter=3, higher_is_better=False)
    assert len(history) == 4 and [h["neurons"] for h in history] == [50, 45, 41, 37]  # round(4.5) = 4
    assert calls[0] == 50
    with pytest.raises(ValueError, match="fraction"):
        activity_prune(net, lambda m: np.zeros(m.size), retrain, fraction=0.0)
    with pytest.raises(ValueError, match="activity_fn"):
        activity_prune(net, lambda m: np.zeros(3), retrain, n_iter=1)


def test_random_network_like_matches_counts_and_is_erdos_renyi():
    net = hrsnn(300, 0.05, seed=2)
    mask = net.neuron_active.copy()
    mask[::7] = False
    pruned = net.copy(neuron_active=mask)
    rand = random_network_like(pruned, seed=3)
    assert rand.size == rand.n_neurons == pruned.n_neurons
    assert rand.n_synapses == pruned.n_synapses
    assert rand.weights.diagonal().nonzero()[0].size == 0
    # Dale's law kept: the sign of a weight is the presynaptic identity.
    pre, _ = rand.synapse_pre_post()
    assert np.all((rand.weights.data > 0) == rand.excitatory[pre])
    # G(n, m): in-degrees are ~ Binomial(n-1, m / (n (n-1))): mean m/n, variance close.
    indeg = np.diff(rand.weights.indptr)
    n, m = rand.size, rand.n_synapses
    p = m / (n * (n - 1))
    assert indeg.mean() == pytest.approx(m / n)
    assert indeg.var() == pytest.approx((n - 1) * p * (1 - p), rel=0.3)
    again = random_network_like(pruned, seed=3)
    np.testing.assert_array_equal(again.weights.indices, rand.weights.indices)
    np.testing.assert_array_equal(again.weights.data, rand.weights.data)
    other = random_network_like(chrsnn(100, 2, seed=0), seed=0)
    assert other.n_synapses == chrsnn(100, 2, seed=0).n_synapses
