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
  Both live in :mod:`lnp_neuro.prune.random_control` and are re-exported here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._util.parallel import map_blocks
from .._util.validation import check_int
from ..engines.simulator import Simulator
from ..hardware.energy import count_sops
from ..model.network import SpikingNetwork
from ..tasks.metrics import nrmse
from ..tasks.readout import exponential_trace
from .random_control import random_network_at_sops, random_network_like

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
    """``net`` with the first ``k`` neurons of ``order`` (least active first) masked."""
    mask = net.neuron_active.copy()
    mask[order[:k]] = False
    return net.copy(neuron_active=mask)


@dataclass(frozen=True)
class _APRules:
    """The checked settings of one :func:`activity_prune` run and its checked callbacks."""

    activity_fn: Callable[[SpikingNetwork], np.ndarray]
    score_fn: Callable[[SpikingNetwork], float]
    cost_fn: Callable[[SpikingNetwork], float] | None
    fraction: float
    n_iter: int
    ratio_min: float
    higher_is_better: bool
    min_neurons: int
    budget: APBudget

    def score(self, model: SpikingNetwork) -> float:
        """``score_fn(model)``, refused unless a finite number >= 0 (ratio scale)."""
        value = float(self.score_fn(model))
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"score_fn returned {value}; it must return a performance or an "
                             f"error >= 0 (pass an error with higher_is_better=False, not "
                             f"its negation)")
        return value

    def cost(self, model: SpikingNetwork) -> float | None:
        """``cost_fn(model)`` (SOPs >= 0) under an ``"sops"`` budget, else None (unused)."""
        if self.budget.kind != "sops":
            return None
        value = float(self.cost_fn(model))
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"cost_fn returned {value}; it must return SOPs >= 0")
        return value

    def entry(self, it: int, model: SpikingNetwork, perf: float, sops: float | None,
              accepted: bool, baseline: float) -> dict:
        """One row of the history (the keys listed by :func:`activity_prune`)."""
        ratio = performance_ratio(perf, baseline, self.higher_is_better)
        row = {"iteration": it, "neurons": model.n_active_neurons,
               "synapses": model.n_active_synapses,
               "performance": perf, "performance_ratio": ratio,
               "meets_rule": bool(keeps_performance(perf, baseline, self.ratio_min,
                                                    self.higher_is_better)),
               "accepted": bool(accepted)}
        if sops is not None:
            row["sops"] = sops
        return row

    def reached(self, model: SpikingNetwork, model_cost: float | None) -> bool:
        """Whether a matched budget is met (never under the paper's)."""
        if self.budget.kind == "neurons":
            return model.n_active_neurons <= self.budget.target
        if self.budget.kind == "sops":
            return model_cost <= self.budget.target
        return False


def _check_ap_settings(net, activity_fn, score_fn, fraction, n_iter, min_performance_ratio,
                       higher_is_better, min_neurons, budget, cost_fn) -> _APRules:
    """The arguments of :func:`activity_prune` checked, as an :class:`_APRules`."""
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
    return _APRules(activity_fn, score_fn, cost_fn, fraction, n_iter, ratio_min,
                    higher_is_better, min_neurons, budget)


def _stop_reason(rules: _APRules, current: SpikingNetwork, current_cost: float | None,
                 it: int) -> str | None:
    """Why pruning ends before round ``it + 1`` (``"budget reached"``, ``"n_iter"``,
    ``"min_neurons"``), or None to go on."""
    if rules.reached(current, current_cost):
        return "budget reached"
    if rules.budget.kind == "paper" and it >= rules.n_iter:
        return "n_iter"
    if np.count_nonzero(current.neuron_active) - rules.min_neurons <= 0:
        return "min_neurons"
    return None


def _removal_count(rules: _APRules, n_active: int) -> int:
    """``k = max(1, round(fraction * n_active))``, capped by ``min_neurons`` and by a
    neuron budget's remainder."""
    room = n_active - rules.min_neurons
    k = min(max(1, int(round(rules.fraction * n_active))), room)
    if rules.budget.kind == "neurons":
        k = min(k, n_active - int(rules.budget.target))
    return k


def _least_active_order(rules: _APRules, current: SpikingNetwork,
                        active: np.ndarray) -> np.ndarray:
    """The active neurons by ascending ``activity_fn(current)`` (stable: ties to the lower
    index)."""
    activity = np.asarray(rules.activity_fn(current), dtype=np.float64)
    if activity.shape != (current.n_total_neurons,):
        raise ValueError(f"activity_fn must return one value per neuron "
                         f"({current.n_total_neurons},), got {activity.shape}")
    return active[np.argsort(activity[active], kind="stable")]


