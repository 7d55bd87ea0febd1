"""What a NIR file does not say about the framework that wrote it: its neurons' reset
rule (snnTorch) and its time-constant convention (norse).

``--source snntorch`` / ``reset_mechanism``, ``reset_delay``. NIR's spiking neurons reset
to ``v_reset`` in the step they cross the threshold (``nir.LIF``, ``nir.CubaLIF``,
``nir.IF``), and that is how :func:`graph_from_nir` reads them. snnTorch (1.0,
``snntorch/_neurons/leaky.py``, ``rleaky.py``) writes no reset rule into the graph its
exporter makes, but its neurons have two: ``reset_mechanism`` ("subtract", its default,
or "zero") and ``reset_delay`` (default True: the reset acts in the step after the spike,
through ``reset = H(mem[t-1] - threshold)``). With ``S`` the spike, ``beta = 1 -
dt/tau_mem`` and ``I`` the input of the step:

=====================  ==========================================================  =======
snnTorch               membrane update                                             here
=====================  ==========================================================  =======
subtract, delayed      ``mem[t] = beta mem[t-1] + I[t] - thr S[t-1]``               exact:
                                                                                   subtract
                                                                                   ``thr/beta``
subtract, at once      ``mem[t] <- mem[t] - thr S[t]`` (fires on ``mem - thr``     exact
                       ``H(mem[t-1] - thr)``: differs only where a membrane stays  while
                       above threshold after its reset)                            below
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

``--source norse``. norse 1.1.0's exporter (``norse/torch/utils/export_nir.py``) writes
``tau = dt / tau_inv`` with ``r = 1`` and no ``dt``, where the time constant is
``1 / tau_inv``: every ``tau``, ``tau_mem`` and ``tau_syn`` in its file is ``dt`` times the
true one (``dt`` its ``to_nir`` argument, default 1 ms). :func:`norse_time_constants`
divides them by ``dt`` before the import, which then reads the graph with that ``dt``.

norse's current-based cell (``LIFCell``, ``norse/torch/functional/lif.py``
``lif_feed_forward_step``, exported as ``CubaLIF``) is not NIR's Euler step::

    j[t] = i[t-1] + x[t] ;  v[t] = v[t-1] + dt/tau_mem (v_leak - v[t-1] + j[t])
    i[t] = j[t] (1 - dt/tau_syn)

the input enters the current whole (NIR: ``dt/tau_syn w_in x``). With ``u[t] = dt/tau_mem
j[t]`` that is this project's neuron with the input weights scaled by ``dt/tau_mem``
alone: ``w_in`` is set to ``tau_syn/dt``, which cancels the import's ``dt/tau_syn``.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace

import nir
import numpy as np

from ..model import Graph, Population
from .export import IMPORT_METADATA_KEY

__all__ = ["RESET_MECHANISMS", "SOURCES", "NORSE_EXPORT_DT", "SNNTORCH_RESET",
           "apply_source_reset", "norse_time_constants", "source_reset", "source_graph"]

#: snnTorch's names for the two reset rules (``reset_mechanism``).
RESET_MECHANISMS = ("zero", "subtract")
#: Frameworks whose unwritten conventions ``--source`` names (module docstring).
SOURCES = ("nir", "snntorch", "norse")
#: snnTorch's default neurons: ``(reset_mechanism, reset_delay)``.
SNNTORCH_RESET = ("subtract", True)
#: norse's ``to_nir`` default ``dt`` (seconds).
NORSE_EXPORT_DT = 1e-3
_TAU_FIELDS = ("tau", "tau_mem", "tau_syn")


def norse_time_constants(nir_graph: nir.NIRGraph, dt: float) -> nir.NIRGraph:
    """A copy of ``nir_graph`` with every neuron time constant divided by ``dt``: the
    true time constants of a graph norse 1.1.0 exported with that ``dt`` (module
    docstring)."""
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    graph = copy.deepcopy(nir_graph)

    def rescale(g: nir.NIRGraph) -> None:
        for node in g.nodes.values():
            if isinstance(node, nir.NIRGraph):
                rescale(node)
                continue
            for field in _TAU_FIELDS:
                if isinstance(node, (nir.LIF, nir.CubaLIF, nir.LI)) and hasattr(node, field):
                    setattr(node, field, np.asarray(getattr(node, field), np.float64) / dt)
            if isinstance(node, nir.CubaLIF):   # the input enters i whole (docstring)
                node.w_in = np.asarray(node.w_in, np.float64) * node.tau_syn / dt
    rescale(graph)
    return graph


def _with_reset(pop: Population, mechanism: str, delay: bool) -> Population:
    return replace(pop, reset=mechanism, reset_delay=delay and mechanism == "subtract")


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")


def source_reset(source: str, reset_mechanism: str | None,
                 reset_delay: bool | None) -> tuple[str | None, bool]:
    """``(reset_mechanism, reset_delay)`` for a graph from ``source``: what is given, and
    for snnTorch its defaults where not (:data:`SNNTORCH_RESET`)."""
    _check_source(source)
    if source == "snntorch":
        return (reset_mechanism or SNNTORCH_RESET[0],
                SNNTORCH_RESET[1] if reset_delay is None else bool(reset_delay))
    return reset_mechanism, bool(reset_delay)


def source_graph(nir_graph: nir.NIRGraph, source: str, dt: float | None
                 ) -> tuple[nir.NIRGraph, float | None]:
    """``(graph, dt)`` to import: for norse, its time constants made true with ``dt``
    (default :data:`NORSE_EXPORT_DT`, which is then the graph's dt); else unchanged."""
    _check_source(source)
    if source != "norse":
        return nir_graph, dt
    dt = NORSE_EXPORT_DT if dt is None else dt
    return norse_time_constants(nir_graph, dt), dt


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
