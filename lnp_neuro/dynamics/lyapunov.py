"""Lyapunov exponents of flows, maps and spiking networks (design section 2).

Three estimators share one core, the QR (Gram-Schmidt) method of Benettin, Galgani,
Giorgilli & Strelcyn (Meccanica 15, 1980) in the form used for recurrent networks by
Vogt et al. ("On Lyapunov exponents for RNNs", 2020, Sec. 2) and Engelken, Wolf & Abbott
("Lyapunov spectra of chaotic recurrent neural networks", Phys. Rev. Research 5, 2023,
Sec. II and their Algorithm 1)::

    Q_0 = k orthonormal columns          (docs/design.md: columns of the identity)
    Y   = J_t Q_t                        tangent vectors pushed through the Jacobian
    Y   = Q_{t+1} R_{t+1}                QR, diag(R) >= 0 after a sign fix
    lambda_i = (1 / (T dt)) sum_t log R_{t, ii}

``R_ii`` is the growth of the i-th Gram-Schmidt direction: the volume of the leading
i-dimensional parallelotope grows like ``exp(T (lambda_1 + ... + lambda_i))``. With QR
every ``m`` steps instead of every step (``reortho_every = m``) the product of ``m``
Jacobians is factorised at once, which is exact in exact arithmetic and accurate as long
as the columns do not collapse onto the leading direction within ``m`` steps (the ratio
``exp(m dt (lambda_1 - lambda_k))`` must stay far below ``1 / eps``).

- :func:`ode_spectrum` — continuous flows ``dx/dt = f(x)``: the state and the variational
  equation ``dY/dt = Df(x) Y`` are integrated together by classical RK4 (which equals the
  exact Jacobian of the RK4 step map, so the exponents are those of the discretised flow).
- :func:`map_spectrum` — discrete maps ``h_{t+1} = F(h_t[, x_t])``; exponents per step.
- :func:`network_spectrum` — the rate surrogate of a :class:`~lnp_neuro.model.network.SpikingNetwork`
  (design section 2; LNP paper, Chakraborty et al. ICLR 2024, appendix A.1, the discrete-time
  firing-rate map of Engelken et al. 2023, Eq. 1 with a per-neuron step ``dt / tau``)::

      r_{t+1} = (1 - a) * r_t + a * phi(W r_t + b + x_t),     a = dt / tau_mem,  phi = tanh
      J_t     = diag(1 - a) + diag(a * phi'(W r_t + b + x_t)) W

  with ``W`` the active recurrent coupling in rate units, ``net.rate_coupling()`` (the
  spiking weights scaled row-wise by each neuron's steady-state gain; see
  :class:`RateSurrogate`, in :mod:`lnp_neuro.dynamics.rate_surrogate` and re-exported here, for
  units, bias and input), sparse: ``J_t Q`` is one sparse @
  dense ``[N, k]`` product. The per-neuron exponent of design section 2 is
  ``lambda_i = sum_k lambda_k Q_ik^2 / sum_k Q_ik^2``.
- :func:`spiking_divergence` / :func:`spiking_lambda_max` — the direct estimate of the LNP
  paper's appendix A.1 (twin simulations), in :mod:`lnp_neuro.dynamics.spiking_divergence` and
  re-exported here.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .._util.validation import check_int, check_nonnegative, check_positive, progress_bar
from ..model.network import SpikingNetwork
from .rate_surrogate import RateSurrogate, rate_surrogate
from .spiking_divergence import SpikingDivergence, spiking_divergence, spiking_lambda_max

__all__ = [
    "ode_spectrum",
    "map_spectrum",
    "network_spectrum",
    "NetworkSpectrum",
    "RateSurrogate",
    "rate_surrogate",
    "per_neuron_exponents",
    "SpikingDivergence",
    "spiking_divergence",
    "spiking_lambda_max",
]


# ------------------------------------------------------------------ validation helpers
def _check_state(x0: Any, name: str) -> np.ndarray:
    try:
        arr = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of numbers, got {x0!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D state vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite (NaN or inf) entries")
    return arr


def _check_k(k: Any, n: int) -> int:
    if k is None:
        return n
    k = check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= the state dimension {n}, got {k}")
    return k


def _check_q0(q0: Any, n: int, k: int) -> np.ndarray:
    if q0 is None:
        return np.eye(n, k)
    q = np.array(q0, dtype=np.float64)
    if q.shape != (n, k):
        raise ValueError(f"q0 must have shape ({n}, {k}) (state dimension, k), got {q.shape}")
    if not np.all(np.isfinite(q)):
        raise ValueError("q0 has non-finite (NaN or inf) entries")
    if not np.allclose(q.T @ q, np.eye(k), atol=1e-8):
        raise ValueError("q0 must have orthonormal columns (q0.T @ q0 == I)")
    return q


# -------------------------------------------------------------------- shared QR core
class _TangentBasis:
    """k orthonormal tangent vectors and the accumulated log-growth of each direction."""

    def __init__(self, q0: np.ndarray, reortho_every: int) -> None:
        self.q = q0
        self.reortho_every = reortho_every
        self.log_growth = np.zeros(q0.shape[1])
        self._since_qr = 0

    def advance(self, y: np.ndarray, force_qr: bool, accumulate: bool) -> None:
        """Take the propagated vectors ``y``; re-orthonormalise when due or forced."""
        self.q = y
        self._since_qr += 1
        if force_qr or self._since_qr >= self.reortho_every:
            self._reorthonormalise(accumulate)

    def _reorthonormalise(self, accumulate: bool) -> None:
        if not np.all(np.isfinite(self.q)):
            raise FloatingPointError(
                "tangent vectors overflowed or became NaN; lower reortho_every or check "
                "that the dynamics stay finite")
        q, r = np.linalg.qr(self.q)
        diag = np.diag(r)
        # A positive diagonal makes Q a continuous function of time (the Gram-Schmidt
        # basis), so the final vectors are the Lyapunov vectors and not a sign pattern.
        sign = np.where(diag < 0, -1.0, 1.0)
        self.q = q * sign
        if accumulate:
            with np.errstate(divide="ignore"):
                self.log_growth += np.log(np.abs(diag))
        self._since_qr = 0


def _sorted_descending(values: np.ndarray) -> np.ndarray:
    # stable: equal exponents keep their Gram-Schmidt order
    return np.argsort(-values, kind="stable")


# ------------------------------------------------------------------------ flows (ODE)
def ode_spectrum(f: Callable[[np.ndarray], np.ndarray],
                 jac: Callable[[np.ndarray], Any],
                 x0: Any, dt: float, n_steps: int, n_transient: int = 0,
                 k: int | None = None, reortho_every: int = 1, *,
                 q0: Any = None, progress: bool | None = None) -> np.ndarray:
    """Leading Lyapunov exponents of the flow ``dx/dt = f(x)``, per unit time.

    Benettin et al. (1980) with classical RK4: the state and the variational equation
    ``dY/dt = jac(x) Y`` are advanced together by one RK4 step of the extended system
    (``k1 = f(x), K1 = jac(x) Y, k2 = f(x + dt/2 k1), K2 = jac(x + dt/2 k1)(Y + dt/2 K1)``
    ...), which is exactly the derivative of the RK4 step map; every ``reortho_every`` steps
    ``Y = Q R`` and ``log R_ii`` is accumulated. ``lambda_i = sum log R_ii / (n_steps dt)``.

    Parameters
    ----------
    f : callable ``f(x) -> dx/dt`` (autonomous), array (n,).
    jac : callable ``jac(x) -> (n, n)`` Jacobian ``df/dx`` (dense array or scipy sparse).
    x0 : initial state (n,).
    dt : RK4 step (> 0).
    n_steps : steps whose growth is averaged (>= 1).
    n_transient : steps run first (state and tangent vectors, nothing accumulated) so the
        state reaches the attractor and the vectors align with the Lyapunov vectors.
    k : number of leading exponents (default n).
    reortho_every : QR every this many steps (>= 1).
    q0 : initial orthonormal tangent vectors (n, k); default the first k columns of I.
    progress : tqdm bar (None: only on a terminal).

    Returns
    -------
    array (k,) of exponents per unit time, sorted descending.
    """
    x = _check_state(x0, "x0")
    n = x.size
    dt = check_positive(dt, "dt")
    n_steps = check_int(n_steps, "n_steps", 1)
    n_transient = check_int(n_transient, "n_transient", 0)
    k = _check_k(k, n)
    reortho_every = check_int(reortho_every, "reortho_every", 1)
    if not callable(f):
        raise ValueError("f must be callable: f(x) -> dx/dt")
    if not callable(jac):
        raise ValueError("jac must be callable: jac(x) -> (n, n) Jacobian")
    basis = _TangentBasis(_check_q0(q0, n, k), reortho_every)
    half = 0.5 * dt

    def rhs(state: np.ndarray, tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(f(state), dtype=np.float64),
                np.asarray(jac(state) @ tangent, dtype=np.float64))

    total = n_transient + n_steps
    with progress_bar(total, progress, "Lyapunov spectrum (ODE)") as bar:
        for t in range(total):
            y = basis.q
            k1, K1 = rhs(x, y)
            k2, K2 = rhs(x + half * k1, y + half * K1)
            k3, K3 = rhs(x + half * k2, y + half * K2)
            k4, K4 = rhs(x + dt * k3, y + dt * K3)
            x = x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            y = y + (dt / 6.0) * (K1 + 2.0 * K2 + 2.0 * K3 + K4)
            if not np.all(np.isfinite(x)):
                raise FloatingPointError(f"the state became non-finite at step {t}; lower dt")
            basis.advance(y, force_qr=(t == n_transient - 1 or t == total - 1),
                          accumulate=t >= n_transient)
            bar.update()
    exponents = basis.log_growth / (n_steps * dt)
    return exponents[_sorted_descending(exponents)]


# ------------------------------------------------------------------------------- maps
def map_spectrum(step: Callable[..., np.ndarray], jac: Callable[..., Any], h0: Any,
                 n_steps: int, n_transient: int = 0, k: int | None = None,
                 inputs: Sequence[Any] | np.ndarray | None = None, reortho_every: int = 1,
                 *, q0: Any = None, progress: bool | None = None) -> np.ndarray:
    """Leading Lyapunov exponents of the map ``h_{t+1} = step(h_t[, x_t])``, per step.

    Vogt et al. (2020, Sec. 2) / Engelken et al. (2023, Algorithm 1): ``Q <- J_t Q`` with
    ``J_t = jac(h_t[, x_t]) = dF/dh`` at the current state (and input), QR every
    ``reortho_every`` steps, ``lambda_i = sum log R_ii / n_steps``.

    Parameters
    ----------
    step : ``step(h)`` or, with ``inputs``, ``step(h, x_t)`` -> next state (n,).
    jac : same arguments -> Jacobian (n, n), a dense array or a scipy sparse matrix.
    h0 : initial state (n,).
    n_steps : steps whose growth is averaged (>= 1).
    n_transient : steps run first without accumulating (state and tangent vectors).
    k : number of leading exponents (default n).
    inputs : optional sequence with at least ``n_transient + n_steps`` entries; entry t
        is passed to ``step`` and ``jac`` at step t (the transient uses the first ones).
    reortho_every : QR every this many steps (>= 1).
    q0 : initial orthonormal tangent vectors (n, k); default the first k columns of I.
        If the span of those columns is invariant under every Jacobian (e.g. an upper
        triangular or block-diagonal map), Q never leaves it and k < n returns the
        exponents of that subspace, not the leading ones: pass a generic ``q0`` then.
    progress : tqdm bar (None: only on a terminal).

    Returns
    -------
    array (k,) of exponents per step (natural log), sorted descending.
    """
    h = _check_state(h0, "h0")
    n = h.size
    n_steps = check_int(n_steps, "n_steps", 1)
    n_transient = check_int(n_transient, "n_transient", 0)
    k = _check_k(k, n)
    reortho_every = check_int(reortho_every, "reortho_every", 1)
    if not callable(step):
        raise ValueError("step must be callable: step(h[, x]) -> next state")
    if not callable(jac):
        raise ValueError("jac must be callable: jac(h[, x]) -> (n, n) Jacobian")
    total = n_transient + n_steps
    if inputs is not None:
        try:
            n_inputs = len(inputs)
        except TypeError:
            raise ValueError("inputs must be a sequence or array indexed by time step") from None
        if n_inputs < total:
            raise ValueError(f"inputs has {n_inputs} time steps, need n_transient + n_steps "
                             f"= {total}")
    basis = _TangentBasis(_check_q0(q0, n, k), reortho_every)
    with progress_bar(total, progress, "Lyapunov spectrum (map)") as bar:
        for t in range(total):
            args = (h,) if inputs is None else (h, inputs[t])
            jacobian = jac(*args)
            h = np.asarray(step(*args), dtype=np.float64)
            if h.shape != (n,):
                raise ValueError(f"step returned shape {h.shape}, expected ({n},)")
            if not np.all(np.isfinite(h)):
                raise FloatingPointError(f"the state became non-finite at step {t}")
            y = np.asarray(jacobian @ basis.q, dtype=np.float64)
            basis.advance(y, force_qr=(t == n_transient - 1 or t == total - 1),
                          accumulate=t >= n_transient)
            bar.update()
    exponents = basis.log_growth / n_steps
    return exponents[_sorted_descending(exponents)]


def per_neuron_exponents(exponents: Any, vectors: Any) -> np.ndarray:
    """Spectrum attributed to each neuron by its loading on the Lyapunov vectors (design section 2).

    ``lambda_i = sum_k lambda_k Q_ik^2 / sum_k Q_ik^2`` (the LNP paper does not define a
    per-neuron exponent; design section 2 fixes this one). A neuron with no loading at all
    on the k computed vectors lies in their orthogonal complement, whose exponents are at
    most ``lambda_k``; it gets ``min(exponents)``, the tightest bound known.
    """
    lam = np.asarray(exponents, dtype=np.float64)
    q = np.asarray(vectors, dtype=np.float64)
    if lam.ndim != 1:
        raise ValueError(f"exponents must be 1-D, got shape {lam.shape}")
    if q.ndim != 2 or q.shape[1] != lam.size:
        raise ValueError(f"vectors must have shape (n, {lam.size}), got {q.shape}")
    if np.any(np.isnan(lam)):
        raise ValueError("exponents contain NaN")
    weight = q * q
    # 0 * (-inf) would be NaN: an unloaded direction contributes nothing.
    contrib = np.where(weight > 0, lam[None, :] * weight, 0.0)
    loading = weight.sum(axis=1)
    out = np.full(q.shape[0], lam.min() if lam.size else np.nan)
    loaded = loading > 0
    out[loaded] = contrib[loaded].sum(axis=1) / loading[loaded]
    return out


@dataclass(eq=False)
class NetworkSpectrum:
    """Lyapunov spectrum of a network's rate surrogate (:func:`network_spectrum`).

    Attributes
    ----------
    exponents : array (k,), per second, descending: ``sum_t log R_t,ii / (T dt)``.
    vectors : array (n_active, k), the final orthonormal tangent basis Q; column j
        belongs to ``exponents[j]``.
    neuron_exponents : array (n_active,), ``sum_k lambda_k Q_ik^2 / sum_k Q_ik^2``.
    active : int array (n_active,), indices of the active neurons in the full network;
        row i of ``vectors`` / entry i of ``neuron_exponents`` is neuron ``active[i]``.
    size : neurons in the full network (pruned included), if known.
    dt : seconds per step, if known.
    n_steps : accumulated steps T, if known.
    """

    exponents: np.ndarray
    vectors: np.ndarray
    neuron_exponents: np.ndarray
    active: np.ndarray
    size: int | None = None
    dt: float | None = None
    n_steps: int | None = None

    def __post_init__(self) -> None:
        self.exponents = np.asarray(self.exponents, dtype=np.float64)
        self.vectors = np.asarray(self.vectors, dtype=np.float64)
        self.neuron_exponents = np.asarray(self.neuron_exponents, dtype=np.float64)
        self.active = np.asarray(self.active)
        if self.exponents.ndim != 1 or self.exponents.size == 0:
            raise ValueError(f"exponents must be a non-empty 1-D array, got {self.exponents.shape}")
        if np.any(np.isnan(self.exponents)):
            raise ValueError("exponents contain NaN")
        if np.any(np.diff(self.exponents) > 0):
            raise ValueError("exponents must be sorted in descending order")
        if not np.issubdtype(self.active.dtype, np.integer) or self.active.ndim != 1:
            raise ValueError("active must be a 1-D integer array of neuron indices")
        if self.active.size and (self.active[0] < 0 or np.any(np.diff(self.active) <= 0)):
            raise ValueError("active must be strictly increasing non-negative indices")
        n, k = self.active.size, self.exponents.size
        if self.vectors.shape != (n, k):
            raise ValueError(f"vectors must have shape ({n}, {k}) (n_active, k), "
                             f"got {self.vectors.shape}")
        if self.neuron_exponents.shape != (n,):
            raise ValueError(f"neuron_exponents must have shape ({n},), "
                             f"got {self.neuron_exponents.shape}")
        if self.size is not None:
            self.size = check_int(self.size, "size", 1)
            if n and self.active[-1] >= self.size:
                raise ValueError(f"active index {self.active[-1]} out of range for "
                                 f"size {self.size}")
        if self.dt is not None:
            self.dt = check_positive(self.dt, "dt")
        if self.n_steps is not None:
            self.n_steps = check_int(self.n_steps, "n_steps", 1)

    @property
    def lambda_max(self) -> float:
        """Largest exponent, per second (> 0: chaotic, < 0: stable)."""
        return float(self.exponents[0])

    @property
    def k(self) -> int:
        return int(self.exponents.size)

    def full_neuron_exponents(self, size: int | None = None,
                              fill: float = np.nan) -> np.ndarray:
        """Per-neuron exponents indexed like the full network; pruned neurons get ``fill``."""
        size = self.size if size is None else check_int(size, "size", 1)
        if size is None:
            raise ValueError("size is unknown; pass size=net.n_total_neurons")
        if self.active.size and self.active[-1] >= size:
            raise ValueError(f"size={size} is smaller than the largest active index")
        out = np.full(size, float(fill))
        out[self.active] = self.neuron_exponents
        return out


def _initial_tangent_columns(weights: sp.csr_matrix, leak: np.ndarray, k: int) -> np.ndarray:
    """Q_0: k columns of the identity, of neurons with outgoing synapses first, then by
    slowest leak (largest tau_mem); ties keep neuron order.

    docs/design.md says "the first K columns of I"; which K columns is free. The axis of a neuron
    without outgoing synapses (a sink, common after pruning) is invariant under every
    ``J_t`` (``J e_i = (1 - a_i) e_i``), so a column started there would stay there and
    report that neuron's leak instead of a leading exponent; such axes come last. Among
    the rest the slowest-leaking neurons come first: for ``W = 0`` (all sinks) they span
    the leading Lyapunov subspace and the estimate is exact for any k.
    """
    n = leak.size
    has_output = np.bincount(weights.indices[weights.data != 0], minlength=n) > 0
    order = np.lexsort((np.arange(n), leak, ~has_output))[:k]
    q0 = np.zeros((n, k))
    q0[order, np.arange(k)] = 1.0
    return q0


def _check_spectrum_settings(n: int, n_steps: Any, k: Any, n_transient: Any,
                             reortho_every: Any, noise_std: Any) -> tuple:
    """``(n_steps, k, n_transient, reortho_every, noise_std)`` checked; ``k <= n`` active."""
    n_steps = check_int(n_steps, "n_steps", 1)
    k = check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= the number of active neurons {n}, got {k}")
    n_transient = check_int(n_transient, "n_transient", 0)
    reortho_every = check_int(reortho_every, "reortho_every", 1)
    noise_std = check_nonnegative(noise_std, "noise_std")
    return n_steps, k, n_transient, reortho_every, noise_std


def _check_drive(inputs: Any, n_inputs: int, total: int) -> np.ndarray | None:
    """The input spikes as float64 ``(T_in >= total, n_inputs)``, or None (no drive)."""
    if inputs is None:
        return None
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[1] != n_inputs:
        raise ValueError(f"inputs must have shape (T, n_inputs={n_inputs}), "
                         f"got {inputs.shape}")
    if inputs.shape[0] < total:
        raise ValueError(f"inputs has {inputs.shape[0]} time steps, need n_transient + "
                         f"n_steps = {total}")
    inputs = inputs.astype(np.float64)
    if not np.all(np.isfinite(inputs)):
        raise ValueError("inputs has non-finite (NaN or inf) values")
    return inputs


def _spectrum_rng(seed: Any) -> np.random.Generator:
    """The generator of the initial rates and the noise: ``seed`` if a Generator, else
    ``default_rng(seed)`` (an integer or None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be an integer, a numpy Generator or None, got {seed!r}")


def _initial_rates(initial_rates: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    """r_0: ``initial_rates`` checked, else uniform in (-1, 1) (the range of tanh) from
    ``rng`` (its first draw)."""
    if initial_rates is None:
        return rng.uniform(-1.0, 1.0, n)
    r = _check_state(initial_rates, "initial_rates")
    if r.shape != (n,):
        raise ValueError(f"initial_rates must have shape ({n},) (active neurons), "
                         f"got {r.shape}")
    return r


def _iterate_tangents(surrogate: RateSurrogate, r: np.ndarray, basis: _TangentBasis,
                      inputs: np.ndarray | None, noise_std: float, rng: np.random.Generator,
                      n_transient: int, total: int, progress: bool | None) -> None:
    """Benettin's QR loop on the rate map for ``total`` steps: ``r_{t+1} = (1 - a) r_t +
    a tanh(pre_t)`` and ``Y = J_t Q``, growth accumulated after ``n_transient`` steps (QR
    forced at the end of the transient and at the last step)."""
    weights, leak = surrogate.weights, surrogate.leak
    keep = 1.0 - leak
    keep_col, bias = keep[:, None], surrogate.bias
    n = surrogate.n
    with progress_bar(total, progress, "Lyapunov spectrum (network)") as bar:
        for t in range(total):
            pre = weights @ r + bias
            if inputs is not None:
                pre += surrogate.input_weights @ inputs[t]
            if noise_std > 0:
                pre += noise_std * rng.standard_normal(n)
            act = np.tanh(pre)
            slope = leak * (1.0 - act * act)
            # J_t Q = diag(1 - a) Q + diag(a phi') (W Q): one sparse @ dense product
            y = weights @ basis.q
            y *= slope[:, None]
            y += keep_col * basis.q
            r = keep * r + leak * act
            basis.advance(y, force_qr=(t == n_transient - 1 or t == total - 1),
                          accumulate=t >= n_transient)
            bar.update()


def _spectrum_from_basis(basis: _TangentBasis, surrogate: RateSurrogate,
                         net: SpikingNetwork, n_steps: int) -> NetworkSpectrum:
    """Exponents ``log_growth / (T dt)`` sorted descending with their vectors, and the
    per-neuron exponents of design section 2."""
    exponents = basis.log_growth / (n_steps * net.dt)
    order = _sorted_descending(exponents)
    exponents, vectors = exponents[order], basis.q[:, order]
    return NetworkSpectrum(exponents=exponents, vectors=vectors,
                           neuron_exponents=per_neuron_exponents(exponents, vectors),
                           active=surrogate.active, size=net.n_total_neurons, dt=net.dt,
                           n_steps=n_steps)


def network_spectrum(net: SpikingNetwork, n_steps: int, k: int,
                     inputs: Any = None, seed: int | np.random.Generator | None = None, *,
                     n_transient: int = 200, noise_std: float = 0.0,
                     initial_rates: Any = None, reortho_every: int = 1,
                     progress: bool | None = None) -> NetworkSpectrum:
    """The k leading Lyapunov exponents of the rate surrogate of ``net``, per second.

    The map and Jacobian are those of :class:`RateSurrogate` (design section 2, LNP paper
    appendix A.1, Engelken et al. 2023 Eq. 1-2), iterated with the QR method of Benettin
    et al. (1980) as in Vogt et al. (2020). Only active neurons and active synapses
    between them take part. Each step costs one sparse matvec for the state and one
    sparse @ dense ``[n_active, k]`` product for the tangent vectors; nothing is densified.

    Parameters
    ----------
    net : the network.
    n_steps : steps T whose growth is averaged (>= 1).
    k : number of leading exponents, 1 <= k <= active neurons.
    inputs : optional array (T_in, n_inputs) of input spikes per step (bool / 0-1 spike
        trains, or per-step spike probabilities of a rate code), with ``T_in >=
        n_transient + n_steps``; the drive is ``G_in @ inputs[t]`` (the the design's
        ``x_t = W_in @ inputs[t]`` in rate units, see :class:`RateSurrogate`). Without it
        the drive is 0 (plus the optional noise): the autonomous network.
    seed : seed (or Generator) of the random initial rates and of the noise drive; the same
        seed gives the same result bit for bit.
    n_transient : steps run first (state and tangent vectors, nothing accumulated) so the
        rates reach their attractor and Q aligns with the Lyapunov vectors. 200 steps is
        10 mean membrane time constants of the default HRSNN (20 ms at dt = 1 ms).
    noise_std : standard deviation (thresholds) of an optional seeded white-noise drive
        added to the preactivation of every neuron at every step (default 0: no noise).
    initial_rates : optional r_0 (n_active,); default uniform in (-1, 1), the range of
        tanh, drawn from ``seed`` (the zero state is a fixed point of a bias-free
        network and would give the spectrum of that fixed point, not of the attractor).
    reortho_every : QR every this many steps (see the module docstring for accuracy).
    progress : tqdm bar (None: only on a terminal).

    Q_0 is k columns of the identity: neurons with outgoing synapses first (the axis of a
    sink neuron is invariant and would trap a column), then slowest leak first (see
    ``_initial_tangent_columns``); for ``W = 0`` the result is exactly
    ``sort(log(1 - dt / tau_i) / dt)`` for any k.
    """
    surrogate = rate_surrogate(net)
    n_steps, k, n_transient, reortho_every, noise_std = _check_spectrum_settings(
        surrogate.n, n_steps, k, n_transient, reortho_every, noise_std)
    total = n_transient + n_steps
    inputs = _check_drive(inputs, net.n_inputs, total)
    rng = _spectrum_rng(seed)
    r = _initial_rates(initial_rates, rng, surrogate.n)
    basis = _TangentBasis(_initial_tangent_columns(surrogate.weights, surrogate.leak, k),
                          reortho_every)
    _iterate_tangents(surrogate, r, basis, inputs, noise_std, rng, n_transient, total,
                      progress)
    return _spectrum_from_basis(basis, surrogate, net, n_steps)