def _candidate(rules: _APRules, current: SpikingNetwork
               ) -> tuple[SpikingNetwork, float | None]:
    """One round's pruned model and its cost: the ``k`` least active masked; under an
    ``"sops"`` budget met by it, the removal count bisected to the crossing
    ``cost(hi) <= target < cost(lo)``."""
    active = np.flatnonzero(current.neuron_active)
    k = _removal_count(rules, active.size)
    order = _least_active_order(rules, current, active)
    candidate = _mask_least_active(current, order, k)
    candidate_cost = rules.cost(candidate)
    if rules.budget.kind == "sops" and candidate_cost <= rules.budget.target and k > 1:
        lo, hi, hi_cost = 0, k, candidate_cost
        while hi - lo > 1:
            mid = (lo + hi) // 2
            mid_cost = rules.cost(_mask_least_active(current, order, mid))
            if mid_cost <= rules.budget.target:
                hi, hi_cost = mid, mid_cost
            else:
                lo = mid
        candidate, candidate_cost = _mask_least_active(current, order, hi), hi_cost
    return candidate, candidate_cost


def _prune_rounds(rules: _APRules, current: SpikingNetwork, current_cost: float | None,
                  baseline: float, history: list[dict]) -> tuple[SpikingNetwork, str]:
    """Rounds until a stop reason (appending each scored round to ``history``): the
    last kept model and why it ended. The paper rule rejects a round that falls below
    ``ratio_min`` of ``baseline`` (``"performance"``); matched budgets only record it."""
    it = 0
    while True:
        stopped = _stop_reason(rules, current, current_cost, it)
        if stopped is not None:
            return current, stopped
        it += 1
        candidate, candidate_cost = _candidate(rules, current)
        perf = rules.score(candidate)
        keep = keeps_performance(perf, baseline, rules.ratio_min, rules.higher_is_better)
        accepted = keep or rules.budget.kind != "paper"
        history.append(rules.entry(it, candidate, perf, candidate_cost, accepted, baseline))
        if not accepted:
            return current, "performance"
        current, current_cost = candidate, candidate_cost


def _with_ap_metadata(current: SpikingNetwork, rules: _APRules, stopped: str,
                      history: list[dict]) -> SpikingNetwork:
    """A copy of ``current`` with ``metadata["activity_pruning"]`` (settings, budget,
    ``stopped``, neurons and performance per scored model)."""
    metadata = json.loads(json.dumps(current.metadata))
    metadata["activity_pruning"] = {
        "fraction": rules.fraction, "n_iter": rules.n_iter,
        "min_performance_ratio": rules.ratio_min,
        "higher_is_better": bool(rules.higher_is_better), "budget": rules.budget.as_dict(),
        "stopped": stopped, "neurons": [h["neurons"] for h in history],
        "performance": [h["performance"] for h in history]}
    return current.copy(metadata=metadata)


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
    rules = _check_ap_settings(net, activity_fn, score_fn, fraction, n_iter,
                               min_performance_ratio, higher_is_better, min_neurons, budget,
                               cost_fn)
    baseline = rules.score(net)
    if higher_is_better and baseline == 0:
        raise ValueError("the unpruned model scores 0: 90 % of it anchors nothing")
    current = net.copy()
    current_cost = rules.cost(current)
    history = [rules.entry(0, current, baseline, current_cost, True, baseline)]
    current, stopped = _prune_rounds(rules, current, current_cost, baseline, history)
    return _with_ap_metadata(current, rules, stopped, history), history


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
        key = net.neuron_active.tobytes() + net.synapse_active.tobytes()
        if key not in self._memo:
            if len(self._memo) >= 4:
                self._memo.pop(next(iter(self._memo)))
            # Independent runs share the cores (the kernels release the GIL) and one
            # preparation of the network; each run is the same whichever thread makes it.
            sim = Simulator(net, self.mode)
            self._memo[key] = list(map_blocks(lambda i: sim.run(self.inputs[i]).spikes,
                                              len(self.inputs)))
        return self._memo[key]


def drive_sops(net: SpikingNetwork, inputs, mode: str = "float") -> int:
    """Synaptic operations of ``net`` on ``inputs`` ([T, C] or [n, T, C]), AND-mask model
    (:func:`lnp_neuro.hardware.energy.count_sops`; the count ``lnp-deploy`` reports)."""
    x = _as_sequences("inputs", inputs, 3)
    runs = _TaskRuns(x, mode)
    return sum(count_sops(s, net.weights, net.neuron_active, net.synapse_active)
               for s in runs.rasters(net))


def _check_task_inputs(net: SpikingNetwork, inputs, task: str,
                       train_fraction: float) -> tuple[np.ndarray, float]:
    """``inputs`` as ``[n_sequences, T, C]`` for ``net``, and the checked ``train_fraction``."""
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    x = _as_sequences("inputs", inputs, 3)
    if x.shape[2] != net.n_inputs:
        raise ValueError(f"inputs have {x.shape[2]} channels, the network {net.n_inputs}")
    train_fraction = float(train_fraction)
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    return x, train_fraction


