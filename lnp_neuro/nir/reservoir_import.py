"""Import of NIR graphs as a :class:`~lnp_neuro.model.network.SpikingNetwork` (read / convert).

Accepts the graphs :mod:`lnp_neuro.nir.reservoir_export` writes (lossless) and recurrent graphs
other tools write where the primitives map; the parameter inversion and the timing
convention are described in :mod:`lnp_neuro.nir.reservoir_files`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import nir
import numpy as np
import scipy.sparse as sp

from .._util.bounded_json import loads_bounded
from ..model.network import SpikingNetwork
from .reservoir_export import METADATA_KEY, NIR_FORMAT_VERSION, Readout

__all__ = ["from_nir"]

_SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF", "LIF", "NIRGraph", "Delay")
# Relative tolerance under which a computed factor counts as exactly 1 (or a metadata value
# as equal to its visible counterpart): a few float64 roundings, never a model difference.
_ROUNDING_RTOL = 1e-9

# --------------------------------------------------------------------------- import
def _node_type(node: Any) -> str:
    return type(node).__name__


class _PassThrough:
    """Marker for the Input/Output node of an inlined subgraph."""


_PASSTHROUGH = _PassThrough()


def _flatten_graph(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """Inline nested NIRGraphs (snnTorch wraps RSynaptic/RLeaky in a subgraph); their own
    Input/Output become pass-through markers that :func:`_contract_passthrough` removes."""
    nodes, edges = {}, []
    entry, exit_ = {}, {}  # subgraph name -> its inner Input / Output
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
    """The graph without its pass-through markers, each predecessor wired to each successor."""
    edges = list(dict.fromkeys(edges))
    for name in [k for k, v in nodes.items() if v is _PASSTHROUGH]:
        preds = [s for s, d in edges if d == name]
        succs = [d for s, d in edges if s == name]
        edges = [e for e in edges if name not in e]
        edges.extend((p, s) for p in preds for s in succs)
        edges = list(dict.fromkeys(edges))
        del nodes[name]
    return nodes, edges


def _per_neuron_param(node_name: str, node: Any, field_name: str, n: int) -> np.ndarray:
    """A node's parameter as one float64 per neuron (a scalar is broadcast), finite."""
    raw = getattr(node, field_name)
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
    """A Linear/Affine node's weight ``W[post, pre]`` and its bias (None when all 0)."""
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
    """CSR of the visible non-zeros plus the metadata's hidden entries, and, when
    ``active_key`` is given, a per-entry activity mask aligned with it (visible: active)."""
    where = f"node {name!r}"
    rows_v, cols_v = np.nonzero(dense)
    vals_v = dense[rows_v, cols_v]
    k = int(np.asarray(meta.get("hidden_weight", np.zeros(0))).size)
    rows_h = _meta_array(meta, "hidden_post", (k,), np.int64, where)
    cols_h = _meta_array(meta, col_key, (k,), np.int64, where)
    vals_h = _meta_array(meta, "hidden_weight", (k,), np.float64, where)
    if rows_h is None or cols_h is None or vals_h is None:
        rows_h, cols_h, vals_h, k = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0
    act_h = None if active_key is None else _meta_array(meta, active_key, (k,), bool, where)
    if active_key is not None and act_h is None:
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
    mask = None if active_key is None else np.concatenate([np.ones(rows_v.size, bool),
                                                           act_h])[order]
    return matrix, mask


