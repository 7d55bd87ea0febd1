"""NIR graph -> :class:`~lnp_neuro.model.Graph`, one converter per node kind.

Nodes. Nested ``NIRGraph`` subgraphs (snnTorch writes ``RLeaky`` / ``RSynaptic`` as
``lif1.lif`` + ``lif1.w_rec``) are inlined as :func:`lnp_neuro.nir.reservoir_import._flatten_graph`
does. Every neuron node (``CubaLIF``, ``LIF``, ``IF``, ``LI``, ``I``) becomes a
:class:`Population` of that name, its neurons the row-major flattening of its parameters'
shape (a LIF over ``(C, H, W)`` is ``C H W`` neurons). Every path from an ``Input`` or
neuron node through stateless nodes (``Delay``, ``Affine``, ``Linear``, ``Scale``,
``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``) to a neuron node becomes
ONE :class:`Projection`: :mod:`lnp_neuro.nir.lowering` turns the chain into one sparse
matrix (the product of its nodes' matrices; e.g. ``Conv2d -> SumPool2d -> Flatten ->
Affine``), named by its weight nodes joined by ``+`` (a path without one, e.g. an Input
straight into a neuron node, is an identity projection named ``source->target``). Shapes
flow along the paths from the Inputs' ``input_type`` and the neuron nodes' parameters.
Anything else is refused with one ``ValueError`` naming the node and field.

Parameters (as :func:`lnp_neuro.nir.reservoir_import.from_nir`). NIR integrates
``tau dv/dt = v_leak - v + r I`` (LIF, LI), with the CubaLIF current
``tau_syn dI/dt = -I + w_in x`` and ``dv/dt = r I`` for ``IF`` and ``I``; forward Euler
with step ``dt`` gives the population's step with ``bias = dt v_leak / tau_mem`` and the
projection weights' rows multiplied by the jump of ``u`` per unit of NIR input::

    CubaLIF  scale = r dt/tau_mem * dt/tau_syn * w_in      LIF, LI  scale = r dt/tau
    IF, I    scale = r dt

(a scale within rounding of 1 leaves the weights untouched). ``v_reset`` must be 0. An
Affine (or convolution) bias, carried through the rest of its chain, is a constant input
current, folded into the target's bias at its settled value ``scale b tau_syn/dt`` (exact
when ``tau_syn = dt``; otherwise a warning names the node). ``dt`` comes from the
argument, the graph's ``lnp_neuro`` metadata, or ``tau_mem / r`` of the leaky neuron nodes
(snnTorch's convention), which must agree.

Timing. A NIR stepper (snnTorch, norse) delivers a feed-forward edge in the same step, a
recurrent edge one step later and a ``Delay`` of ``d dt`` ``d`` steps later; a projection
here needs ``delay_steps >= 1``. With ``d`` the steps of the Delay nodes on a path (a delay
that is not a whole number of steps is an error naming the node):

- a self-projection gets ``delay_steps = 1 + d`` (exactly NIR's timing);
- any other projection gets ``d`` when ``d >= 1`` (exactly NIR's timing) and 1 when the
  path has no delay: such a projection delivers one step later than the source framework.

``metadata["nir_import"]`` lists these ``undelayed_projections``, the resulting ``shift``
per population (the longest count of undelayed hops from an input: the population spikes
here at ``t + shift`` where the source framework spikes at ``t``), whether the file was
``written_by_lnp_neuro`` (:mod:`lnp_neuro.nir.export` writes a Delay for every hop, so its
graphs have no undelayed projection and come back unchanged), ``dt_source`` and the
``readouts``; for a file of ours, the ``bias_onset`` per population it carries
(``lnp_neuro.bias_onset_json``, written for a graph imported from a same-step framework:
its Delay nodes keep the timing, but not the late start of its biases).

Readouts. A ``Linear`` / ``Affine`` / ``Scale`` between a population and an ``Output`` is a
stateless map of the spikes, not a neuron: it is not made a population. Its weights (and
bias) are kept as JSON lists in ``metadata["nir_import"]["readouts"]`` (``node``,
``source``, ``output``, ``weight``, ``bias``) and the source population is listed as an
output of the graph. A population straight into an ``Output`` is an output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nir
import numpy as np
import scipy.sparse as sp

from ..model import Graph, Population, Projection
from ..model.graph import feed_forward_depth
from .export import GRAPH_FORMAT_VERSION, IMPORT_METADATA_KEY
from .lowering import WEIGHT_CONVERTERS, Lowered, lower_paths
from .reservoir_export import METADATA_KEY
from .source import apply_source_reset, source_graph, source_reset
from .reservoir_import import (_active_and_bias, _checked_dt, _euler_scale_bias, _excitatory,
                               _flat_graph, _fold_affine_bias, _infer_dt, _is_one, _lnp_meta,
                               _meta_array, _meta_json, _node_type, _per_neuron_param,
                               _resolve_dt, _sparse_with_hidden, _v_reset_zero)

# WEIGHT_CONVERTERS lives in lnp_neuro.nir.lowering and stays importable from here.
__all__ = ["graph_from_nir", "IMPORT_METADATA_KEY", "WEIGHT_CONVERTERS"]

# Relative tolerance under which a delay counts as a whole number of steps: a few float
# roundings (float32 files included), never a model difference. (Scales and metadata
# values are compared with lnp_neuro.nir.reservoir_import's _ROUNDING_RTOL.)
_DELAY_RTOL = 1e-5

_SUPPORTED = ("Input", "Output", "Affine", "Linear", "Scale", "Delay", "CubaLIF", "LIF",
              "IF", "LI", "I", "NIRGraph", "Flatten", "Conv1d", "Conv2d", "SumPool2d",
              "AvgPool2d")


# --------------------------------------------------------------------------- neurons
@dataclass
class _Neuron:
    """A converted neuron node: population parameters and the input scale per neuron."""

    kind: str
    tau_mem: np.ndarray | None
    tau_syn: np.ndarray | None
    v_threshold: np.ndarray | None
    bias: np.ndarray
    scale: np.ndarray


def _positive(name: str, node: Any, field: str, arr: np.ndarray) -> np.ndarray:
    if np.any(arr <= 0):
        raise ValueError(f"node {name!r} ({_node_type(node)}): {field} must be positive, got "
                         f"{arr.min():g}")
    return arr


def _cuba_lif(name: str, node: nir.CubaLIF, n: int, dt: float) -> _Neuron:
    tau_mem = _positive(name, node, "tau_mem", _per_neuron_param(name, node, "tau_mem", n))
    tau_syn = _positive(name, node, "tau_syn", _per_neuron_param(name, node, "tau_syn", n))
    r = _per_neuron_param(name, node, "r", n)
    w_in = _per_neuron_param(name, node, "w_in", n)
    _v_reset_zero(name, node, n)
    threshold = _per_neuron_param(name, node, "v_threshold", n)
    scale, bias = _euler_scale_bias(dt, r, tau_mem, _per_neuron_param(name, node, "v_leak", n),
                                    tau_syn, w_in)
    return _Neuron("cuba_lif", tau_mem, tau_syn, threshold, bias, scale)


def _leaky(kind: str):
    def convert(name: str, node: Any, n: int, dt: float) -> _Neuron:
        tau = _positive(name, node, "tau", _per_neuron_param(name, node, "tau", n))
        r = _per_neuron_param(name, node, "r", n)
        threshold = None
        if kind == "lif":
            _v_reset_zero(name, node, n)
            threshold = _per_neuron_param(name, node, "v_threshold", n)
        scale, bias = _euler_scale_bias(dt, r, tau, _per_neuron_param(name, node, "v_leak", n))
        return _Neuron(kind, tau, None, threshold, bias, scale)
    return convert


def _integrating(kind: str):
    def convert(name: str, node: Any, n: int, dt: float) -> _Neuron:
        threshold = None
        if kind == "if":
            _v_reset_zero(name, node, n)
            threshold = _per_neuron_param(name, node, "v_threshold", n)
        return _Neuron(kind, None, None, threshold, np.zeros(n),
                       _per_neuron_param(name, node, "r", n) * dt)
    return convert


#: NIR neuron node type -> converter ``(name, node, n, dt) -> _Neuron``.
NEURON_CONVERTERS = {
    nir.CubaLIF: _cuba_lif,
    nir.LIF: _leaky("lif"),
    nir.LI: _leaky("li"),
    nir.IF: _integrating("if"),
    nir.I: _integrating("integrator"),
}
_NEURON_FIELDS = ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset",
                  "w_in")


# --------------------------------------------------------------------------- delays
def _delay_steps(name: str, node: nir.Delay, dt: float) -> int:
    delay = np.asarray(node.delay, dtype=np.float64).reshape(-1)
    if delay.size == 0:
        return 0
    if not np.all(np.isfinite(delay)) or np.any(delay < 0):
        raise ValueError(f"node {name!r} (Delay): delay must be finite and >= 0")
    steps = np.rint(delay / dt)
    if not np.allclose(delay / dt, steps, rtol=_DELAY_RTOL, atol=_DELAY_RTOL):
        raise ValueError(f"node {name!r} (Delay): delay must be a whole number of steps of "
                         f"dt={dt:g} s, got {delay.min():g}..{delay.max():g} s")
    if np.any(steps != steps[0]):
        raise ValueError(f"node {name!r} (Delay): delay differs between channels "
                         f"({int(steps.min())}..{int(steps.max())} steps); a projection has "
                         f"one delay")
    return int(steps[0])


# --------------------------------------------------------------------------- structure
def _channels(name: str, node: Any, key: str, field: str) -> int | None:
    types = getattr(node, field, None)
    if not isinstance(types, dict) or key not in types:
        return None
    shape = np.asarray(types[key]).reshape(-1)
    return int(np.prod(shape)) if shape.size else None


@dataclass
class _Path:
    source: str
    via: list
    end: str


def _paths(nodes: dict, edges: list) -> list[_Path]:
    """Every path from an Input or neuron node through edge nodes to a neuron or Output."""
    succs: dict[str, list[str]] = {k: [] for k in nodes}
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        for end in (s, d):
            if end not in nodes:
                raise ValueError(f"edge ({s!r}, {d!r}): node {end!r} is not in the graph")
        succs[s].append(d)
        preds[d].append(s)
    ends = tuple(NEURON_CONVERTERS) + (nir.Output,)
    for name, node in nodes.items():
        if isinstance(node, nir.Input) and preds[name]:
            raise ValueError(f"node {name!r} (Input) has predecessors {preds[name]}")
        if isinstance(node, nir.Output) and succs[name]:
            raise ValueError(f"node {name!r} (Output) has successors {succs[name]}")
        if not isinstance(node, ends + (nir.Input,)) and len(preds[name]) != 1:
            raise ValueError(f"node {name!r} ({_node_type(node)}) must have exactly one "
                             f"predecessor, has {preds[name]}")
        if not isinstance(node, ends) and not succs[name]:
            raise ValueError(f"node {name!r} ({_node_type(node)}) has no successor; it must lead "
                             f"to a neuron or Output node")
    paths, reached = [], set()

    def walk(source: str, via: list, here: str) -> None:
        for nxt in succs[here]:
            if isinstance(nodes[nxt], ends):
                paths.append(_Path(source, via, nxt))
            elif nxt in via:
                raise ValueError(f"node {nxt!r} ({_node_type(nodes[nxt])}) is on a cycle without "
                                 f"a neuron node")
            else:
                reached.add(nxt)
                walk(source, via + [nxt], nxt)

    for name, node in nodes.items():
        if isinstance(node, (nir.Input,) + tuple(NEURON_CONVERTERS)):
            walk(name, [], name)
    for name, node in nodes.items():
        if not isinstance(node, ends + (nir.Input,)) and name not in reached:
            raise ValueError(f"node {name!r} ({_node_type(node)}) is not on a path from an Input "
                             f"or neuron node")
    return paths


def _known_shapes(nodes: dict) -> dict[str, tuple]:
    """Shapes given by the nodes themselves: an Input's ``input_type``, a neuron node's
    largest per-neuron parameter (e.g. ``(C, H, W)``; scalars give none)."""
    shapes = {}
    for name, node in nodes.items():
        if isinstance(node, nir.Input):
            shape = np.asarray(node.input_type["input"]).reshape(-1)
            shapes[name] = tuple(int(v) for v in shape)
        elif isinstance(node, tuple(NEURON_CONVERTERS)):
            params = [np.asarray(getattr(node, f)) for f in _NEURON_FIELDS
                      if getattr(node, f, None) is not None]
            largest = max(params, key=lambda a: a.size, default=np.zeros(()))
            if largest.size > 1:
                shapes[name] = tuple(int(v) for v in largest.shape)
    return shapes


def _sizes(nodes: dict, shapes: dict) -> dict[str, int]:
    """Neurons per neuron node: its shape's element count (flattened row-major)."""
    return {name: int(np.prod(shapes.get(name, (1,)), dtype=np.int64))
            for name, node in nodes.items() if isinstance(node, tuple(NEURON_CONVERTERS))}


