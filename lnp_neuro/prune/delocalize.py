"""LNP step III: eigenvector delocalisation by adding synapses (design section 3, step III).

Paper: Chakraborty et al., "Sparse Spiking Neural Network: Exploiting Heterogeneity in
Timescales for Pruning Recurrent SNN", ICLR 2024 (arXiv 2403.03409), Sec. 3.1 "Step III:
Delocalizing Eigenvectors", Eq. (5). After pruning, M new edges are added, not already in
the edge set, chosen inside the neighbourhoods of the vertices, "to maximize the variance
of the degree distribution within local neighbourhoods". Eq. (5) itself was lost in text
extraction; this module fixes the following objective (design section 3, step III).

Objective (local degree variance)
---------------------------------
The synapse graph is read as a graph over the active neurons. For neuron ``u``:

- ``d_u``  : its total synaptic degree, in-degree + out-degree (stored synapses);
- ``N(u)`` : the neurons joined to ``u`` by a synapse in either direction; ``N[u] = N(u) + {u}``.

The local degree variance of neuron ``v`` is the variance of the degrees in its closed
neighbourhood, and the objective is its mean over the active neurons::

    sigma2_v = S2_v / n_v - (S1_v / n_v)**2,   n_v = |N[v]|,
               S1_v = sum_{u in N[v]} d_u,     S2_v = sum_{u in N[v]} d_u**2
    F = (1 / N_active) * sum_v sigma2_v                       (:func:`local_degree_variance`)

Candidates: a new synapse ``pre -> post`` with ``pre != post``, no stored synapse
``pre -> post`` yet, both neurons active, and ``post`` inside the 2-hop neighbourhood of
``pre`` (undirected distance 1 or 2: a reciprocal of an existing synapse, or a pair with a
common neighbour).

Gain of one candidate (exact)
-----------------------------
Adding ``a -> b`` raises ``d_a`` and ``d_b`` by one and, when ``a`` and ``b`` were not
neighbours, adds ``b`` to ``N[a]`` and ``a`` to ``N[b]``. With per-neuron sums
``P_a = sum_{v in N(a)} 1/n_v`` and ``Q_a = sum_{v in N(a)} (2 S1_v + 1)/n_v**2`` (two sparse
matrix-vector products), the exact change ``N_active * dF`` is::

    g(a) + g(b)                                   g(u) = (2 d_u + 1) P_u - Q_u
    - [b in N(a)] * (h(a, b) + h(b, a))           h(u, w) = (2 d_u + 1)/n_w - (2 S1_w + 1)/n_w**2
    - sum_{v in N(a) & N(b)} 2 / n_v**2           (neighbourhoods holding both a and b)
    + dsigma2_a + dsigma2_b                       (a's and b's own neighbourhoods, O(1) each)

``g(u)`` is the gain of raising ``d_u`` alone; it is positive when ``u`` has a higher degree
than the neighbourhoods it belongs to, so the objective favours degree heterogeneity
("rich get richer" inside a neighbourhood), as the paper's Eq. (5) asks.

Efficient greedy (batched, pooled)
----------------------------------
A fully greedy search re-scores all N^2 pairs after every edge. Instead, each round

1. recomputes the per-neuron statistics (a few sparse mat-vecs, O(synapses));
2. takes a *pool* of ``pool_size`` anchor neurons with the largest ``g(u)`` (the dominant,
   separable term of the gain), and scores every candidate partner of every anchor exactly
   with one product ``A[pool] diag(2/n^2) A`` (sparse-sparse, or sparse-dense when the
   graph is dense), whose pattern is also the 2-hop reachability of the anchors; if the
   pool yields fewer candidates than the round needs,
   the next ``pool_size`` neurons by ``g`` are added;
3. adds the ``batch_size`` best distinct pairs (ties broken by a seeded random key).

Within a round the gains are those of the state at the start of the round, and the
candidates are the 2-hop pairs of that state. With ``batch_size=1`` and ``pool_size=None``
(all neurons) it is the exact one-edge-at-a-time greedy. The price of batching: on a
sparse network the exact greedy extends its reach through the edges it has just added
(and may grow one hub), which a round cannot do, since it cannot see the 2-hop pairs
created inside it; so few large rounds lower the mean IPR less than the exact greedy
(docs/results.md, "lnp_neuro.prune.delocalize"). In a dense network 2-hop neighbourhoods
already cover almost every pair and the effect vanishes. Hence the default schedule: as
many rounds as ``ROUND_WORK / (2 * synapses)`` allows (one edge per round on small or
sparse networks; exact with ``pool_size=None``), at least ``MIN_ROUNDS = 8`` on
paper-scale ones, where ``pool_size=64`` keeps the step to seconds of CPU
(``benchmarks/bench_delocalize.py``).

Why adding edges delocalises
----------------------------
Eigenvectors of a sparse disordered network localise like Anderson modes of a low-
dimensional lattice; new couplings inside 2-hop neighbourhoods raise the number of paths
between nearby neurons (the coordination number), which lengthens the localisation
length. It is measured with the inverse participation ratio (:func:`mean_ipr`),
``IPR(v) = sum_i |v_i|^4 / (sum_i |v_i|^2)^2``: 1 for a vector on a single neuron, 1/N for a
uniform one (design section 3, step III).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from .._util.parallel import csr_matmul
from .._util.validation import check_int, make_rng
from ..model.network import canonical_csr
from ._graph import _active_mask, _pattern, _square_csr
# The IPR measure and the weight samplers; re-exported, callers import them from here.
from .ipr import DENSE_EIG_MAX_N, _ipr_columns, inverse_participation_ratio, mean_ipr
from .weight_samplers import WeightSampler, _default_sampler, _sign_pools, dale_weight_sampler

__all__ = [
    "DelocalizeInfo",
    "delocalize",
    "dale_weight_sampler",
    "local_degree_variance",
    "inverse_participation_ratio",
    "mean_ipr",
    "DENSE_EIG_MAX_N",
]


#: Default schedule of :func:`delocalize`: rounds = max(MIN_ROUNDS, ROUND_WORK // (2 nnz)).
#: A round costs a few passes over the (undirected) synapse list, so ROUND_WORK bounds
#: the total work to about 2e6 synapse visits plus MIN_ROUNDS rounds (a round also
#: builds pool x N dense arrays, so many more rounds would dominate the cost).
MIN_ROUNDS = 8
ROUND_WORK = 2_000_000


class _LocalStats:
    """Per-neuron sums behind the local degree variance and its exact gain (module doc)."""

    def __init__(self, directed: sp.csr_matrix, active: np.ndarray):
        self.directed = directed
        self.directed_t = directed.T.tocsr()
        und = (directed + self.directed_t).tocsr()
        und.data = np.ones(und.nnz)
        self.adj = und
        self.und_degree = np.diff(und.indptr).astype(np.float64)
        self.active = active
        d = np.asarray(directed.sum(axis=0)).ravel() + np.asarray(directed.sum(axis=1)).ravel()
        d = np.where(active, d, 0.0)
        n = np.asarray(und.sum(axis=1)).ravel() + 1.0
        self.d, self.n = d, n
        self.s1 = d + und @ d
        self.s2 = d * d + und @ (d * d)
        self.sigma2 = np.where(active, self.s2 / n - (self.s1 / n) ** 2, 0.0)
        p = und @ (1.0 / n)
        q = und @ ((2.0 * self.s1 + 1.0) / n ** 2)
        self.g = np.where(active, (2.0 * d + 1.0) * p - q, -np.inf)

    def objective(self) -> float:
        n_active = int(self.active.sum())
        return float(self.sigma2[self.active].sum() / n_active) if n_active else 0.0

    def _own_change(self, u: np.ndarray, w: np.ndarray, adjacent: np.ndarray) -> np.ndarray:
        """Change of sigma2_u when u gains a synapse to w (arrays broadcast)."""
        d, n, s1, s2 = self.d, self.n, self.s1, self.s2
        dw = d[w]
        s1_new = s1[u] + 1.0 + np.where(adjacent, 1.0, dw + 1.0)
        s2_new = s2[u] + 2.0 * d[u] + 1.0 + np.where(adjacent, 2.0 * dw + 1.0, (dw + 1.0) ** 2)
        n_new = n[u] + np.where(adjacent, 0.0, 1.0)
        return s2_new / n_new - (s1_new / n_new) ** 2 - self.sigma2[u]

    def pool_gains(self, pool: np.ndarray):
        """Exact gain (times N_active) of adding one synapse between each anchor and every
        neuron, plus the validity mask (2-hop, not self, a free direction, active)."""
        n_all = self.adj.shape[0]
        a_pool = self.adj[pool]
        adjacent = a_pool.toarray() > 0
        weighted = a_pool.copy()
        weighted.data = 2.0 / self.n[weighted.indices] ** 2
        # sum over common neighbours, (A_pool diag(c)) A. A sparse-sparse product costs
        # sum_{v in N(pool)} deg(v) slow steps; A @ dense costs nnz(A) * pool fast ones:
        # take the dense one when the sparse one would do more than a tenth of its work.
        sparse_work = float((a_pool @ self.und_degree).sum())
        if sparse_work > 0.1 * self.adj.nnz * pool.size:
            # csr_matmul: adj @ X bit for bit, rows split over the cores.
            common = np.ascontiguousarray(csr_matmul(self.adj, weighted.toarray().T).T)
        else:
            common = (weighted @ self.adj).toarray()
        twohop = adjacent | (common > 0)
        out_exists = self.directed_t[pool].toarray() > 0   # anchor -> b stored
        in_exists = self.directed[pool].toarray() > 0               # b -> anchor stored
        valid = twohop & ~(out_exists & in_exists) & self.active[None, :]
        valid[np.arange(pool.size), pool] = False
        a = pool[:, None]
        b = np.arange(n_all)[None, :]
        d, n, s1 = self.d, self.n, self.s1
        h_ab = (2.0 * d[a] + 1.0) / n[b] - (2.0 * s1[b] + 1.0) / n[b] ** 2
        h_ba = (2.0 * d[b] + 1.0) / n[a] - (2.0 * s1[a] + 1.0) / n[a] ** 2
        g_b = np.where(self.active, self.g, 0.0)[None, :]
        gain = (self.g[pool][:, None] + g_b - adjacent * (h_ab + h_ba) - common
                + self._own_change(a, b, adjacent) + self._own_change(b, a, adjacent))
        return gain, valid, adjacent, out_exists


def local_degree_variance(weights, neuron_active=None) -> float:
    """Mean over active neurons of the variance of the degrees in their closed neighbourhood.

    The step-III objective ``F`` of Chakraborty et al. (ICLR 2024) Sec. 3.1, Eq. (5) as
    interpreted in the module docstring: ``F = mean_v Var{d_u : u in N[v]}``, with ``d_u``
    the in+out synaptic degree and ``N[v]`` the neuron and its synaptic neighbours.
    """
    w = _square_csr(weights)
    active = _active_mask(neuron_active, w.shape[0])
    return _LocalStats(_pattern(w, active), active).objective()


# ------------------------------------------------------------------------ main entry
@dataclass(frozen=True, eq=False)
class DelocalizeInfo:
    """What one delocalisation step (:func:`delocalize`) added.

    Attributes
    ----------
    added : int64 array (n_added, 2)
        One ``(pre, post)`` row per new synapse, in the order added; the synapse is
        ``new_weights[post, pre]``.
    n_requested : int
        Synapses asked for; ``n_added`` is smaller only with ``allow_fewer``, when the
        2-hop neighbourhoods had no more room.
    objective_before, objective_after : float
        The local degree variance ``F`` (:func:`local_degree_variance`) of the active
        neurons before and after the step.
    """

    added: np.ndarray
    n_requested: int
    objective_before: float
    objective_after: float

    def __post_init__(self) -> None:
        added = np.asarray(self.added)
        if added.ndim != 2 or added.shape[1] != 2 or added.dtype.kind not in "iu":
            raise ValueError(f"DelocalizeInfo.added must be an integer array (n_added, 2) of "
                             f"(pre, post) rows, got shape {added.shape} and dtype {added.dtype}")
        if added.shape[0] > self.n_requested:
            raise ValueError(f"DelocalizeInfo.n_requested ({self.n_requested}) must be at least "
                             f"the number of added synapses ({added.shape[0]})")
        for name in ("objective_before", "objective_after"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"DelocalizeInfo.{name} must be finite, got "
                                 f"{getattr(self, name)}")

    @property
    def n_added(self) -> int:
        """Number of synapses added."""
        return int(self.added.shape[0])


def delocalize(weights, n_new: int, seed=None, neuron_active=None,
               weight_sampler: WeightSampler | None = None, *,
               excitatory=None, pool_size: int | None = 64,
               batch_size: int | None = None, n_rounds: int | None = None,
               allow_fewer: bool = False,
               max_out_degree: int | None = None, max_in_degree: int | None = None
               ) -> tuple[sp.csr_matrix, DelocalizeInfo]:
    """Add ``n_new`` synapses inside 2-hop neighbourhoods, greedily maximising the local
    degree variance (Chakraborty et al., ICLR 2024, Sec. 3.1 step III, Eq. (5); objective,
    exact gain and the batched greedy are defined in the module docstring).

    Parameters
    ----------
    weights : sparse or dense (N, N)
        Recurrent weights ``W[post, pre]``; stored entries are the existing synapses (pass
        ``net.effective_weights()`` so pruned synapses count as absent).
    n_new : int
        Number of synapses to add exactly (>= 0).
    seed : int, numpy Generator or None
        Randomness for tie-breaking, the direction of a new synapse between two neurons that
        had none, and the new weights. Same seed, same result.
    neuron_active : bool (N,), optional
        Pruned neurons neither count in the graph nor receive synapses.
    weight_sampler : callable ``(pre, post, rng) -> weights``, optional
        Draws the weights of the new synapses. Default: resample the stored weights that
        have the sign of the presynaptic neuron (Dale's law), the sign of a neuron being
        ``excitatory`` if given, else the sign of the sum of its outgoing weights.
    excitatory : bool (N,), optional
        Dale identity of each neuron for the default sampler.
    pool_size : int or None
        Anchor neurons scored exactly per round (None: all active neurons).
    batch_size : int or None
        Synapses added per round (default ``ceil(n_new / n_rounds)``; 1 = one-at-a-time
        greedy, exact with ``pool_size=None``). Overrides ``n_rounds``.
    n_rounds : int or None
        Rounds when ``batch_size`` is None. None: ``max(MIN_ROUNDS, ROUND_WORK // (2 *
        synapses))``, i.e. one edge per round when the network is small or sparse
        enough, 8 rounds at N = 5000 with 2.5 M synapses.
    allow_fewer : bool
        When fewer than ``n_new`` candidate pairs remain (a very sparse network whose 2-hop
        neighbourhoods are full), add those that fit instead of raising ValueError.
    max_out_degree, max_in_degree : int or None
        Degree bounds no neuron may exceed through an added synapse. None (default): the
        largest out- (in-) degree among the active neurons before the step plus
        ``ceil(2 n_new / n_active)`` (twice the mean number of additions per neuron), so
        the step makes the degree distribution more heterogeneous but cannot grow a hub
        far beyond the existing range. Without a bound the greedy concentrates the new
        synapses on one neuron, which can silence most of the network (docs/results.md,
        "lnp_neuro.prune.delocalize").

    Returns
    -------
    new_weights : csr_matrix (N, N)
        ``weights`` plus the new synapses (canonical CSR).
    info : DelocalizeInfo
        The new synapses (``added``, ``(pre, post)`` rows in the order added) and the
        objective ``F`` before and after.
    """
    w = _square_csr(weights)
    n_all = w.shape[0]
    n_new = check_int(n_new, "n_new", 0)
    active = _active_mask(neuron_active, n_all)
    pool_size, batch_size, n_rounds, excitatory = _check_options(
        n_all, pool_size, batch_size, n_rounds, excitatory, weight_sampler)
    rng = make_rng(seed)

    directed = _pattern(w, active)
    stats = _LocalStats(directed, active)
    f_before = stats.objective()
    deg = _Degrees(*_degree_bounds(directed, active, n_new, max_out_degree, max_in_degree))
    if n_new == 0:
        return w.copy(), DelocalizeInfo(np.zeros((0, 2), np.int64), 0, f_before, f_before)
    sampler = weight_sampler or _default_sampler(w, active, excitatory)
    batch = _round_batch(n_new, batch_size, n_rounds, directed.nnz)
    chunk = pool_size or int(active.sum())

    pre_all: list[np.ndarray] = []
    post_all: list[np.ndarray] = []
    placed = 0
    while placed < n_new:
        taken = _greedy_round(stats, active, rng, min(batch, n_new - placed), chunk, deg,
                              allow_fewer, n_new, placed)
        if taken is None:
            break
        pre, post = taken
        np.add.at(deg.out, pre, 1)
        np.add.at(deg.inn, post, 1)
        pre_all.append(pre)
        post_all.append(post)
        placed += pre.size
        add = sp.csr_matrix((np.ones(pre.size), (post, pre)), shape=(n_all, n_all))
        directed = (directed + add).tocsr()
        directed.sort_indices()
        stats = _LocalStats(directed, active)

    pre = np.concatenate(pre_all or [np.zeros(0)]).astype(np.int64)
    post = np.concatenate(post_all or [np.zeros(0)]).astype(np.int64)
    new_w = _with_new_synapses(w, pre, post, sampler, rng)
    return new_w, DelocalizeInfo(np.column_stack([pre, post]), n_new, f_before,
                                 stats.objective())


def _check_options(n_all: int, pool_size, batch_size, n_rounds, excitatory, weight_sampler):
    """Validate :func:`delocalize`'s schedule, Dale identity and sampler arguments."""
    if pool_size is not None:
        pool_size = check_int(pool_size, "pool_size", 1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", 1)
    if n_rounds is not None:
        n_rounds = check_int(n_rounds, "n_rounds", 1)
    if excitatory is not None:
        excitatory = np.asarray(excitatory)
        if excitatory.shape != (n_all,):
            raise ValueError(f"excitatory must have shape ({n_all},), got {excitatory.shape}")
        excitatory = excitatory.astype(bool)
    if weight_sampler is not None and not callable(weight_sampler):
        raise ValueError("weight_sampler must be a callable (pre, post, rng) -> weights")
    return pool_size, batch_size, n_rounds, excitatory


def _degree_bounds(directed: sp.csr_matrix, active: np.ndarray, n_new: int,
                   max_out_degree, max_in_degree):
    """Out/in degrees of the active graph and the bounds no added synapse may exceed:
    the largest degree plus ``ceil(2 n_new / n_active)`` unless given."""
    n_all = directed.shape[0]
    out_deg = np.bincount(directed.indices, minlength=n_all).astype(np.int64)
    in_deg = np.diff(directed.indptr).astype(np.int64)
    headroom = -(-2 * n_new // max(1, int(active.sum())))
    if max_out_degree is None:
        max_out_degree = (int(out_deg[active].max()) if active.any() else 0) + headroom
    if max_in_degree is None:
        max_in_degree = (int(in_deg[active].max()) if active.any() else 0) + headroom
    max_out_degree = check_int(max_out_degree, "max_out_degree", 0)
    max_in_degree = check_int(max_in_degree, "max_in_degree", 0)
    return out_deg, in_deg, max_out_degree, max_in_degree


def _round_batch(n_new: int, batch_size, n_rounds, nnz: int) -> int:
    """Synapses added per greedy round: ``batch_size``, else ``ceil(n_new / n_rounds)``."""
    if batch_size is not None:
        return batch_size
    if n_rounds is None:
        # As many rounds as ROUND_WORK / (synapses) allows: exact greedy on small or
        # sparse graphs, at least MIN_ROUNDS rounds on paper-scale ones.
        n_rounds = max(MIN_ROUNDS, ROUND_WORK // max(1, 2 * nnz))
    return max(1, -(-n_new // n_rounds))


@dataclass
class _Degrees:
    """Current out/in degrees (updated as synapses are added) and their bounds."""
    out: np.ndarray
    inn: np.ndarray
    max_out: int
    max_in: int


def _candidate_pools(stats: _LocalStats, order: np.ndarray, chunk: int, want: int,
                     deg: _Degrees, n_all: int):
    """Score anchor pools in ``order`` until ``want`` distinct candidate pairs fit the
    degree bounds: lists of pair keys, gains, adjacency and free-direction pre."""
    keys_list, gain_list, adj_list, out_list = [], [], [], []
    found = 0
    for start in range(0, order.size, chunk):
        pool = order[start:start + chunk]
        gain, valid, adjacent, out_exists = stats.pool_gains(pool)
        r, b = np.nonzero(valid)
        a = pool[r]
        adj = adjacent[r, b]
        # Direction if exactly one is free: the free one (a -> b free iff not out_exists).
        free = np.where(out_exists[r, b], b, a)              # the pre of the free direction
        other = np.where(free == a, b, a)
        fits = ((deg.out[free] < deg.max_out) & (deg.inn[other] < deg.max_in)) | (
            ~adj & (deg.out[other] < deg.max_out) & (deg.inn[free] < deg.max_in))
        r, b, a, adj, free = r[fits], b[fits], a[fits], adj[fits], free[fits]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keys_list.append(lo * n_all + hi)
        gain_list.append(gain[r, b])
        adj_list.append(adj)
        out_list.append(free)
        found = np.unique(np.concatenate(keys_list)).size
        if found >= want:
            break
    return keys_list, gain_list, adj_list, out_list


def _rank_by_gain(gains: np.ndarray, rand: np.ndarray) -> np.ndarray:
    """``np.lexsort((rand, -gains))``: descending gain, ties by ascending ``rand``, then
    by index. An unstable sort by gain puts every run of equal gains together (the
    pairs' gains are nearly all distinct); only those runs are then sorted by ``(rand,
    index)``, which gives the same permutation at a fraction of lexsort's cost."""
    if not np.all(np.isfinite(gains)):
        return np.lexsort((rand, -gains))          # NaN never equals itself: no runs
    order = np.argsort(-gains)
    sorted_gains = gains[order]
    tie = np.flatnonzero(sorted_gains[1:] == sorted_gains[:-1])
    if tie.size:
        slots = np.unique(np.concatenate([tie, tie + 1]))      # positions in a run
        run = np.cumsum(np.r_[True, (sorted_gains[slots[1:]] != sorted_gains[slots[:-1]])
                              | (slots[1:] != slots[:-1] + 1)])
        members = order[slots]
        order[slots] = members[np.lexsort((members, rand[members], run))]
    return order


def _first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of every distinct value of ``keys``: what
    ``np.sort(np.unique(keys, return_index=True)[1])`` indexes, from an unstable sort
    and the smallest index of each run of equal keys."""
    order = np.argsort(keys)
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    mask = np.zeros(keys.size, dtype=bool)
    if keys.size:
        mask[np.minimum.reduceat(order, starts)] = True
    return mask


def _rank_and_orient(keys, gain_list, adj_list, out_list, rng, n_all: int):
    """Rank the distinct pairs by gain (random tie-break) and orient each: the free
    direction of a connected pair, a random one otherwise. Returns (pre, post, adjacent)."""
    gains = np.round(np.concatenate(gain_list), 9)
    adjacent = np.concatenate(adj_list)
    free_pre = np.concatenate(out_list)
    rand = rng.random(keys.size)
    rank = _rank_by_gain(gains, rand)
    ranked = rank[_first_occurrences(keys[rank])]
    k_lo, k_hi = keys[ranked] // n_all, keys[ranked] % n_all
    # A pair with no synapse yet gets a random direction; otherwise the free direction.
    flip = rng.random(ranked.size) < 0.5
    pre = np.where(adjacent[ranked], free_pre[ranked], np.where(flip, k_hi, k_lo))
    post = np.where(pre == k_lo, k_hi, k_lo)
    return pre, post, adjacent[ranked]


def _greedy_round(stats: _LocalStats, active: np.ndarray, rng, want: int, chunk: int,
                  deg: _Degrees, allow_fewer: bool, n_new: int, placed: int):
    """One round of the batched greedy: the ``want`` best-gain synapses that fit (pre,
    post), or None when nothing fits and ``allow_fewer``."""
    n_all = active.size
    tie = rng.random(n_all)
    order = np.lexsort((tie, -np.round(stats.g, 9)))
    order = order[active[order]]
    keys_list, gain_list, adj_list, out_list = _candidate_pools(stats, order, chunk, want,
                                                                deg, n_all)
    keys = np.concatenate(keys_list)
    if keys.size == 0 and allow_fewer:
        return None
    if keys.size == 0:
        raise ValueError(
            f"n_new={n_new} synapses cannot be placed: only {placed} new synapses fit "
            f"inside 2-hop neighbourhoods of the active neurons")
    pre, post, adjacent = _rank_and_orient(keys, gain_list, adj_list, out_list, rng, n_all)
    pre, post = _within_degree_bounds(pre, post, adjacent, deg.out, deg.inn,
                                      deg.max_out, deg.max_in, want)
    if pre.size == 0:
        if allow_fewer:
            return None
        raise ValueError(
            f"n_new={n_new} synapses cannot be placed: only {placed} new synapses fit "
            f"inside 2-hop neighbourhoods within the degree bounds (out <= "
            f"{deg.max_out}, in <= {deg.max_in})")
    return pre, post


def _with_new_synapses(w: sp.csr_matrix, pre: np.ndarray, post: np.ndarray,
                       sampler: WeightSampler, rng) -> sp.csr_matrix:
    """``w`` plus the synapses ``pre -> post`` with weights drawn by ``sampler``."""
    n_all = w.shape[0]
    values = np.asarray(sampler(pre, post, rng), dtype=np.float64)
    if values.shape != (pre.size,):
        raise ValueError(f"weight_sampler returned shape {values.shape}, expected ({pre.size},)")
    if not np.all(np.isfinite(values)):
        raise ValueError("weight_sampler returned non-finite weights")
    # Concatenate entries rather than add matrices: a sum would drop stored zeros (which
    # are synapses) and new synapses whose sampled weight is 0.
    old = w.tocoo()
    merged = sp.csr_matrix((np.r_[old.data, values], (np.r_[old.row, post], np.r_[old.col, pre])),
                           shape=(n_all, n_all))
    new_w = canonical_csr(merged, "new_weights")
    if new_w.nnz != w.nnz + pre.size:  # a stored zero plus a new entry would merge
        raise AssertionError("internal error: a new synapse coincided with a stored one")
    return new_w


def _within_degree_bounds(pre, post, adjacent, out_deg, in_deg, max_out, max_in, want):
    """The first ``want`` ranked candidates that keep every degree within its bound.

    A candidate between two unconnected neurons may be turned round when only the other
    direction fits; a reciprocal candidate has one free direction and is kept or dropped.
    """
    take_pre = np.empty(min(int(want), pre.size), np.int64)
    take_post = np.empty_like(take_pre)
    n_taken = _take_within_bounds(np.asarray(pre, np.int64), np.asarray(post, np.int64),
                                  np.asarray(adjacent, np.bool_),
                                  np.asarray(out_deg, np.int64), np.asarray(in_deg, np.int64),
                                  int(max_out), int(max_in), take_pre, take_post)
    return take_pre[:n_taken].copy(), take_post[:n_taken].copy()


@numba.njit(cache=True, nogil=True)
def _take_within_bounds(pre, post, adjacent, out_deg, in_deg, max_out, max_in,
                        take_pre, take_post):
    # Candidates in rank order; degrees used by this batch counted apart from the stored
    # ones (which the caller updates afterwards).
    out_used = np.zeros(out_deg.shape[0], np.int64)
    in_used = np.zeros(in_deg.shape[0], np.int64)
    want = take_pre.shape[0]
    n_taken = 0
    for c in range(pre.shape[0]):
        if n_taken >= want:
            break
        a = pre[c]
        b = post[c]
        for direction in range(1 if adjacent[c] else 2):
            p, q = (a, b) if direction == 0 else (b, a)
            if out_deg[p] + out_used[p] < max_out and in_deg[q] + in_used[q] < max_in:
                out_used[p] += 1
                in_used[q] += 1
                take_pre[n_taken] = p
                take_post[n_taken] = q
                n_taken += 1
                break
    return n_taken
