"""Run a NIR graph with any number of neuron nodes in norse on the CPU.

:func:`run_norse_populations` loads the graph the way ``norse.torch.from_nir`` loads it
(``nirtorch.load`` with norse's ``_import_norse_module``) after three rewrites, and steps
it one time step at a time (batch of 1); each neuron node's output is read from the
executor's cache. The one-population runner, and the differences between norse and the
project's model it corrects, are in :mod:`lnp_neuro.engines.norse.network`.

1. Nested subgraphs (snnTorch writes a recurrent layer as a subgraph ``lif1`` with
   ``lif1.lif`` and ``lif1.w_rec``) are inlined with '.'-joined names, as
   :mod:`lnp_neuro.nir.reservoir_import` does; nirtorch would run them as a nested executor
   whose nodes are not in the outer cache.
2. Every ``Delay`` node is removed and its edges rewired (src -> dst): norse 1.1.0
   has no import for ``nir.Delay`` and nirtorch then drops the node with its edges.
   The result is the graph in the executor's timing: a feed-forward edge delivers in
   the same step, a recurrent edge (one closing a cycle) one step later; at t = 0 a
   recurrent edge delivers nothing (zero, also no Affine bias), as in nirtorch,
   where a source not yet run is skipped. Nodes run in a topological order of the
   feed-forward edges (see ``_execution_order``).
3. Several Input nodes are merged into one (nirtorch feeds data to one Input only):
   the executor's input is their channels concatenated in graph order, and each
   original Input becomes a ``nir.Linear`` selecting its channels (0/1 weights, so
   exact in float32).

Neuron nodes, per norse's discretisation (``norse/torch/utils/import_nir.py``; v reset
to 0 on a spike, ``z = v > v_th``)::

    CubaLIF  I += dt/tau_syn (v_leak - I + w_in x);  v += dt/tau_mem (v_leak - v + r I)
    LIF      v += dt/tau (v_leak - v + x)             (norse ignores r: r = 1 required)
    IF       v += x                                   (NIR Euler: dt r = 1 required)
    LI       v += dt/tau (v_leak - v + r x)           (output v, no spikes)
    Integrator  v += dt r x                           (output v, no spikes)

LI and Integrator have no norse import; they are built here (``_extra_module``). LIF and
IF gains are folded into the weights that feed them (``_fold_gains``), and a population
that resets by subtraction (its node's ``lnp_neuro`` metadata) gets norse's
``reset_subtract``.
"""

from __future__ import annotations

import nir
import numpy as np

from ...nir.reservoir_export import METADATA_KEY
from ...nir.reservoir_import import _flat_graph
from .common import (_check_n_threads, _quiet_norse_import, _time_steps, _torch_threads,
                     _zero_state, _zero_synaptic_leak)

__all__ = ["run_norse_populations"]

_SPIKING_NODES = ("CubaLIF", "LIF", "IF")
_NON_SPIKING_NODES = ("LI", "Integrator")
_POPULATION_NODES = ("Input", "Output", "Affine", "Linear", "Delay") + _SPIKING_NODES \
    + _NON_SPIKING_NODES
_MERGED_INPUT = "norse_inputs"
# Relative tolerance under which a parameter counts as the value norse assumes (a few
# float64 roundings of exporter arithmetic such as r = tau/dt, not a model difference).
_PARAM_RTOL = 1e-6


def _kind(node) -> str:
    """NIR node type name; NIR's integrator class is ``nir.I`` (nir 1.0) and is called
    ``Integrator`` here."""
    integrator = getattr(nir, "Integrator", None) or getattr(nir, "I", None)
    if integrator is not None and isinstance(node, integrator):
        return "Integrator"
    return type(node).__name__


def _strip_delays(nodes: dict, edges: list) -> tuple[dict, list]:
    """Every ``Delay`` node removed, each (pred -> Delay -> succ) path rewired to
    (pred -> succ): norse 1.1.0 has no import for ``nir.Delay`` (module docstring,
    difference 5), so the graph runs in the executor's own timing."""
    nodes = dict(nodes)
    edges = list(dict.fromkeys(edges))
    for name in [k for k, v in nodes.items() if isinstance(v, nir.Delay)]:
        preds = [s for s, d in edges if d == name and s != name]
        succs = [d for s, d in edges if s == name and d != name]
        edges = [e for e in edges if name not in e]
        edges.extend((p, s) for p in preds for s in succs)
        edges = list(dict.fromkeys(edges))
        del nodes[name]
    return nodes, edges


