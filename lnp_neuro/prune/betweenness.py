"""LNP step II: node pruning by betweenness centrality (Chakraborty et al., ICLR 2024,
Sec. 3.1 "Step II", Suppl. E Algorithm 3).

Betweenness of neuron v (Freeman 1977; computed with Brandes' algorithm, 2001)::

    BC(v) = sum_{s != v != t} sigma_st(v) / sigma_st

with ``sigma_st`` the number of shortest paths from s to t and ``sigma_st(v)`` those
passing through v. Graph choice (the paper's text gives no formula; this is the documented
interpretation): the *synapse graph*, **directed** (pre -> post, the direction information
flows) and **unweighted** (a path's length is its hop count). Weighting hops by ``1/|w|``
was rejected: noise pruning rescales kept weights by ``1/p`` every iteration, so such
lengths would mostly reflect sampling noise rather than the wiring. Values are normalised
like ``networkx.betweenness_centrality`` (divided by ``(n-1)(n-2)`` for a directed graph).

Computation: exact Brandes via python-igraph (C) when ``exact`` (default when
``N * E <= exact_budget``). The fast path for large N is pivot sampling (Brandes & Pich
2007): the dependencies of ``k`` uniformly drawn sources s are summed and scaled by
``n / k``, an unbiased estimate of BC whose ranking approaches the exact one as k grows.
"""

from __future__ import annotations

import numpy as np

from ..network import SpikingNetwork, canonical_csr

__all__ = ["betweenness_centrality", "betweenness_prune", "lowest_quantile"]


def _graph(weights):
    import igraph

    w = canonical_csr(weights, "weights")
    n = w.shape[0]
    if w.shape[1] != n:
        raise ValueError(f"weights must be square (N, N), got shape {w.shape}")
    pre = w.indices.astype(np.int64)
    post = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
    off = pre != post           # a self-loop never lies on a shortest path
    edges = np.column_stack([pre[off], post[off]])
    # A list of tuples converts faster than an (E, 2) array in igraph 1.0.
    return igraph.Graph(n=n, edges=list(zip(edges[:, 0].tolist(), edges[:, 1].tolist())),
                        directed=True), n, int(off.sum())


def betweenness_centrality(weights, exact: bool | None = None, n_pivots: int | None = None,
                           seed=None, *, normalized: bool = True,
                           exact_budget: float = 2e9) -> np.ndarray:
    """Betweenness centrality of every neuron of the directed, unweighted synapse graph.

    Parameters
    ----------
    weights : sparse (N, N) ``W[post, pre]``; every stored entry is an edge pre -> post.
    exact : True for Brandes' exact algorithm; False for pivot sampling; None chooses
        exact when ``N * E <= exact_budget``.
    n_pivots : number of sampled sources for the estimate (default ``min(N, 256)``).
    seed : int, Generator or None, draws the pivots.
    normalized : divide by ``(N-1)(N-2)`` as networkx does for directed graphs.

    Returns an array (N,).
    """
    graph, n, n_edges = _graph(weights)
    if exact is None:
        exact = n * float(n_edges) <= exact_budget
    if not exact:
        if n_pivots is None:
            n_pivots = min(n, 256)
        if isinstance(n_pivots, bool) or not isinstance(n_pivots, (int, np.integer)) or n_pivots < 1:
            raise ValueError(f"n_pivots must be a positive integer, got {n_pivots!r}")
        n_pivots = int(n_pivots)
    if exact or n_pivots >= n:
        bc = np.asarray(graph.betweenness(directed=True), dtype=np.float64)
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        pivots = np.sort(rng.choice(n, size=n_pivots, replace=False))
        bc = np.asarray(graph.betweenness(directed=True, sources=pivots.tolist()),
                        dtype=np.float64) * (n / n_pivots)
    if normalized and n > 2:
        bc /= (n - 1) * (n - 2)
    return bc


def lowest_quantile(values: np.ndarray, quantile: float) -> np.ndarray:
    """Indices of the ``round(quantile * len(values))`` smallest values (ties: lower index first)."""
    q = float(quantile)
    if not (0 <= q < 1):
        raise ValueError(f"quantile must be in [0, 1), got {quantile}")
    values = np.asarray(values, dtype=np.float64)
    n_remove = int(round(q * values.size))
    return np.argsort(values, kind="stable")[:n_remove]


def betweenness_prune(net: SpikingNetwork, quantile: float, exact: bool | None = None,
                      n_pivots: int | None = None, seed=None, *, min_neurons: int = 2,
                      return_centrality: bool = False):
    """Mask (``neuron_active = False``) the active neurons of lowest betweenness.

    The ``round(quantile * n_active)`` active neurons with the smallest betweenness on the
    graph of active synapses between active neurons are pruned (never fewer than
    ``min_neurons`` remain). Indices stay stable: the neurons are masked, not deleted, and
    their synapses stay stored but inactive under the AND mask.

    Returns the new network (and the centrality of the full index, NaN for neurons that
    were already inactive, when ``return_centrality``).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if isinstance(min_neurons, bool) or not isinstance(min_neurons, (int, np.integer)) or min_neurons < 1:
        raise ValueError(f"min_neurons must be a positive integer, got {min_neurons!r}")
    active = np.flatnonzero(net.neuron_active)
    sub = net.effective_weights()[active][:, active]
    bc_active = betweenness_centrality(sub, exact=exact, n_pivots=n_pivots, seed=seed)
    remove = lowest_quantile(bc_active, quantile)
    max_remove = max(0, active.size - int(min_neurons))
    remove = remove[:max_remove]
    mask = net.neuron_active.copy()
    mask[active[remove]] = False
    out = net.copy(neuron_active=mask)
    if return_centrality:
        full = np.full(net.size, np.nan)
        full[active] = bc_active
        return out, full
    return out
