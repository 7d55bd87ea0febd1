"""A population: ``n`` neurons of one kind, the node of a :class:`~lnp_neuro.model.graph.Graph`.

Every kind is a special case of one discrete-time current-based LIF neuron, the step the
engines run (Lava's ``LIF`` process, design section 6)::

    u[t] = u[t-1] (1 - dt/tau_syn) + a[t]        a[t]: what the projections deliver
    v[t] = v[t-1] (1 - dt/tau_mem) + u[t] + bias
    s[t] = v[t] > v_threshold ;  v[t] <- 0 (reset "zero") or v[t] - v_threshold
                                 (reset "subtract") where s[t]

With ``reset_delay`` (snnTorch's ``reset_delay=True``, its default) a "subtract" neuron
subtracts the threshold one step late, from the next step's decayed membrane:
``v[t+1] = beta v[t] + u[t+1] + bias - v_threshold s[t]`` with ``beta = 1 - dt/tau_mem``
(snnTorch ``Leaky._base_sub``). That is the same as subtracting ``v_threshold / beta`` at
the spike (``beta (v - v_threshold/beta) = beta v - v_threshold``), which is what
:meth:`Population.reset_amount` gives the engines; the threshold comparison is unchanged.

==============  ===========================  ==========  ======  ====================
kind            NIR primitive                tau_syn     tau_mem spikes
==============  ===========================  ==========  ======  ====================
``cuba_lif``    ``CubaLIF``                  given       given   yes
``lif``         ``LIF``                      dt (u = a)  given   yes
``if``          ``IF``                       dt          inf     yes
``li``          ``LI`` (a leaky readout)     dt          given   no
``integrator``  ``Integrator``               dt          inf     no
==============  ===========================  ==========  ======  ====================

``tau_syn = dt`` makes the current forget itself every step (``u = a``), which is a neuron
without a synaptic filter; ``tau_mem = inf`` removes the leak. Weights are in units of the
membrane potential (the jump of ``u`` per presynaptic spike), as in
:mod:`lnp_neuro.model.network`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Population", "NEURON_KINDS", "RESETS", "SPIKING_KINDS"]

NEURON_KINDS = ("cuba_lif", "lif", "if", "li", "integrator")
SPIKING_KINDS = ("cuba_lif", "lif", "if")
RESETS = ("zero", "subtract")
_HAS_SYN = ("cuba_lif",)
_HAS_LEAK = ("cuba_lif", "lif", "li")


def _per_neuron(pop: str, field: str, value, n: int, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        arr = np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"population {pop!r}: {field} must be a scalar or have shape ({n},), "
                         f"got {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"population {pop!r}: {field} has non-finite (NaN or inf) values")
    return arr.copy()


@dataclass(eq=False)
class Population:
    """``n`` neurons of one ``kind`` (module docstring) with per-neuron parameters.

    Parameters
    ----------
    name : str
        Unique within the graph (NIR node name).
    kind : str
        One of :data:`NEURON_KINDS`.
    n : int
        Number of neurons.
    tau_mem, tau_syn : float or array (n,)
        Time constants in seconds. ``tau_syn`` only for ``cuba_lif``; ``tau_mem`` not for
        ``if`` and ``integrator`` (no leak). Leave the others ``None``.
    v_threshold : float or array (n,)
        Firing threshold (> 0) of the spiking kinds; ``None`` for ``li``/``integrator``.
    bias : float or array (n,)
        Constant added to ``v`` every step (membrane units).
    reset : "zero" | "subtract"
        What a spike does to ``v`` (spiking kinds).
    reset_delay : bool
        snnTorch's ``reset_delay`` for a "subtract" population (module docstring). With
        reset to zero it changes nothing for a neuron without recurrent input (snnTorch's
        ``Leaky._base_zero`` zeroes the old membrane, as an immediate reset does), so it is
        only accepted with "subtract".
    neuron_active : bool array (n,), optional
        Pruning mask; a pruned neuron is never updated and never spikes.
    excitatory : bool array (n,), optional
        Dale identity (True: excitatory); defaults to all True.
    cluster : int array (n,), optional
        Cluster label per neuron (CHRSNN).
    """

    name: str
    kind: str
    n: int
    tau_mem: object = None
    tau_syn: object = None
    v_threshold: object = None
    bias: object = 0.0
    reset: str = "zero"
    reset_delay: bool = False
    neuron_active: object = None
    excitatory: object = None
    cluster: object = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a population needs a non-empty name, got {self.name!r}")
        where = self.name
        if self.kind not in NEURON_KINDS:
            raise ValueError(f"population {where!r}: kind must be one of {NEURON_KINDS}, "
                             f"got {self.kind!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 1:
            raise ValueError(f"population {where!r}: n must be a positive integer, got {self.n!r}")
        n = self.n = int(self.n)
        if self.reset not in RESETS:
            raise ValueError(f"population {where!r}: reset must be one of {RESETS}, "
                             f"got {self.reset!r}")
        if not isinstance(self.reset_delay, (bool, np.bool_)):
            raise ValueError(f"population {where!r}: reset_delay must be True or False, "
                             f"got {self.reset_delay!r}")
        self.reset_delay = bool(self.reset_delay)
        if self.reset_delay and self.reset != "subtract":
            raise ValueError(f"population {where!r}: reset_delay applies to reset 'subtract' "
                             f"only (a delayed reset to zero is the immediate one)")
        for field, needed in (("tau_syn", self.kind in _HAS_SYN),
                              ("tau_mem", self.kind in _HAS_LEAK),
                              ("v_threshold", self.kind in SPIKING_KINDS)):
            value = getattr(self, field)
            if needed and value is None:
                raise ValueError(f"population {where!r} ({self.kind}): {field} is required")
            if not needed and value is not None:
                raise ValueError(f"population {where!r} ({self.kind}): {field} does not apply "
                                 f"to this kind; leave it None")
            if value is not None:
                arr = _per_neuron(where, field, value, n)
                if np.any(arr <= 0):
                    i = int(np.flatnonzero(arr <= 0)[0])
                    raise ValueError(f"population {where!r}: {field} must be positive; "
                                     f"neuron {i} has {arr[i]}")
                setattr(self, field, arr)
        self.bias = _per_neuron(where, "bias", self.bias, n)
        self.neuron_active = (np.ones(n, bool) if self.neuron_active is None
                              else _per_neuron(where, "neuron_active", self.neuron_active, n, bool))
        self.excitatory = (np.ones(n, bool) if self.excitatory is None
                           else _per_neuron(where, "excitatory", self.excitatory, n, bool))
        if self.cluster is not None:
            self.cluster = _per_neuron(where, "cluster", self.cluster, n, np.int64)
            if np.any(self.cluster < 0):
                raise ValueError(f"population {where!r}: cluster labels must be non-negative")

    @property
    def spiking(self) -> bool:
        """True for the kinds that emit spikes (the others are readouts)."""
        return self.kind in SPIKING_KINDS

    def tau_syn_or(self, dt: float) -> np.ndarray:
        """``tau_syn`` per neuron; ``dt`` (no synaptic filter) for the kinds without one."""
        return self.tau_syn if self.tau_syn is not None else np.full(self.n, float(dt))

    def tau_mem_or_inf(self) -> np.ndarray:
        """``tau_mem`` per neuron; ``inf`` (no leak) for ``if`` and ``integrator``."""
        return self.tau_mem if self.tau_mem is not None else np.full(self.n, np.inf)

    def reset_amount(self, dt: float) -> np.ndarray:
        """What a spike subtracts from ``v`` under reset "subtract": ``v_threshold``, or
        ``v_threshold / beta`` with ``beta = 1 - dt/tau_mem`` under ``reset_delay``
        (module docstring). A delayed reset of a neuron with ``beta = 0`` (``tau_mem =
        dt``) acts on a membrane that forgets everything, so it has no immediate form."""
        thr = self.threshold_or_one()
        if not self.reset_delay:
            return thr
        beta = 1.0 - float(dt) / self.tau_mem_or_inf()
        if np.any(beta <= 0):
            i = int(np.flatnonzero(beta <= 0)[0])
            raise ValueError(f"population {self.name!r}: reset_delay needs tau_mem > dt "
                             f"(neuron {i} has beta = 1 - dt/tau_mem = {beta[i]:g})")
        return thr / beta

    def threshold_or_one(self) -> np.ndarray:
        """``v_threshold``; 1 for the non-spiking kinds (never compared, but quantised)."""
        return self.v_threshold if self.v_threshold is not None else np.ones(self.n)
