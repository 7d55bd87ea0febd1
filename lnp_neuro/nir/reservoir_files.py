"""NIR export and import of a :class:`~lnp_neuro.model.network.SpikingNetwork` (design section 6).

NIR (Pedersen et al., "Neuromorphic intermediate representation: a unified instruction
set for interoperable brain-inspired computing", Nature Communications 15, 8122, 2024)
is the interchange format with other simulators and the hand-over of ``lnp-deploy``.
This module reads and writes files; :mod:`lnp_neuro.nir.reservoir_export` builds the graph (export)
and :mod:`lnp_neuro.nir.reservoir_import` converts a graph back. An exported network is the graph::

    input --> input_delay (Delay, dt) --> input_weights (Linear) --> neurons (CubaLIF) --> output
                                                                      ^        |
                                                                      |        v
                                                                recurrent_weights (Linear)

plus a ``readout`` Linear (or Affine) before ``output`` when one is given.

Input delay. Every synapse of the project, input included, delivers one step late; a NIR
edge delivers in the same step and the time-stepped NIR tools delay only the recurrent
cycle. So the input's delay is written as a ``Delay`` node of one ``dt`` (format version
2). On import a one-step Delay after the Input is accepted, a graph without one is read
with a warning, any other Delay is refused.

Parameter mapping. NIR's ``CubaLIF`` is ``tau_syn dI/dt = -I + w_in S``,
``tau_mem dv/dt = (v_leak - v) + r I``; time-stepped NIR tools integrate it with a
forward-Euler step ``dt``, spikes as 0/1 in their step::

    I[t] = I[t-1] + (dt/tau_syn) (w_in S[t] - I[t-1])
    v[t] = v[t-1] + (dt/tau_mem) (v_leak - v[t-1] + r I[t])

The project's model (:mod:`lnp_neuro.model.network`, Lava's LIF) is ``u[t] = u[t-1](1 - du) + W s``,
``v[t] = v[t-1](1 - dv) + u[t] + bias``. With ``u = (r dt / tau_mem) I`` the two coincide
exactly when::

    r = tau_mem / dt,   w_in = tau_syn / dt,   v_leak = bias * tau_mem / dt,   v_reset = 0

so the Linear weights are the project's weights unchanged (``w_in = 1`` would make every
synapse ``tau_syn/dt`` times too weak). Import applies the general inverse: weights
scaled per postsynaptic neuron by ``(dt/tau_syn) w_in (r dt/tau_mem)`` and
``bias = v_leak dt / tau_mem``; a NIR ``LIF`` maps onto ``tau_syn = dt`` with scale
``r dt / tau``. When a graph stores no ``dt`` it is recovered as ``tau_mem / r``.

Visible arrays are what runs (pruned synapses are 0, a pruned neuron has ``v_leak = 0``);
masks, the exact biases, neuron ids and the network metadata ride in NIR metadata (key
``"lnp_neuro"``), so the round trip is lossless. Dense NIR arrays cost ``8 N^2`` bytes per
matrix, a few copies of it while writing.

docs/interop.md has the rest: what each peer (snnTorch, norse, rockpool) writes and reads
and how the project handles it, what is stored where, and memory and time measurements.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nir
import numpy as np

from .._util.io import atomic_write
from ..model.network import SpikingNetwork
from .reservoir_export import METADATA_KEY, NIR_FORMAT_VERSION, WALL_CLOCK_KEYS, Readout, to_nir
from .reservoir_import import from_nir

__all__ = ["Readout", "to_nir", "from_nir", "write_nir", "read_nir", "read_nir_graph",
           "graph_neuron_ids", "network_from_graph",
           "METADATA_KEY", "NIR_FORMAT_VERSION", "WALL_CLOCK_KEYS"]


# --------------------------------------------------------------------------- files
def _check_nir_path(path: Path) -> None:
    if path.suffix != ".nir":
        raise ValueError(f"{path}: a NIR file must end in .nir")


def write_nir(net: SpikingNetwork, path: str | Path, overwrite: bool = False,
              readout: Readout | np.ndarray | None = None, *,
              neuron_ids: np.ndarray | None = None, portable: bool = False) -> Path:
    """Export ``net`` with :func:`to_nir` and write it to ``path`` (HDF5), atomically.

    Refuses to replace an existing file unless ``overwrite`` is True. ``neuron_ids``: see
    :func:`to_nir` (the ids of a compacted network's neurons in the network it came from);
    ``portable``: the form without Delay for snnTorch and norse (:mod:`lnp_neuro.nir.portable`).
    """
    path = Path(path)
    _check_nir_path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    graph = to_nir(net, readout=readout, neuron_ids=neuron_ids, portable=portable)
    with atomic_write(path) as tmp:
        nir.write(tmp, graph)
    return path


def read_nir_graph(path: str | Path) -> nir.NIRGraph:
    """The NIR graph in ``path``, checked by nir's own type check.

    A graph that fails nir's type check (an input type that does not match the output
    type feeding it, as some exporters write) is read again without the check, with a
    warning naming the file and the failure; :func:`from_nir` then checks the shapes it
    needs itself. Raises ``FileNotFoundError`` / ``ValueError`` naming the file otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NIR file")
    strict_error = None
    for type_check in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph = nir.read(path, type_check=type_check)
            break
        except Exception as exc:  # h5py OSError, KeyError/ValueError from malformed groups
            if strict_error is None:
                strict_error = exc
                continue
            raise ValueError(f"{path}: not a readable NIR file ({type(strict_error).__name__}: "
                             f"{strict_error})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise ValueError(f"{path}: holds a single {type(graph).__name__} node, not a NIR graph")
    if strict_error is not None:
        warnings.warn(f"{path}: fails nir's type check ({strict_error}); read without it",
                      UserWarning, stacklevel=2)
    return graph


def graph_neuron_ids(graph: nir.NIRGraph) -> np.ndarray | None:
    """The ``neuron_ids`` :func:`to_nir` stored (ids in the network the graph was compacted
    from), or None when the graph has none."""
    for node in graph.nodes.values():
        meta = getattr(node, "metadata", None)
        if isinstance(node, nir.CubaLIF) and isinstance(meta, dict) \
                and isinstance(meta.get(METADATA_KEY), dict) \
                and "neuron_ids" in meta[METADATA_KEY]:
            return np.asarray(meta[METADATA_KEY]["neuron_ids"]).astype(np.int64)
    return None


def read_nir(path: str | Path, *, dt: float | None = None, with_readout: bool = False):
    """Read a NIR file (written by :func:`write_nir` or another tool) with :func:`from_nir`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file
    for one that is not a readable NIR graph or does not map onto the network model;
    warnings of the import name the file too.
    """
    path = Path(path)
    graph = read_nir_graph(path)
    return network_from_graph(graph, path, dt=dt, with_readout=with_readout)


def network_from_graph(graph: nir.NIRGraph, path: str | Path, *, dt: float | None = None,
                       with_readout: bool = False):
    """:func:`from_nir` of a graph read from ``path``; errors and warnings name the file."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = from_nir(graph, dt=dt, with_readout=with_readout)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    for w in caught:
        warnings.warn(f"{path}: {w.message}", w.category, stacklevel=3)
    return result
