"""Unsupervised pair-based STDP on the recurrent layer, then a supervised readout.

Rule (Song, Miller & Abbott 2000, "Competitive Hebbian learning through spike-timing-
dependent synaptic plasticity", Nature Neuroscience 3(9), eq. 1 with all-to-all pairing;
trace implementation after Morrison, Diesmann & Gerstner 2008, Biol. Cybern. 98, Sec. 4.1):
for a synapse pre j -> post i and a pair of spikes with ``delta = t_post - t_pre``::

    dw =  A_plus  * w_max * exp(-delta / tau_plus)     if delta > 0  (pre before post)
    dw = -A_minus * w_max * exp( delta / tau_minus)    if delta < 0  (post before pre)

Summed over all pairs it is computed with one trace per neuron::

    x_j[t] = sum_{t' < t} s_j[t'] exp(-(t - t') dt / tau_plus)      (presynaptic trace)
    y_i[t] = sum_{t' < t} s_i[t'] exp(-(t - t') dt / tau_minus)     (postsynaptic trace)
    dw_ij  = w_max * sum_t ( A_plus s_i[t] x_j[t] - A_minus s_j[t] y_i[t] )

The traces only hold STRICTLY earlier spikes, so simultaneous spikes (delta = 0) form no
pair. Song et al. keep A_minus/A_plus slightly above 1 (1.05) so that uncorrelated firing
depresses on balance.

Project conventions (documented choices):

- Only existing, active synapses between active neurons are plastic; nothing is created,
  pruned synapses stay pruned.
- Dale's law: the rule acts on the magnitude ``|w|`` (potentiation strengthens an
  inhibitory synapse too) and the sign of every synapse is kept; magnitudes are clipped to
  ``[0, w_max]``, with ``w_max = w_max_factor`` times the largest initial magnitude among
  synapses of the same sign (excitatory and inhibitory weights differ in scale).
- Weights change at the end of each presentation (epoch) from the raster of that
  presentation ("batch" STDP); within one presentation the dynamics use fixed weights.
  With small learning rates this is the usual approximation of online STDP. When the
  presentation holds several sequences (each starting from rest), the change is the MEAN
  over sequences, so the step size does not grow with the number of sequences.
- Default amplitudes (A_plus = 1e-3 w_max per pair) are 5x below Song et al.'s 0.005
  because these networks fire at tens to hundreds of Hz where Song et al.'s inputs fired
  at 10-40 Hz; a presentation then changes weights by a few per cent, not to the bounds.
- The pair sums are formed only at the synapses: the post-neuron axis is processed in
  blocks, so memory stays bounded (``block_size`` x N) at any N.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..model.network import SpikingNetwork
from .bp import SurrogateGradientBP, _progress
from .torch_snn import TorchSNN, limit_torch_threads

__all__ = ["spike_traces", "pair_stdp_update", "PairSTDP", "STDPTrainer"]


def spike_traces(spikes: np.ndarray, dt: float, tau: float) -> np.ndarray:
    """Traces of strictly earlier spikes: ``x[t] = sum_{t'<t} s[t'] exp(-(t-t') dt/tau)``.

    ``spikes`` [T, ...] (0/1). Returns float64 of the same shape.
    """
    s = np.asarray(spikes, dtype=np.float64)
    decay = float(np.exp(-dt / tau))
    out = np.empty_like(s)
    trace = np.zeros(s.shape[1:])
    for t in range(s.shape[0]):
        trace = trace * decay
        out[t] = trace
        trace = trace + s[t]
    return out


def pair_stdp_update(spikes: np.ndarray, pre: np.ndarray, post: np.ndarray, dt: float, *,
                     a_plus: float = 0.01, a_minus: float = 0.0105,
                     tau_plus: float = 20e-3, tau_minus: float = 20e-3,
                     block_size: int = 256) -> np.ndarray:
    """Summed pair-based STDP change per synapse, in units of ``w_max``.

    ``spikes`` [T, N]; ``pre``, ``post`` index arrays of the synapses (length E). Returns
    ``dw`` [E] = ``sum_t (a_plus s_post[t] x_pre[t] - a_minus s_pre[t] y_post[t])`` (see
    the module docstring; Song, Miller & Abbott 2000).
    """
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must have shape [T, N], got {s.shape}")
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    if pre.shape != post.shape or pre.ndim != 1:
        raise ValueError("pre and post must be 1-D index arrays of the same length")
    n = s.shape[1]
    if pre.size and (min(pre.min(), post.min()) < 0 or max(pre.max(), post.max()) >= n):
        raise ValueError(f"pre/post indices must be in 0..{n - 1}")
    for name, val in (("dt", dt), ("tau_plus", tau_plus), ("tau_minus", tau_minus)):
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be positive, got {val}")
    for name, val in (("a_plus", a_plus), ("a_minus", a_minus)):
        if not (np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be >= 0, got {val}")
    if int(block_size) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    sf = sp.csc_matrix(s.astype(np.float64))      # spikes are sparse in time
    x = spike_traces(s, dt, tau_plus)              # presynaptic traces
    y = spike_traces(s, dt, tau_minus)             # postsynaptic traces
    dw = np.zeros(pre.size)
    # potentiation: sum_t s_post[t] x_pre[t] = (S^T X)[post, pre]; depression likewise with
    # (Y^T S)[post, pre]. Both are formed block by block over the post neurons.
    order = np.argsort(post, kind="stable")
    post_sorted = post[order]
    bounds = np.searchsorted(post_sorted, np.arange(0, n + block_size, block_size))
    for b in range(len(bounds) - 1):
        lo_e, hi_e = bounds[b], bounds[b + 1]
        if lo_e == hi_e:
            continue
        lo = b * block_size
        hi = min(lo + block_size, n)
        ltp = np.asarray((sf[:, lo:hi].T @ x))            # [block, N]
        ltd = np.asarray((sf.T @ y[:, lo:hi]).T)          # [block, N]
        e = order[lo_e:hi_e]
        rows = post[e] - lo
        dw[e] = a_plus * ltp[rows, pre[e]] - a_minus * ltd[rows, pre[e]]
    return dw


class PairSTDP:
    """Unsupervised pair-based STDP of the recurrent weights of a SpikingNetwork.

    Parameters
    ----------
    a_plus, a_minus : potentiation / depression amplitudes per pair, in units of w_max
        (Song et al. 2000 use A_minus / A_plus = 1.05).
    tau_plus, tau_minus : STDP window time constants (s), Song et al.: 20 ms.
    w_max_factor : w_max = factor * largest initial |w| of the same sign (>= 1).
    epochs : presentations of the input.
    seed : unused by the rule itself (it is deterministic); kept for the trainer API.
    progress : tqdm bar over epochs (only on a TTY).
    """

    def __init__(self, *, a_plus: float = 1e-3, a_minus: float = 1.05e-3,
                 tau_plus: float = 20e-3, tau_minus: float = 20e-3,
                 w_max_factor: float = 2.0, epochs: int = 1, block_size: int = 256,
                 progress: bool = True) -> None:
        for name, val in (("a_plus", a_plus), ("a_minus", a_minus)):
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be >= 0, got {val}")
        for name, val in (("tau_plus", tau_plus), ("tau_minus", tau_minus)):
            if not (np.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {val}")
        if not (np.isfinite(w_max_factor) and w_max_factor >= 1):
            raise ValueError(f"w_max_factor must be >= 1, got {w_max_factor}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        self.a_plus, self.a_minus = float(a_plus), float(a_minus)
        self.tau_plus, self.tau_minus = float(tau_plus), float(tau_minus)
        self.w_max_factor = float(w_max_factor)
        self.epochs = int(epochs)
        self.block_size = int(block_size)
        self.progress = progress

    def fit(self, net: SpikingNetwork, X) -> "PairSTDP":
        """Present ``X`` ([n, T, n_in] or [T, n_in] spikes) ``epochs`` times.

        Sets ``network_`` (the network with plastic weights) and ``history_`` (per epoch:
        mean |dw| relative to w_max, spikes per neuron per step).
        """
        limit_torch_threads()
        if not isinstance(net, SpikingNetwork):
            raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
        x = np.asarray(X, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[-1] != net.n_inputs:
            raise ValueError(f"X must have shape [n, T, n_inputs={net.n_inputs}] or "
                             f"[T, n_inputs], got {np.asarray(X).shape}")
        keep = net.synapse_and_mask()
        entries = np.flatnonzero(keep)
        pre_all, post_all = net.synapse_pre_post()
        pre, post = pre_all[entries], post_all[entries]
        w0 = net.weights.data[entries]
        sign = np.where(net.excitatory[pre], 1.0, -1.0)
        w_max = np.empty(entries.size)
        for s_val in (1.0, -1.0):
            m = sign == s_val
            if m.any():
                w_max[m] = self.w_max_factor * np.max(np.abs(w0[m]))
        magnitude = np.abs(w0)
        self.history_: list[dict] = []
        current = net
        for epoch in _progress(range(self.epochs), self.progress, desc="STDP epochs"):
            snn = TorchSNN(current, dtype=torch.float64)
            with torch.no_grad():
                raster = snn(torch.as_tensor(x).transpose(0, 1)).numpy()  # [T, n, N]
            dw = np.zeros(entries.size)
            for k in range(raster.shape[1]):
                dw += (1.0 / raster.shape[1]) * pair_stdp_update(raster[:, k], pre, post, net.dt,
                                       a_plus=self.a_plus, a_minus=self.a_minus,
                                       tau_plus=self.tau_plus, tau_minus=self.tau_minus,
                                       block_size=self.block_size)
            magnitude = np.clip(magnitude + w_max * dw, 0.0, w_max)
            w = current.weights.copy()
            w.data[entries] = sign * magnitude
            current = current.copy(weights=w, synapse_active=current.synapse_active.copy())
            self.history_.append({
                "epoch": epoch,
                "mean_abs_dw": float(np.mean(np.abs(dw))) if dw.size else 0.0,
                "rate": float(raster.mean()),
            })
        self.network_ = current
        return self


class STDPTrainer:
    """STDP on the recurrent layer, then the supervised readout (design section 4).

    ``fit(net, X, y, X_val, y_val)``: :class:`PairSTDP` on ``X`` (unsupervised; labels are
    not seen), then :class:`SurrogateGradientBP` with the SNN frozen (readout only: the
    betweenness-selected neurons -> 20 hidden -> outputs). ``stdp_kwargs`` and
    ``readout_kwargs`` are passed to the two.
    """

    def __init__(self, task: str = "regression", *, stdp_kwargs: dict | None = None,
                 readout_kwargs: dict | None = None, seed: int | None = 0,
                 progress: bool = True) -> None:
        if task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
        self.task = task
        self.stdp_kwargs = dict(stdp_kwargs or {})
        self.readout_kwargs = dict(readout_kwargs or {})
        for key in ("train_recurrent", "train_input", "task"):
            if key in self.readout_kwargs:
                raise ValueError(f"readout_kwargs must not set {key!r}: STDP trains the "
                                 "recurrent layer, the readout trainer only the readout")
        self.seed = seed
        self.progress = progress

    def fit(self, net: SpikingNetwork, X, y, X_val=None, y_val=None) -> "STDPTrainer":
        self.stdp_ = PairSTDP(progress=self.progress, **self.stdp_kwargs).fit(net, X)
        self.readout_ = SurrogateGradientBP(
            self.task, train_recurrent=False, train_input=False, seed=self.seed,
            progress=self.progress, **self.readout_kwargs)
        self.readout_.fit(self.stdp_.network_, X, y, X_val, y_val)
        self.network_ = self.readout_.network_
        self.model_ = self.readout_.model_
        self.history_ = {"stdp": self.stdp_.history_, "readout": self.readout_.history_}
        return self

    def predict(self, X) -> np.ndarray:
        return self.readout_.predict(X)

    def score(self, X, y) -> float:
        return self.readout_.score(X, y)
