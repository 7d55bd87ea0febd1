"""The NIR graph lnp_neuro writes for a :class:`~lnp_neuro.model.network.SpikingNetwork` (export).

The parameter mapping, the metadata layout and the timing convention are described in
:mod:`lnp_neuro.nir.reservoir_files`, the public entry point; :mod:`lnp_neuro.nir.reservoir_import` reads graphs
back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import nir
import numpy as np
import scipy.sparse as sp

from ..model.network import SpikingNetwork
from .portable import portable_nir

__all__ = ["Readout", "to_nir", "METADATA_KEY", "NIR_FORMAT_VERSION", "WALL_CLOCK_KEYS"]

METADATA_KEY = "lnp_neuro"
#: 1: Input -> Linear -> CubaLIF (input delivered one step late by convention only);
#: 2: Input -> Delay(dt) -> Linear -> CubaLIF (the one-step input delay is in the graph),
#: ``neuron_ids`` in the neurons' metadata when the network was compacted.
NIR_FORMAT_VERSION = 2

_NODE_INPUT = "input"
_NODE_INPUT_DELAY = "input_delay"
_NODE_INPUT_WEIGHTS = "input_weights"
_NODE_NEURONS = "neurons"
_NODE_RECURRENT = "recurrent_weights"
_NODE_READOUT = "readout"
_NODE_OUTPUT = "output"

_DISCRETISATION = (
    "forward Euler, dt from this metadata; the input passes a one-step Delay node, the "
    "recurrent edge is delayed one step by the cycle; u[t] = u[t-1](1 - dt/tau_syn) + "
    "W_in x[t-1] + W s[t-1]; v[t] = v[t-1](1 - dt/tau_mem) + u[t] + bias; s = v > v_threshold; v <- 0 "
    "on a spike. NIR CubaLIF with r = tau_mem/dt, w_in = tau_syn/dt, "
    "v_leak = bias tau_mem/dt (0 for pruned neurons).")


@dataclass(eq=False)
class Readout:
    """A linear readout of the recurrent layer's spikes: ``y[t] = weight @ s[t] + bias``.

    Parameters
    ----------
    weight : array (n_out, N)
        Readout weights (dense; sparse input is densified).
    bias : array (n_out,), optional
        Output bias; ``None`` exports a NIR ``Linear``, otherwise an ``Affine``.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        weight = self.weight.toarray() if sp.issparse(self.weight) else self.weight
        weight = np.array(weight, dtype=np.float64)
        if weight.ndim != 2 or weight.shape[0] < 1:
            raise ValueError(f"readout weight must be a 2-D (n_out, N) matrix, got shape "
                             f"{weight.shape}")
        if not np.all(np.isfinite(weight)):
            raise ValueError("readout weight has non-finite (NaN or inf) values")
        self.weight = weight
        if self.bias is not None:
            bias = np.array(self.bias, dtype=np.float64).reshape(-1)
            if bias.shape != (weight.shape[0],):
                raise ValueError(f"readout bias must have shape ({weight.shape[0]},), "
                                 f"got {np.shape(self.bias)}")
            if not np.all(np.isfinite(bias)):
                raise ValueError("readout bias has non-finite (NaN or inf) values")
            self.bias = bias

    @property
    def n_outputs(self) -> int:
        return self.weight.shape[0]


# --------------------------------------------------------------------------- export
def _hidden_entries(stored: sp.csr_matrix, visible: np.ndarray) -> tuple[np.ndarray, ...]:
    """Stored entries of ``stored`` that the dense ``visible`` matrix does not show.

    An entry is hidden when the visible matrix has 0 there: a pruned entry (visible 0,
    stored weight kept) or a stored zero. Returns (row, col, value, entry index).
    """
    rows = np.repeat(np.arange(stored.shape[0], dtype=np.int64), np.diff(stored.indptr))
    cols = stored.indices.astype(np.int64)
    hidden = visible[rows, cols] == 0
    idx = np.flatnonzero(hidden)
    return rows[idx], cols[idx], stored.data[idx].copy(), idx


def _as_readout(readout: Any, n: int) -> Readout | None:
    if readout is None:
        return None
    if not isinstance(readout, Readout):
        readout = Readout(readout)
    if readout.weight.shape[1] != n:
        raise ValueError(f"readout weight must have one column per neuron ({n}), got shape "
                         f"{readout.weight.shape}")
    return readout


def _checked_neuron_ids(neuron_ids: Any, n: int) -> np.ndarray | None:
    if neuron_ids is None:
        return None
    ids = np.asarray(neuron_ids)
    if ids.shape != (n,) or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError(f"neuron_ids must be {n} integers (one per neuron), got "
                         f"{ids.dtype} array of shape {ids.shape}")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or np.unique(ids).size != n):
        raise ValueError("neuron_ids must be distinct non-negative integers")
    return ids