def _fold_gains(nodes: dict, edges: list, dt: float) -> dict:
    """LIF and IF nodes with their input gain moved into the weights that feed them.

    norse's LIF integrates ``r I`` with ``r = 1`` and its IF adds ``I`` unscaled (the
    checks below); NIR's Euler step is ``v += dt/tau (v_leak - v + r I)`` and
    ``v += dt r I``. Scaling the rows of every Linear/Affine into the node by ``g`` (``r``
    for LIF, ``dt r`` for IF) and setting the gain to one computes the same step, so
    such a graph still runs as NIR says. A node fed by anything but a weight node keeps
    its gain (and is refused below).
    """
    nodes = dict(nodes)
    for name, node in list(nodes.items()):
        if isinstance(node, nir.LIF):
            gain = np.asarray(node.r, dtype=np.float64)
        elif isinstance(node, nir.IF):
            gain = np.asarray(node.r, dtype=np.float64) * dt
        else:
            continue
        if np.allclose(gain, 1.0, rtol=_PARAM_RTOL, atol=0):
            continue
        sources = [s for s, d in edges if d == name]
        if not sources or not all(isinstance(nodes[s], (nir.Linear, nir.Affine))
                                  and sum(1 for a, _ in edges if a == s) == 1
                                  for s in sources):
            continue
        column = gain.reshape(-1, 1)
        for s in sources:
            w = np.asarray(nodes[s].weight, dtype=np.float64) * column
            if isinstance(nodes[s], nir.Affine):
                nodes[s] = nir.Affine(weight=w, bias=np.asarray(nodes[s].bias) * gain)
            else:
                nodes[s] = nir.Linear(weight=w)
        one = np.ones_like(gain)
        # The metadata goes along: it holds the reset rule (_reset_method).
        if isinstance(node, nir.LIF):
            nodes[name] = nir.LIF(tau=node.tau, r=one, v_leak=node.v_leak,
                                  v_threshold=node.v_threshold, v_reset=node.v_reset,
                                  metadata=node.metadata)
        else:
            nodes[name] = nir.IF(r=one / dt, v_threshold=node.v_threshold,
                                 v_reset=node.v_reset, metadata=node.metadata)
    return nodes


def _lnp_meta(node) -> dict:
    """The node's lnp_neuro metadata (empty for a node another tool wrote)."""
    meta = getattr(node, "metadata", None)
    meta = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _reset_mode(node) -> str:
    """"subtract" where the node's lnp_neuro metadata says so, else NIR's "zero"."""
    return "subtract" if str(np.asarray(_lnp_meta(node).get("reset"))) == "subtract" \
        else "zero"


def _reset_method(node, dt: float):
    """norse's reset function for ``node``: its ``reset_value`` (NIR's reset to 0),
    ``reset_subtract``, or for snnTorch's delayed subtraction (lnp_neuro metadata
    ``reset_delay``) the subtraction of ``v_threshold / beta``, ``beta = 1 - dt/tau``
    (:mod:`lnp_neuro.nir.source`), computed as the engines do."""
    import torch
    from norse.torch.functional.reset import reset_subtract, reset_value
    if _reset_mode(node) != "subtract":
        return reset_value
    if not bool(np.asarray(_lnp_meta(node).get("reset_delay", False))):
        return reset_subtract
    tau = np.asarray(node.tau_mem if isinstance(node, nir.CubaLIF) else node.tau, np.float64)
    amount = torch.as_tensor(np.asarray(node.v_threshold, np.float64) / (1.0 - dt / tau))

    def reset_subtract_delayed(z, v, reset, th):
        return (1 - z) * v + z * (v - amount.to(v.dtype))
    return reset_subtract_delayed


