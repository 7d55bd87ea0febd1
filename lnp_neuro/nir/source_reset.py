"""The reset rule of the framework a NIR graph came from, which the file does not carry.

NIR's spiking neurons reset to ``v_reset`` in the step they cross the threshold
(``nir.LIF``, ``nir.CubaLIF``, ``nir.IF``), and that is how :func:`graph_from_nir` reads
them. snnTorch (1.0, ``snntorch/_neurons/leaky.py``, ``rleaky.py``) writes no reset rule
into the graph its exporter makes, but its neurons have two: ``reset_mechanism``
("subtract", its default, or "zero") and ``reset_delay`` (default True: the reset acts in
the step after the spike, through ``reset = H(mem[t-1] - threshold)``). With ``S`` the
spike, ``beta = 1 - dt/tau_mem`` and ``I`` the input of the step:

=====================  ==========================================================  =======
snnTorch               membrane update                                             here
=====================  ==========================================================  =======
subtract, delayed      ``mem[t] = beta mem[t-1] + I[t] - thr S[t-1]``               exact:
                                                                                   subtract
                                                                                   ``thr/beta``
subtract, at once      ``mem[t] <- mem[t] - thr S[t]``                             exact
zero, delayed, Leaky   ``mem[t] = beta (1 - S[t-1]) mem[t-1] + I[t]``              exact:
                                                                                   reset to 0
zero, delayed, RLeaky  ``mem[t] = (1 - S[t-1]) (beta mem[t-1] + I[t] + V s[t-1])``  warned
zero, at once          ``mem[t] <- 0`` where ``S[t]``                              exact
=====================  ==========================================================  =======

The delayed subtraction is the immediate subtraction of ``thr / beta`` (``beta (mem -
thr/beta) = beta mem - thr``): :class:`~lnp_neuro.model.population.Population`'s
``reset_delay``. The recurrent neurons' delayed reset to zero (``RLeaky``, ``RSynaptic``:
snnTorch zeroes the whole new membrane, input included) drops the input of the step after
each spike, a one-step refractory period that neither NIR nor this project's neuron has:
such a population (one with a projection onto itself, the form snnTorch exports them in)
is imported with the immediate reset and a warning that names it.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from ..model import Graph, Population
from .export import IMPORT_METADATA_KEY

__all__ = ["RESET_MECHANISMS", "apply_source_reset"]

#: snnTorch's names for the two reset rules (``reset_mechanism``).
RESET_MECHANISMS = ("zero", "subtract")


def _with_reset(pop: Population, mechanism: str, delay: bool) -> Population:
    return replace(pop, reset=mechanism, reset_delay=delay and mechanism == "subtract")


def apply_source_reset(graph: Graph, reset_mechanism: str | None = None,
                       reset_delay: bool = False) -> Graph:
    """``graph`` with every spiking population resetting as the source framework's neurons
    do (module docstring); ``reset_mechanism`` None keeps what the file says.

    Warns, naming the population, where the rule cannot be represented exactly.
    """
    if reset_mechanism is None:
        if reset_delay:
            raise ValueError("reset_delay needs reset_mechanism ('zero' or 'subtract'): the "
                             "file does not say how the source framework resets")
        return graph
    if reset_mechanism not in RESET_MECHANISMS:
        raise ValueError(f"reset_mechanism must be one of {RESET_MECHANISMS}, "
                         f"got {reset_mechanism!r}")
    if not isinstance(reset_delay, bool):
        raise ValueError(f"reset_delay must be True or False, got {reset_delay!r}")
    self_fed = {p.target for p in graph.projections if p.source == p.target}
    pops = []
    for pop in graph.populations.values():
        if not pop.spiking:
            pops.append(pop)
            continue
        if reset_delay and reset_mechanism == "zero" and pop.name in self_fed:
            warnings.warn(
                f"population {pop.name!r}: a recurrent neuron that resets to zero one step "
                f"late (snnTorch's RLeaky/RSynaptic with reset_delay) drops the input of the "
                f"step after each spike, which NIR and lnp_neuro cannot express; it is "
                f"imported with the reset at the spike, so spikes can differ from the "
                f"source after each spike", UserWarning, stacklevel=3)
        pops.append(_with_reset(pop, reset_mechanism, reset_delay))
    metadata = dict(graph.metadata)
    record = dict(metadata.get(IMPORT_METADATA_KEY, {}))
    record["source_reset"] = {"mechanism": reset_mechanism, "delay": bool(reset_delay)}
    metadata[IMPORT_METADATA_KEY] = record
    return Graph(inputs=dict(graph.inputs), populations=pops,
                 projections=list(graph.projections), outputs=list(graph.outputs),
                 dt=graph.dt, metadata=metadata)