def to_nir(net: SpikingNetwork, readout: Readout | np.ndarray | None = None, *,
           neuron_ids: np.ndarray | None = None, portable: bool = False) -> nir.NIRGraph:
    """Export ``net`` (and an optional linear ``readout``) as a NIR graph.

    The mapping and the metadata layout are described in :mod:`lnp_neuro.nir.reservoir_files`. The
    recurrent and input weights are densified once (``8 N^2`` bytes for the recurrent
    matrix).

    Parameters
    ----------
    net : SpikingNetwork
    readout : Readout or array (n_out, N), optional
        Linear readout of the recurrent spikes; exported between ``neurons`` and
        ``output``.
    neuron_ids : int array (N,), optional
        The id each neuron had in the network it was compacted from
        (:meth:`SpikingNetwork.compact`); stored as ``neuron_ids`` in the neurons' metadata.
    portable : bool
        Write the portable form (:mod:`lnp_neuro.nir.portable`): no input Delay, so the
        neurons spike one step earlier (``portable_shift`` ``{"neurons": 1}``), time
        constants in steps of 1e-4 s, for snnTorch's and norse's importers.
    """
    if not isinstance(net, SpikingNetwork):
        raise TypeError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    readout = _as_readout(readout, net.n_total_neurons)
    n, dt = net.n_total_neurons, net.dt
    ids = _checked_neuron_ids(neuron_ids, n)
    active = net.neuron_active

    recurrent = net.effective_weights().toarray()
    rec_rows, rec_cols, rec_vals, rec_idx = _hidden_entries(net.weights, recurrent)
    inputs = net.effective_input_weights().toarray()
    in_rows, in_cols, in_vals, _ = _hidden_entries(net.input_weights, inputs)

    neurons = nir.CubaLIF(
        tau_syn=net.tau_syn.copy(),
        tau_mem=net.tau_mem.copy(),
        r=net.tau_mem / dt,
        v_leak=np.where(active, net.bias * net.tau_mem / dt, 0.0),
        v_threshold=net.v_threshold.copy(),
        v_reset=np.zeros(n),
        w_in=net.tau_syn / dt,
        metadata={METADATA_KEY: _drop_empty({
            "neuron_active": active.copy(),
            "excitatory": net.excitatory.copy(),
            "cluster": None if net.cluster is None else net.cluster.astype(np.int64),
            "bias": net.bias.copy(),
            "neuron_ids": ids,
        })},
    )
    recurrent_node = nir.Linear(weight=recurrent, metadata={METADATA_KEY: {
        "hidden_post": rec_rows, "hidden_pre": rec_cols, "hidden_weight": rec_vals,
        "hidden_synapse_active": net.synapse_active[rec_idx].copy(),
    }})
    input_node = nir.Linear(weight=inputs, metadata={METADATA_KEY: {
        "hidden_post": in_rows, "hidden_input": in_cols, "hidden_weight": in_vals,
    }})
    # The project's engines and Lava deliver an input spike one step after it occurs
    # (Lava's Sparse a_buff); a NIR edge delivers it in the same step. The Delay node says
    # so in the graph, so that a tool that follows NIR reproduces the raster.
    input_delay = nir.Delay(delay=np.full(net.n_inputs, dt))
    nodes: dict[str, nir.NIRNode] = {
        _NODE_INPUT: nir.Input(input_type={"input": np.array([net.n_inputs])}),
        _NODE_INPUT_DELAY: input_delay,
        _NODE_INPUT_WEIGHTS: input_node,
        _NODE_NEURONS: neurons,
        _NODE_RECURRENT: recurrent_node,
    }
    edges = [(_NODE_INPUT, _NODE_INPUT_DELAY), (_NODE_INPUT_DELAY, _NODE_INPUT_WEIGHTS),
             (_NODE_INPUT_WEIGHTS, _NODE_NEURONS),
             (_NODE_NEURONS, _NODE_RECURRENT), (_NODE_RECURRENT, _NODE_NEURONS)]
    if readout is None:
        n_out = n
        edges.append((_NODE_NEURONS, _NODE_OUTPUT))
    else:
        n_out = readout.n_outputs
        nodes[_NODE_READOUT] = (nir.Linear(weight=readout.weight.copy()) if readout.bias is None
                                else nir.Affine(weight=readout.weight.copy(),
                                                bias=readout.bias.copy()))
        edges += [(_NODE_NEURONS, _NODE_READOUT), (_NODE_READOUT, _NODE_OUTPUT)]
    nodes[_NODE_OUTPUT] = nir.Output(output_type={"output": np.array([n_out])})
    metadata = {METADATA_KEY: {
        "format_version": NIR_FORMAT_VERSION,
        "dt": float(dt),
        "network_metadata_json": json.dumps(_without_wall_clock(net.metadata),
                                            sort_keys=True),
        "discretisation": _DISCRETISATION,
    }}
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
    if portable:
        return portable_nir(graph, {_NODE_NEURONS: 1}, dt, METADATA_KEY)
    return graph


def _drop_empty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


#: Metadata keys holding wall-clock durations, which are left out of exported files.
WALL_CLOCK_KEYS = frozenset({"seconds", "step_seconds", "timings_seconds", "wall_seconds"})


def _without_wall_clock(meta):
    if isinstance(meta, dict):
        return {k: _without_wall_clock(v) for k, v in meta.items() if k not in WALL_CLOCK_KEYS}
    if isinstance(meta, (list, tuple)):
        return [_without_wall_clock(v) for v in meta]
    return meta