def _check_representable(name: str, node, dt: float, as_imported: bool) -> None:
    """Refuse, naming the node, what norse's import would silently change."""
    kind = _kind(node)
    if kind not in _POPULATION_NODES:
        raise ValueError(f"node {name!r} ({kind}): run_norse_populations runs Input, "
                         f"Affine, Linear, Delay, CubaLIF, LIF, IF, LI, Integrator and "
                         f"Output nodes only")
    for field in ("tau_syn", "tau_mem", "tau"):
        if hasattr(node, field):
            tau = np.asarray(getattr(node, field), dtype=np.float64)
            if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
                raise ValueError(f"node {name!r} ({kind}): {field} must be positive and "
                                 f"finite")
    if as_imported:
        return
    if isinstance(node, nir.LIF) and not np.allclose(np.asarray(node.r, dtype=np.float64),
                                                     1.0, rtol=_PARAM_RTOL, atol=0):
        raise ValueError(f"node {name!r} (LIF) has r != 1, which norse's LIF import ignores "
                         f"(it integrates with r = 1); pass as_imported=True to run it that "
                         f"way anyway")
    if isinstance(node, nir.IF) and not np.allclose(
            np.asarray(node.r, dtype=np.float64) * dt, 1.0, rtol=_PARAM_RTOL, atol=0):
        raise ValueError(f"node {name!r} (IF) has r*dt != 1: norse's IF adds its input to v "
                         f"each step (v += I, ignoring r and dt) while NIR's Euler step is "
                         f"v += dt r I; pass as_imported=True to run it norse's way anyway")
    if isinstance(node, nir.IF) and _reset_mode(node) == "subtract":
        raise ValueError(f"node {name!r} (IF) resets by subtraction, which norse's IF "
                         f"cell cannot (it resets to 0)")
    if isinstance(node, (nir.CubaLIF, nir.LIF, nir.IF)) and not np.allclose(
            np.asarray(node.v_reset, dtype=np.float64), 0.0):
        raise ValueError(f"node {name!r} ({kind}) has v_reset != 0, which norse's import "
                         f"ignores (it always resets to 0); pass as_imported=True to run it "
                         f"that way anyway")


def _execution_order(names: list[str], edges: list, root: str) -> list[str]:
    """Order in which the executor evaluates the nodes, reached from ``root``.

    nirtorch's executor (``trace_execution``) runs nodes in depth-first pre-order from the
    Input, and a node whose source has not run yet in this step receives that source's
    output of the previous step. Pre-order is not a topological order when a node is
    reached along a shorter path first (A -> B, A -> C -> B runs B before C, delaying the
    feed-forward edge C -> B by one step). Here the recurrent edges are those closing a
    cycle in the same depth-first traversal (edge order of the graph), and the nodes run
    in a topological order of the remaining (feed-forward) edges, ties broken by the
    pre-order: feed-forward edges deliver in the same step, recurrent ones one step later.
    For a chain with recurrent loops (the NIR paper's graphs) this is nirtorch's order.
    """
    succ: dict[str, list[str]] = {n: [] for n in names}
    for s, d in edges:
        succ[s].append(d)
    preorder: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    on_stack: set[str] = set()
    stack = [(root, iter(succ[root]))]
    preorder[root] = 0
    on_stack.add(root)
    while stack:
        node, children = stack[-1]
        for child in children:
            if child in on_stack:
                back.add((node, child))
            elif child not in preorder:
                preorder[child] = len(preorder)
                on_stack.add(child)
                stack.append((child, iter(succ[child])))
                break
        else:
            stack.pop()
            on_stack.discard(node)
    unreached = [n for n in names if n not in preorder]
    if unreached:
        raise ValueError(f"nodes {unreached} are not reachable from an Input node (the "
                         f"executor would never run them)")
    indegree = {n: 0 for n in names}
    for s, d in edges:
        if (s, d) not in back:
            indegree[d] += 1
    order: list[str] = []
    ready = sorted((n for n in names if indegree[n] == 0), key=preorder.get)
    while ready:
        node = ready.pop(0)
        order.append(node)
        for d in succ[node]:
            if (node, d) not in back:
                indegree[d] -= 1
                if indegree[d] == 0:
                    ready.append(d)
        ready.sort(key=preorder.get)
    if order[0] != root:
        raise ValueError(f"the Input node {root!r} has incoming edges")
    return order


