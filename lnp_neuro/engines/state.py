"""The state and the result of a simulation run (:mod:`lnp_neuro.engines.simulator`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NetworkState", "SimulationResult"]

_MODES = ("float", "fixed")


@dataclass(eq=False)
class NetworkState:
    """Dynamic state of the network between two steps.

    ``v``, ``u`` : membrane potential and synaptic current (N,).
    ``pending_input``, ``pending_recurrent`` : activation each Sparse process has already
    accumulated and delivers at the next step (Lava's ``a_buff``), (N,).

    In ``mode="float"`` the arrays are float64 in membrane units; in ``mode="fixed"`` they
    are int64 in Loihi integer units (``u``/``v`` before any read-back division by
    ``scale``; pending activations after the weight exponent, before the shift by 6).
    """

    v: np.ndarray
    u: np.ndarray
    pending_input: np.ndarray
    pending_recurrent: np.ndarray
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}")
        dtype = np.float64 if self.mode == "float" else np.int64
        arrays = {}
        for name in ("v", "u", "pending_input", "pending_recurrent"):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1:
                raise ValueError(f"{name} must be a 1-D array (one value per neuron), "
                                 f"got shape {arr.shape}")
            if self.mode == "fixed" and arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(f"{name} must hold integers in mode='fixed', got {arr.dtype}")
            if self.mode == "float" and not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} has non-finite values")
            arrays[name] = np.array(arr, dtype=dtype, copy=True)
        sizes = {a.shape[0] for a in arrays.values()}
        if len(sizes) != 1:
            raise ValueError(f"v, u, pending_input and pending_recurrent must have the same "
                             f"length, got {[a.shape[0] for a in arrays.values()]}")
        for name, arr in arrays.items():
            setattr(self, name, arr)

    @classmethod
    def zeros(cls, n: int, mode: str) -> "NetworkState":
        dtype = np.float64 if mode == "float" else np.int64
        z = np.zeros(n, dtype)
        return cls(v=z, u=z, pending_input=z, pending_recurrent=z, mode=mode)


@dataclass(eq=False)
class SimulationResult:
    """Output of :func:`simulate`.

    ``spikes`` : bool (T, N). ``v``, ``u`` : float (T, N) after each step (``v`` after the
    reset), or None unless ``record_state``; in ``mode="fixed"`` they are the integers
    divided by ``scale`` (exact: ``scale`` is a power of two by default).
    ``final_state`` : :class:`NetworkState` to continue from (``initial_state=``).
    ``synaptic_events`` : weights added into a postsynaptic accumulator (recurrent plus
    input), i.e. presynaptic spikes times their active fan-out.
    ``current_wraps`` : times a synaptic current wrapped around its 24-bit range
    (``mode="fixed"`` only; Loihi behaviour, a sign of a too large ``scale``).
    """

    spikes: np.ndarray
    v: np.ndarray | None
    u: np.ndarray | None
    final_state: NetworkState
    mode: str
    scale: float | None
    synaptic_events: int
    current_wraps: int

    @property
    def n_steps(self) -> int:
        return self.spikes.shape[0]

    def rates(self, dt: float = 1.0) -> np.ndarray:
        """Mean spikes per step (per second when ``dt`` is given) of each neuron."""
        if self.n_steps == 0:
            return np.zeros(self.spikes.shape[1])
        return self.spikes.mean(axis=0) / dt
