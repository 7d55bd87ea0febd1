"""A projection: sparse synapses from an input or a population onto a population.

A spike of presynaptic neuron ``j`` of ``source`` at step ``t`` adds ``W[i, j]`` to the
synaptic current ``u`` of neuron ``i`` of ``target`` at step ``t + delay_steps``::

    a_target[t] += W s_source[t - delay_steps]

``delay_steps = 1`` is one hop of a Loihi ``Sparse`` process (Lava delivers what a Sparse
received in the next step), the delay of every synapse of the engines; NIR's Affine and
Linear edges deliver in the same step, and :mod:`lnp_neuro.model.graph` states how a
graph's populations line up with a source framework that uses that rule. Weights follow
NIR's ``W[post, pre]``; the stored entries are the synapses (a stored zero is still a
synapse) and ``synapse_active`` is aligned with the entries of the canonical CSR form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .network import canonical_csr, synapse_mask

__all__ = ["Projection"]


@dataclass(eq=False)
class Projection:
    """Synapses ``W[post, pre]`` from ``source`` to ``target`` (module docstring).

    Parameters
    ----------
    source : str
        An input or population name of the graph.
    target : str
        A population name of the graph.
    weights : sparse or dense (target.n, source.n)
    synapse_active : bool array (nnz,), optional
        Pruning mask aligned with the canonical CSR entries; default all active.
    delay_steps : int
        Steps from a presynaptic spike to its arrival (>= 1).
    name : str
        Defaults to ``"source->target"``.
    """

    source: str
    target: str
    weights: object
    synapse_active: object = None
    delay_steps: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        for field in ("source", "target"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value:
                raise ValueError(f"a projection's {field} must be a node name, got {value!r}")
        if not self.name:
            self.name = f"{self.source}->{self.target}"
        where = f"projection {self.name!r}"
        try:
            self.weights = canonical_csr(self.weights, "weights")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if (isinstance(self.delay_steps, bool)
                or not isinstance(self.delay_steps, (int, np.integer)) or self.delay_steps < 1):
            raise ValueError(f"{where}: delay_steps must be an integer >= 1, "
                             f"got {self.delay_steps!r}")
        self.delay_steps = int(self.delay_steps)
        self.synapse_active = synapse_mask(self.synapse_active, self.weights.nnz, where)

    @property
    def shape(self) -> tuple[int, int]:
        """``(target neurons, source neurons)``."""
        return self.weights.shape

    @property
    def is_recurrent(self) -> bool:
        """True for a projection of a population onto itself."""
        return self.source == self.target

    def active_weights(self) -> sp.csr_matrix:
        """``weights`` with the pruned synapses removed."""
        w = self.weights
        if self.synapse_active.all():
            return w.copy()
        out = w.copy()
        out.data = np.where(self.synapse_active, out.data, 0.0)
        out.eliminate_zeros()
        return out
