"""NIR export and import of a :class:`~lnp_neuro.network.SpikingNetwork` (design section 6).

NIR (Pedersen et al., "Neuromorphic intermediate representation: a unified instruction
set for interoperable brain-inspired computing", Nature Communications 15, 8122, 2024)
is the interchange format between the project and other simulators (norse, snnTorch,
Lava, ...). An exported network is the graph::

    input --> input_weights (Linear) --> neurons (CubaLIF) --> output
                                          ^        |
                                          |        v
                                    recurrent_weights (Linear)

with a ``readout`` Linear (or Affine, when it has a bias) between ``neurons`` and
``output`` when one is given.

Parameter mapping
-----------------
NIR's ``CubaLIF`` is continuous: ``tau_syn dI/dt = -I + w_in S`` and
``tau_mem dv/dt = (v_leak - v) + r I``. Every time-stepped NIR tool (snnTorch, norse,
Lava) integrates it with a forward-Euler step of length ``dt`` and feeds each spike as a
0/1 value in the step it occurs::

    I[t] = I[t-1] + (dt/tau_syn) (w_in S[t] - I[t-1])
    v[t] = v[t-1] + (dt/tau_mem) (v_leak - v[t-1] + r I[t])

The project's discrete model (module docstring of :mod:`lnp_neuro.network`, Lava's LIF)
is ``u[t] = u[t-1](1 - du) + W s``, ``v[t] = v[t-1](1 - dv) + u[t] + bias``. Writing
``u = (r dt / tau_mem) I`` both coincide exactly when::

    r = tau_mem / dt,   w_in = tau_syn / dt,   v_leak = bias * tau_mem / dt,   v_reset = 0

so the Linear weights are the project's weights unchanged. This is also snnTorch's
convention for ``Synaptic``/``RSynaptic`` (``r = tau_mem/dt``, ``w_in = tau_syn/dt``).
**Deviation from the brief**, which asked for ``w_in = 1``: with ``w_in = 1`` the Euler
step above gives a current jump of ``du * W`` per spike instead of ``W``, i.e. every
synapse would act ``tau_syn/dt`` times (5x for the default 5 ms / 1 ms) too weak in any
tool that follows NIR's equations. Importing applies the general inverse: a
``CubaLIF`` with arbitrary ``r``/``w_in`` becomes weights scaled per postsynaptic neuron
by ``(dt/tau_syn) w_in (r dt/tau_mem)`` and ``bias = v_leak dt / tau_mem``; a NIR ``LIF``
(no synaptic current) maps exactly onto ``tau_syn = dt`` (``du = 1``, so ``u[t]`` is
just this step's input) with scale ``r dt / tau``.

Known differences of other tools (documented, not corrected here):

- snnTorch writes ``dt = 1e-4`` implicitly (it is not stored); the importer recovers it
  from ``dt = tau_mem / r`` when the graph carries no ``dt``. snnTorch resets by
  subtraction and one step late by default; NIR (and this project) reset to ``v_reset``.
- norse's importer (``norse.torch.from_nir``) lets the *synaptic* current also relax to
  ``v_leak`` and starts both ``I`` and ``v`` at ``v_leak``, and ignores ``v_reset``;
  identical to this model when ``bias = 0`` (see :mod:`lnp_neuro.backends.norse_backend`).
  norse's exporter writes ``tau = dt / tau_inv`` (a factor ``dt^2`` off), ``r = 1`` and
  ``w_in = 1`` although its own ``LIFCell`` jumps the current by the full weight (NIR
  Euler would need ``w_in = tau_syn/dt``); such graphs are imported as written and
  usually fail ``tau >= dt`` with an error naming the node.

What is stored where
--------------------
Foreign tools see exactly what runs: ``input_weights`` is the dense
``effective_input_weights()``, ``recurrent_weights`` the dense ``effective_weights()``
(pruned synapses and synapses of pruned neurons are 0) and a pruned neuron has
``v_leak = 0``, so with no input it never reaches its (positive) threshold. Everything
else lives in NIR metadata (key ``"lnp_neuro"``), which makes the round trip lossless:

- graph: format version, ``dt``, the network metadata (incl. any LNP history summary)
  as a JSON string, a one-line statement of the discretisation; wall-clock durations
  (keys in ``WALL_CLOCK_KEYS``, e.g. the LNP history's ``seconds``) are left out, so the
  same network always gives the same bytes (they belong in a run's report);
- ``neurons``: ``neuron_active``, ``excitatory``, ``cluster`` (when set) and the exact
  ``bias`` of every neuron (the visible ``v_leak`` of an active neuron is only equal to
  it up to rounding, a pruned one shows 0);
- ``recurrent_weights`` / ``input_weights``: the stored entries a dense matrix cannot
  show (pruned synapses with their weights, synapses of pruned neurons, stored zeros)
  as coordinate lists, plus ``synapse_active`` for those entries. Visible non-zero
  entries are active synapses by construction.

On import the visible arrays are authoritative; metadata only restores what they
cannot show, and the exact ``bias`` is used only where it agrees with the visible
``v_leak`` up to rounding (so a graph edited by another tool keeps the edit).

Memory
------
NIR stores dense arrays: ``recurrent_weights`` costs ``8 N^2`` bytes in float64
(200 MB at N = 5000, 800 MB at N = 10000) while the CSR network holds ``~12 p N^2``
(30 MB at N = 5000, p = 0.1). :func:`to_nir` densifies once; ``nir.write`` then holds
further transient copies (``NIRGraph.to_dict`` runs ``dataclasses.asdict``, which
deep-copies every array, and then converts each node again), so peak memory while
writing is about ``4 x 8 N^2`` bytes. On disk the gzip-compressed zeros are cheap.
:func:`from_nir` converts each dense matrix back to CSR in one pass. Measured for
``hrsnn(5000, density=0.1)`` (2.5 M synapses): ``to_nir`` 0.9 s, 250 MB peak;
``write_nir`` 10 s, 765 MB peak, 24 MB file; ``read_nir`` 4.9 s, 411 MB peak
(tracemalloc).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np
import scipy.sparse as sp

from .io_utils import atomic_write
from .network import SpikingNetwork

__all__ = ["Readout", "to_nir", "from_nir", "write_nir", "read_nir",
           "METADATA_KEY", "NIR_FORMAT_VERSION"]

METADATA_KEY = "lnp_neuro"
NIR_FORMAT_VERSION = 1

_NODE_INPUT = "input"
_NODE_INPUT_WEIGHTS = "input_weights"
_NODE_NEURONS = "neurons"
_NODE_RECURRENT = "recurrent_weights"
_NODE_READOUT = "readout"
_NODE_OUTPUT = "output"

_DISCRETISATION = (
    "forward Euler, dt from this metadata; u[t] = u[t-1](1 - dt/tau_syn) + W_in x[t] + "
    "W s[t-1]; v[t] = v[t-1](1 - dt/tau_mem) + u[t] + bias; s = v > v_threshold; v <- 0 "
    "on a spike. NIR CubaLIF with r = tau_mem/dt, w_in = tau_syn/dt, "
    "v_leak = bias tau_mem/dt (0 for pruned neurons).")

_SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF", "LIF", "NIRGraph")
# Relative tolerance under which a computed factor counts as exactly 1 (or a metadata
# value as equal to its visible counterpart): a few float64 roundings, never a model
# difference.
_ROUNDING_RTOL = 1e-9


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


def to_nir(net: SpikingNetwork, readout: Readout | np.ndarray | None = None) -> nir.NIRGraph:
    """Export ``net`` (and an optional linear ``readout``) as a NIR graph.

    The mapping and the metadata layout are described in the module docstring. The
    recurrent and input weights are densified once (``8 N^2`` bytes for the recurrent
    matrix).

    Parameters
    ----------
    net : SpikingNetwork
    readout : Readout or array (n_out, N), optional
        Linear readout of the recurrent spikes; exported between ``neurons`` and
        ``output``.
    """
    if not isinstance(net, SpikingNetwork):
        raise TypeError(f"net must be a SpikingNetwork, got {type(net).__name__}")
    readout = _as_readout(readout, net.size)
    n, dt = net.size, net.dt
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
        })},
    )
    recurrent_node = nir.Linear(weight=recurrent, metadata={METADATA_KEY: {
        "hidden_post": rec_rows, "hidden_pre": rec_cols, "hidden_weight": rec_vals,
        "hidden_synapse_active": net.synapse_active[rec_idx].copy(),
    }})
    input_node = nir.Linear(weight=inputs, metadata={METADATA_KEY: {
        "hidden_post": in_rows, "hidden_input": in_cols, "hidden_weight": in_vals,
    }})
    nodes: dict[str, nir.NIRNode] = {
        _NODE_INPUT: nir.Input(input_type={"input": np.array([net.n_inputs])}),
        _NODE_INPUT_WEIGHTS: input_node,
        _NODE_NEURONS: neurons,
        _NODE_RECURRENT: recurrent_node,
    }
    edges = [(_NODE_INPUT, _NODE_INPUT_WEIGHTS), (_NODE_INPUT_WEIGHTS, _NODE_NEURONS),
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
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _drop_empty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


# --------------------------------------------------------------------------- import
def _node_type(node: Any) -> str:
    return type(node).__name__


class _PassThrough:
    """Marker for the Input/Output node of an inlined subgraph."""


_PASSTHROUGH = _PassThrough()


def _flatten_graph(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """Inline nested NIRGraphs (snnTorch wraps RSynaptic/RLeaky in a subgraph).

    A subgraph's own Input/Output nodes become pass-through markers that
    :func:`_contract_passthrough` removes, reconnecting their neighbours.
    """
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    entry: dict[str, str] = {}
    exit_: dict[str, str] = {}
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _flatten_graph(node, prefix=f"{full}.")
            inner_in = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            inner_out = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            if len(inner_in) != 1 or len(inner_out) != 1:
                raise ValueError(f"node {full!r} (NIRGraph) must have exactly one Input and one "
                                 f"Output node to be inlined, has {len(inner_in)} and "
                                 f"{len(inner_out)}")
            for k in (inner_in[0], inner_out[0]):
                inner_nodes[f"{full}.{k}"] = _PASSTHROUGH
            nodes.update(inner_nodes)
            edges.extend(inner_edges)
            entry[full] = f"{full}.{inner_in[0]}"
            exit_[full] = f"{full}.{inner_out[0]}"
        else:
            nodes[full] = node
    for src, dst in graph.edges:
        src, dst = f"{prefix}{src}", f"{prefix}{dst}"
        edges.append((exit_.get(src, src), entry.get(dst, dst)))
    return nodes, edges


def _contract_passthrough(nodes: dict, edges: list) -> tuple[dict, list]:
    edges = list(dict.fromkeys(edges))
    for name in [k for k, v in nodes.items() if v is _PASSTHROUGH]:
        preds = [s for s, d in edges if d == name]
        succs = [d for s, d in edges if s == name]
        edges = [e for e in edges if name not in e]
        edges.extend((p, s) for p in preds for s in succs)
        edges = list(dict.fromkeys(edges))
        del nodes[name]
    return nodes, edges


def _per_neuron_param(node_name: str, node: Any, field_name: str, n: int,
                      value: Any = None) -> np.ndarray:
    raw = getattr(node, field_name) if value is None else value
    arr = np.asarray(raw, dtype=np.float64)
    if arr.size == 1:
        return np.full(n, float(arr.reshape(-1)[0]))
    arr = arr.reshape(-1) if arr.ndim > 1 and arr.size == n else arr
    if arr.shape != (n,):
        raise ValueError(f"node {node_name!r} ({_node_type(node)}): {field_name} has shape "
                         f"{np.shape(raw)}, expected ({n},) (one value per neuron)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"node {node_name!r} ({_node_type(node)}): {field_name} has "
                         f"non-finite values")
    return arr


def _weight_of(name: str, node: Any) -> tuple[np.ndarray, np.ndarray | None]:
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 2:
        raise ValueError(f"node {name!r} ({_node_type(node)}): weight must be 2-D, got shape "
                         f"{weight.shape}")
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"node {name!r} ({_node_type(node)}): weight has non-finite values")
    bias = None
    if isinstance(node, nir.Affine):
        bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"node {name!r} (Affine): bias has shape {np.shape(node.bias)}, "
                             f"expected ({weight.shape[0]},)")
        if not np.any(bias):
            bias = None
    return weight, bias


def _lnp_meta(node: Any) -> dict:
    meta = getattr(node, "metadata", None)
    if isinstance(meta, dict) and isinstance(meta.get(METADATA_KEY), dict):
        return meta[METADATA_KEY]
    return {}


def _meta_array(meta: dict, key: str, shape: tuple, dtype, where: str) -> np.ndarray | None:
    if key not in meta:
        return None
    arr = np.asarray(meta[key])
    if arr.shape != shape:
        raise ValueError(f"{where}: metadata {METADATA_KEY}.{key} has shape {arr.shape}, "
                         f"expected {shape}")
    return arr.astype(dtype, copy=False)


def _sparse_with_hidden(name: str, dense: np.ndarray, meta: dict, col_key: str,
                        active_key: str | None) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """CSR of the visible non-zeros plus the metadata's hidden entries.

    Returns the matrix and, when ``active_key`` is given, a per-entry activity mask
    aligned with the canonical CSR (visible entries are active).
    """
    rows_v, cols_v = np.nonzero(dense)
    vals_v = dense[rows_v, cols_v]
    k = int(np.asarray(meta.get("hidden_weight", np.zeros(0))).size)
    rows_h = _meta_array(meta, "hidden_post", (k,), np.int64, f"node {name!r}")
    cols_h = _meta_array(meta, col_key, (k,), np.int64, f"node {name!r}")
    vals_h = _meta_array(meta, "hidden_weight", (k,), np.float64, f"node {name!r}")
    if rows_h is None or cols_h is None or vals_h is None:
        rows_h = cols_h = np.zeros(0, np.int64)
        vals_h = np.zeros(0)
        k = 0
    act_h = None
    if active_key is not None:
        act_h = _meta_array(meta, active_key, (k,), bool, f"node {name!r}")
        if act_h is None:
            act_h = np.ones(k, bool)
    if k:
        n_rows, n_cols = dense.shape
        if (rows_h.min() < 0 or rows_h.max() >= n_rows or cols_h.min() < 0
                or cols_h.max() >= n_cols):
            raise ValueError(f"node {name!r}: metadata hidden entries point outside the "
                             f"{dense.shape} weight matrix")
        if np.any(dense[rows_h, cols_h] != 0):
            bad = int(np.count_nonzero(dense[rows_h, cols_h]))
            raise ValueError(f"node {name!r}: {bad} entries listed as hidden (pruned) in the "
                             f"{METADATA_KEY} metadata are non-zero in the weight matrix; the "
                             f"graph was edited inconsistently")
    rows = np.concatenate([rows_v.astype(np.int64), rows_h])
    cols = np.concatenate([cols_v.astype(np.int64), cols_h])
    vals = np.concatenate([vals_v, vals_h])
    order = np.lexsort((cols, rows))
    if order.size > 1:
        r, c = rows[order], cols[order]
        if np.any((r[1:] == r[:-1]) & (c[1:] == c[:-1])):
            raise ValueError(f"node {name!r}: metadata lists a hidden entry twice")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=dense.shape[0]))])
    matrix = sp.csr_matrix((vals[order], cols[order], indptr), shape=dense.shape)
    mask = None
    if active_key is not None:
        mask = np.concatenate([np.ones(rows_v.size, bool), act_h])[order]
    return matrix, mask


def _find_structure(nodes: dict, edges: list) -> dict:
    """Identify input, input projection, neuron layer, recurrent edge and readout."""
    for name, node in nodes.items():
        if _node_type(node) not in _SUPPORTED:
            raise ValueError(f"node {name!r} of type {_node_type(node)} is not supported by "
                             f"lnp_neuro.nir_io (supported: {', '.join(_SUPPORTED)})")
    neuron_names = [k for k, v in nodes.items() if isinstance(v, (nir.CubaLIF, nir.LIF))]
    if len(neuron_names) != 1:
        raise ValueError(f"expected exactly one CubaLIF or LIF node (one recurrent layer), "
                         f"found {len(neuron_names)}: {neuron_names}")
    neurons = neuron_names[0]
    inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    outputs = [k for k, v in nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"expected one Input and one Output node, found inputs {inputs} and "
                         f"outputs {outputs}")
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    succs: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        if s not in nodes or d not in nodes:
            raise ValueError(f"edge ({s!r}, {d!r}) names a node that is not in the graph")
        preds[d].append(s)
        succs[s].append(d)

    found: dict[str, str | None] = {"input": inputs[0], "neurons": neurons, "output": outputs[0],
                                    "input_weights": None, "recurrent": None, "readout": None}
    input_paths, recurrent_paths = [], []
    for src in preds[neurons]:
        if src == inputs[0]:
            input_paths.append(None)
        elif isinstance(nodes[src], (nir.Linear, nir.Affine)) and preds[src] == [inputs[0]] \
                and succs[src] == [neurons]:
            input_paths.append(src)
        elif isinstance(nodes[src], (nir.Linear, nir.Affine)) and preds[src] == [neurons] \
                and succs[src] == [neurons]:
            recurrent_paths.append(src)
        else:
            raise ValueError(f"node {src!r} ({_node_type(nodes[src])}) feeds {neurons!r} but is "
                             f"neither the input projection (Input -> Linear/Affine -> neurons) "
                             f"nor a recurrent edge (neurons -> Linear/Affine -> neurons)")
    if len(input_paths) != 1:
        raise ValueError(f"expected exactly one input path into {neurons!r}, found "
                         f"{len(input_paths)}")
    if len(recurrent_paths) > 1:
        raise ValueError(f"expected at most one recurrent edge onto {neurons!r}, found "
                         f"{recurrent_paths}")
    found["input_weights"] = input_paths[0]
    found["recurrent"] = recurrent_paths[0] if recurrent_paths else None

    out_paths = [d for d in succs[neurons] if d != found["recurrent"]]
    if len(out_paths) != 1:
        raise ValueError(f"expected exactly one path from {neurons!r} to the Output node, found "
                         f"{out_paths}")
    nxt = out_paths[0]
    if nxt != outputs[0]:
        if not (isinstance(nodes[nxt], (nir.Linear, nir.Affine)) and succs[nxt] == [outputs[0]]
                and preds[nxt] == [neurons]):
            raise ValueError(f"node {nxt!r} ({_node_type(nodes[nxt])}) between {neurons!r} and "
                             f"the output must be a single Linear/Affine readout feeding Output")
        found["readout"] = nxt
    used = {v for v in found.values() if v is not None}
    unused = sorted(set(nodes) - used)
    if unused:
        raise ValueError(f"node(s) {unused} are not on the Input -> projection -> neurons "
                         f"(+ recurrent) -> readout -> Output path")
    if preds[inputs[0]] or succs[outputs[0]]:
        raise ValueError("the Input node must have no predecessors and the Output node no "
                         "successors")
    return found


def _infer_dt(neurons_name: str, node: Any, tau_mem: np.ndarray, r: np.ndarray) -> float:
    if np.allclose(r, 1.0, rtol=_ROUNDING_RTOL, atol=0):
        raise ValueError(
            f"the graph carries no dt (no {METADATA_KEY} metadata) and node {neurons_name!r} "
            f"has r = 1, so dt cannot be inferred from r = tau_mem/dt; pass dt=...")
    dts = tau_mem / r
    if not np.allclose(dts, dts[0], rtol=1e-6, atol=0) or dts[0] <= 0:
        raise ValueError(
            f"the graph carries no dt and tau_mem / r of node {neurons_name!r} is not one "
            f"positive constant (range {dts.min():g}..{dts.max():g}); pass dt=...")
    return float(dts[0])


def from_nir(graph: nir.NIRGraph, *, dt: float | None = None, with_readout: bool = False):
    """Import a NIR graph as a :class:`SpikingNetwork` (and its readout).

    Accepts graphs written by :func:`to_nir` (lossless) and recurrent graphs written by
    other tools where the primitives map: one ``CubaLIF`` or ``LIF`` layer (possibly
    inside a nested subgraph, as snnTorch writes ``RSynaptic``), an input ``Linear`` /
    ``Affine`` (or Input straight into the neurons: identity), at most one recurrent
    ``Linear``/``Affine`` edge, and an optional ``Linear``/``Affine`` readout. An Affine
    bias is folded into the neuron bias when that is exact (LIF, or ``tau_syn == dt``);
    otherwise an error explains why. Scaling and parameter inversion follow the module
    docstring.

    Parameters
    ----------
    graph : nir.NIRGraph
    dt : float, optional
        Time step in seconds for graphs that do not store one. When omitted it is read
        from the graph's metadata or inferred as ``tau_mem / r`` (snnTorch convention).
    with_readout : bool
        Return ``(network, readout)`` where ``readout`` is a :class:`Readout` or None.
    """
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, got {type(graph).__name__}")
    if dt is not None:
        dt = float(dt)
        if not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    nodes, edges = _flatten_graph(graph)
    nodes, edges = _contract_passthrough(nodes, edges)
    found = _find_structure(nodes, edges)
    nname = found["neurons"]
    neurons = nodes[nname]
    graph_meta = _lnp_meta(graph)
    if graph_meta:
        version = int(np.asarray(graph_meta.get("format_version", 0)))
        if version > NIR_FORMAT_VERSION:
            raise ValueError(f"graph metadata format version {version} is newer than this "
                             f"lnp_neuro reads ({NIR_FORMAT_VERSION})")

    rec_name, in_name = found["recurrent"], found["input_weights"]
    rec_weight, rec_bias = (None, None) if rec_name is None else _weight_of(rec_name,
                                                                             nodes[rec_name])
    if in_name is None:
        in_weight, in_bias = None, None
    else:
        in_weight, in_bias = _weight_of(in_name, nodes[in_name])
    if rec_weight is not None:
        n = rec_weight.shape[0]
        if rec_weight.shape != (n, n):
            raise ValueError(f"node {rec_name!r}: a recurrent weight must be square, got "
                             f"{rec_weight.shape}")
    elif in_weight is not None:
        n = in_weight.shape[0]
    else:
        n = int(np.asarray(neurons.v_threshold).size)
    if in_weight is None:
        # Input connected straight to the neurons: one input channel per neuron.
        in_weight = np.eye(n)
        in_name_for_errors = found["input"]
    else:
        in_name_for_errors = in_name
    if in_weight.shape[0] != n:
        raise ValueError(f"node {in_name_for_errors!r}: input weight has {in_weight.shape[0]} "
                         f"rows, expected one per neuron ({n})")
    n_in_declared = np.asarray(nodes[found["input"]].input_type["input"]).reshape(-1)
    if n_in_declared.size == 1 and int(n_in_declared[0]) != in_weight.shape[1]:
        raise ValueError(f"Input node {found['input']!r} declares {int(n_in_declared[0])} "
                         f"channels but {in_name_for_errors!r} takes {in_weight.shape[1]}")

    if isinstance(neurons, nir.CubaLIF):
        tau_mem = _per_neuron_param(nname, neurons, "tau_mem", n)
        tau_syn_nir = _per_neuron_param(nname, neurons, "tau_syn", n)
        w_in = _per_neuron_param(nname, neurons, "w_in", n)
    else:
        tau_mem = _per_neuron_param(nname, neurons, "tau", n)
        tau_syn_nir, w_in = None, None
    r = _per_neuron_param(nname, neurons, "r", n)
    v_leak = _per_neuron_param(nname, neurons, "v_leak", n)
    v_threshold = _per_neuron_param(nname, neurons, "v_threshold", n)
    v_reset = _per_neuron_param(nname, neurons, "v_reset", n)
    if np.any(v_reset != 0):
        raise ValueError(f"node {nname!r} ({_node_type(neurons)}): v_reset must be 0 (the "
                         f"project's neurons reset to 0), got values in "
                         f"{v_reset.min():g}..{v_reset.max():g}")
    if np.any(tau_mem <= 0) or (tau_syn_nir is not None and np.any(tau_syn_nir <= 0)):
        raise ValueError(f"node {nname!r} ({_node_type(neurons)}): time constants must be "
                         f"positive")

    dt_source = "argument" if dt is not None else "r"
    meta_dt = graph_meta.get("dt")
    if meta_dt is not None:
        dt_source = "metadata"
        meta_dt = float(np.asarray(meta_dt))
        if dt is not None and dt != meta_dt:
            raise ValueError(f"dt={dt} contradicts the dt={meta_dt} stored in the graph")
        dt = meta_dt
    elif dt is None:
        dt = _infer_dt(nname, neurons, tau_mem, r)
    tau_syn = np.full(n, dt) if tau_syn_nir is None else tau_syn_nir

    # Per postsynaptic neuron: the jump of u (project units) per unit of NIR input.
    scale = r * dt / tau_mem
    if w_in is not None:
        scale = scale * (dt / tau_syn) * w_in
    exact_one = np.allclose(scale, 1.0, rtol=_ROUNDING_RTOL, atol=0)

    bias = dt * v_leak / tau_mem
    for src_name, extra in ((in_name, in_bias), (rec_name, rec_bias)):
        if extra is None:
            continue
        if isinstance(neurons, nir.CubaLIF) and np.any(tau_syn != dt):
            raise ValueError(
                f"node {src_name!r} (Affine) has a non-zero bias that cannot be folded exactly "
                f"into the neuron bias of {nname!r}: tau_syn > dt, so a constant input is "
                f"low-pass filtered by the synaptic current instead of adding a constant to v")
        bias = bias + (extra if exact_one else scale * extra)

    nmeta = _lnp_meta(neurons)
    where = f"node {nname!r}"
    neuron_active = _meta_array(nmeta, "neuron_active", (n,), bool, where)
    if neuron_active is None:
        neuron_active = np.ones(n, bool)
    meta_bias = _meta_array(nmeta, "bias", (n,), np.float64, where)
    if meta_bias is not None:
        # The exact bias restores the bits lost to v_leak = bias*tau_mem/dt; a pruned
        # neuron's visible v_leak is 0 by design, so only metadata knows its bias.
        agrees = np.isclose(meta_bias, bias, rtol=_ROUNDING_RTOL, atol=1e-300)
        use_meta = agrees | ~neuron_active
        bias = np.where(use_meta, meta_bias, bias)
    cluster = _meta_array(nmeta, "cluster", (n,), np.int64, where)

    recurrent_meta = {} if rec_name is None else _lnp_meta(nodes[rec_name])
    if rec_weight is None:
        weights, synapse_active = sp.csr_matrix((n, n)), None
    else:
        weights, synapse_active = _sparse_with_hidden(rec_name, rec_weight, recurrent_meta,
                                                      "hidden_pre", "hidden_synapse_active")
    input_meta = {} if in_name is None else _lnp_meta(nodes[in_name])
    input_weights, _ = _sparse_with_hidden(in_name_for_errors, in_weight, input_meta,
                                           "hidden_input", None)
    if not exact_one:
        row_scale = sp.diags(scale)
        weights = sp.csr_matrix(row_scale @ weights)
        input_weights = sp.csr_matrix(row_scale @ input_weights)
        weights.sort_indices()

    excitatory = _meta_array(nmeta, "excitatory", (n,), bool, where)
    if excitatory is None:
        # Dale identity from the sign of a neuron's outgoing synapses: inhibitory when it
        # has inhibitory synapses and no excitatory ones.
        w_csc = weights.tocsc()
        has_neg = np.zeros(n, bool)
        has_pos = np.zeros(n, bool)
        cols = np.repeat(np.arange(n), np.diff(w_csc.indptr))
        np.logical_or.at(has_neg, cols, w_csc.data < 0)
        np.logical_or.at(has_pos, cols, w_csc.data > 0)
        excitatory = ~(has_neg & ~has_pos)

    if "network_metadata_json" in graph_meta:
        try:
            metadata = json.loads(str(graph_meta["network_metadata_json"]))
        except json.JSONDecodeError as exc:
            raise ValueError(f"graph metadata {METADATA_KEY}.network_metadata_json is not "
                             f"valid JSON ({exc})") from None
    else:
        metadata = {"model": "nir-import", "nir_neuron_type": _node_type(neurons),
                    "dt_source": dt_source}

    try:
        net = SpikingNetwork(
            weights=weights, input_weights=input_weights, tau_mem=tau_mem, tau_syn=tau_syn,
            v_threshold=v_threshold, bias=bias, dt=dt, excitatory=excitatory, cluster=cluster,
            neuron_active=neuron_active, synapse_active=synapse_active, metadata=metadata)
    except ValueError as exc:
        raise ValueError(f"node {nname!r} ({_node_type(neurons)}) does not map onto the "
                         f"project's neuron model with dt={dt}: {exc}") from None
    if not with_readout:
        return net
    readout = None
    if found["readout"] is not None:
        rw, rb = _weight_of(found["readout"], nodes[found["readout"]])
        if rw.shape[1] != n:
            raise ValueError(f"node {found['readout']!r}: readout weight has {rw.shape[1]} "
                             f"columns, expected one per neuron ({n})")
        if isinstance(nodes[found["readout"]], nir.Affine) and rb is None:
            rb = np.zeros(rw.shape[0])
        readout = Readout(rw, rb)
    return net, readout


# --------------------------------------------------------------------------- files
def _check_nir_path(path: Path) -> None:
    if path.suffix != ".nir":
        raise ValueError(f"{path}: a NIR file must end in .nir")


#: Metadata keys holding wall-clock durations, which are left out of exported files.
WALL_CLOCK_KEYS = frozenset({"seconds", "step_seconds", "timings_seconds", "wall_seconds"})


def _without_wall_clock(meta):
    if isinstance(meta, dict):
        return {k: _without_wall_clock(v) for k, v in meta.items() if k not in WALL_CLOCK_KEYS}
    if isinstance(meta, (list, tuple)):
        return [_without_wall_clock(v) for v in meta]
    return meta


def write_nir(net: SpikingNetwork, path: str | Path, overwrite: bool = False,
              readout: Readout | np.ndarray | None = None) -> Path:
    """Export ``net`` with :func:`to_nir` and write it to ``path`` (HDF5), atomically.

    Refuses to replace an existing file unless ``overwrite`` is True.
    """
    path = Path(path)
    _check_nir_path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    graph = to_nir(net, readout=readout)
    with atomic_write(path) as tmp:
        nir.write(tmp, graph)
    return path


def read_nir(path: str | Path, *, dt: float | None = None, with_readout: bool = False):
    """Read a NIR file (written by :func:`write_nir` or another tool) with :func:`from_nir`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file
    for one that is not a readable NIR graph or does not map onto the network model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NIR file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = nir.read(path)
    except Exception as exc:  # h5py OSError, KeyError/ValueError from malformed groups
        raise ValueError(f"{path}: not a readable NIR file ({type(exc).__name__}: "
                         f"{exc})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise ValueError(f"{path}: holds a single {type(graph).__name__} node, not a NIR graph")
    try:
        return from_nir(graph, dt=dt, with_readout=with_readout)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
