"""Supervised surrogate-gradient back-propagation through the recurrent SNN and its readout.

Model (design section 1, paper Sec. 4 "Readout Layer"): the recurrent layer
(:class:`~lnp_neuro.training.torch_snn.TorchSNN`, exact network dynamics) feeds the top
10 % of its ACTIVE neurons by betweenness centrality into a readout::

    r[t]   = r[t-1] exp(-dt / trace_tau) + s_sel[t]         (filtered spike trains)
    z[t]   = (r[t] - mean) / std                            (fixed, from the training data)
    y[t]   = W2 tanh(W1 z[t] + b1) + b2                     (20 hidden units, docs/design.md)

For prediction (``task="regression"``) ``y[t]`` is compared with a per-step target by the
mean squared error; steps whose target is NaN carry no loss (washout, or the SNN steps
inside one data sample). For classification the readout sees the time-averaged features
``mean_t z[t]`` and is trained by cross-entropy.

Training is BPTT with the SuperSpike surrogate (Zenke & Ganguli 2018; Neftci, Mostafa &
Zenke 2019), Adam, minibatches of sequences, early stopping on a validation split
(best parameters restored).

Which weights are trained (a documented choice): the readout always; the values of the
EXISTING active recurrent synapses (``train_recurrent``, default True) and input synapses
(``train_input``, default True). Pruned synapses and neurons are not represented in the
torch module at all, so pruned stays pruned; after every optimiser step the recurrent
weights are projected back onto their Dale sign (a weight may reach 0 but never flips).
With both switches off the SNN is frozen and its features are computed once (fast path;
used after STDP).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..model.network import SpikingNetwork
from .torch_snn import SNNState, TorchSNN, limit_torch_threads

__all__ = ["select_readout_neurons", "TraceReadout", "SpikingPredictor", "PredictorState",
           "SurrogateGradientBP"]


def _progress(iterable, enabled: bool, **kwargs):
    import sys

    from tqdm.auto import tqdm
    return tqdm(iterable, disable=not (enabled and sys.stderr.isatty()), **kwargs)


def select_readout_neurons(net: SpikingNetwork, fraction: float = 0.1) -> np.ndarray:
    """Indices (sorted) of the top ``fraction`` of ACTIVE neurons by betweenness centrality.

    design section 1 / paper Sec. 4 ("we sample the top 10 % of neurons with the greatest
    betweenness centrality"); the project's one definition lives in
    :func:`lnp_neuro.tasks.readout.select_readout_neurons` (ties -> lower index).
    """
    from ..tasks.readout import select_readout_neurons as _select
    return _select(net, fraction)


class TraceReadout(nn.Module):
    """Standardised filtered spike trains -> ``hidden`` tanh units -> ``n_outputs``."""

    def __init__(self, n_features: int, n_outputs: int, hidden: int = 20,
                 generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        for name, val in (("n_features", n_features), ("n_outputs", n_outputs),
                          ("hidden", hidden)):
            if int(val) < 1:
                raise ValueError(f"{name} must be >= 1, got {val}")
        self.hidden_layer = nn.Linear(n_features, hidden, dtype=dtype)
        self.output_layer = nn.Linear(hidden, n_outputs, dtype=dtype)
        for layer in (self.hidden_layer, self.output_layer):
            bound = 1.0 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        self.register_buffer("feature_mean", torch.zeros(n_features, dtype=dtype))
        self.register_buffer("feature_std", torch.ones(n_features, dtype=dtype))

    @torch.no_grad()
    def set_normalisation(self, features: torch.Tensor) -> None:
        """Fix mean/std per feature from training features [..., n_features]."""
        flat = features.reshape(-1, features.shape[-1])
        self.feature_mean.copy_(flat.mean(0))
        self.feature_std.copy_(flat.std(0).clamp(min=1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = (features - self.feature_mean) / self.feature_std
        return self.output_layer(torch.tanh(self.hidden_layer(z)))


@dataclass
class PredictorState:
    """Recurrent state plus the readout traces ([B, n_selected])."""

    snn: SNNState
    trace: torch.Tensor

    def detach(self) -> "PredictorState":
        return PredictorState(self.snn.detach(), self.trace.detach())


class SpikingPredictor(nn.Module):
    """TorchSNN + exponential spike traces of the selected neurons + :class:`TraceReadout`."""

    def __init__(self, snn: TorchSNN, readout_neurons: np.ndarray, n_outputs: int,
                 hidden: int = 20, trace_tau: float = 20e-3,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        readout_neurons = np.asarray(readout_neurons, dtype=np.int64)
        if readout_neurons.ndim != 1 or readout_neurons.size == 0:
            raise ValueError("readout_neurons must be a non-empty 1-D index array")
        if readout_neurons.min() < 0 or readout_neurons.max() >= snn.size:
            raise ValueError(f"readout_neurons must index neurons 0..{snn.size - 1}")
        trace_tau = float(trace_tau)
        if not (np.isfinite(trace_tau) and trace_tau > 0):
            raise ValueError(f"trace_tau must be a positive number of seconds, got {trace_tau}")
        self.snn = snn
        self.register_buffer("readout_neurons", torch.as_tensor(readout_neurons))
        dt = snn.source_network.dt
        self.trace_decay = float(np.exp(-dt / trace_tau))
        self.readout = TraceReadout(readout_neurons.size, n_outputs, hidden, generator, snn.dtype)

    def initial_state(self, batch_size: int) -> PredictorState:
        return PredictorState(self.snn.initial_state(batch_size),
                              torch.zeros(batch_size, self.readout_neurons.numel(),
                                          dtype=self.snn.dtype))

    def features(self, input_spikes: torch.Tensor, state: PredictorState | None = None):
        """Traces of the selected neurons for every step: ([T, B, n_sel], final state)."""
        x, _ = self.snn._check_input(input_spikes)
        if state is None:
            state = self.initial_state(x.shape[1])
        spikes, snn_state = self.snn(x, state.snn, return_state=True)
        sel = spikes[:, :, self.readout_neurons]
        trace = state.trace
        traces = []
        for t in range(sel.shape[0]):
            trace = trace * self.trace_decay + sel[t]
            traces.append(trace)
        return torch.stack(traces), PredictorState(snn_state, trace)

    def forward(self, input_spikes, state: PredictorState | None = None):
        """Per-step readout outputs [T, B, n_out] and the final state."""
        feats, state = self.features(input_spikes, state)
        return self.readout(feats), state


def _as_time_major(x: np.ndarray | torch.Tensor, name: str, n_inputs: int) -> torch.Tensor:
    arr = torch.as_tensor(np.asarray(x, dtype=np.float64) if not isinstance(x, torch.Tensor) else x)
    if arr.dim() != 3 or arr.shape[-1] != n_inputs:
        raise ValueError(f"{name} must have shape [n_sequences, T, n_inputs={n_inputs}], "
                         f"got {tuple(arr.shape)}")
    return arr.transpose(0, 1)


class SurrogateGradientBP:
    """Surrogate-gradient BPTT of a SpikingNetwork + readout (see the module docstring).

    Parameters
    ----------
    task : "regression" | "classification"
    hidden : readout hidden units (docs/design.md: 20).
    readout_fraction : fraction of active neurons read out, by betweenness (docs/design.md: 0.1).
    readout_neurons : explicit indices instead of the betweenness selection.
    train_recurrent, train_input : train the existing recurrent / input synapse values.
    epochs, batch_size, learning_rate : Adam on minibatches of sequences.
    val_fraction : share of the training sequences held out for early stopping when no
        validation data is passed to :meth:`fit`.
    patience : epochs without validation improvement before stopping.
    trace_tau : time constant (s) of the readout spike traces.
    surrogate_slope : SuperSpike beta.
    pretrain_readout_epochs : when the SNN is trainable, first fit the readout alone for
        up to this many epochs on the initial (frozen) features (early-stopped like the
        rest), then train everything: a warm start that keeps BPTT from having to learn
        the readout from scratch through a noisy surrogate gradient. 0 disables it.
    seed : seeds the readout initialisation, the validation split and the batch order.
    progress : tqdm bar over epochs (only on a TTY).
    """

    def __init__(self, task: str = "regression", *, hidden: int = 20,
                 readout_fraction: float = 0.1, readout_neurons=None,
                 train_recurrent: bool = True, train_input: bool = True,
                 epochs: int = 30, batch_size: int = 16, learning_rate: float = 5e-3,
                 val_fraction: float = 0.2, patience: int = 5, trace_tau: float = 20e-3,
                 surrogate_slope: float = 10.0, pretrain_readout_epochs: int = 0,
                 seed: int | None = 0, progress: bool = True) -> None:
        if task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
        for name, val in (("hidden", hidden), ("epochs", epochs), ("batch_size", batch_size),
                          ("patience", patience)):
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if (isinstance(pretrain_readout_epochs, bool)
                or not isinstance(pretrain_readout_epochs, (int, np.integer))
                or pretrain_readout_epochs < 0):
            raise ValueError(f"pretrain_readout_epochs must be an integer >= 0, got "
                             f"{pretrain_readout_epochs!r}")
        if not (0 <= float(val_fraction) < 1):
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        self.task = task
        self.hidden = int(hidden)
        self.readout_fraction = float(readout_fraction)
        self.readout_neurons = readout_neurons
        self.train_recurrent = bool(train_recurrent)
        self.train_input = bool(train_input)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.val_fraction = float(val_fraction)
        self.patience = int(patience)
        self.trace_tau = float(trace_tau)
        self.surrogate_slope = float(surrogate_slope)
        self.pretrain_readout_epochs = int(pretrain_readout_epochs)
        self.seed = seed
        self.progress = progress

    # ------------------------------------------------------------------ helpers
    def _loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.task == "classification":
            return nn.functional.cross_entropy(outputs, targets)
        mask = ~torch.isnan(targets)
        if not mask.any():
            raise ValueError("targets are all NaN: nothing to fit")
        diff = (outputs - torch.nan_to_num(targets)) * mask
        return (diff ** 2).sum() / mask.sum()

    def _outputs(self, feats: torch.Tensor) -> torch.Tensor:
        head = self.model_.readout
        if self.task == "classification":
            return head(feats.mean(0))
        return head(feats).transpose(0, 1)  # [B, T, n_out]

    def _targets(self, y, n_seq: int, n_steps: int) -> torch.Tensor:
        if self.task == "classification":
            t = torch.as_tensor(np.asarray(y))
            if t.shape != (n_seq,) or t.dtype not in (torch.int64, torch.int32, torch.int16,
                                                       torch.uint8):
                raise ValueError(f"y must be integer class labels of shape ({n_seq},), "
                                 f"got {tuple(t.shape)} {t.dtype}")
            if t.min() < 0:
                raise ValueError("y class labels must be >= 0")
            return t.long()
        t = torch.as_tensor(np.asarray(y, dtype=np.float64), dtype=torch.float32)
        if t.dim() != 3 or t.shape[:2] != (n_seq, n_steps):
            raise ValueError(f"y must have shape [n_sequences={n_seq}, T={n_steps}, n_outputs] "
                             f"(NaN where there is no target), got {tuple(t.shape)}")
        return t

    # ------------------------------------------------------------------ fit
    def fit(self, net: SpikingNetwork, X, y, X_val=None, y_val=None) -> "SurrogateGradientBP":
        """Train on sequences ``X`` [n, T, n_in] (spikes) with targets ``y``.

        Regression: ``y`` [n, T, n_out] with NaN where no loss applies. Classification:
        ``y`` [n] integer labels. Sets ``model_`` (the :class:`SpikingPredictor`),
        ``network_`` (the trained SpikingNetwork), ``readout_neurons_`` and ``history_``
        (one dict per epoch: epoch, train_loss, val_loss).
        """
        limit_torch_threads()
        if not isinstance(net, SpikingNetwork):
            raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
        rng = np.random.default_rng(self.seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        x_all = _as_time_major(X, "X", net.n_inputs).float()
        n_seq, n_steps = x_all.shape[1], x_all.shape[0]
        y_all = self._targets(y, n_seq, n_steps)
        if X_val is None:
            if y_val is not None:
                raise ValueError("y_val given without X_val")
            perm = rng.permutation(n_seq)
            n_val = int(round(self.val_fraction * n_seq))
            if n_val == 0 and self.val_fraction > 0 and n_seq > 1:
                n_val = 1
            val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            x_val, y_val_t = x_all[:, val_idx], y_all[val_idx]
            x_tr, y_tr = x_all[:, train_idx], y_all[train_idx]
        else:
            x_tr, y_tr = x_all, y_all
            x_val = _as_time_major(X_val, "X_val", net.n_inputs).float()
            y_val_t = self._targets(y_val, x_val.shape[1], x_val.shape[0])
        if x_tr.shape[1] == 0:
            raise ValueError("no training sequences left after the validation split")

        readout = (select_readout_neurons(net, self.readout_fraction)
                   if self.readout_neurons is None else np.asarray(self.readout_neurons))
        n_out = (int(y_all.max()) + 1 if self.task == "classification" else y_all.shape[-1])
        if self.task == "classification" and y_val_t.numel():
            n_out = max(n_out, int(y_val_t.max()) + 1)
        snn = TorchSNN(net, surrogate_slope=self.surrogate_slope,
                       train_recurrent=self.train_recurrent, train_input=self.train_input)
        self.model_ = SpikingPredictor(snn, readout, n_out, self.hidden, self.trace_tau, gen)
        self.readout_neurons_ = readout
        frozen = not (self.train_recurrent or self.train_input)

        with torch.no_grad():
            feats_tr0, _ = self.model_.features(x_tr)
            self.model_.readout.set_normalisation(feats_tr0)
            feats_val0 = self.model_.features(x_val)[0] if x_val.shape[1] else None

        self.history_: list[dict] = []
        best = (math.inf, copy.deepcopy(self.model_.state_dict()))
        if not frozen and self.pretrain_readout_epochs:
            best = self._train_loop(rng, x_tr, y_tr, x_val, y_val_t, feats_tr0, feats_val0,
                                    list(self.model_.readout.parameters()), True,
                                    self.pretrain_readout_epochs, "readout", best)
            self.model_.load_state_dict(best[1])
        params = [p for p in self.model_.parameters() if p.requires_grad]
        best = self._train_loop(rng, x_tr, y_tr, x_val, y_val_t, feats_tr0, feats_val0,
                                params, frozen, self.epochs, "all" if not frozen else "readout",
                                best)
        self.model_.load_state_dict(best[1])
        self.best_score_ = best[0]
        self.model_.eval()
        self.network_ = snn.to_network()
        return self

    def _train_loop(self, rng, x_tr, y_tr, x_val, y_val_t, feats_tr0, feats_val0, params,
                    frozen: bool, epochs: int, phase: str, best: tuple) -> tuple:
        """Adam over ``params`` for up to ``epochs`` epochs with early stopping; returns the
        best (score, state_dict) seen (including the incoming ``best``)."""
        snn = self.model_.snn
        opt = torch.optim.Adam(params, lr=self.learning_rate)
        stale = 0
        n_tr = x_tr.shape[1]
        has_val = feats_val0 is not None
        for epoch in _progress(range(epochs), self.progress, desc=f"BP epochs ({phase})"):
            self.model_.train()
            order = rng.permutation(n_tr)
            total, count = 0.0, 0
            for start in range(0, n_tr, self.batch_size):
                idx = torch.as_tensor(order[start:start + self.batch_size])
                feats = feats_tr0[:, idx] if frozen else self.model_.features(x_tr[:, idx])[0]
                loss = self._loss(self._outputs(feats), y_tr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                snn.enforce_dale()
                total += float(loss.detach()) * idx.numel()
                count += idx.numel()
            train_loss = total / count
            val_loss = math.nan
            if has_val:
                with torch.no_grad():
                    fv = feats_val0 if frozen else self.model_.features(x_val)[0]
                    val_loss = float(self._loss(self._outputs(fv), y_val_t))
            self.history_.append({"epoch": len(self.history_), "phase": phase,
                                  "train_loss": train_loss, "val_loss": val_loss})
            score = val_loss if has_val else train_loss
            if not np.isfinite(score):
                break
            if score < best[0] - 1e-12:
                best = (score, copy.deepcopy(self.model_.state_dict()))
                stale = 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        return best

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit() first")

    @torch.no_grad()
    def predict(self, X) -> np.ndarray:
        """Regression: outputs [n, T, n_out]; classification: labels [n]."""
        self._check_fitted()
        x = _as_time_major(X, "X", self.model_.snn.n_inputs).float()
        feats, _ = self.model_.features(x)
        out = self._outputs(feats)
        if self.task == "classification":
            return out.argmax(-1).numpy()
        return out.numpy().astype(np.float64)

    @torch.no_grad()
    def score(self, X, y) -> float:
        """Classification accuracy, or regression loss (MSE over non-NaN targets)."""
        pred = self.predict(X)
        if self.task == "classification":
            return float(np.mean(pred == np.asarray(y)))
        y = np.asarray(y, dtype=np.float64)
        mask = ~np.isnan(y)
        return float(np.mean((pred[mask] - y[mask]) ** 2))
