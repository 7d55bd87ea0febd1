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

from dataclasses import dataclass

import numpy as np

from ..model.network import SpikingNetwork, canonical_csr

__all__ = ["BetweennessPruneInfo", "betweenness_centrality", "network_betweenness",
           "betweenness_prune", "lowest_quantile"]


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


def network_betweenness(net: SpikingNetwork, exact: bool | None = None,
                        n_pivots: int | None = None, seed=None) -> np.ndarray:
    """Betweenness centrality of every neuron of ``net`` on the graph of active synapses
    between active neurons (:func:`betweenness_centrality` of that subgraph), over the full
    index: an array (N,), NaN for inactive neurons."""
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    active = np.flatnonzero(net.neuron_active)
    full = np.full(net.n_total_neurons, np.nan)
    if active.size:
        full[active] = betweenness_centrality(net.effective_weights()[active][:, active],
                                              exact=exact, n_pivots=n_pivots, seed=seed)
    return full


def lowest_quantile(values: np.ndarray, quantile: float) -> np.ndarray:
    """Indices of the ``round(quantile * len(values))`` smallest values (ties: lower index first)."""
    q = float(quantile)
    if not (0 <= q < 1):
        raise ValueError(f"quantile must be in [0, 1), got {quantile}")
    values = np.asarray(values, dtype=np.float64)
    n_remove = int(round(q * values.size))
    return np.argsort(values, kind="stable")[:n_remove]


@dataclass(frozen=True, eq=False)
class BetweennessPruneInfo:
    """What one node-pruning step (:func:`betweenness_prune`) did.

    Attributes
    ----------
    centrality : array (N,)
        Betweenness of every neuron of the full index on the graph of active synapses
        between the neurons active before the step; NaN for neurons already inactive.
    removed : int array (n_removed,)
        Indices of the neurons the step masked, lowest centrality first (ties: lower index
        first).
    """

    centrality: np.ndarray
    removed: np.ndarray

    def __post_init__(self) -> None:
        bc = np.asarray(self.centrality)
        if bc.ndim != 1:
            raise ValueError(f"BetweennessPruneInfo.centrality must be 1-D (one value per "
                             f"neuron), got shape {bc.shape}")
        removed = np.asarray(self.removed)
        if removed.ndim != 1 or (removed.size and removed.dtype.kind not in "iu"):
            raise ValueError(f"BetweennessPruneInfo.removed must be a 1-D integer array, got "
                             f"shape {removed.shape} and dtype {removed.dtype}")
        if removed.size and (removed.min() < 0 or removed.max() >= bc.size):
            raise ValueError(f"BetweennessPruneInfo.removed must hold neuron indices in "
                             f"[0, {bc.size}), got {removed.min()}..{removed.max()}")
        # A removed neuron was active before the step, so it has a centrality.
        if removed.size and not np.all(np.isfinite(bc[removed])):
            raise ValueError("BetweennessPruneInfo.removed holds a neuron without a "
                             "centrality (NaN: inactive before the step)")

    @property
    def n_removed(self) -> int:
        """Number of neurons the step masked."""
        return int(self.removed.size)


def betweenness_prune(net: SpikingNetwork, quantile: float, exact: bool | None = None,
                      n_pivots: int | None = None, seed=None, *, min_neurons: int = 2
                      ) -> tuple[SpikingNetwork, BetweennessPruneInfo]:
    """Mask (``neuron_active = False``) the active neurons of lowest betweenness.

    The ``round(quantile * n_active)`` active neurons with the smallest betweenness on the
    graph of active synapses between active neurons are pruned (never fewer than
    ``min_neurons`` remain). Indices stay stable: the neurons are masked, not deleted, and
    their synapses stay stored but inactive under the AND mask.

    Returns the new network and a :class:`BetweennessPruneInfo` (the centrality and the
    masked neurons).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if isinstance(min_neurons, bool) or not isinstance(min_neurons, (int, np.integer)) or min_neurons < 1:
        raise ValueError(f"min_neurons must be a positive integer, got {min_neurons!r}")
    active = np.flatnonzero(net.neuron_active)
    centrality = network_betweenness(net, exact=exact, n_pivots=n_pivots, seed=seed)
    remove = lowest_quantile(centrality[active], quantile)
    max_remove = max(0, active.size - int(min_neurons))
    removed = active[remove[:max_remove]]
    mask = net.neuron_active.copy()
    mask[removed] = False
    return (net.copy(neuron_active=mask),
            BetweennessPruneInfo(centrality=centrality, removed=removed))