def _take_input_delay(nodes: dict, edges: list) -> tuple[dict, list, tuple | None]:
    """The graph without the ``Delay`` node between the Input and the input projection,
    and ``(name, delay in seconds per channel)`` (None without a Delay). A Delay anywhere
    else is refused, naming it: the project's synapses have exactly one step of delay."""
    delays = [k for k, v in nodes.items() if isinstance(v, nir.Delay)]
    if not delays:
        return nodes, edges, None
    inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    taken = None
    for name in delays:
        preds = [s for s, d in edges if d == name]
        succs = [d for s, d in edges if s == name]
        if taken is not None or len(inputs) != 1 or preds != inputs or len(succs) != 1:
            raise ValueError(f"node {name!r} (Delay) is supported only as the single node "
                             f"right after the Input (the input's one-step delay), found "
                             f"predecessors {preds} and successors {succs}")
        delay = np.asarray(nodes[name].delay, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(delay)) or np.any(delay < 0):
            raise ValueError(f"node {name!r} (Delay): delays must be finite and >= 0")
        taken = (name, delay)
        nodes = {k: v for k, v in nodes.items() if k != name}
        edges = [e for e in edges if name not in e] + [(inputs[0], succs[0])]
    return nodes, edges, taken


def _input_delay_steps(delay: tuple | None, dt: float, own_format: int) -> int:
    """Steps of delay on the input path: 1 (the project's engines), or 0 with a warning."""
    if delay is None:  # lnp_neuro wrote format 1 before the Delay node: one step by convention
        return 1 if own_format == 1 else 0
    name, values = delay
    if values.size == 0:
        return 1  # no input channel: nothing arrives early or late
    if _is_one(values / dt):
        return 1
    if np.all(values == 0):
        return 0
    raise ValueError(f"node {name!r} (Delay): lnp_neuro's engines delay every input by "
                     f"exactly one step (dt={dt:g} s), got delays of "
                     f"{values.min():g}..{values.max():g} s")


def _find_structure(nodes: dict, edges: list) -> dict:
    """Identify input, input projection, neuron layer, recurrent edge and readout."""
    for name, node in nodes.items():
        if _node_type(node) not in _SUPPORTED:
            raise ValueError(f"node {name!r} of type {_node_type(node)} is not supported by "
                             f"lnp_neuro.nir.reservoir_files (supported: {', '.join(_SUPPORTED)})")
    neuron_names = [k for k, v in nodes.items() if isinstance(v, (nir.CubaLIF, nir.LIF))]
    if not neuron_names:
        raise ValueError("the graph has no CubaLIF or LIF node (no spiking layer)")
    if len(neuron_names) > 1:
        # Merging the layers into one recurrent block would be exact only if every edge
        # between them were delayed by one step; a NIR feed-forward edge (as nirtorch,
        # norse and snnTorch step it) delivers in the same step, a synapse here one step
        # later, so the merged network would run a different raster.
        raise ValueError(
            f"the graph has {len(neuron_names)} spiking populations "
            f"({', '.join(f'{k!r} ({_node_type(nodes[k])})' for k in neuron_names)}); "
            f"lnp_neuro holds one recurrent population: a feed-forward edge between "
            f"populations delivers its spikes in the same step in NIR but one step later in "
            f"lnp_neuro's engines and Lava, so the layers cannot be merged exactly")
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
    found: dict[str, str | None] = {
        "input": inputs[0], "neurons": neurons, "output": outputs[0],
        "input_weights": input_paths[0],
        "recurrent": recurrent_paths[0] if recurrent_paths else None, "readout": None}
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


# ----------------------------------------- shared with lnp_neuro.nir.import_graph
def _checked_dt(graph: Any, dt: float | None) -> float | None:
    """The arguments every importer checks first: a NIRGraph and a positive ``dt``."""
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, got {type(graph).__name__}")
    if dt is not None:
        dt = float(dt)
        if not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    return dt


def _flat_graph(graph: nir.NIRGraph) -> tuple[dict, list]:
    """Nodes and edges with nested subgraphs inlined and their Input/Output contracted."""
    nodes, edges = _flatten_graph(graph)
    return _contract_passthrough(nodes, edges)