def _extra_module(node, dt: float):
    """torch modules for the neuron kinds norse 1.1.0's ``_import_norse_module`` has no
    branch for (it returns None and nirtorch then drops the node):

    - ``LI`` (``tau dv/dt = v_leak - v + r I``): norse's own ``LIBoxCell``
      (``v[t] = v[t-1] + dt/tau (v_leak - v[t-1] + r I[t])``) fed ``r I``, as norse's
      ``CubaLIF`` import feeds its membrane;
    - ``Integrator`` (``nir.I``, ``dv/dt = r I``): the Euler step ``v[t] = v[t-1] + dt r I[t]``.
    """
    import torch
    from norse.torch.module.leaky_integrator_box import LIBoxCell, LIBoxParameters
    from norse.torch.utils.import_nir import _to_tensor

    class _ScaledInput(torch.nn.Module):
        def __init__(self, r, cell):
            super().__init__()
            self.r = r
            self.cell = cell

        def forward(self, x, state=None):
            return self.cell(self.r * x, state)

    class _Integrator(torch.nn.Module):
        def __init__(self, gain):
            super().__init__()
            self.gain = gain

        def forward(self, x, state=None):
            v = (torch.zeros_like(x) if state is None else state) + self.gain * x
            return v, v

    if isinstance(node, nir.LI):
        cell = LIBoxCell(LIBoxParameters(tau_mem_inv=1 / _to_tensor(np.asarray(node.tau)),
                                         v_leak=_to_tensor(np.asarray(node.v_leak))), dt=dt)
        return _ScaledInput(_to_tensor(np.asarray(node.r)), cell)
    if _kind(node) == "Integrator":
        gain = np.asarray(node.r, dtype=np.float64) * dt
        return _Integrator(torch.as_tensor(gain, dtype=torch.float32))
    return None


def _neuron_size(node) -> int:
    field = "v_threshold" if hasattr(node, "v_threshold") else "r"
    return int(np.asarray(getattr(node, field)).size)


# --------------------------------------------------------------------------- stages
def _prepare_graph(graph, dt: float, as_imported: bool) -> tuple[dict, list, dict[str, str]]:
    """Graph preparation (rewrites 1 and 2 of the module docstring): nested subgraphs
    inlined, LIF/IF gains folded into their weights (unless ``as_imported``), every node
    checked for what norse would silently change, every Delay removed. Returns the nodes,
    the edges and the kind of every neuron node."""
    # Nested subgraphs inlined with '.'-joined names, their Input/Output contracted.
    nodes, edges = _flat_graph(graph)
    if not as_imported:
        nodes = _fold_gains(nodes, edges, dt)
    for name, node in nodes.items():
        _check_representable(name, node, dt, as_imported)
    nodes, edges = _strip_delays(nodes, edges)
    neurons = {k: _kind(v) for k, v in nodes.items()
               if _kind(v) in _SPIKING_NODES + _NON_SPIKING_NODES}
    return nodes, edges, neurons


def _wanted_populations(populations, neurons: dict[str, str]) -> list[str]:
    """The neuron nodes to return: ``populations`` (checked) or every neuron node."""
    if populations is None:
        wanted = list(neurons)
    else:
        wanted = [populations] if isinstance(populations, str) else list(populations)
        unknown = [p for p in wanted if p not in neurons]
        if unknown:
            raise ValueError(f"populations {unknown} are not neuron nodes of the graph "
                             f"(neuron nodes: {list(neurons)})")
    if not neurons:
        raise ValueError("the graph has no neuron node (CubaLIF, LIF, IF, LI, Integrator)")
    return wanted