@dataclass(frozen=True)
class _RegressionTargets:
    """Finite target rows (``rows`` [n, T] selects them, in sequence-then-time order), the
    first ``n_fit`` fitted, and NRMSE's per-dimension ``sigma`` (varying dimensions)."""

    rows: np.ndarray
    n_fit: int
    y_rows: np.ndarray
    sigma: np.ndarray


@dataclass(frozen=True)
class _ClassificationTargets:
    """One label per sequence; the first ``n_fit`` sequences are fitted."""

    labels: np.ndarray
    n_fit: int


def _regression_targets(targets, x: np.ndarray, train_fraction: float) -> _RegressionTargets:
    """The rows to fit and score and NRMSE's sigma: the target's long-term std (paper
    Sec. 4) over all its rows (a std of the fitted rows alone would blow up the error of a
    dimension that happens to be quiet there); a dimension constant throughout is left
    out."""
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
    sigma = y_rows.std(axis=0)
    varying = sigma > 0
    if not varying.any():
        raise ValueError("targets are constant in every dimension; NRMSE is undefined")
    return _RegressionTargets(rows, n_fit, y_rows[:, varying], sigma[varying])


def _classification_targets(targets, x: np.ndarray,
                            train_fraction: float) -> _ClassificationTargets:
    """The labels, and how many sequences are fitted (two classes among them at least)."""
    labels = np.asarray(targets).reshape(-1)
    if labels.shape[0] != x.shape[0]:
        raise ValueError(f"classification needs one label per sequence ({x.shape[0]}), "
                         f"got {labels.shape[0]}")
    n_fit = int(train_fraction * x.shape[0])
    if n_fit < 2 or x.shape[0] - n_fit < 1 or np.unique(labels[:n_fit]).size < 2:
        raise ValueError("classification needs at least two classes among the fitted "
                         "sequences and one sequence to score")
    return _ClassificationTargets(labels, n_fit)


@dataclass(frozen=True)
class _TaskCallbacks:
    """The callbacks :func:`activity_prune` gets from :func:`activity_prune_on_task`, all
    read from one memoised simulation per candidate (``runs``)."""

    runs: _TaskRuns
    targets: _RegressionTargets | _ClassificationTargets
    tau: float

    def activity(self, model: SpikingNetwork) -> np.ndarray:
        """Spike count of every neuron over all sequences."""
        return sum(s.sum(axis=0) for s in self.runs.rasters(model)).astype(np.float64)

    def features(self, model: SpikingNetwork) -> list[np.ndarray]:
        """Exponential traces (``tau``) of the active neurons, per sequence."""
        active = model.neuron_active
        return [exponential_trace(s[:, active], self.tau, model.dt)
                for s in self.runs.rasters(model)]

    def score(self, model: SpikingNetwork) -> float:
        """Held-out NRMSE of a ridge regression (penalty by 5 contiguous folds: leave-one-out
        on autocorrelated rows rewards memorising neighbours and picks a penalty that fails
        on the held-out stretch), or held-out accuracy of a ridge classifier (penalty by
        leave-one-out) on the time-averaged traces; standardised features either way."""
        # lazy: scikit-learn is slow to import
        from sklearn.linear_model import RidgeClassifierCV, RidgeCV
        from sklearn.model_selection import KFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        alphas = np.logspace(-3, 4, 15)
        feats = self.features(model)
        tg = self.targets
        if isinstance(tg, _RegressionTargets):
            z = np.concatenate([f[r] for f, r in zip(feats, tg.rows)])
            fit = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas, cv=KFold(5)))
            fit.fit(z[:tg.n_fit], tg.y_rows[:tg.n_fit])
            pred = fit.predict(z[tg.n_fit:]).reshape(-1, tg.y_rows.shape[1])
            return nrmse(pred, tg.y_rows[tg.n_fit:], tg.sigma)
        z = np.stack([f.mean(axis=0) for f in feats])
        fit = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=alphas))
        fit.fit(z[:tg.n_fit], tg.labels[:tg.n_fit])
        return float(np.mean(fit.predict(z[tg.n_fit:]) == tg.labels[tg.n_fit:]))

    def cost(self, model: SpikingNetwork) -> float:
        """Synaptic operations (AND-mask) over all sequences."""
        return float(sum(count_sops(s, model.weights, model.neuron_active,
                                    model.synapse_active) for s in self.runs.rasters(model)))


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
        rest (:func:`lnp_neuro.engines.simulator.simulate` in ``mode``).
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
    x, train_fraction = _check_task_inputs(net, inputs, task, train_fraction)
    if task == "regression":
        split = _regression_targets(targets, x, train_fraction)
    else:
        split = _classification_targets(targets, x, train_fraction)
    calls = _TaskCallbacks(_TaskRuns(x, mode), split, tau)
    return activity_prune(net, calls.activity, calls.score, fraction=fraction, n_iter=n_iter,
                          min_performance_ratio=min_performance_ratio,
                          higher_is_better=(task == "classification"), min_neurons=min_neurons,
                          budget=budget, cost_fn=calls.cost)