def _resolve_dt(dt: float | None, graph_meta: dict, infer: Callable[[], float]
                ) -> tuple[float, str]:
    """``(dt, source)``: the graph's stored dt ("metadata", which an argument must not
    contradict), else the argument ("argument"), else ``infer()`` ("r": ``tau / r``)."""
    meta_dt = graph_meta.get("dt")
    if meta_dt is not None:
        meta_dt = float(np.asarray(meta_dt))
        if dt is not None and dt != meta_dt:
            raise ValueError(f"dt={dt} contradicts the dt={meta_dt} stored in the graph")
        return meta_dt, "metadata"
    if dt is not None:
        return dt, "argument"
    return infer(), "r"


def _infer_dt(neurons_name: str, node: Any, tau_mem: np.ndarray, r: np.ndarray) -> float:
    """``dt = tau_mem / r``, snnTorch's convention (it writes ``r = tau_mem / dt``)."""
    if _is_one(r):
        raise ValueError(
            f"the graph carries no dt (no {METADATA_KEY} metadata) and node {neurons_name!r} "
            f"has r = 1, so dt cannot be inferred from r = tau_mem/dt; pass dt=... "
            f"(lnp-deploy --dt SECONDS)")
    dts = tau_mem / r
    if not np.allclose(dts, dts[0], rtol=1e-6, atol=0) or dts[0] <= 0:
        raise ValueError(
            f"the graph carries no dt and tau_mem / r of node {neurons_name!r} is not one "
            f"positive constant (range {dts.min():g}..{dts.max():g}); pass dt=... "
            f"(lnp-deploy --dt SECONDS)")
    return float(dts[0])


def _v_reset_zero(name: str, node: Any, n: int) -> None:
    """Refuse a non-zero ``v_reset``: the project's neurons reset to 0."""
    if getattr(node, "v_reset", None) is None:
        return
    v_reset = _per_neuron_param(name, node, "v_reset", n)
    if np.any(v_reset != 0):
        raise ValueError(f"node {name!r} ({_node_type(node)}): v_reset must be 0 (the "
                         f"project's neurons reset to 0), got values in "
                         f"{v_reset.min():g}..{v_reset.max():g}")


def _euler_scale_bias(dt: float, r: np.ndarray, tau_mem: np.ndarray, v_leak: np.ndarray,
                      tau_syn: np.ndarray | None = None, w_in: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Input scale (jump of u per unit of NIR input) and bias of a leaky NIR neuron:
    ``scale = r dt/tau_mem`` (CubaLIF: times ``dt/tau_syn w_in``), ``bias = dt v_leak /
    tau_mem``, NIR's forward-Euler step as the project's (derivation: :mod:`.nir_io`)."""
    scale = r * dt / tau_mem
    if tau_syn is not None:
        scale = scale * (dt / tau_syn) * w_in
    return scale, dt * v_leak / tau_mem


def _is_one(scale: np.ndarray) -> bool:
    """Whether a scale is 1 within rounding (then the weights are left untouched)."""
    return bool(np.allclose(scale, 1.0, rtol=_ROUNDING_RTOL, atol=0))


def _fold_affine_bias(bias: np.ndarray, extra: np.ndarray, scale: np.ndarray,
                      tau_syn: np.ndarray, dt: float, node_name: str, target: str,
                      stacklevel: int) -> np.ndarray:
    """``bias`` plus an Affine bias b (a constant input current ``c = scale b`` into u) at
    its settled value ``c tau_syn/dt``; NIR's current, from 0, rises to it with tau_syn (a
    warning unless ``tau_syn = dt``; ``stacklevel`` as seen from the caller)."""
    per_step = extra if _is_one(scale) else scale * extra
    bias = bias + per_step * tau_syn / dt
    if np.any(tau_syn != dt):
        warnings.warn(
            f"node {node_name!r} (Affine): its bias is imported as a constant input "
            f"current, folded into the bias of {target!r} at its settled value (bias "
            f"x tau_syn/dt); NIR's synaptic current, started from 0, reaches it after a "
            f"few tau_syn ({tau_syn.max() * 1e3:g} ms at most)", UserWarning,
            stacklevel=stacklevel + 1)
    return bias


def _active_and_bias(nmeta: dict, n: int, where: str, bias: np.ndarray,
                     no_v_leak: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``neuron_active`` (default all) and the bias, the metadata's where present: it
    restores the bits lost to ``v_leak = bias tau_mem/dt``, and only it knows the bias of
    a pruned neuron (visible ``v_leak`` 0) or of IF / I nodes (``no_v_leak``)."""
    active = _meta_array(nmeta, "neuron_active", (n,), bool, where)
    active = np.ones(n, bool) if active is None else active
    meta_bias = _meta_array(nmeta, "bias", (n,), np.float64, where)
    if meta_bias is not None:
        agrees = np.isclose(meta_bias, bias, rtol=_ROUNDING_RTOL, atol=1e-300)
        bias = np.where(agrees | ~active | no_v_leak, meta_bias, bias)
    return active, bias


