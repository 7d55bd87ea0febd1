"""Tasks that need the network's memory, with their standard definitions (issue 28).

Each task drives the network with a one-dimensional input ``u`` (rate-coded like any
series, :func:`.forecast.encode_series`) and asks a linear readout of the reservoir state
after sample ``t`` (:func:`.forecast.reservoir_states`) for a target ``targets[t]``:

* ``"memory"``, memory capacity (H. Jaeger, "Short term memory in echo state networks",
  GMD Report 152, 2001): ``u`` i.i.d. uniform on [-0.5, 0.5]; for every delay
  ``k = 1 .. K`` a readout reconstructs ``u[t - k]`` from the state at ``t``, and::

      MC = sum_{k=1..K} MC_k,   MC_k = corr(u[t - k], y_k[t])^2

  with the readouts fitted on the training samples and the squared correlations taken on
  the test samples. Higher is better; a linear network of N units has MC <= N (Jaeger
  2001, Proposition 2). K = :data:`MC_DELAYS`; on i.i.d. input a delay the state does not
  hold still scores about 1 / n_test by chance.
* ``"narma10"``, NARMA-10 (A. F. Atiya and A. G. Parlos, IEEE Trans. Neural Networks
  11(3), 2000, 697-709)::

      y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + 1.5 u[t-9] u[t] + 0.1

  ``u`` i.i.d. uniform on [0, 0.5]; the state after ``u[t]`` predicts ``y[t+1]`` (the
  first output ``u[t]`` acts on). NRMSE normalised by the standard deviation of ``y``.
  ``reservoirpy.datasets.narma`` (0.4.2) indexes the sum and the input lag one step
  earlier (``sum_{i=1..10} y[t-i]``, ``u[t-10]``; ``lag = 1`` of :func:`narma`, which
  reproduces it exactly: tests/tasks/test_tasks_memory.py); the task uses the paper's.
* ``"lorenz-x"``, Lorenz-63 (:func:`.dynamical.lorenz63`, the paper's integration)
  observed through ``x`` only: the state after ``x[t]`` predicts ``x[t + h]``, ``h`` =
  ``horizon`` (1 by default; 10 is the partially observed long-horizon variant). NRMSE
  normalised by the standard deviation of ``x``. The network must rebuild the unobserved
  ``y`` and ``z`` from the history of ``x`` (Takens embedding), so memory matters.

Readout (:func:`select_task_tau`): ridge regression on all active neurons' traces, the
penalty per target by generalised cross-validation on the training samples
(:class:`sklearn.linear_model.RidgeCV`, as :mod:`.forecast`), the trace time constant
among :data:`.forecast.TRACE_TAUS` with the best mean cross-validation score.

References on the same split (:func:`task_references`): persistence (``x[t + h] =
x[t]`` for ``lorenz-x``, ``y[t+1] = y[t]`` for NARMA-10, a value the network never sees;
none for memory capacity, whose target is an input already past), a two-tap linear map
of the input (ridge on ``u[t], u[t-1]``: for memory capacity it recalls delay 1 exactly,
MC about 1 by construction), and an echo-state network of the same size (reservoirpy
0.4; the configuration of :class:`.closed_loop.ESNForecaster`: spectral radius 0.9, leak
0.3, input scaling 0.5) with the spiking network's readout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._util.validation import check_int
from .dynamical import lorenz63
from .forecast import TRACE_TAUS, reservoir_states
from .metrics import nrmse

__all__ = ["MEMORY_TASKS", "MC_DELAYS", "SeriesTask", "TaskSplit", "make_task",
           "memory_task", "narma", "narma10_task", "lorenz_x_task", "memory_capacity",
           "fit_readout", "score_states", "select_task_tau", "task_references",
           "esn_states"]

#: The ``--input`` names of these tasks.
MEMORY_TASKS = ("memory", "narma10", "lorenz-x")
#: Delays ``K`` summed in the memory capacity.
MC_DELAYS = 30
#: NARMA-10 samples run and dropped before the task's first sample (its transient from
#: y = 0 lasts a few tens of steps).
NARMA_WARMUP = 200
#: |y| beyond which a NARMA run counts as diverged (the bounded runs stay below 1).
_NARMA_BOUND = 10.0
_RIDGE_ALPHAS = np.logspace(-3, 5, 17)


@dataclass(eq=False)
class SeriesTask:
    """A task: ``inputs [n, 1]`` drive the network, ``targets [n, m]`` are what the
    readout after sample ``t`` must give. ``metric`` is ``"memory_capacity"`` (higher is
    better) or ``"nrmse"`` (lower is better, normalised by ``sigma [m]``).
    ``persistence [n, m]`` is the persistence forecast (None when it does not apply,
    with the reason in ``null_reasons``); ``info`` the definition and source."""

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    metric: str
    sigma: np.ndarray | None = None
    persistence: np.ndarray | None = None
    null_reasons: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = np.asarray(self.inputs, dtype=np.float64).reshape(len(self.inputs), -1)
        self.targets = np.asarray(self.targets, dtype=np.float64).reshape(
            len(self.targets), -1)
        if self.inputs.shape[0] != self.targets.shape[0]:
            raise ValueError(f"inputs has {self.inputs.shape[0]} samples, targets "
                             f"{self.targets.shape[0]}")
        if self.metric not in ("memory_capacity", "nrmse"):
            raise ValueError(f"metric must be memory_capacity or nrmse, got {self.metric!r}")

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "memory_capacity"


@dataclass(eq=False)
class TaskSplit:
    """Time-ordered split of a task's samples: ``washout`` first samples dropped, then
    ``train_fraction`` of the rest for training, the remainder for testing."""

    n_samples: int
    washout: int = 100
    train_fraction: float = 0.7
    train: np.ndarray = field(init=False)
    test: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        usable = int(self.n_samples) - int(self.washout)
        n_train = int(round(usable * float(self.train_fraction)))
        if n_train < 10 or usable - n_train < 10:
            raise ValueError(f"the task is too short for a split: {self.n_samples} samples, "
                             f"washout {self.washout}; need at least 20 after it")
        idx = np.arange(int(self.washout), int(self.n_samples))
        self.train, self.test = idx[:n_train], idx[n_train:]

    def as_dict(self) -> dict:
        return {"washout": int(self.washout), "n_train": int(self.train.size),
                "n_test": int(self.test.size)}


def _rng(seed: int, task: str) -> np.random.Generator:
    # One stream per task, apart from the network's (seed) and the Poisson drive's.
    return np.random.default_rng(np.random.SeedSequence([int(seed), 28,
                                                         MEMORY_TASKS.index(task)]))


def memory_task(n_samples: int, seed: int = 0, delays: int = MC_DELAYS) -> SeriesTask:
    """Memory capacity (module docstring): ``targets[t, k-1] = u[t - k]``; the first
    ``delays`` targets reach back into inputs drawn but never shown (washout)."""
    n, k = check_int(n_samples, "n_samples"), check_int(delays, "delays")
    u = _rng(seed, "memory").uniform(-0.5, 0.5, n + k)
    targets = np.stack([u[k - d: k - d + n] for d in range(1, k + 1)], axis=1)
    return SeriesTask("memory", u[k:, None], targets, "memory_capacity",
                      null_reasons={"references.persistence": (
                          "persistence forecasts the next value; the memory-capacity target "
                          "is an input already past, which persistence does not define")},
                      info={"source": "Jaeger 2001, GMD Report 152", "delays": k,
                            "definition": "MC = sum_{k=1..K} corr(u[t-k], readout_k(state[t]))^2,"
                                          " u i.i.d. uniform on [-0.5, 0.5]"})


def narma(u, order: int = 10, a1: float = 0.3, a2: float = 0.05, b: float = 1.5,
          c: float = 0.1, lag: int = 0) -> np.ndarray:
    """The NARMA recursion of order ``order`` on ``u [T]`` from ``y = 0`` (module
    docstring)::

        y[t+1] = a1 y[t] + a2 y[t] sum_{i=lag..order-1+lag} y[t-i] + b u[t-order+1-lag] u[t] + c

    ``lag = 0``: Atiya & Parlos 2000; ``lag = 1``: the indexing of
    ``reservoirpy.datasets.narma`` 0.4.2 (give it ``a1=0.2, a2=0.04, c=0.001`` for its
    defaults). Returns ``y [T]``; ``y[t]`` for ``t < order + lag`` stays 0.
    """
    x = np.asarray(u, dtype=np.float64).reshape(-1)
    n, m = x.size, check_int(order, "order") + check_int(lag, "lag", minimum=0)
    y = np.zeros(n)
    for t in range(m - 1, n - 1):
        window = y[t - m + 1: t + 1 - lag]
        y[t + 1] = a1 * y[t] + a2 * y[t] * window.sum() + b * x[t - m + 1] * x[t] + c
    return y


def narma10_task(n_samples: int, seed: int = 0) -> SeriesTask:
    """NARMA-10 (module docstring): ``targets[t] = y[t + 1]``, after :data:`NARMA_WARMUP`
    dropped samples; ``persistence[t] = y[t]``."""
    n = check_int(n_samples, "n_samples")
    u = _rng(seed, "narma10").uniform(0.0, 0.5, NARMA_WARMUP + n + 1)
    y = narma(u)
    if not np.all(np.isfinite(y)) or np.abs(y).max() > _NARMA_BOUND:
        raise ValueError(f"NARMA-10 diverged for seed {seed}; use another --seed")
    w = NARMA_WARMUP
    return SeriesTask("narma10", u[w: w + n, None], y[w + 1: w + n + 1, None], "nrmse",
                      sigma=np.array([y[w + 1: w + n + 1].std()]),
                      persistence=y[w: w + n, None],
                      info={"source": "Atiya & Parlos 2000, IEEE TNN 11(3)", "horizon": 1,
                            "definition": "y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + "
                                          "1.5 u[t-9] u[t] + 0.1, u i.i.d. uniform on "
                                          "[0, 0.5]; the state after u[t] predicts y[t+1]",
                            "persistence": "y[t+1] = y[t] (the target's own past, which the "
                                           "network never sees)"})


def lorenz_x_task(n_samples: int, seed: int = 0, horizon: int = 1) -> SeriesTask:
    """Lorenz-63 through ``x`` only (module docstring): ``targets[t] = x[t + horizon]``,
    ``persistence[t] = x[t]``. Same trajectory as ``--input lorenz`` for the seed."""
    n, h = check_int(n_samples, "n_samples"), check_int(horizon, "horizon")
    data = lorenz63(n_samples=n + h + 2, split=(n + h, 1, 1), seed=seed)
    x = data.train[:, 0]
    return SeriesTask("lorenz-x", x[:n, None], x[h: n + h, None], "nrmse",
                      sigma=np.array([x.std()]), persistence=x[:n, None],
                      info={"source": "Lorenz 1963; RK4 as --input lorenz (design section 4)",
                            "horizon": h, "dt_model": data.dt,
                            "definition": f"x observed alone; the state after x[t] predicts "
                                          f"x[t+{h}]"})


def make_task(name: str, n_samples: int, seed: int = 0, horizon: int = 1) -> SeriesTask:
    """The task ``name`` (one of :data:`MEMORY_TASKS`) on ``n_samples`` samples."""
    if name not in MEMORY_TASKS:
        raise ValueError(f"task must be one of {', '.join(MEMORY_TASKS)}, got {name!r}")
    if name != "lorenz-x" and horizon != 1:
        raise ValueError(f"horizon (--horizon {horizon}) applies to lorenz-x only")
    if name == "memory":
        return memory_task(n_samples, seed)
    if name == "narma10":
        return narma10_task(n_samples, seed)
    return lorenz_x_task(n_samples, seed, horizon)


# ------------------------------------------------------------------ readout and scores
def memory_capacity(pred, target) -> tuple[float, np.ndarray]:
    """``(MC, MC_k per delay)``: squared correlation of each column of ``pred`` with the
    same column of ``target`` (Jaeger 2001), 0 for a constant prediction."""
    p, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    pc, yc = p - p.mean(axis=0), y - y.mean(axis=0)
    den = np.sqrt((pc ** 2).sum(axis=0) * (yc ** 2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(den > 0, ((pc * yc).sum(axis=0) / den) ** 2, 0.0)
    return float(r2.sum()), r2


def fit_readout(states, task: SeriesTask, split: TaskSplit):
    """Ridge from ``states[t]`` to ``task.targets[t]`` on the training samples, the
    penalty of each target by generalised cross-validation (centred, not scaled: see
    :func:`.forecast._fit_ridge`)."""
    from sklearn.linear_model import RidgeCV  # lazy: scikit-learn is slow to import

    x = np.asarray(states, dtype=np.float64)
    return RidgeCV(alphas=_RIDGE_ALPHAS, gcv_mode="svd", alpha_per_target=True).fit(
        x[split.train], task.targets[split.train])


def _score(pred, task: SeriesTask, idx: np.ndarray) -> float:
    if task.metric == "memory_capacity":
        return memory_capacity(pred, task.targets[idx])[0]
    return float(nrmse(pred, task.targets[idx], task.sigma))


def score_states(states, task: SeriesTask, split: TaskSplit, model=None) -> float:
    """The task's test score of a readout of ``states [n, features]`` (fitted here on
    the training samples unless ``model`` is given)."""
    x = np.asarray(states, dtype=np.float64)
    if x.shape[0] != task.targets.shape[0]:
        raise ValueError(f"states has {x.shape[0]} samples, the task {task.targets.shape[0]}")
    model = fit_readout(x, task, split) if model is None else model
    return _score(model.predict(x[split.test]), task, split.test)


def per_delay(states, task: SeriesTask, split: TaskSplit, model) -> list[float]:
    """``MC_k`` for k = 1 .. K of a fitted memory readout (the forgetting curve)."""
    pred = model.predict(np.asarray(states, dtype=np.float64)[split.test])
    return [float(v) for v in memory_capacity(pred, task.targets[split.test])[1]]


def select_task_tau(spikes, steps_per_sample: int, dt: float, task: SeriesTask,
                    split: TaskSplit, neurons=None, taus=TRACE_TAUS):
    """``(tau, states, model)``: the trace time constant whose ridge readout has the best
    mean generalised cross-validation score on the training samples (test unseen)."""
    best = None
    for tau in taus:
        states = reservoir_states(spikes, steps_per_sample, dt, tau, neurons)
        model = fit_readout(states, task, split)
        score = float(np.mean(model.best_score_))
        if best is None or score > best[3]:
            best = (float(tau), states, model, score)
    return best[:3]


def esn_states(inputs, train: np.ndarray, units: int, seed: int = 0) -> np.ndarray:
    """States of the echo-state reference (module docstring) run on ``inputs``,
    standardised with the training samples' mean and deviation."""
    from reservoirpy.nodes import Reservoir  # lazy: heavy, needed only here

    u = np.asarray(inputs, dtype=np.float64)
    sd = u[train].std(axis=0)
    u = (u - u[train].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    reservoir = Reservoir(check_int(units, "units"), sr=0.9, lr=0.3, input_scaling=0.5,
                          seed=int(seed))
    return np.asarray(reservoir.run(u))


def task_references(task: SeriesTask, split: TaskSplit, esn_units: int | None,
                    seed: int = 0) -> dict:
    """Persistence, the two-tap linear map and the ESN on ``split`` (module docstring);
    a reference that does not apply is None (its reason in ``task.null_reasons``)."""
    refs: dict = {"persistence": None}
    if task.persistence is not None:
        refs["persistence"] = _score(task.persistence[split.test], task, split.test)
    u = task.inputs
    lagged = np.hstack([u, np.vstack([u[:1], u[:-1]])])    # (u[t], u[t-1]); t = 0 repeats
    refs["linear"] = score_states(lagged, task, split)
    if esn_units:
        refs["esn"] = score_states(esn_states(u, split.train, esn_units, seed), task, split)
    return refs