# --------------------------------------------------------------------------- dt
def _graph_dt(dt: float | None, graph_meta: dict, neurons: dict,
              sizes: dict) -> tuple[float, str]:
    """``(dt, source)`` as :func:`lnp_neuro.nir.reservoir_import._resolve_dt`; inferred as ``tau / r``
    of every leaky neuron node, which must agree."""
    return _resolve_dt(dt, graph_meta, lambda: _inferred_dt(neurons, sizes))


def _inferred_dt(neurons: dict, sizes: dict) -> float:
    inferred = []
    for name, node in neurons.items():
        tau_field = {nir.CubaLIF: "tau_mem", nir.LIF: "tau", nir.LI: "tau"}.get(type(node))
        if tau_field is None:
            continue
        n = sizes[name]
        tau = _per_neuron_param(name, node, tau_field, n)
        inferred.append((name, _infer_dt(name, node, tau, _per_neuron_param(name, node, "r", n))))
    if not inferred:
        raise ValueError(f"the graph carries no dt (no {METADATA_KEY} metadata) and has no "
                         f"CubaLIF, LIF or LI node to infer it from (dt = tau/r); pass dt=... "
                         f"(lnp-deploy --dt SECONDS)")
    first, value = inferred[0]
    for name, other in inferred[1:]:
        if not np.isclose(other, value, rtol=1e-6, atol=0):
            raise ValueError(f"the graph carries no dt and tau/r disagrees between node "
                             f"{first!r} ({value:g} s) and node {name!r} ({other:g} s); pass "
                             f"dt=... (lnp-deploy --dt SECONDS)")
    return value


