"""Baselines of the LNP paper (Chakraborty et al., ICLR 2024, Sec. 4 "Baselines", Suppl. A.3
Algorithm 4; SPEC section 3 "Baselines").

- :func:`activity_prune` — iterative activity pruning (AP, Rust et al. 1997): drive the
  network with task data, mask the least active fraction of the active neurons, retrain,
  repeat until ``n_iter`` iterations or until performance falls below
  ``min_performance_ratio`` (90 %) of the unpruned model's. Task-dependent by design, so
  the task enters only through the two callbacks.
- :func:`random_network_like` — the "Random" baseline: an Erdos-Renyi G(n, m) graph with
  exactly the same numbers of active neurons and synapses as a given (LNP-pruned) network.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..network import SpikingNetwork

__all__ = ["activity_prune", "random_network_like"]


def activity_prune(net: SpikingNetwork, activity_fn: Callable[[SpikingNetwork], np.ndarray],
                   retrain_fn: Callable[[SpikingNetwork], float], fraction: float = 0.05,
                   n_iter: int = 100, min_performance_ratio: float = 0.9, *,
                   higher_is_better: bool = True, min_neurons: int = 1
                   ) -> tuple[SpikingNetwork, list[dict]]:
    """Iterative activity pruning (Rust et al. 1997; LNP paper Algorithm 4).

    Parameters
    ----------
    net : the dense network (not modified).
    activity_fn : ``activity_fn(net) -> array (N,)``, activity of every neuron under task
        data (e.g. spike counts); only active neurons' values are used.
    retrain_fn : ``retrain_fn(net) -> performance`` after (re)training on the task.
    fraction : share of the active neurons masked per iteration (at least one).
    n_iter : maximum iterations.
    min_performance_ratio : stop when performance / unpruned performance (or its inverse
        when ``higher_is_better`` is False, e.g. for NRMSE) falls below this.
    higher_is_better : orientation of the performance number.
    min_neurons : never prune below this many active neurons.

    Returns ``(pruned, history)``: the last network whose performance met the criterion,
    and one dict per step (iteration, neurons, synapses, performance, ratio, accepted);
    ``history[0]`` is the unpruned model. A rejected step is recorded with
    ``accepted=False`` and ends the run.
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if not callable(activity_fn) or not callable(retrain_fn):
        raise ValueError("activity_fn and retrain_fn must be callables taking a SpikingNetwork")
    fraction = float(fraction)
    if not (np.isfinite(fraction) and 0 < fraction < 1):
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")
    ratio_min = float(min_performance_ratio)
    if not (np.isfinite(ratio_min) and ratio_min > 0):
        raise ValueError(f"min_performance_ratio must be positive, got {min_performance_ratio}")
    if isinstance(min_neurons, bool) or not isinstance(min_neurons, (int, np.integer)) or min_neurons < 1:
        raise ValueError(f"min_neurons must be a positive integer, got {min_neurons!r}")

    def score(model):
        value = float(retrain_fn(model))
        if not np.isfinite(value):
            raise ValueError(f"retrain_fn returned a non-finite performance {value}")
        return value

    baseline = score(net)
    if baseline == 0 or (not higher_is_better and baseline < 0):
        raise ValueError(f"the unpruned performance {baseline} cannot anchor a ratio")
    history = [{"iteration": 0, "neurons": net.n_neurons, "synapses": net.n_synapses,
                "performance": baseline, "ratio": 1.0, "accepted": True}]
    current = net.copy()
    for it in range(1, n_iter + 1):
        active = np.flatnonzero(current.neuron_active)
        n_remove = min(max(1, int(round(fraction * active.size))), active.size - min_neurons)
        if n_remove <= 0:
            break
        activity = np.asarray(activity_fn(current), dtype=np.float64)
        if activity.shape != (current.size,):
            raise ValueError(f"activity_fn must return one value per neuron ({current.size},), "
                             f"got {activity.shape}")
        order = np.argsort(activity[active], kind="stable")[:n_remove]
        mask = current.neuron_active.copy()
        mask[active[order]] = False
        candidate = current.copy(neuron_active=mask)
        perf = score(candidate)
        ratio = perf / baseline if higher_is_better else baseline / perf if perf > 0 else 0.0
        accepted = ratio >= ratio_min
        history.append({"iteration": it, "neurons": candidate.n_neurons,
                        "synapses": candidate.n_synapses, "performance": perf,
                        "ratio": float(ratio), "accepted": bool(accepted)})
        if not accepted:
            break
        current = candidate
    metadata = json.loads(json.dumps(current.metadata))
    metadata["activity_pruning"] = {"fraction": fraction, "n_iter": int(n_iter),
                                    "min_performance_ratio": ratio_min,
                                    "neurons": [h["neurons"] for h in history],
                                    "performance": [h["performance"] for h in history]}
    return current.copy(metadata=metadata), history


def random_network_like(net: SpikingNetwork, seed=None) -> SpikingNetwork:
    """Erdos-Renyi G(n, m) network with ``net``'s active neuron and synapse counts.

    ``n = net.n_neurons`` neurons (the active ones, with their time constants, thresholds,
    biases, Dale identities and input weights, in index order) and exactly
    ``m = net.n_synapses`` synapses drawn uniformly without replacement among the
    ``n (n - 1)`` ordered pairs without autapses. Weights are resampled from ``net``'s
    active weights: when ``net`` obeys Dale's law, magnitudes are resampled and the sign
    is that of the presynaptic neuron; otherwise signed values are resampled.
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    compact, kept = net.compact()
    n = compact.size
    m = compact.weights.nnz
    pairs = n * (n - 1)
    if m > pairs:
        raise ValueError(f"{m} synapses do not fit in {n} neurons without autapses")
    flat = np.sort(rng.choice(pairs, size=m, replace=False)) if m else np.zeros(0, np.int64)
    post = flat // max(n - 1, 1)
    pre = flat % max(n - 1, 1)
    pre = pre + (pre >= post)          # skip the diagonal
    values = compact.weights.data
    src_pre = compact.weights.indices
    dale = bool(np.all((values >= 0) == compact.excitatory[src_pre])) if m else False
    if m == 0:
        data = np.zeros(0)
    elif dale:
        exc_pool = values[values >= 0]
        inh_pool = -values[values < 0]
        data = np.empty(m)
        is_exc = compact.excitatory[pre]
        for mask, pool, sign in ((is_exc, exc_pool, 1.0), (~is_exc, inh_pool, -1.0)):
            if mask.any():
                if pool.size == 0:
                    pool = np.abs(values)
                data[mask] = sign * rng.choice(pool, size=int(mask.sum()))
    else:
        data = rng.choice(values, size=m)
    weights = sp.csr_matrix((data, (post, pre)), shape=(n, n))
    weights.sort_indices()
    metadata = json.loads(json.dumps(net.metadata))
    metadata["random_like"] = {"source_neurons": n, "source_synapses": int(m),
                               "seed": seed if seed is None or isinstance(seed, int) else None}
    return compact.copy(weights=weights, metadata=metadata)