def _assemble_input(nodes: dict, input_spikes) -> tuple[np.ndarray, list[str], list[int]]:
    """Input assembly: the executor's input (T, channels) float32, the channels of every
    Input node concatenated in graph order; with the Input names and their widths."""
    input_names = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    if not input_names:
        raise ValueError("the graph has no Input node")
    widths = [int(np.prod(np.asarray(nodes[k].input_type["input"]))) for k in input_names]
    if isinstance(input_spikes, dict):
        missing = [k for k in input_names if k not in input_spikes]
        extra = [k for k in input_spikes if k not in input_names]
        if missing or extra:
            raise ValueError(f"input_spikes must have one array per Input node "
                             f"{input_names}; missing {missing}, unknown {extra}")
        arrays = [np.asarray(input_spikes[k]) for k in input_names]
    elif len(input_names) == 1:
        arrays = [np.asarray(input_spikes)]
    else:
        raise ValueError(f"the graph has several Input nodes {input_names}: pass "
                         f"input_spikes as a dict name -> array")
    for k, a, w in zip(input_names, arrays, widths):
        if a.ndim != 2 or a.shape[1] != w:
            raise ValueError(f"input for Input node {k!r} must have shape (T, {w}), got "
                             f"{a.shape}")
        if a.dtype != bool and not np.all(np.isfinite(a.astype(np.float64))):
            raise ValueError(f"input for Input node {k!r} has non-finite values")
    if len({a.shape[0] for a in arrays}) != 1:
        raise ValueError(f"the inputs differ in length: {[a.shape[0] for a in arrays]}")
    x = np.concatenate([a.astype(np.float32) for a in arrays], axis=1)
    return x, input_names, widths


def _merge_inputs(nodes: dict, edges: list, input_names: list[str],
                  widths: list[int]) -> tuple[dict, list, str]:
    """Rewrite 3 of the module docstring: several Input nodes become one executor Input
    and a 0/1 ``nir.Linear`` per original Input selecting its channels. Returns the
    nodes, the edges and the name of the executor's Input."""
    if len(input_names) == 1:
        return nodes, edges, input_names[0]
    total = sum(widths)
    if _MERGED_INPUT in nodes:
        raise ValueError(f"node name {_MERGED_INPUT!r} is reserved")
    nodes = dict(nodes)
    offset = 0
    for k, w in zip(input_names, widths):
        select = np.zeros((w, total), dtype=np.float32)
        select[np.arange(w), offset + np.arange(w)] = 1.0
        offset += w
        nodes[k] = nir.Linear(weight=select)
    nodes = {_MERGED_INPUT: nir.Input(input_type={"input": np.array([total])}), **nodes}
    edges = [(_MERGED_INPUT, k) for k in input_names] + edges
    return nodes, edges, _MERGED_INPUT


def _build_module(nodes: dict, edges: list, root: str, dt: float, neurons: dict[str, str],
                  as_imported: bool):
    """Module build and corrections: the nirtorch executor of the prepared graph (norse's
    import, plus ``_extra_module`` for LI and Integrator, with each node's reset rule),
    evaluated in ``_execution_order``; unless ``as_imported`` every CubaLIF's synaptic
    leak target is 0. Returns the module and nirtorch's name of every node."""
    from nirtorch.utils import sanitize_name
    sanitized = {k: sanitize_name(k) for k in nodes}
    if len(set(sanitized.values())) != len(sanitized):
        clash = sorted(k for k in nodes if list(sanitized.values()).count(sanitized[k]) > 1)
        raise ValueError(f"node names {clash} collide once nirtorch replaces '.' by '_'")
    order = _execution_order(list(nodes), edges, root)

    with _quiet_norse_import():
        import nirtorch
        from norse.torch.utils.import_nir import _import_norse_module

        def model_map(node):
            extra = _extra_module(node, dt)
            if extra is not None:
                return extra
            # NIR resets to v_reset; a population that resets by subtraction says so in
            # the lnp_neuro metadata of its node (lnp_neuro.nir.export), and norse's LIF
            # cells take that rule as their reset method. norse's import passes it to
            # the CubaLIF cell only; its LIF cell gets it here.
            module = _import_norse_module(node, ignore_warnings=True, dt=dt,
                                          reset_method=_reset_method(node, dt))
            if isinstance(node, nir.LIF):
                module.p = module.p._replace(reset_method=_reset_method(node, dt))
            return module

        flat = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
        module = nirtorch.load(flat, model_map)
    module.eval()
    by_name = {n.name: n for n in module.graph.node_list}
    module.execution_order = [by_name[sanitized[k]] for k in order]
    if not as_imported:
        for name, kind in neurons.items():
            if kind == "CubaLIF":
                _zero_synaptic_leak(getattr(module, sanitized[name]))
    return module, sanitized