def _shift(projections: list[Projection], undelayed: set, populations: list[str]) -> dict:
    """Longest count of undelayed feed-forward hops from an input to each population."""
    return feed_forward_depth(projections, populations, lambda p: int(p.name in undelayed))


# --------------------------------------------------------------------------- stages
def _supported_nodes(nir_graph: nir.NIRGraph) -> tuple[dict, list]:
    """Nodes and edges with subgraphs inlined; any node of a kind this importer does not
    read is refused."""
    nodes, edges = _flat_graph(nir_graph)
    for name, node in nodes.items():
        if _node_type(node) not in _SUPPORTED:
            raise ValueError(f"node {name!r} of type {_node_type(node)} is not supported by "
                             f"lnp_neuro.nir.graph_from_nir (supported: "
                             f"{', '.join(_SUPPORTED)})")
    return nodes, edges


def _written_by_lnp_neuro(graph_meta: dict) -> bool:
    """Whether :mod:`lnp_neuro.nir.export` wrote the graph (a version this code reads)."""
    if "graph_format_version" not in graph_meta:
        return False
    version = int(np.asarray(graph_meta["graph_format_version"]))
    if version > GRAPH_FORMAT_VERSION:
        raise ValueError(f"graph metadata {METADATA_KEY}.graph_format_version {version} is "
                         f"newer than this lnp_neuro reads ({GRAPH_FORMAT_VERSION})")
    return True


