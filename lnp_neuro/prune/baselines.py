"""Baselines of the LNP paper (Chakraborty et al., ICLR 2024, Sec. 4 "Baselines", Suppl. A.3
Algorithm 4; design section 3 "Baselines"). One implementation, used by ``lnp-deploy``
(:mod:`lnp_neuro.deploy`) and ``lnp-experiment`` (:mod:`lnp_neuro.experiments`).

- :func:`activity_prune` — iterative activity pruning (AP, Rust et al. 1997): mask the
  least active fraction of the active neurons, retrain, repeat. What ends it is an
  :class:`APBudget`: the paper's rule (``n_iter`` rounds, or performance below 90 % of the
  unpruned model's, :func:`keeps_performance`), or a matched budget (LNP's neuron count, or
  LNP's synaptic operations on the same drive) so AP and LNP can be compared at equal size
  or equal cost. Task-agnostic: the task enters through callbacks.
- :func:`activity_prune_on_task` — AP on task data: activity = spike counts on the task
  input, "retraining" = refitting a ridge readout on the network's filtered spike trains,
  performance = held-out NRMSE (prediction) or accuracy (classification). Both callers use
  this, so AP measures performance the same way everywhere.
- :func:`random_network_like` — the "Random" control: a network that keeps everything of
  the starting network but its wiring (neuron model and parameters, E/I split, Dale's law,
  weight distribution per presynaptic type) with a given (LNP's) number of neurons and
  synapses, wired as an Erdos-Renyi G(n, m) graph.
- :func:`random_network_at_sops` — the same control matched in cost instead of counts:
  LNP's neurons, and as many of the random synapses as fit in LNP's synaptic operations
  on the drive (the comparison "at matched SOPs" that AP's ``"sops"`` budget also makes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..network import SpikingNetwork
from ..validation import check_int

__all__ = ["APBudget", "AP_BUDGETS", "keeps_performance", "performance_ratio",
           "activity_prune", "activity_prune_on_task", "drive_sops", "random_network_like",
           "random_network_at_sops"]

#: Budgets of :class:`APBudget`: the paper's rule, LNP's neuron count, LNP's SOPs.
AP_BUDGETS = ("paper", "neurons", "sops")

_BUDGET_RULES = {
    "paper": "prune until n_iter rounds are done or a round's performance falls below "
             "min_performance_ratio of the unpruned model's (that round is rejected)",
    "neurons": "prune until the active neurons reach the target count (LNP's); the last "
               "round removes only what is left to remove",
    "sops": "prune until the synaptic operations (AND-mask) on the drive reach the target "
            "(LNP's on the same drive); the last round's removal count is bisected to the "
            "crossing",
}


@dataclass(frozen=True)
class APBudget:
    """What ends activity pruning (module docstring).

    ``kind``: ``"paper"`` (``n_iter`` rounds and the 90 % performance rule of Algorithm 4;
    ``target`` must be None), ``"neurons"`` (prune to ``target`` active neurons) or
    ``"sops"`` (prune until the synaptic operations measured by the ``cost_fn`` of
    :func:`activity_prune` are at most ``target``). Under a matched budget the performance
    rule is evaluated and recorded every round but does not stop pruning: the point of the
    budget is to compare at equal size or cost.
    """

    kind: str = "paper"
    target: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in AP_BUDGETS:
            raise ValueError(f"budget kind must be one of {AP_BUDGETS}, got {self.kind!r}")
        if self.kind == "paper":
            if self.target is not None:
                raise ValueError(f"the paper budget takes no target, got {self.target!r}")
            return
        if isinstance(self.target, bool) or not isinstance(self.target, (int, float, np.integer,
                                                                          np.floating)):
            raise ValueError(f"budget target of kind {self.kind!r} must be a number, "
                             f"got {self.target!r}")
        if not (np.isfinite(self.target) and self.target >= (1 if self.kind == "neurons" else 0)):
            raise ValueError(f"budget target of kind {self.kind!r} must be finite and "
                             f"{'>= 1' if self.kind == 'neurons' else '>= 0'}, got {self.target}")
        if self.kind == "neurons" and float(self.target) != int(self.target):
            raise ValueError(f"a neuron budget must be a whole number, got {self.target}")

    @property
    def rule(self) -> str:
        """The stopping rule in words (reported beside the results)."""
        return _BUDGET_RULES[self.kind]

    def as_dict(self) -> dict:
        target = None if self.target is None else (
            int(self.target) if self.kind == "neurons" else float(self.target))
        return {"kind": self.kind, "target": target, "rule": self.rule}


def performance_ratio(score: float, baseline: float, higher_is_better: bool) -> float | None:
    """How a pruned model's performance compares with the unpruned model's (1 = equal,
    > 1 = better): ``score / baseline`` for a performance (higher is better), and
    ``baseline / score`` for an error (lower is better), i.e. the ratio of the
    performances ``1 / error``. None when undefined (a zero error)."""
    if higher_is_better:
        return score / baseline
    if score == 0:
        return 1.0 if baseline == 0 else None
    return baseline / score


def keeps_performance(score: float, baseline: float, min_ratio: float = 0.9,
                      higher_is_better: bool = True) -> bool:
    """The paper's keep rule (Algorithm 4; design section 3: stop when performance < 90 % of the
    unpruned model's), for numbers on a ratio scale (>= 0).

    - performance ``P`` (higher is better, e.g. accuracy): keep iff ``P >= r * P0``;
    - error ``E`` (lower is better, e.g. NRMSE): performance is ``1 / E``, so keep iff
      ``1/E >= r / E0``, i.e. ``r * E <= E0`` (no division: a zero error is allowed).

    A negated error or an R^2 is not on a ratio scale (a ratio of two negative numbers
    inverts the test: improvements are rejected, degradations accepted), so negative
    numbers are refused; pass the error itself with ``higher_is_better=False``.
    """
    for name, value in (("score", score), ("baseline", baseline)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0 (a performance or an error "
                             f"on a ratio scale), got {value}")
    if higher_is_better:
        if baseline == 0:
            raise ValueError("the unpruned performance is 0: 90 % of it anchors nothing")
        return score >= min_ratio * baseline
    return min_ratio * score <= baseline


def _mask_least_active(net: SpikingNetwork, order: np.ndarray, k: int) -> SpikingNetwork:
    mask = net.neuron_active.copy()
    mask[order[:k]] = False
    return net.copy(neuron_active=mask)


def activity_prune(net: SpikingNetwork, activity_fn: Callable[[SpikingNetwork], np.ndarray],
                   score_fn: Callable[[SpikingNetwork], float], fraction: float = 0.05,
                   n_iter: int = 100, min_performance_ratio: float = 0.9, *,
                   higher_is_better: bool = True, min_neurons: int = 1,
                   budget: APBudget | None = None,
                   cost_fn: Callable[[SpikingNetwork], float] | None = None
                   ) -> tuple[SpikingNetwork, list[dict]]:
    """Iterative activity pruning (Rust et al. 1997; LNP paper Suppl. A.3, Algorithm 4).

    Every round: measure the activity of the current model, mask the
    ``max(1, round(fraction * n_active))`` least active of its active neurons (ties to the
    lower index), retrain and score the candidate. The unpruned model's score ``S0`` anchors
    the keep rule of :func:`keeps_performance` with ``r = min_performance_ratio``:
    a performance must stay ``>= r * S0``; an error must stay ``<= S0 / r``.

    Parameters
    ----------
    net : the dense network (not modified).
    activity_fn : ``activity_fn(net) -> array (N,)``, the activity of every neuron under
        task data (e.g. spike counts); only active neurons' values are used.
    score_fn : ``score_fn(net) -> float`` after (re)training on the task: a performance
        (``higher_is_better=True``, e.g. accuracy) or an error (``False``, e.g. NRMSE),
        either way >= 0.
    fraction : share of the active neurons masked per round (at least one).
    n_iter : maximum rounds under the paper budget (ignored by matched budgets, which run
        until their target or ``min_neurons``).
    min_performance_ratio : ``r`` above (0.9 in the paper).
    higher_is_better : orientation of the score.
    min_neurons : never prune below this many active neurons.
    budget : :class:`APBudget`; default the paper's rule.
    cost_fn : ``cost_fn(net) -> SOPs`` on the drive, required by an ``"sops"`` budget.

    Returns ``(pruned, history)``: under the paper budget the last model that kept its
    performance, else the model that met the budget. ``history`` has one dict per model
    scored: ``iteration`` (0 = unpruned), ``neurons``, ``synapses``, ``performance``,
    ``performance_ratio`` (:func:`performance_ratio`), ``meets_rule`` (the 90 % rule),
    ``accepted``, and ``sops`` when a cost was measured. A round the paper rule rejects
    is recorded with ``accepted=False`` and ends the run. ``pruned.metadata
    ["activity_pruning"]`` records the settings, the budget and ``stopped`` (why it ended:
    ``"performance"``, ``"n_iter"``, ``"budget reached"``, ``"min_neurons"``).
    """
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    if not callable(activity_fn) or not callable(score_fn):
        raise ValueError("activity_fn and score_fn must be callables taking a SpikingNetwork")
    fraction = float(fraction)
    if not (np.isfinite(fraction) and 0 < fraction < 1):
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    n_iter = check_int(n_iter, "n_iter", 0)
    ratio_min = float(min_performance_ratio)
    if not (np.isfinite(ratio_min) and ratio_min > 0):
        raise ValueError(f"min_performance_ratio must be positive, got {min_performance_ratio}")
    min_neurons = check_int(min_neurons, "min_neurons", 1)
    budget = APBudget() if budget is None else budget
    if not isinstance(budget, APBudget):
        raise ValueError(f"budget must be an APBudget, got {type(budget).__name__}")
    if budget.kind == "sops" and not callable(cost_fn):
        raise ValueError("an 'sops' budget needs cost_fn(net) -> synaptic operations")

    def score(model: SpikingNetwork) -> float:
        value = float(score_fn(model))
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"score_fn returned {value}; it must return a performance or an "
                             f"error >= 0 (pass an error with higher_is_better=False, not "
                             f"its negation)")
        return value

    def cost(model: SpikingNetwork) -> float:
        value = float(cost_fn(model))
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"cost_fn returned {value}; it must return SOPs >= 0")
        return value

    def entry(it: int, model: SpikingNetwork, perf: float, sops: float | None,
              accepted: bool) -> dict:
        ratio = performance_ratio(perf, baseline, higher_is_better)
        row = {"iteration": it, "neurons": model.n_active_neurons,
               "synapses": model.n_active_synapses,
               "performance": perf, "performance_ratio": ratio,
               "meets_rule": bool(keeps_performance(perf, baseline, ratio_min,
                                                    higher_is_better)),
               "accepted": bool(accepted)}
        if sops is not None:
            row["sops"] = sops
        return row

    baseline = score(net)
    if higher_is_better and baseline == 0:
        raise ValueError("the unpruned model scores 0: 90 % of it anchors nothing")
    current = net.copy()
    current_cost = cost(current) if budget.kind == "sops" else None
    history = [entry(0, current, baseline, current_cost, True)]

    def reached(model: SpikingNetwork, model_cost: float | None) -> bool:
        if budget.kind == "neurons":
            return model.n_active_neurons <= budget.target
        if budget.kind == "sops":
            return model_cost <= budget.target
        return False

    stopped = "n_iter"
    it = 0
    while True:
        if reached(current, current_cost):
            stopped = "budget reached"
            break
        if budget.kind == "paper" and it >= n_iter:
            break
        active = np.flatnonzero(current.neuron_active)
        room = active.size - min_neurons
        if room <= 0:
            stopped = "min_neurons"
            break
        it += 1
        k = min(max(1, int(round(fraction * active.size))), room)
        if budget.kind == "neurons":
            k = min(k, active.size - int(budget.target))
        activity = np.asarray(activity_fn(current), dtype=np.float64)
        if activity.shape != (current.n_total_neurons,):
            raise ValueError(f"activity_fn must return one value per neuron "
                             f"({current.n_total_neurons},), got {activity.shape}")
        order = active[np.argsort(activity[active], kind="stable")]
        candidate = _mask_least_active(current, order, k)
        candidate_cost = cost(candidate) if budget.kind == "sops" else None
        if budget.kind == "sops" and candidate_cost <= budget.target and k > 1:
            # Bisect the removal count to a crossing: cost(hi) <= target < cost(lo).
            lo, hi, hi_cost = 0, k, candidate_cost
            while hi - lo > 1:
                mid = (lo + hi) // 2
                mid_cost = cost(_mask_least_active(current, order, mid))
                if mid_cost <= budget.target:
                    hi, hi_cost = mid, mid_cost
                else:
                    lo = mid
            candidate, candidate_cost = _mask_least_active(current, order, hi), hi_cost
        perf = score(candidate)
        keep = keeps_performance(perf, baseline, ratio_min, higher_is_better)
        accepted = keep or budget.kind != "paper"
        history.append(entry(it, candidate, perf, candidate_cost, accepted))
        if not accepted:
            stopped = "performance"
            break
        current, current_cost = candidate, candidate_cost

    metadata = json.loads(json.dumps(current.metadata))
    metadata["activity_pruning"] = {
        "fraction": fraction, "n_iter": n_iter, "min_performance_ratio": ratio_min,
        "higher_is_better": bool(higher_is_better), "budget": budget.as_dict(),
        "stopped": stopped, "neurons": [h["neurons"] for h in history],
        "performance": [h["performance"] for h in history]}
    return current.copy(metadata=metadata), history


# ------------------------------------------------------------------ AP on task data
def _as_sequences(name: str, values, ndim: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == ndim - 1:
        arr = arr[None]
    if arr.ndim != ndim or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be [T, ...] or [n_sequences, T, ...], got shape "
                         f"{np.shape(values)}")
    return arr


class _TaskRuns:
    """Rasters of networks on a fixed input, memoised by neuron mask (activity, score and
    cost of one candidate come from one simulation)."""

    def __init__(self, inputs: np.ndarray, mode: str):
        self.inputs = inputs
        self.mode = mode
        self._memo: dict[bytes, list[np.ndarray]] = {}

    def rasters(self, net: SpikingNetwork) -> list[np.ndarray]:
        from ..simulator import Simulator
        key = net.neuron_active.tobytes() + net.synapse_active.tobytes()
        if key not in self._memo:
            if len(self._memo) >= 4:
                self._memo.pop(next(iter(self._memo)))
            # Independent runs share the cores (the kernels release the GIL) and one
            # preparation of the network; each run is the same whichever thread makes it.
            from .._parallel import map_blocks
            sim = Simulator(net, self.mode)
            self._memo[key] = list(map_blocks(lambda i: sim.run(self.inputs[i]).spikes,
                                              len(self.inputs)))
        return self._memo[key]


def drive_sops(net: SpikingNetwork, inputs, mode: str = "float") -> int:
    """Synaptic operations of ``net`` on ``inputs`` ([T, C] or [n, T, C]), AND-mask model
    (:func:`lnp_neuro.energy.count_sops`; the count ``lnp-deploy`` reports)."""
    from ..energy import count_sops
    x = _as_sequences("inputs", inputs, 3)
    runs = _TaskRuns(x, mode)
    return sum(count_sops(s, net.weights, net.neuron_active, net.synapse_active)
               for s in runs.rasters(net))


def activity_prune_on_task(net: SpikingNetwork, inputs, targets, *, task: str = "regression",
                           fraction: float = 0.1, n_iter: int = 5,
                           min_performance_ratio: float = 0.9, budget: APBudget | None = None,
                           mode: str = "float", train_fraction: float = 0.5,
                           tau: float = 20e-3, min_neurons: int = 1
                           ) -> tuple[SpikingNetwork, list[dict]]:
    """AP (:func:`activity_prune`) with the task given as data.

    Parameters
    ----------
    net : the dense network.
    inputs : input spikes ``[T, C]`` or ``[n_sequences, T, C]``; each sequence starts from
        rest (:func:`lnp_neuro.simulator.simulate` in ``mode``).
    targets : ``task="regression"``: ``[T, D]`` / ``[n_sequences, T, D]`` values to predict
        at each step from the network state at that step, NaN where there is no target;
        ``task="classification"``: one label per sequence.
    fraction, n_iter, min_performance_ratio, budget, min_neurons : as in
        :func:`activity_prune`. An ``"sops"`` budget is measured on ``inputs``.
    mode : ``"float"`` or ``"fixed"`` simulation (use the target's, so SOPs match).
    train_fraction : share of the target rows (regression; in sequence-then-time order)
        or of the sequences (classification) the readout is fitted on; it is scored on
        the rest.
    tau : time constant (s) of the exponential spike traces the readout reads
        (:func:`lnp_neuro.tasks.readout.exponential_trace`).

    Activity of a neuron: its spike count over all of ``inputs``. Retraining: the readout
    (the paper's AP retrains the model; here the recurrent layer is kept, so the readout
    is what adapts) -- a ridge regression (:class:`sklearn.linear_model.RidgeCV` on
    standardised features, penalty chosen from a fixed grid by 5 contiguous
    cross-validation folds of the fitted rows) from the traces of the active neurons.
    Score: regression -> NRMSE on the held-out rows, normalised per dimension by the
    target's std over all rows (an error: lower is better; dimensions constant throughout
    are left out); classification -> accuracy of a ridge classifier (penalty by
    leave-one-out) on the time-averaged traces (higher is better).
    """
    from ..energy import count_sops
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    x = _as_sequences("inputs", inputs, 3)
    if x.shape[2] != net.n_inputs:
        raise ValueError(f"inputs have {x.shape[2]} channels, the network {net.n_inputs}")
    train_fraction = float(train_fraction)
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if task == "regression":
        y = _as_sequences("targets", np.asarray(targets, dtype=np.float64), 3)
        if y.shape[:2] != x.shape[:2]:
            raise ValueError(f"targets {y.shape} must match inputs {x.shape} in sequences "
                             f"and steps")
        rows = np.all(np.isfinite(y), axis=2)               # [n, T]
        n_rows = int(rows.sum())
        n_fit = int(train_fraction * n_rows)
        if n_fit < 2 or n_rows - n_fit < 1:
            raise ValueError(f"targets hold {n_rows} finite rows; the readout needs at least "
                             f"two to fit and one to score")
        y_rows = y[rows]
        # NRMSE's sigma is the target's long-term std (paper Sec. 4), over all its rows: a
        # std of the fitted rows alone would blow up the error of a dimension that happens
        # to be quiet there. A dimension constant throughout is left out.
        sigma = y_rows.std(axis=0)
        varying = sigma > 0
        if not varying.any():
            raise ValueError("targets are constant in every dimension; NRMSE is undefined")
        y_rows, sigma = y_rows[:, varying], sigma[varying]
    else:
        labels = np.asarray(targets).reshape(-1)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"classification needs one label per sequence ({x.shape[0]}), "
                             f"got {labels.shape[0]}")
        n_fit = int(train_fraction * x.shape[0])
        if n_fit < 2 or x.shape[0] - n_fit < 1 or np.unique(labels[:n_fit]).size < 2:
            raise ValueError("classification needs at least two classes among the fitted "
                             "sequences and one sequence to score")
    runs = _TaskRuns(x, mode)

    def activity(model: SpikingNetwork) -> np.ndarray:
        return sum(s.sum(axis=0) for s in runs.rasters(model)).astype(np.float64)

    def features(model: SpikingNetwork) -> list[np.ndarray]:
        from ..tasks.readout import exponential_trace
        active = model.neuron_active
        return [exponential_trace(s[:, active], tau, model.dt) for s in runs.rasters(model)]

    def score(model: SpikingNetwork) -> float:
        from sklearn.linear_model import RidgeClassifierCV, RidgeCV
        from sklearn.model_selection import KFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        alphas = np.logspace(-3, 4, 15)
        feats = features(model)
        if task == "regression":
            z = np.concatenate([f[r] for f, r in zip(feats, rows)])
            # Contiguous folds: leave-one-out on autocorrelated rows rewards memorising
            # neighbours and picks a penalty that fails on the held-out stretch.
            fit = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas, cv=KFold(5)))
            fit.fit(z[:n_fit], y_rows[:n_fit])
            pred = fit.predict(z[n_fit:]).reshape(-1, y_rows.shape[1])
            from ..tasks.metrics import nrmse
            return nrmse(pred, y_rows[n_fit:], sigma)
        z = np.stack([f.mean(axis=0) for f in feats])
        fit = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=alphas))
        fit.fit(z[:n_fit], labels[:n_fit])
        return float(np.mean(fit.predict(z[n_fit:]) == labels[n_fit:]))

    def cost(model: SpikingNetwork) -> float:
        return float(sum(count_sops(s, model.weights, model.neuron_active,
                                    model.synapse_active) for s in runs.rasters(model)))

    return activity_prune(net, activity, score, fraction=fraction, n_iter=n_iter,
                          min_performance_ratio=min_performance_ratio,
                          higher_is_better=(task == "classification"), min_neurons=min_neurons,
                          budget=budget, cost_fn=cost)


# --------------------------------------------------------------------- random control
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
       postsynaptic neuron (:mod:`lnp_neuro.models`), and a weight moved to a neuron with
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
