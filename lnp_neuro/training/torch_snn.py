"""A SpikingNetwork as a differentiable torch module (surrogate-gradient spikes).

:class:`TorchSNN` runs exactly the discrete dynamics fixed in :mod:`lnp_neuro.model.network`
(Lava ``LIF`` + ``Sparse``, floating point)::

    a_in[t] = W_in x[t] + W s[t-1]
    u[t]    = u[t-1] (1 - du) + a_in[t]
    v[t]    = v[t-1] (1 - dv) + u[t] + bias
    s[t]    = H(v[t] - v_threshold) ;  v[t] <- 0 where s[t]

with a batch dimension, sparse recurrent and input weights (``torch.sparse`` COO, only
the ACTIVE synapses of active neurons are stored, so a pruned synapse or neuron can never
come back through training) and pruned neurons held silent.

Note: the docstring of :mod:`lnp_neuro.model.network` writes ``a_in[t] = W_in x[t] + W s[t-1]``
(input not delayed); the simulator, checked spike for spike against Lava, delays the
input path too, because Lava's ``Sparse`` process sends at step t what it received at
t-1. This module follows the simulator, so its rasters equal ``simulate(...).spikes``.

The Heaviside step H has no useful derivative; in the backward pass it is replaced by the
SuperSpike / fast-sigmoid surrogate (Zenke & Ganguli 2018, "SuperSpike: Supervised
learning in multilayer spiking neural networks", Neural Computation 30(6), eq. 5; see
also Neftci, Mostafa & Zenke 2019, IEEE Signal Processing Magazine)::

    dS/dv ~= 1 / (beta * |x| + 1)^2 ,   x = (v - v_threshold) / v_threshold

``beta`` (``surrogate_slope``) sets its sharpness; the normalisation by the threshold makes
it independent of the voltage units. The forward pass is the exact step, so with float64 a
forward raster equals the native simulator's spike for spike.

The reset ``v <- v (1 - s)`` is detached from the graph by default (``detach_reset``): the
gradient then does not flow through the reset, which Zenke & Vogels 2021 (Neural
Computation 33(4)) found to train better; the forward value is unchanged either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..model.network import SpikingNetwork

__all__ = ["SuperSpike", "superspike", "SNNState", "TorchSNN", "limit_torch_threads"]

_MAX_THREADS = 2
# Per-step tensors are small (N x batch): one thread is fastest and avoids spin-waiting
# on the shared 2-core machine; experiments parallelise across runs instead.
_DEFAULT_THREADS = 1


def limit_torch_threads(n_threads: int = _DEFAULT_THREADS) -> None:
    """Cap torch's intra-op threads (at most 2: the project machine has 2 shared cores)."""
    if not 1 <= int(n_threads) <= _MAX_THREADS:
        raise ValueError(f"n_threads must be 1..{_MAX_THREADS}, got {n_threads}")
    if torch.get_num_threads() > n_threads:
        torch.set_num_threads(int(n_threads))


class SuperSpike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid derivative backward (Zenke & Ganguli 2018, eq. 5)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        surrogate = 1.0 / (ctx.slope * x.abs() + 1.0) ** 2
        return grad_output * surrogate, None


def superspike(x: torch.Tensor, slope: float = 10.0) -> torch.Tensor:
    """Spike = H(x) with the SuperSpike surrogate derivative ``1/(slope |x| + 1)^2``."""
    return SuperSpike.apply(x, float(slope))


@dataclass
class SNNState:
    """State carried between steps ([B, N] each): synaptic current u, membrane v, last
    spikes s, and the input drive ``W_in x[t-1]`` still in flight in the input Sparse."""

    u: torch.Tensor
    v: torch.Tensor
    s: torch.Tensor
    pending_input: torch.Tensor

    def __post_init__(self) -> None:
        shapes = {self.u.shape, self.v.shape, self.s.shape, self.pending_input.shape}
        if len(shapes) != 1 or self.u.dim() != 2:
            raise ValueError(f"u, v, s and pending_input must share one shape [batch, N], "
                             f"got {[tuple(t.shape) for t in (self.u, self.v, self.s)]}")

    def detach(self) -> "SNNState":
        return SNNState(self.u.detach(), self.v.detach(), self.s.detach(),
                        self.pending_input.detach())