def _input_channels(nodes: dict) -> dict[str, int]:
    """Channels of every Input node, by name."""
    inputs = {}
    for name, node in nodes.items():
        if isinstance(node, nir.Input):
            channels = _channels(name, node, "input", "input_type")
            if channels is None:
                raise ValueError(f"node {name!r} (Input): input_type gives no channel count")
            inputs[name] = channels
    if not inputs:
        raise ValueError("the graph has no Input node")
    return inputs


@dataclass
class _Connections:
    """What the paths of a graph become: projections, readouts and outputs."""

    projections: list
    undelayed: list
    readouts: list
    outputs: list


def _add_readout(out: _Connections, nodes: dict, path: _Path, inputs: dict, sizes: dict,
                 wname: str | None, weight: np.ndarray, extra: np.ndarray | None) -> None:
    """A path into an Output: its source is an output of the graph, and a weight node on
    it a readout kept as JSON (module docstring)."""
    if path.source in inputs:
        raise ValueError(f"node {path.end!r} (Output) is fed by the Input "
                         f"{path.source!r}, not by a population")
    if path.source not in out.outputs:
        out.outputs.append(path.source)
    if wname is None:
        return
    weight = weight.toarray() if sp.issparse(weight) else weight
    if weight.shape[1] != sizes[path.source]:
        raise ValueError(f"node {wname!r} ({_node_type(nodes[wname])}): weight has "
                         f"{weight.shape[1]} columns, expected {sizes[path.source]} "
                         f"(neurons of {path.source!r})")
    out.readouts.append({"node": wname, "source": path.source, "output": path.end,
                         "weight": weight.tolist(),
                         "bias": None if extra is None else extra.tolist()})