def _excitatory(nmeta: dict, n: int, where: str, outgoing: Iterable) -> np.ndarray:
    """Dale identity: the metadata's, else inhibitory where a neuron's outgoing synapses
    (columns of ``outgoing``) include inhibitory and no excitatory ones."""
    excitatory = _meta_array(nmeta, "excitatory", (n,), bool, where)
    if excitatory is not None:
        return excitatory
    has_neg, has_pos = np.zeros(n, bool), np.zeros(n, bool)
    for matrix in outgoing:
        w = sp.csc_matrix(matrix)
        cols = np.repeat(np.arange(n), np.diff(w.indptr))
        np.logical_or.at(has_neg, cols, w.data < 0)
        np.logical_or.at(has_pos, cols, w.data > 0)
    return ~(has_neg & ~has_pos)


def _meta_json(graph_meta: dict, key: str, default: str = "{}") -> Any:
    """The JSON value the graph's metadata stores under ``key`` (``default`` if absent)."""
    # Bounded (depth, numbers, strings): a hostile file is refused naming the key.
    return loads_bounded(str(graph_meta.get(key, default)),
                         f"graph metadata {METADATA_KEY}.{key}")


# --------------------------------------------------------------------------- stages
@dataclass
class _Weights:
    """The input and recurrent weight nodes of a one-population graph, read densely."""

    n: int
    in_name: str | None  # None: the Input feeds the neurons straight (identity)
    in_where: str  # node named in errors about the input weights
    in_weight: np.ndarray
    in_bias: np.ndarray | None
    rec_name: str | None
    rec_weight: np.ndarray | None
    rec_bias: np.ndarray | None


def _read_weights(nodes: dict, found: dict) -> _Weights:
    """The weights around the neuron node, their sizes checked against each other."""
    def read(name):
        return (None, None) if name is None else _weight_of(name, nodes[name])
    rec_name, in_name = found["recurrent"], found["input_weights"]
    (rec_weight, rec_bias), (in_weight, in_bias) = read(rec_name), read(in_name)
    if rec_weight is not None:
        n = rec_weight.shape[0]
        if rec_weight.shape != (n, n):
            raise ValueError(f"node {rec_name!r}: a recurrent weight must be square, got "
                             f"{rec_weight.shape}")
    elif in_weight is not None:
        n = in_weight.shape[0]
    else:
        n = int(np.asarray(nodes[found["neurons"]].v_threshold).size)
    in_where = found["input"] if in_weight is None else in_name
    if in_weight is None:
        in_weight = np.eye(n)  # Input connected straight to the neurons: one channel each
    if in_weight.shape[0] != n:
        raise ValueError(f"node {in_where!r}: input weight has {in_weight.shape[0]} "
                         f"rows, expected one per neuron ({n})")
    n_in_declared = np.asarray(nodes[found["input"]].input_type["input"]).reshape(-1)
    if n_in_declared.size == 1 and int(n_in_declared[0]) != in_weight.shape[1]:
        raise ValueError(f"Input node {found['input']!r} declares {int(n_in_declared[0])} "
                         f"channels but {in_where!r} takes {in_weight.shape[1]}")
    return _Weights(n, in_name, in_where, in_weight, in_bias, rec_name, rec_weight, rec_bias)


