"""LNP step II: betweenness centrality (exact vs networkx, pivot ranking) and node pruning."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import spearmanr

from lnp_neuro.model.build import chrsnn, hrsnn
from lnp_neuro.prune.betweenness import (BetweennessPruneInfo, betweenness_centrality,
                                         betweenness_prune, network_betweenness)


def to_digraph(w):
    g = nx.DiGraph()
    g.add_nodes_from(range(w.shape[0]))
    post, pre = w.nonzero()
    g.add_edges_from(zip(pre.tolist(), post.tolist()))   # W[post, pre]: edge pre -> post
    return g


@pytest.mark.parametrize("make", [
    lambda: hrsnn(120, 0.05, seed=1).weights,
    lambda: chrsnn(120, 3, seed=2, intra_density=0.1, inter_density=0.01).weights,
    lambda: sp.csr_matrix(nx.to_scipy_sparse_array(nx.gnp_random_graph(80, 0.04, seed=3, directed=True)).T),
])
def test_exact_equals_networkx(make):
    w = make()
    ref = nx.betweenness_centrality(to_digraph(w))
    ref = np.array([ref[i] for i in range(w.shape[0])])
    got = betweenness_centrality(w, exact=True)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-15)


def test_known_values_directed_path_and_star():
    # Directed path 0 -> 1 -> 2 -> 3: BC(1) = pairs (0,2),(0,3) = 2, BC(2) = 2, normalised by 3*2.
    path = sp.csr_matrix(([1.0] * 3, ([1, 2, 3], [0, 1, 2])), shape=(4, 4))
    np.testing.assert_allclose(betweenness_centrality(path, exact=True), [0, 2 / 6, 2 / 6, 0])
    np.testing.assert_allclose(betweenness_centrality(path, exact=True, normalized=False), [0, 2, 2, 0])


def test_pivot_ranking_agrees_with_exact():
    """Brandes-Pich pivot sampling with half of the nodes as pivots. Measured on these
    graphs: Spearman 0.77 (ER p=0.1, homogeneous BC), 0.90 (clustered), 0.94 (ER p=0.02).
    Tolerances below are ~0.1 under the measured values; the low-BC set (what node pruning
    removes) must overlap by more than half."""
    for net, rho_min in ((hrsnn(400, 0.02, seed=2), 0.85), (chrsnn(400, 4, seed=1), 0.8),
                         (hrsnn(400, 0.1, seed=1), 0.65)):
        ref = betweenness_centrality(net.weights, exact=True)
        est = betweenness_centrality(net.weights, exact=False, n_pivots=200, seed=0)
        assert spearmanr(est, ref).correlation > rho_min
        low = set(np.argsort(ref)[:80]) & set(np.argsort(est)[:80])
        assert len(low) / 80 > 0.5
        # Unbiased: the total matches within a few percent.
        assert est.sum() == pytest.approx(ref.sum(), rel=0.05)
    a = betweenness_centrality(net.weights, exact=False, n_pivots=50, seed=7)
    b = betweenness_centrality(net.weights, exact=False, n_pivots=50, seed=7)
    np.testing.assert_array_equal(a, b)


def test_betweenness_prune_masks_lowest_neurons():
    net = hrsnn(100, 0.05, seed=4)
    out, info = betweenness_prune(net, 0.2)
    bc = info.centrality
    assert out.n_active_neurons == 80 and net.n_active_neurons == 100
    removed = np.flatnonzero(~out.neuron_active)
    assert bc[removed].max() <= np.delete(bc, removed).min()
    assert out.weights.nnz == net.weights.nnz          # masked, not deleted
    assert out.n_active_synapses < net.n_active_synapses
    # A second round only ranks the still-active neurons.
    out2, info2 = betweenness_prune(out, 0.5)
    assert out2.n_active_neurons == 40
    assert np.all(np.isnan(info2.centrality[removed]))
    assert not np.any(out2.neuron_active[removed])


def test_betweenness_prune_info_removed_are_the_newly_inactive_neurons():
    net = hrsnn(80, 0.06, seed=1)
    mask = net.neuron_active.copy()
    mask[:5] = False
    net = net.copy(neuron_active=mask)
    out, info = betweenness_prune(net, 0.25, seed=0)
    newly_inactive = np.flatnonzero(net.neuron_active & ~out.neuron_active)
    np.testing.assert_array_equal(np.sort(info.removed), newly_inactive)
    assert info.n_removed == net.n_active_neurons - out.n_active_neurons == round(0.25 * 75)
    # Lowest centrality first, and the centrality is that of the active subnetwork.
    assert np.all(np.diff(info.centrality[info.removed]) >= 0)
    np.testing.assert_array_equal(info.centrality, network_betweenness(net))
    active = np.flatnonzero(net.neuron_active)
    np.testing.assert_array_equal(
        info.centrality[active],
        betweenness_centrality(net.effective_weights()[active][:, active]))
    # min_neurons caps the step.
    capped, capped_info = betweenness_prune(net, 0.5, min_neurons=70)
    assert capped.n_active_neurons == 70 and capped_info.n_removed == 5


def test_betweenness_prune_info_rejects_inconsistent_fields():
    bc = np.array([0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="BetweennessPruneInfo.removed must hold neuron indices"):
        BetweennessPruneInfo(centrality=bc, removed=np.array([3]))
    with pytest.raises(ValueError, match="BetweennessPruneInfo.removed must be a 1-D integer"):
        BetweennessPruneInfo(centrality=bc, removed=np.array([0.0]))
    with pytest.raises(ValueError, match="BetweennessPruneInfo.removed holds a neuron without"):
        BetweennessPruneInfo(centrality=bc, removed=np.array([1]))
    with pytest.raises(ValueError, match="BetweennessPruneInfo.centrality must be 1-D"):
        BetweennessPruneInfo(centrality=bc[None, :], removed=np.array([0]))


def test_validation():
    net = hrsnn(20, 0.2, seed=0)
    with pytest.raises(ValueError, match="quantile"):
        betweenness_prune(net, 1.5)
    with pytest.raises(ValueError, match="n_pivots"):
        betweenness_centrality(net.weights, exact=False, n_pivots=0)
    with pytest.raises(ValueError, match="net"):
        betweenness_prune(net.weights, 0.1)
