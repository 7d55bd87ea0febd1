"""Rate surrogate of a spiking network (design section 2): the discrete-time firing-rate
map whose Lyapunov spectrum :func:`lnp_neuro.dynamics.lyapunov.network_spectrum` estimates.

Engelken, Wolf & Abbott (Phys. Rev. Research 5, 2023) Eq. 1-2 with a per-neuron step
``dt / tau_mem`` (LNP paper, Chakraborty et al. ICLR 2024, appendix A.1); the equations
and units are in :class:`RateSurrogate`. Kept apart from the QR estimators of
:mod:`lnp_neuro.dynamics.lyapunov` (re-exported there) because it changes with the network's
rate units, not with the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._util.validation import check_positive
from ..model.network import RATE_UNIT_HZ, SpikingNetwork

__all__ = ["RateSurrogate", "rate_surrogate"]


@dataclass(eq=False)
class RateSurrogate:
    """Discrete-time firing-rate map of the active part of a spiking network (design section 2)::

        r_{t+1} = (1 - a) * r_t + a * tanh(G r_t + b + G_in x_t),    a = dt / tau_mem
        J_t     = diag(1 - a) + diag(a * (1 - tanh^2(G r_t + b + G_in x_t))) G

    Engelken et al. (2023) Eq. 1 with a per-neuron step ``a_i = dt / tau_i`` (LNP paper
    appendix A.1). ``phi = tanh`` is this project's choice (the paper does not name phi):
    it is the transfer function of Engelken et al. and of the classical chaotic rate
    network (Sompolinsky, Crisanti & Sommers 1988), whose transition to chaos sits at
    bulk spectral radius 1, the ``gain`` of :mod:`lnp_neuro.model.build`.

    Units (those of :meth:`SpikingNetwork.rate_coupling`): rates ``r`` are in units of
    :data:`lnp_neuro.model.network.RATE_UNIT_HZ`, the preactivation is the steady-state drive in
    thresholds. ``G = diag(rate_gain) W`` is the the design's ``W`` in these units (the spiking
    weights scaled by each neuron's steady-state gain); ``b = bias (tau_mem / dt) /
    v_threshold``, the membrane offset a constant bias holds, in thresholds;
    ``G_in = diag(rate_gain) W_in / (RATE_UNIT_HZ dt)``, so ``x_t`` is in input spikes
    per step (a spike train, or the per-step spike probabilities of a rate code).

    Attributes
    ----------
    weights : CSR (n, n), ``G[post, pre]`` between active neurons.
    input_weights : CSR (n, n_in), ``G_in`` onto the active neurons.
    leak : array (n,), ``a = dt / tau_mem`` in (0, 1].
    bias : array (n,), ``b``.
    dt : seconds per step.
    active : int array (n,), indices of the active neurons in the full network.
    """

    weights: sp.csr_matrix
    input_weights: sp.csr_matrix
    leak: np.ndarray
    bias: np.ndarray
    dt: float
    active: np.ndarray

    def __post_init__(self) -> None:
        n = self.leak.shape[0]
        if self.weights.shape != (n, n):
            raise ValueError(f"weights must have shape ({n}, {n}), got {self.weights.shape}")
        if self.input_weights.shape[0] != n:
            raise ValueError(f"input_weights must have {n} rows, got {self.input_weights.shape}")
        if np.any(self.leak <= 0) or np.any(self.leak > 1):
            raise ValueError("leak (dt / tau_mem) must lie in (0, 1]")
        if self.bias.shape != (n,) or self.active.shape != (n,):
            raise ValueError(f"bias and active must have shape ({n},)")
        self.dt = check_positive(self.dt, "dt")

    @property
    def n(self) -> int:
        return self.leak.shape[0]

    def preactivation(self, r: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """``W r + b (+ W_in x)``."""
        pre = self.weights @ r + self.bias
        if x is not None:
            pre = pre + self.input_weights @ np.asarray(x, dtype=np.float64)
        return pre

    def step(self, r: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """One step of the rate map."""
        return (1.0 - self.leak) * r + self.leak * np.tanh(self.preactivation(r, x))

    def jacobian(self, r: np.ndarray, x: np.ndarray | None = None) -> sp.csr_matrix:
        """Sparse Jacobian ``dr_{t+1}/dr_t`` at ``(r, x)``."""
        slope = 1.0 - np.tanh(self.preactivation(r, x)) ** 2
        jac = sp.diags(self.leak * slope) @ self.weights + sp.diags(1.0 - self.leak)
        return sp.csr_matrix(jac)


def rate_surrogate(net: SpikingNetwork) -> RateSurrogate:
    """The rate surrogate (:class:`RateSurrogate`) of the active neurons of ``net``."""
    if not isinstance(net, SpikingNetwork):
        raise ValueError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    active = np.flatnonzero(net.neuron_active)
    if active.size == 0:
        raise ValueError("net has no active neuron")
    weights = sp.csr_matrix(net.rate_coupling()[active][:, active])
    weights.sort_indices()
    input_weights = sp.csr_matrix(net.rate_input_coupling()[active]) / (RATE_UNIT_HZ * net.dt)
    bias = net.bias[active] * net.tau_mem[active] / (net.dt * net.v_threshold[active])
    return RateSurrogate(weights=sp.csr_matrix(weights), input_weights=sp.csr_matrix(input_weights),
                         leak=net.dt / net.tau_mem[active], bias=bias, dt=net.dt, active=active)