def _neuron_parameters(nname: str, neurons: Any, n: int) -> dict[str, np.ndarray | None]:
    """Per-neuron parameters of the CubaLIF / LIF node (``tau_syn``, ``w_in`` None for
    LIF), checked: ``v_reset = 0`` and positive time constants."""
    cuba = isinstance(neurons, nir.CubaLIF)
    params = {
        "tau_mem": _per_neuron_param(nname, neurons, "tau_mem" if cuba else "tau", n),
        "tau_syn": _per_neuron_param(nname, neurons, "tau_syn", n) if cuba else None,
        "w_in": _per_neuron_param(nname, neurons, "w_in", n) if cuba else None}
    for field in ("r", "v_leak", "v_threshold"):
        params[field] = _per_neuron_param(nname, neurons, field, n)
    _v_reset_zero(nname, neurons, n)
    if np.any(params["tau_mem"] <= 0) or (cuba and np.any(params["tau_syn"] <= 0)):
        raise ValueError(f"node {nname!r} ({_node_type(neurons)}): time constants must be "
                         f"positive")
    return params


def _synapses(nodes: dict, w: _Weights, scale: np.ndarray
              ) -> tuple[sp.csr_matrix, np.ndarray | None, sp.csr_matrix]:
    """Recurrent weights (with their activity mask) and input weights in project units:
    visible and hidden (metadata) entries, rows multiplied by ``scale``."""
    if w.rec_weight is None:
        weights, synapse_active = sp.csr_matrix((w.n, w.n)), None
    else:
        weights, synapse_active = _sparse_with_hidden(
            w.rec_name, w.rec_weight, _lnp_meta(nodes[w.rec_name]), "hidden_pre",
            "hidden_synapse_active")
    input_meta = {} if w.in_name is None else _lnp_meta(nodes[w.in_name])
    input_weights, _ = _sparse_with_hidden(w.in_where, w.in_weight, input_meta,
                                           "hidden_input", None)
    if not _is_one(scale):
        row_scale = sp.diags(scale)
        weights = sp.csr_matrix(row_scale @ weights)
        input_weights = sp.csr_matrix(row_scale @ input_weights)
        weights.sort_indices()
    return weights, synapse_active, input_weights


def _readout_of(nodes: dict, found: dict, n: int) -> Readout | None:
    """The Linear/Affine between the neurons and the Output as a :class:`Readout`."""
    if found["readout"] is None:
        return None
    rw, rb = _weight_of(found["readout"], nodes[found["readout"]])
    if rw.shape[1] != n:
        raise ValueError(f"node {found['readout']!r}: readout weight has {rw.shape[1]} "
                         f"columns, expected one per neuron ({n})")
    if isinstance(nodes[found["readout"]], nir.Affine) and rb is None:
        rb = np.zeros(rw.shape[0])
    return Readout(rw, rb)