def _step(module, x: np.ndarray, nodes: dict, neurons: dict[str, str], wanted: list[str],
          sanitized: dict[str, str], as_imported: bool, n_threads: int,
          progress: bool) -> dict[str, np.ndarray]:
    """Stepping loop: one executor call per time step (batch of 1) from the zero state
    (norse's own with ``as_imported``), reading each wanted node's output from the cache:
    spikes (``> 0``) of spiking nodes, the potential of LI and Integrator."""
    import torch
    from nirtorch.graph_executor import GraphExecutorState
    n_steps = x.shape[0]
    out = {k: np.zeros((n_steps, _neuron_size(nodes[k])),
                       dtype=bool if neurons[k] in _SPIKING_NODES else np.float64)
           for k in wanted}
    xt = torch.from_numpy(x)
    state = None
    with _torch_threads(int(n_threads)), torch.no_grad():
        if not as_imported:
            state = GraphExecutorState(state={
                sanitized[k]: _zero_state(kind, _neuron_size(nodes[k]))
                for k, kind in neurons.items()})
        for t in _time_steps(n_steps, progress):
            _, state = module(xt[t:t + 1], state)
            for k, arr in out.items():
                value = state.cache[sanitized[k]][0].numpy()
                arr[t] = value > 0 if arr.dtype == bool else value
    return out


def run_norse_populations(graph, input_spikes, *, dt: float, populations=None,
                          as_imported: bool = False, n_threads: int = 1,
                          progress: bool = False) -> dict[str, np.ndarray]:
    """Run a NIR graph with any number of neuron nodes in norse; every node's output.

    The graph is rewritten and loaded as the module docstring describes (subgraphs
    inlined, Delay nodes removed, several Inputs merged) and stepped one time step at a
    time (batch of 1); each neuron node's output is read from the executor's cache.

    Parameters
    ----------
    graph : nir.NIRGraph
        Nodes of the kinds in the module docstring (CubaLIF, LIF, IF, LI, Integrator);
        Input, Output, Affine, Linear and Delay besides.
    input_spikes : array (T, channels) or dict name -> array (T, channels_k)
        One array for a graph with one Input node; a dict keyed by Input node name
        (flattened) for several.
    dt : float
        Time step in seconds (norse's ``dt``).
    populations : list of str, optional
        Neuron node names to return (flattened names); default every neuron node.
    as_imported : bool
        Keep norse's synaptic leak target (``v_leak``) of every CubaLIF and norse's
        initial state (``v_leak`` for CubaLIF, LIF and LI); skip the checks on what
        norse ignores (``r`` of LIF and IF, ``v_reset``). By default the leak target is
        0 (NIR: ``tau_syn dI/dt = -I + w_in S``), every neuron node starts from zero
        currents and potentials, and a LIF with r != 1, an IF with dt r != 1 or a
        spiking node with v_reset != 0 is refused naming the node.
    n_threads : int
        torch intra-op threads while running (restored afterwards).
    progress : bool
        Show a tqdm bar over time steps.

    Returns
    -------
    dict node name -> array (T, n): bool spikes for CubaLIF, LIF and IF; the float64
    membrane potential for LI and Integrator. Keys are the NIR names (flattened), not
    nirtorch's sanitised names.
    """
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, got {type(graph).__name__}")
    _check_n_threads(n_threads)
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    nodes, edges, neurons = _prepare_graph(graph, dt, as_imported)
    wanted = _wanted_populations(populations, neurons)
    x, input_names, widths = _assemble_input(nodes, input_spikes)
    nodes, edges, root = _merge_inputs(nodes, edges, input_names, widths)
    module, sanitized = _build_module(nodes, edges, root, dt, neurons, as_imported)
    return _step(module, x, nodes, neurons, wanted, sanitized, as_imported, n_threads,
                 progress)