def _coo_indices(matrix) -> np.ndarray:
    """(row, col) of the stored entries of a canonical CSR matrix, in CSR order."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return np.vstack([rows, matrix.indices.astype(np.int64)])


class TorchSNN(nn.Module):
    """The recurrent layer of a :class:`SpikingNetwork` as a torch module.

    Parameters
    ----------
    net : SpikingNetwork
        The network; only active synapses between active neurons are represented.
    dtype : torch.dtype
        ``torch.float32`` for training, ``torch.float64`` to reproduce the simulator
        spike for spike.
    surrogate_slope : float
        ``beta`` of the SuperSpike surrogate (per unit of threshold), > 0.
    detach_reset : bool
        Do not back-propagate through the reset (see the module docstring).
    train_recurrent, train_input : bool
        Whether the values of the existing recurrent / input synapses are trainable
        parameters (``recurrent_values``, ``input_values``) or fixed buffers.

    Attributes
    ----------
    size : int
        Width of the state tensors: every neuron of ``net`` (``net.n_total_neurons``),
        pruned ones included, so indices match the network's.
    """

    def __init__(self, net: SpikingNetwork, *, dtype: torch.dtype = torch.float32,
                 surrogate_slope: float = 10.0, detach_reset: bool = True,
                 train_recurrent: bool = False, train_input: bool = False) -> None:
        super().__init__()
        if not isinstance(net, SpikingNetwork):
            raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        surrogate_slope = float(surrogate_slope)
        if not (np.isfinite(surrogate_slope) and surrogate_slope > 0):
            raise ValueError(f"surrogate_slope must be a positive number, got {surrogate_slope}")
        limit_torch_threads()
        self.source_network = net
        self.dtype = dtype
        self.surrogate_slope = surrogate_slope
        self.detach_reset = bool(detach_reset)
        self.size = net.n_total_neurons
        self.n_inputs = net.n_inputs

        # Only synapses that are active AND whose two neurons are active exist here;
        # `_active_entries` remembers where each one sits in net.weights.data.
        keep = net.synapse_and_mask()
        self._active_entries = np.flatnonzero(keep)
        rec_idx = _coo_indices(net.weights)[:, keep]
        w_in = net.effective_input_weights()
        w_in.eliminate_zeros()
        w_in.sort_indices()
        self._input_matrix_template = w_in
        in_idx = _coo_indices(w_in)

        self.register_buffer("recurrent_index", torch.as_tensor(rec_idx))
        self.register_buffer("input_index", torch.as_tensor(in_idx))
        rec_vals = torch.as_tensor(net.weights.data[keep], dtype=dtype)
        in_vals = torch.as_tensor(w_in.data, dtype=dtype)
        if train_recurrent:
            self.recurrent_values = nn.Parameter(rec_vals.clone())
        else:
            self.register_buffer("recurrent_values", rec_vals.clone())
        if train_input:
            self.input_values = nn.Parameter(in_vals.clone())
        else:
            self.register_buffer("input_values", in_vals.clone())
        # Dale sign of each recurrent synapse (+1 excitatory presynaptic neuron, -1 not).
        pre = rec_idx[1]
        self.register_buffer("recurrent_sign", torch.as_tensor(
            np.where(net.excitatory[pre], 1.0, -1.0), dtype=dtype))
        self.register_buffer("decay_u", torch.as_tensor(1.0 - net.du, dtype=dtype))
        self.register_buffer("decay_v", torch.as_tensor(1.0 - net.dv, dtype=dtype))
        self.register_buffer("bias", torch.as_tensor(net.bias, dtype=dtype))
        self.register_buffer("v_threshold", torch.as_tensor(net.v_threshold, dtype=dtype))
        self.register_buffer("neuron_active", torch.as_tensor(net.neuron_active, dtype=dtype))

    # ------------------------------------------------------------------ weights
    def recurrent_matrix(self) -> torch.Tensor:
        """W[post, pre] as a sparse COO tensor (differentiable in its values)."""
        return torch.sparse_coo_tensor(self.recurrent_index, self.recurrent_values,
                                       (self.size, self.size), is_coalesced=True,
                                       check_invariants=False)

    def input_matrix(self) -> torch.Tensor:
        return torch.sparse_coo_tensor(self.input_index, self.input_values,
                                       (self.size, self.n_inputs), is_coalesced=True,
                                       check_invariants=False)

    @torch.no_grad()
    def enforce_dale(self) -> None:
        """Project trained recurrent weights back onto their Dale sign (0 allowed)."""
        if isinstance(self.recurrent_values, nn.Parameter):
            self.recurrent_values.copy_(self.recurrent_sign * torch.clamp(
                self.recurrent_values * self.recurrent_sign, min=0.0))
        if isinstance(self.input_values, nn.Parameter):
            # input weights start positive (models._input_weights); keep their sign
            self.input_values.clamp_(min=0.0)

    def to_network(self) -> SpikingNetwork:
        """A copy of the source network with the (possibly trained) weights written back.

        Masks are unchanged: pruned synapses keep their stored (inactive) values, pruned
        neurons stay pruned.
        """
        net = self.source_network
        w = net.weights.copy()
        w.data[self._active_entries] = self.recurrent_values.detach().cpu().double().numpy()
        w_in = net.input_weights.copy()
        # trained input entries live on active neurons only; write them back by position
        tmpl = self._input_matrix_template.tocoo()
        vals = self.input_values.detach().cpu().double().numpy()
        w_in = w_in.tolil()
        w_in[tmpl.row, tmpl.col] = vals
        return net.copy(weights=w, input_weights=w_in.tocsr(),
                        synapse_active=net.synapse_active.copy())

    # ------------------------------------------------------------------ dynamics
    def initial_state(self, batch_size: int) -> SNNState:
        z = torch.zeros(batch_size, self.size, dtype=self.dtype, device=self.bias.device)
        return SNNState(z, z.clone(), z.clone(), z.clone())

    def _check_input(self, x: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, bool]:
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"input_spikes must have shape [T, n_inputs={self.n_inputs}] or "
                             f"[T, batch, n_inputs], got {tuple(x.shape)}")
        return x.to(self.dtype), unbatched

    def input_current(self, x: torch.Tensor) -> torch.Tensor:
        """W_in x[t] for every step at once: [T, B, n_in] -> [T, B, N]."""
        t, b, _ = x.shape
        flat = x.reshape(t * b, self.n_inputs)
        return torch.sparse.mm(self.input_matrix(), flat.T).T.reshape(t, b, self.size)

    def step(self, drive: torch.Tensor, state: SNNState,
             w_rec: torch.Tensor | None = None) -> SNNState:
        """One step given this step's external drive ``W_in x[t]`` ([B, N]), which arrives
        at the neurons one step later; returns the new state."""
        if w_rec is None:
            w_rec = self.recurrent_matrix()
        a_in = state.pending_input + torch.sparse.mm(w_rec, state.s.T).T
        u = state.u * self.decay_u + a_in
        v = state.v * self.decay_v + u + self.bias
        s = superspike((v - self.v_threshold) / self.v_threshold, self.surrogate_slope)
        s = s * self.neuron_active
        keep = 1.0 - (s.detach() if self.detach_reset else s)
        return SNNState(u, v * keep, s, drive)

    def forward(self, input_spikes, state: SNNState | None = None, *,
                record_state: bool = False, return_state: bool = False):
        """Run T steps.

        ``input_spikes``: [T, n_in] or [T, B, n_in] (0/1). Returns spikes [T, (B,) N]; with
        ``record_state`` also ``(v, u)`` per step (v after reset, as Lava and the
        simulator record it); with ``return_state`` also the final :class:`SNNState`.
        """
        x, unbatched = self._check_input(input_spikes)
        x = x.to(self.bias.device)
        drive = self.input_current(x)
        if state is None:
            state = self.initial_state(x.shape[1])
        elif state.u.shape != (x.shape[1], self.size):
            raise ValueError(f"state has shape {tuple(state.u.shape)}, expected "
                             f"[{x.shape[1]}, {self.size}]")
        w_rec = self.recurrent_matrix()
        spikes, vs, us = [], [], []
        for t in range(x.shape[0]):
            state = self.step(drive[t], state, w_rec)
            spikes.append(state.s)
            if record_state:
                vs.append(state.v)
                us.append(state.u)
        out = torch.stack(spikes)
        extra = []
        if record_state:
            v_rec, u_rec = torch.stack(vs), torch.stack(us)
            if unbatched:
                v_rec, u_rec = v_rec[:, 0], u_rec[:, 0]
            extra.append((v_rec, u_rec))
        if unbatched:
            out = out[:, 0]
        if return_state:
            extra.append(state)
        return (out, *extra) if extra else out