# --------------------------------------------------------------------------- import
def from_nir(graph: nir.NIRGraph, *, dt: float | None = None, with_readout: bool = False):
    """Import a NIR graph as a :class:`SpikingNetwork` (and its readout).

    Accepts graphs written by :func:`to_nir` (lossless) and recurrent graphs written by
    other tools where the primitives map: one ``CubaLIF`` or ``LIF`` layer (possibly
    inside a nested subgraph, as snnTorch writes ``RSynaptic``), an optional one-step
    ``Delay`` right after the Input, an input ``Linear`` / ``Affine`` (or Input straight
    into the neurons: identity), at most one recurrent ``Linear``/``Affine`` edge, and an
    optional ``Linear``/``Affine`` readout. Several spiking populations are refused with
    an error naming them. An Affine bias is a constant input current, folded into the
    neuron bias at its settled value (exact for LIF or ``tau_syn == dt``; otherwise a
    warning names the node and the start-up transient). A graph without the input Delay
    is run on the input delayed by one step, with a warning (lnp_neuro's engines and
    Lava always delay it). Scaling and parameter inversion follow
    :mod:`lnp_neuro.nir.reservoir_files`.

    Parameters
    ----------
    graph : nir.NIRGraph
    dt : float, optional
        Time step in seconds for graphs that do not store one. When omitted it is read
        from the graph's metadata or inferred as ``tau_mem / r`` (snnTorch convention).
    with_readout : bool
        Return ``(network, readout)`` where ``readout`` is a :class:`Readout` or None.
    """
    dt = _checked_dt(graph, dt)
    nodes, edges, delay = _take_input_delay(*_flat_graph(graph))
    found = _find_structure(nodes, edges)
    nname = found["neurons"]
    neurons = nodes[nname]
    graph_meta = _lnp_meta(graph)
    version = int(np.asarray(graph_meta.get("format_version", 0)))  # 0: another tool's
    if version > NIR_FORMAT_VERSION:
        raise ValueError(f"graph metadata format version {version} is newer than this "
                         f"lnp_neuro reads ({NIR_FORMAT_VERSION})")
    w = _read_weights(nodes, found)
    n = w.n
    p = _neuron_parameters(nname, neurons, n)
    dt, dt_source = _resolve_dt(dt, graph_meta,
                                lambda: _infer_dt(nname, neurons, p["tau_mem"], p["r"]))
    tau_syn = np.full(n, dt) if p["tau_syn"] is None else p["tau_syn"]
    scale, bias = _euler_scale_bias(dt, p["r"], p["tau_mem"], p["v_leak"], p["tau_syn"],
                                    p["w_in"])
    for src_name, extra in ((w.in_name, w.in_bias), (w.rec_name, w.rec_bias)):
        if extra is not None:
            bias = _fold_affine_bias(bias, extra, scale, tau_syn, dt, src_name, nname,
                                     stacklevel=2)
    input_delay_steps = _input_delay_steps(delay, dt, version)
    if input_delay_steps == 0:
        warnings.warn(
            "the graph delivers the input in the step it occurs (no one-step Delay node after "
            "the Input); lnp_neuro's engines and Lava deliver every input one step later, "
            "so they run this graph on the input delayed by one step", UserWarning,
            stacklevel=2)
    nmeta, where = _lnp_meta(neurons), f"node {nname!r}"
    neuron_active, bias = _active_and_bias(nmeta, n, where, bias)
    cluster = _meta_array(nmeta, "cluster", (n,), np.int64, where)
    weights, synapse_active, input_weights = _synapses(nodes, w, scale)
    excitatory = _excitatory(nmeta, n, where, [weights])
    if "network_metadata_json" in graph_meta:
        metadata = _meta_json(graph_meta, "network_metadata_json")
    else:
        metadata = {"model": "nir-import", "nir_neuron_type": _node_type(neurons),
                    "dt_source": dt_source, "nir_input_delay_steps": input_delay_steps}
    try:
        net = SpikingNetwork(
            weights=weights, input_weights=input_weights, tau_mem=p["tau_mem"],
            tau_syn=tau_syn, v_threshold=p["v_threshold"], bias=bias, dt=dt,
            excitatory=excitatory, cluster=cluster, neuron_active=neuron_active,
            synapse_active=synapse_active, metadata=metadata)
    except ValueError as exc:
        raise ValueError(f"node {nname!r} ({_node_type(neurons)}) does not map onto the "
                         f"project's neuron model with dt={dt}: {exc}") from None
    return (net, _readout_of(nodes, found, n)) if with_readout else net