def _add_projection(out: _Connections, nodes: dict, path: _Path, spec: _Neuron,
                    expected: tuple, dt: float, wname: str | None, weight: np.ndarray,
                    extra: np.ndarray | None) -> None:
    """A path into a neuron node as a :class:`Projection`: delay from the path's Delay
    nodes (module docstring, Timing), weights scaled by the target's input scale, the
    chain's bias (Affine, convolution) folded into the target's bias."""
    target, where = path.end, wname or path.source
    if weight.shape != expected:
        raise ValueError(f"node {where!r}: weight has shape {weight.shape}, expected "
                         f"{expected} (neurons of {target!r}, channels of "
                         f"{path.source!r})")
    d = sum(_delay_steps(v, nodes[v], dt) for v in path.via
            if isinstance(nodes[v], nir.Delay))
    name = wname or f"{path.source}->{target}"
    if path.source == target:
        steps = 1 + d
    else:
        steps = max(d, 1)
        if d == 0:
            out.undelayed.append(name)
    if sp.issparse(weight):   # a lowered chain (lnp_neuro.nir.lowering): no hidden entries
        matrix, mask = weight.tocsr(), None
    else:
        meta = _lnp_meta(nodes[wname]) if wname in nodes else {}
        matrix, mask = _sparse_with_hidden(where, weight, meta, "hidden_pre",
                                           "hidden_synapse_active")
    if not _is_one(spec.scale):
        matrix = matrix.copy()
        matrix.data = matrix.data * np.repeat(spec.scale, np.diff(matrix.indptr))
    if extra is not None:
        tau_syn = spec.tau_syn if spec.tau_syn is not None else np.full(expected[0], dt)
        # stacklevel 4: the warning points at the caller of graph_from_nir.
        spec.bias = _fold_affine_bias(spec.bias, extra, spec.scale, tau_syn, dt, wname,
                                      target, stacklevel=4)
    out.projections.append(Projection(path.source, target, matrix, synapse_active=mask,
                                      delay_steps=steps, name=name))


