"""The paper's "Random" control (Chakraborty et al., ICLR 2024, Sec. 4 "Baselines"; design
section 3), re-exported by :mod:`lnp_neuro.prune.baselines`.

- :func:`random_network_like` — a network that keeps everything of the starting network
  but its wiring (neuron model and parameters, E/I split, Dale's law, weight distribution
  per presynaptic type) with a given (LNP's) number of neurons and synapses, wired as an
  Erdos-Renyi G(n, m) graph.
- :func:`random_network_at_sops` — the same control matched in cost instead of counts:
  LNP's neurons, and as many of the random synapses as fit in LNP's synaptic operations
  on the drive.

Apart from activity pruning because it shares nothing with it but the network type: it
changes when the control's definition does, not when AP's rounds do.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import scipy.sparse as sp

from .._util.validation import check_int
from ..model.network import SpikingNetwork

__all__ = ["random_network_like", "random_network_at_sops"]


def random_network_like(start: SpikingNetwork, n_neurons: int, n_synapses: int,
                        seed=None) -> SpikingNetwork:
    """The paper's "Random" control (Sec. 4): ``start`` with its wiring redrawn.

    Kept from ``start`` (its active part): the neuron model and every per-neuron parameter
    (time constants, thresholds, biases, input weights, cluster labels), the
    excitatory/inhibitory split and Dale's law, and the distribution of the recurrent
    couplings per presynaptic type. Changed: the wiring, and the counts.

    1. Neurons: ``n_neurons`` of ``start``'s active neurons, drawn without replacement
       within each type, ``round(n_neurons * f_E)`` excitatory (``f_E``: ``start``'s
       excitatory share, clipped to what each type has), kept in index order.
    2. Wiring: Erdos-Renyi G(n, m), ``m = n_synapses`` synapses drawn uniformly without
       replacement among the ``n (n - 1)`` ordered pairs (no autapses).
    3. Weights: each synapse's rate coupling ``G_ij = g_i W_ij``
       (:meth:`SpikingNetwork.rate_coupling`, ``g_i`` the postsynaptic gain) is drawn from
       ``start``'s couplings of synapses whose presynaptic neuron has the same type as
       ``j``, then ``W_ij = G_ij / g_i``. Drawing the coupling rather than the weight
       keeps what a synapse does to its target: ``start``'s weights were scaled per
       postsynaptic neuron (:mod:`lnp_neuro.model.build`), and a weight moved to a neuron with
       another ``g`` would drive it more or less strongly than anywhere in ``start``.
       In a Dale network the sign is then the presynaptic type's.

    Weights are NOT taken from the network that supplies the counts (e.g. LNP's result):
    LNP rescales the weights it keeps, and those weights on random wiring would be a
    different network family, not a control.
    """
    if not isinstance(start, SpikingNetwork):
        raise ValueError(f"start must be a SpikingNetwork, got {type(start).__name__}")
    compact, _ = start.compact()
    total = compact.n_total_neurons
    n = check_int(n_neurons, "n_neurons", 1)
    if n > total:
        raise ValueError(f"n_neurons={n} exceeds the {total} active neurons of start")
    m = check_int(n_synapses, "n_synapses", 0)
    if m > n * (n - 1):
        raise ValueError(f"n_synapses={m} do not fit in {n} neurons without autapses")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    exc_idx = np.flatnonzero(compact.excitatory)
    inh_idx = np.flatnonzero(~compact.excitatory)
    n_exc = int(round(n * exc_idx.size / total))
    n_exc = min(max(n_exc, n - inh_idx.size), exc_idx.size)
    chosen = np.sort(np.concatenate([rng.choice(exc_idx, n_exc, replace=False),
                                     rng.choice(inh_idx, n - n_exc, replace=False)]))

    flat = np.sort(rng.choice(n * (n - 1), size=m, replace=False)) if m else \
        np.zeros(0, np.int64)
    post = flat // max(n - 1, 1)
    pre = flat % max(n - 1, 1)
    pre = pre + (pre >= post)          # skip the diagonal

    coupling = compact.rate_coupling()
    pool_exc = compact.excitatory[coupling.indices]
    is_exc = compact.excitatory[chosen][pre]
    g = compact.rate_gain[chosen]
    data = np.empty(m)
    for kind, want in (("excitatory", True), ("inhibitory", False)):
        need = is_exc == want
        if not need.any():
            continue
        pool = coupling.data[pool_exc == want]
        if pool.size == 0:
            raise ValueError(f"start has {kind} neurons but no synapse from one: there is no "
                             f"{kind} weight distribution to draw from")
        data[need] = rng.choice(pool, size=int(need.sum()))
    data = data / g[post]
    weights = sp.csr_matrix((data, (post, pre)), shape=(n, n))
    weights.sort_indices()
    metadata = json.loads(json.dumps(start.metadata))
    metadata["random_like"] = {
        "start_neurons": int(total), "n_neurons": n, "n_synapses": m,
        "n_excitatory": int(n_exc),
        "weights": "rate couplings of start, drawn per presynaptic type",
        "seed": seed if seed is None or isinstance(seed, (int, np.integer)) else None}
    return SpikingNetwork(
        weights=weights, input_weights=compact.input_weights[chosen],
        tau_mem=compact.tau_mem[chosen], tau_syn=compact.tau_syn[chosen],
        v_threshold=compact.v_threshold[chosen], bias=compact.bias[chosen], dt=compact.dt,
        excitatory=compact.excitatory[chosen],
        cluster=None if compact.cluster is None else compact.cluster[chosen],
        metadata=metadata)


def random_network_at_sops(start: SpikingNetwork, n_neurons: int, n_synapses: int,
                           cost_fn: Callable[[SpikingNetwork], float], target: float,
                           seed=None) -> SpikingNetwork:
    """The "Random" control at a matched cost: at most ``target`` synaptic operations.

    1. ``full = random_network_like(start, n_neurons, n_synapses, seed)``: LNP's counts.
    2. Its synapses are put in a random order (the same generator, drawn after step 1),
       and a prefix length ``k`` is found by bisection over ``0..n_synapses`` whose network
       (the first ``k`` synapses of the order, the others removed) costs ``cost_fn(net) <=
       target``. A uniformly random ``k``-subset of a G(n, m) graph is a G(n, k) graph, so
       every candidate is itself the random control with ``k`` synapses.

    The cost is not strictly monotone in ``k`` (removing an inhibitory synapse can raise
    the activity), so the bisection returns a ``k`` whose network is within the budget,
    not necessarily the largest such ``k``; ``metadata["random_at_sops"]`` records ``k``,
    its cost, the target, the full network's cost and the evaluations made. When the full
    network already fits, it is returned as it is.
    """
    if not callable(cost_fn):
        raise ValueError("cost_fn must be callable: cost_fn(net) -> synaptic operations")
    target = float(target)
    if not np.isfinite(target) or target < 0:
        raise ValueError(f"target must be a finite number >= 0, got {target}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    full = random_network_like(start, n_neurons, n_synapses, seed=rng)
    coo = full.weights.tocoo()
    order = rng.permutation(coo.nnz)

    def first(k: int) -> SpikingNetwork:
        keep = order[:k]
        w = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])),
                          shape=full.weights.shape)
        w.sort_indices()
        return full.copy(weights=w)

    evaluations = []

    def cost(k: int, net: SpikingNetwork) -> float:
        c = float(cost_fn(net))
        evaluations.append({"synapses": int(k), "cost": c})
        return c

    full_cost = cost(coo.nnz, full)
    lo, chosen = coo.nnz, (full, full_cost)
    if full_cost > target:
        lo, hi, chosen = 0, coo.nnz, None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            net = first(mid)
            c = cost(mid, net)
            if c <= target:
                lo, chosen = mid, (net, c)
            else:
                hi = mid
        if chosen is None:
            net = first(0)
            chosen = (net, cost(0, net))
    net, net_cost = chosen
    net.metadata["random_at_sops"] = {
        "synapses": int(lo), "cost": net_cost, "target": target,
        "full_synapses": int(coo.nnz), "full_cost": full_cost,
        "evaluations": evaluations,
        "rule": "a prefix of a random order of the G(n, m) synapses, found by bisection, "
                "whose SOPs on the drive are <= the target"}
    return net
