"""Readout of a recurrent spiking layer (design section 1; paper supplement "Readout Layer
Pruning"): the top 10 % of recurrent neurons by betweenness centrality feed a hidden layer
of 20 units and an output layer (classes, or one unit per predicted dimension).

* :func:`select_readout_neurons`: the ``ceil(fraction * n_active)`` (at least one) ACTIVE
  neurons of highest betweenness centrality on the graph of active synapses
  (:func:`lnp_neuro.prune.betweenness.betweenness_centrality`: directed, unweighted,
  Brandes), ties to the lower index, returned sorted. The same rule as
  ``lnp_neuro.training.bp.select_readout_neurons``.
* :func:`exponential_trace`: filtered spike trains, the readout's features::

      r[t] = r[t-1] * exp(-dt / tau) + s[t],    r[-1] = initial (default 0)

* :class:`RidgeReadout`: linear least squares with an L2 penalty, closed form
  (Hoerl & Kennard 1970)::

      W = argmin ||Z W - (Y - mean Y)||^2 + alpha ||W||^2 = (Z^T Z + alpha I)^-1 Z^T (Y - mean Y)

  on standardised features ``Z``; fast and deterministic, for tests and baselines.
* :class:`MLPReadout`: the paper's readout, ``y = W2 tanh(W1 z + b1) + b2`` with 20
  hidden units on standardised features ``z``; mean squared error (prediction) or
  softmax cross-entropy (classification) plus ``weight_decay/2 * (|W1|^2 + |W2|^2)``,
  minimised by Adam (Kingma & Ba 2015) on seeded minibatches. numpy only; the torch
  training through the recurrent layer lives in :mod:`lnp_neuro.training`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from .._util.validation import check_int, check_positive
from ..model.network import SpikingNetwork

__all__ = [
    "select_readout_neurons",
    "exponential_trace",
    "readout_features",
    "pool_samples",
    "RidgeReadout",
    "MLPReadout",
]

_TASKS = ("regression", "classification")


# -------------------------------------------------------------- neuron selection
def select_readout_neurons(net: SpikingNetwork, fraction: float = 0.1, *,
                           exact: bool | None = None, n_pivots: int | None = None, seed=0
                           ) -> np.ndarray:
    """Sorted indices of the top ``fraction`` of active neurons by betweenness centrality.

    ``exact`` / ``n_pivots`` / ``seed`` go to
    :func:`lnp_neuro.prune.betweenness.betweenness_centrality` (exact Brandes by default
    for small networks, pivot sampling for large ones; ``seed`` defaults to 0 so the
    sampled choice is reproducible). The centrality itself is
    :func:`lnp_neuro.prune.betweenness.network_betweenness` with the same arguments.

    Betweenness on an Erdos-Renyi graph varies little between neurons, so the top fraction
    from sampled pivots shares only part of its neurons with the exact one
    (docs/results.md, "lnp_neuro.tasks.readout"); pass ``exact=True`` when the exact
    choice matters (Brandes' exact algorithm costs one search per neuron).
    """
    from ..prune.betweenness import network_betweenness

    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}") from None
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    active = np.flatnonzero(net.neuron_active)
    if active.size == 0:
        raise ValueError("net has no active neuron to read out")
    bc = network_betweenness(net, exact=exact, n_pivots=n_pivots, seed=seed)[active]
    n_select = max(1, int(math.ceil(fraction * active.size - 1e-9)))
    order = np.lexsort((active, -bc))  # descending centrality, then ascending index
    return np.sort(active[order[:n_select]])


# ------------------------------------------------------------------------ features
def exponential_trace(spikes, tau: float, dt: float, initial=None) -> np.ndarray:
    """Filtered spike trains ``r [T, n]`` (module docstring) of ``spikes [T, n]``."""
    tau, dt = check_positive(tau, "tau"), check_positive(dt, "dt")
    s = np.asarray(spikes, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"spikes must be [T, n], got shape {s.shape}")
    import scipy.signal  # lazily: importing it costs seconds, most users never need it

    decay = math.exp(-dt / tau)
    if initial is None:
        return scipy.signal.lfilter([1.0], [1.0, -decay], s, axis=0)
    r0 = np.asarray(initial, dtype=np.float64).reshape(-1)
    if r0.shape != (s.shape[1],):
        raise ValueError(f"initial must hold one value per neuron ({s.shape[1]}), got "
                         f"shape {r0.shape}")
    # lfilter's zi is the state after "step -1": decay * r[-1] enters r[0].
    out, _ = scipy.signal.lfilter([1.0], [1.0, -decay], s, axis=0, zi=(decay * r0)[None, :])
    return out


def readout_features(spikes, neurons, tau: float = 20e-3, dt: float = 1e-3) -> np.ndarray:
    """Exponential traces ``[T, len(neurons)]`` of the selected ``neurons`` of
    ``spikes [T, N]`` (e.g. ``SimulationResult.spikes``)."""
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must be [T, N], got shape {s.shape}")
    idx = np.asarray(neurons, dtype=np.int64).reshape(-1)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= s.shape[1]:
        raise ValueError(f"neurons must be non-empty indices into the {s.shape[1]} columns "
                         f"of spikes")
    return exponential_trace(s[:, idx], tau, dt)


def pool_samples(features, steps_per_sample: int, how: str = "last") -> np.ndarray:
    """One feature row per input sample: ``[n * steps_per_sample, F]`` -> ``[n, F]``,
    taking the ``"last"`` step of each sample's window or the ``"mean"`` over it."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be [T, F], got shape {f.shape}")
    k = check_int(steps_per_sample, "steps_per_sample")
    if f.shape[0] % k:
        raise ValueError(f"features has {f.shape[0]} steps, not a multiple of "
                         f"steps_per_sample={k}")
    windows = f.reshape(f.shape[0] // k, k, f.shape[1])
    if how == "last":
        return windows[:, -1].copy()
    if how == "mean":
        return windows.mean(axis=1)
    raise ValueError(f"how must be 'last' or 'mean', got {how!r}")


# ------------------------------------------------------------------------ readouts
def _features(name: str, x) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [n_samples, n_features] array, got "
                         f"shape {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite values")
    return arr


class _Standardiser:
    def __init__(self, x: np.ndarray):
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        # A constant feature (a silent neuron) carries no information: scale 1 keeps it 0.
        self.std = np.where(std > 1e-12, std, 1.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


def _targets(task: str, y, n: int):
    """Regression: float [n, D]; classification: (class indices [n], classes)."""
    if task == "regression":
        t = _features("y", y)
        if t.shape[0] != n:
            raise ValueError(f"y has {t.shape[0]} rows, X has {n}")
        return t, None
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"y must be [n_samples] labels matching X ({n}), got shape "
                         f"{labels.shape}")
    classes, index = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise ValueError("classification needs at least two classes in y")
    return index, classes


class RidgeReadout:
    """Ridge regression readout (module docstring), for prediction or classification.

    Parameters
    ----------
    alpha : L2 penalty (>= 0) on standardised features.
    task : ``"regression"`` (targets ``[n, D]``) or ``"classification"`` (labels; fits
        one-hot targets, predicts the arg-max class).
    """

    def __init__(self, alpha: float = 1e-3, task: str = "regression"):
        self.alpha = alpha
        self.task = task

    def fit(self, X, y) -> "RidgeReadout":
        try:
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise ValueError(f"alpha must be a number >= 0, got {self.alpha!r}") from None
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha}")
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")
        x = _features("X", X)
        target, self.classes_ = _targets(self.task, y, len(x))
        if self.task == "classification":
            target = np.eye(self.classes_.size)[target]
        self.scaler_ = _Standardiser(x)
        z = self.scaler_(x)
        y_mean = target.mean(axis=0)
        gram = z.T @ z + alpha * np.eye(z.shape[1])
        rhs = z.T @ (target - y_mean)
        try:
            coef = scipy.linalg.solve(gram, rhs, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            coef = np.linalg.lstsq(z, target - y_mean, rcond=None)[0]
        self.coef_ = coef                   # [n_features, n_outputs] on standardised X
        self.intercept_ = y_mean
        return self

    def decision_function(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise RuntimeError("RidgeReadout is not fitted; call fit(X, y) first")
        x = _features("X", X)
        if x.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"X has {x.shape[1]} features, the readout was fitted on "
                             f"{self.coef_.shape[0]}")
        return self.scaler_(x) @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        out = self.decision_function(X)
        if self.task == "classification":
            return self.classes_[np.argmax(out, axis=1)]
        return out


def _views(flat: np.ndarray, shapes: dict) -> dict:
    """Arrays shaped as ``shapes``' values, consecutive views of ``flat``."""
    out, start = {}, 0
    for key, like in shapes.items():
        out[key] = flat[start:start + like.size].reshape(like.shape)
        start += like.size
    return out


class MLPReadout:
    """The paper's readout: standardised features -> ``n_hidden`` tanh units -> outputs.

    Parameters
    ----------
    n_hidden : hidden units (20 in the paper).
    task : ``"regression"`` (MSE on standardised targets) or ``"classification"``
        (softmax cross-entropy over the classes seen in ``fit``).
    learning_rate, n_epochs, batch_size : Adam step size, passes over the data, minibatch.
    weight_decay : L2 coefficient on the weight matrices (not the biases).
    seed : initialisation and minibatch order (``np.random.default_rng``).
    progress : show a tqdm bar over epochs.

    After ``fit``: ``loss_curve_`` (training loss per epoch, without the L2 term).
    """

    def __init__(self, n_hidden: int = 20, task: str = "regression",
                 learning_rate: float = 1e-2, n_epochs: int = 200, batch_size: int = 64,
                 weight_decay: float = 1e-4, seed=0, progress: bool = False):
        self.n_hidden = n_hidden
        self.task = task
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.seed = seed
        self.progress = progress

    # -- model ---------------------------------------------------------------
    @staticmethod
    def _forward(params: dict, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.tanh(z @ params["W1"] + params["b1"])
        return h, h @ params["W2"] + params["b2"]

    def _loss_and_gradients(self, params: dict, z: np.ndarray, target: np.ndarray
                            ) -> tuple[float, dict]:
        """Data loss (mean over samples) + L2 term, and its gradients by backprop."""
        n = z.shape[0]
        h, out = self._forward(params, z)
        if self.task == "regression":
            diff = out - target
            loss = 0.5 * float(np.mean(np.sum(diff ** 2, axis=1)))
            d_out = diff / n
        else:
            shifted = out - out.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
            loss = -float(np.mean(log_p[np.arange(n), target]))
            d_out = np.exp(log_p)
            d_out[np.arange(n), target] -= 1.0
            d_out /= n
        wd = float(self.weight_decay)
        loss += 0.5 * wd * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
        d_h = (d_out @ params["W2"].T) * (1.0 - h ** 2)
        grads = {"W2": h.T @ d_out + wd * params["W2"], "b2": d_out.sum(axis=0),
                 "W1": z.T @ d_h + wd * params["W1"], "b1": d_h.sum(axis=0)}
        return loss, grads

    def _validate(self) -> None:
        check_int(self.n_hidden, "n_hidden")
        check_int(self.n_epochs, "n_epochs")
        check_int(self.batch_size, "batch_size")
        check_positive(self.learning_rate, "learning_rate")
        wd = float(self.weight_decay)
        if not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")

    # -- training --------------------------------------------------------------
    def fit(self, X, y) -> "MLPReadout":
        self._validate()
        x = _features("X", X)
        target, self.classes_ = _targets(self.task, y, len(x))
        self.scaler_ = _Standardiser(x)
        z = self.scaler_(x)
        if self.task == "regression":
            self.target_scaler_ = _Standardiser(target)
            target = self.target_scaler_(target)
            n_out = target.shape[1]
        else:
            n_out = self.classes_.size
        rng = np.random.default_rng(self.seed)
        n_in, n_h = z.shape[1], int(self.n_hidden)
        b_in, b_h = 1.0 / math.sqrt(n_in), 1.0 / math.sqrt(n_h)
        params = {"W1": rng.uniform(-b_in, b_in, (n_in, n_h)), "b1": rng.uniform(-b_in, b_in, n_h),
                  "W2": rng.uniform(-b_h, b_h, (n_h, n_out)), "b2": rng.uniform(-b_h, b_h, n_out)}
        # Adam runs on one vector of all the parameters, which ``params`` views: the same
        # operations on every element as per matrix, in four times fewer numpy calls.
        flat = np.concatenate([p.ravel() for p in params.values()])
        params = _views(flat, params)
        m, v = np.zeros_like(flat), np.zeros_like(flat)
        beta1, beta2, eps, lr = 0.9, 0.999, 1e-8, float(self.learning_rate)
        step = 0
        n = len(z)
        batch = min(int(self.batch_size), n)
        epochs = range(int(self.n_epochs))
        if self.progress:
            from tqdm.auto import tqdm
            epochs = tqdm(epochs, desc="readout", unit="epoch")
        self.loss_curve_ = []
        wd = float(self.weight_decay)
        for _ in epochs:
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                loss, grads = self._loss_and_gradients(params, z[idx], target[idx])
                l2 = 0.5 * wd * float(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
                total += (loss - l2) * len(idx)
                step += 1
                g = np.concatenate([grads[k].ravel() for k in params])
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g ** 2
                m_hat = m / (1 - beta1 ** step)
                v_hat = v / (1 - beta2 ** step)
                np.subtract(flat, lr * m_hat / (np.sqrt(v_hat) + eps), out=flat)
            self.loss_curve_.append(total / n)
            if not math.isfinite(self.loss_curve_[-1]):
                raise FloatingPointError("readout training diverged (non-finite loss); lower "
                                         "learning_rate")
        self.params_ = {k: p.copy() for k, p in params.items()}
        return self

    # -- inference -------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Raw outputs: standardised-back predictions (regression) or class logits."""
        if not hasattr(self, "params_"):
            raise RuntimeError("MLPReadout is not fitted; call fit(X, y) first")
        x = _features("X", X)
        if x.shape[1] != self.params_["W1"].shape[0]:
            raise ValueError(f"X has {x.shape[1]} features, the readout was fitted on "
                             f"{self.params_['W1'].shape[0]}")
        _, out = self._forward(self.params_, self.scaler_(x))
        if self.task == "regression":
            return out * self.target_scaler_.std + self.target_scaler_.mean
        return out

    def predict(self, X) -> np.ndarray:
        out = self.decision_function(X)
        if self.task == "classification":
            return self.classes_[np.argmax(out, axis=1)]
        return out

    def predict_proba(self, X) -> np.ndarray:
        if self.task != "classification":
            raise ValueError("predict_proba needs task='classification'")
        logits = self.decision_function(X)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