def _connections(nodes: dict, paths: list[_Path], lowered: list[Lowered], neurons: dict,
                 inputs: dict, sizes: dict, dt: float) -> _Connections:
    """Every path (its chain lowered to one matrix) as a projection (into a neuron node)
    or a readout/output (into an Output); folds Affine / conv biases into ``neurons``."""
    size_of = {**inputs, **sizes}
    out = _Connections([], [], [], [])
    for path, low in zip(paths, lowered):
        wname, weight, extra = low.name, low.matrix, low.bias
        if isinstance(nodes[path.end], nir.Output):
            _add_readout(out, nodes, path, inputs, sizes, wname, weight, extra)
        else:
            _add_projection(out, nodes, path, neurons[path.end],
                            (sizes[path.end], size_of[path.source]), dt, wname, weight, extra)
    return out


def _population(name: str, node: Any, spec: _Neuron, n: int,
                projections: list[Projection]) -> Population:
    """A neuron node as a :class:`Population`: the converted parameters, with the exact
    bias, masks, Dale identity, reset rule and clusters of its ``lnp_neuro`` metadata."""
    nmeta, where = _lnp_meta(node), f"node {name!r}"
    active, bias = _active_and_bias(nmeta, n, where, spec.bias,
                                    no_v_leak=spec.tau_mem is None)
    excitatory = _excitatory(nmeta, n, where,
                             (p.weights for p in projections if p.source == name))
    reset = nmeta.get("reset", "zero")
    reset = reset.item() if isinstance(reset, np.ndarray) else reset
    reset = reset.decode() if isinstance(reset, bytes) else str(reset)
    delay = nmeta.get("reset_delay", False)
    delay = delay.item() if isinstance(delay, np.ndarray) and delay.size == 1 else delay
    try:
        return Population(
            name=name, kind=spec.kind, n=n, tau_mem=spec.tau_mem, tau_syn=spec.tau_syn,
            v_threshold=spec.v_threshold, bias=bias, reset=reset,
            reset_delay=delay,
            neuron_active=active,
            excitatory=excitatory,
            cluster=_meta_array(nmeta, "cluster", (n,), np.int64, where))
    except ValueError as exc:
        raise ValueError(f"node {name!r} ({_node_type(node)}): {exc}") from None


def _layout_order(graph_meta: dict, populations: list, projections: list, inputs: dict,
                  outputs: list) -> dict:
    """Populations, projections and outputs sorted in place, and the inputs returned, in
    the order the exporter's ``layout_json`` lists them (unlisted ones last)."""
    layout = _meta_json(graph_meta, "layout_json")

    def rank(key: str):
        order = {k: i for i, k in enumerate(layout.get(key, []))}
        return lambda name: order.get(name, len(order))

    by_population, by_projection, by_input = (rank("populations"), rank("projections"),
                                              rank("inputs"))
    populations.sort(key=lambda p: by_population(p.name))
    projections.sort(key=lambda p: by_projection(p.name))
    outputs.sort(key=rank("outputs"))
    return dict(sorted(inputs.items(), key=lambda kv: by_input(kv[0])))


# --------------------------------------------------------------------------- import
def graph_from_nir(nir_graph: nir.NIRGraph, *, dt: float | None = None, source: str = "nir",
                   reset_mechanism: str | None = None, reset_delay: bool | None = None
                   ) -> Graph:
    """Import a NIR graph as a :class:`~lnp_neuro.model.Graph` (module docstring).

    Parameters
    ----------
    nir_graph : nir.NIRGraph
    dt : float, optional
        Time step in seconds for graphs that do not store one; default from the graph's
        ``lnp_neuro`` metadata or ``tau / r`` of its leaky neuron nodes.
    source : "nir" | "snntorch" | "norse"
        The framework that wrote the file, for what the file does not say
        (:mod:`lnp_neuro.nir.source`): snnTorch's default reset (subtract, one step late)
        where ``reset_mechanism`` / ``reset_delay`` are not given; norse's time constants
        (written as ``dt`` times the true ones; ``dt`` default 1 ms, its exporter's).
    reset_mechanism : "zero" | "subtract", optional
        How the source framework's spiking neurons reset (snnTorch's
        ``reset_mechanism``). Default: the source's (NIR: to ``v_reset``, or what an
        lnp_neuro file records).
    reset_delay : bool, optional
        snnTorch's ``reset_delay``: the reset acts one step late.
    """
    dt = _checked_dt(nir_graph, dt)
    reset_mechanism, reset_delay = source_reset(source, reset_mechanism, reset_delay)
    nir_graph, dt = source_graph(nir_graph, source, dt)
    nodes, edges = _supported_nodes(nir_graph)
    graph_meta = _lnp_meta(nir_graph)
    own = _written_by_lnp_neuro(graph_meta)
    inputs = _input_channels(nodes)
    neuron_nodes = {k: v for k, v in nodes.items() if isinstance(v, tuple(NEURON_CONVERTERS))}
    if not neuron_nodes:
        raise ValueError("the graph has no neuron node (CubaLIF, LIF, IF, LI or I)")
    paths = _paths(nodes, edges)
    lowered, shapes = lower_paths(nodes, paths, _known_shapes(nodes))
    sizes = _sizes(nodes, shapes)
    dt, dt_source = _graph_dt(dt, graph_meta, neuron_nodes, sizes)

    neurons = {name: NEURON_CONVERTERS[type(node)](name, node, sizes[name], dt)
               for name, node in neuron_nodes.items()}
    conn = _connections(nodes, paths, lowered, neurons, inputs, sizes, dt)
    populations = [_population(name, nodes[name], spec, sizes[name], conn.projections)
                   for name, spec in neurons.items()]
    if own:
        inputs = _layout_order(graph_meta, populations, conn.projections, inputs,
                               conn.outputs)
        metadata = _meta_json(graph_meta, "graph_metadata_json")
    else:
        metadata = {"model": "nir-import"}
    metadata[IMPORT_METADATA_KEY] = {
        "written_by_lnp_neuro": own,
        "dt_source": dt_source,
        "undelayed_projections": conn.undelayed,
        "shift": _shift(conn.projections, set(conn.undelayed),
                        [p.name for p in populations]),
        "readouts": conn.readouts,
    }
    onsets = _meta_json(graph_meta, "bias_onset_json") if own else {}
    if not isinstance(onsets, dict):
        raise ValueError("graph metadata lnp_neuro.bias_onset_json must map populations "
                         "to steps")
    if onsets:
        # A graph of ours whose bias starts late (lnp_neuro.model.flat.bias_onsets).
        metadata[IMPORT_METADATA_KEY]["bias_onset"] = {k: int(v) for k, v in onsets.items()}
    graph = Graph(inputs=inputs, populations=populations, projections=conn.projections,
                  outputs=conn.outputs, dt=dt, metadata=metadata)
    graph = apply_source_reset(graph, reset_mechanism, reset_delay)
    if source != "nir":
        graph.metadata[IMPORT_METADATA_KEY]["source"] = source
    return graph
