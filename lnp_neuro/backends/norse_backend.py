"""Run an exported NIR graph in norse on the CPU (design section 6, interop check).

How the graph gets into norse
-----------------------------
``norse.torch.from_nir`` (norse 1.1.0, through ``nirtorch.load``) *can* express the
recurrent edge: nirtorch's ``GraphExecutor`` evaluates nodes in breadth-first order from
the Input and, when a node's source has not run yet in the current step (the recurrent
Linear runs after the neurons), it uses that source's output cached from the previous
step. So ``neurons`` receives ``W_in x[t] + W s[t-1]``: the same one-step recurrent
delay as the native simulator and Lava (for the input path see difference 5 below). No hand-built norse model is needed; this
module loads the graph with ``from_nir`` and steps the returned module one time step at
a time (batch of 1), reading the spikes of the neuron node from the executor's cache.

norse's discretisation of a NIR ``CubaLIF`` (``norse/torch/utils/import_nir.py``)::

    I[t] = I[t-1] + (dt/tau_syn) (v_leak - I[t-1] + w_in x[t])     (LIBoxCell)
    v[t] = v[t-1] + (dt/tau_mem) (v_leak - v[t-1] + r I[t])         (LIFBoxCell)
    z[t] = v[t] > v_th ;  v[t] <- v_reset = 0 where z[t]

With the exporter's ``r = tau_mem/dt``, ``w_in = tau_syn/dt``, ``v_leak = bias
tau_mem/dt`` this is the native model exactly, except for:

1. the synaptic current relaxes towards ``v_leak`` (NIR says towards 0): an extra
   ``dt/tau_syn * v_leak`` enters ``I`` every step;
2. norse starts ``I`` and ``v`` at ``v_leak`` (native: 0);
3. arithmetic is float32 (native float mode: float64), and the Euler update is
   evaluated in a different order (``v + dv (r I + v_leak - v)`` instead of
   ``v (1 - dv) + u + bias``), so values agree only to ~1e-7 relative;
4. norse ignores the node's ``v_reset`` (always resets to 0; the exporter writes 0);
   for a NIR ``LIF`` it also ignores ``r`` (only ``r = 1`` runs as NIR says; other
   values are refused unless ``as_imported=True``);
5. input timing: our engines and Lava deliver an input spike one step after it occurs
   (Lava's ``Sparse`` ``a_buff``); the exported graph says so with a ``Delay`` node of
   one ``dt`` between ``input`` and ``input_weights`` (:mod:`lnp_neuro.nir_io`).
   norse 1.1.0 has no ``nir.Delay``: ``_import_norse_module`` in
   ``norse/torch/utils/import_nir.py`` has no branch for it and returns None, so the
   node is dropped without a word. :func:`load_norse` therefore removes the Delay node
   itself and :func:`run_norse` delays the input by the steps it states; without that
   (``input_delay=0``) norse runs the graph as if the input were undelayed.

Differences 1 and 2 vanish when ``bias = 0`` (the HRSNN/CHRSNN default). By default
:func:`run_norse` corrects them (sets the synaptic leak target to 0 and starts from the
zero state) so that any network runs with the project's semantics;
``as_imported=True`` runs exactly what ``from_nir`` built. Difference 3 cannot be
removed: in a chaotic recurrent network a float32 rounding that flips one
near-threshold spike decorrelates the exact spike trains after some steps, while the
firing statistics stay the same. The interop criterion is therefore the Pearson
correlation of per-neuron spike *counts* over the active neurons, required > 0.9 (a
strong linear agreement that survives decorrelated spike timing). Measured on the
default HRSNN/CHRSNN (200-1000 neurons, 1000 steps, 20 % Poisson input) with the graph's input
Delay applied, the rasters were in fact identical spike for spike (correlation 1.0).

Graphs with several neuron nodes (feed-forward stacks, nested snnTorch subgraphs, LI and
Integrator readouts, several Inputs) run through :func:`run_norse_populations`, which
applies the same corrections to every node, removes every Delay node and returns each
population's output under its NIR name.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ..network import SpikingNetwork
from ..nir_graph import METADATA_KEY, to_nir

__all__ = ["run_norse", "load_norse", "NorseModel", "NorseComparison", "compare_to_native",
           "run_norse_populations"]


@contextlib.contextmanager
def _torch_threads(n_threads: int) -> Iterator[None]:
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(eq=False)
class NorseModel:
    """A NIR graph loaded into norse, ready to be stepped.

    Attributes
    ----------
    module : torch.nn.Module
        The ``nirtorch`` GraphExecutor built by ``norse.torch.from_nir``.
    neuron_node : str
        Name (sanitised as nirtorch does) of the spiking node whose spikes are read.
    neuron_type : str
        ``"CubaLIF"`` or ``"LIF"``.
    n_neurons, n_inputs : int
        Neurons of the spiking node (every one of them runs: a NIR graph has no pruning
        mask) and inputs of the graph.
    dt : float
        Time step passed to norse (seconds).
    as_imported : bool
        True when norse's own initial state and synaptic leak target are kept.
    input_delay_steps : int
        Steps of the graph's input ``Delay`` node (0 without one), applied by
        :func:`run_norse` because norse drops the node.
    """

    module: Any
    neuron_node: str
    neuron_type: str
    n_neurons: int
    n_inputs: int
    dt: float
    as_imported: bool
    input_delay_steps: int = 0

    def __post_init__(self) -> None:
        if self.n_neurons < 1 or self.n_inputs < 1:
            raise ValueError(f"n_neurons and n_inputs must be >= 1, got {self.n_neurons} and "
                             f"{self.n_inputs}")
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {self.dt}")

    def initial_state(self):
        """The executor state at t = 0: None (norse's own) or all-zero currents and
        potentials (the project's)."""
        if self.as_imported:
            return None
        import torch
        from nirtorch.graph_executor import GraphExecutorState
        from norse.torch.functional.leaky_integrator_box import LIBoxState
        from norse.torch.functional.lif_box import LIFBoxFeedForwardState
        zeros = torch.zeros(1, self.n_neurons, dtype=torch.float32)
        lif_state = LIFBoxFeedForwardState(v=zeros.clone())
        if self.neuron_type == "CubaLIF":
            neuron_state = ((LIBoxState(v=zeros.clone()), lif_state),)
        else:
            neuron_state = (lif_state,)
        return GraphExecutorState(state={self.neuron_node: neuron_state})


def _graph_dt(graph, dt: float | None) -> float:
    meta = graph.metadata.get(METADATA_KEY) if isinstance(graph.metadata, dict) else None
    stored = None if not isinstance(meta, dict) or "dt" not in meta else float(
        np.asarray(meta["dt"]))
    if dt is not None:
        dt = float(dt)
        if not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt}")
        if stored is not None and stored != dt:
            raise ValueError(f"dt={dt} contradicts the dt={stored} stored in the graph")
        return dt
    if stored is None:
        raise ValueError("the graph carries no dt (no lnp_neuro metadata); pass dt=... "
                         "(norse needs the time step)")
    return stored


def _without_input_delay(graph, dt: float):
    """The graph without the ``Delay`` node after its Input, and that delay in steps.

    norse drops a Delay node silently (module docstring, difference 5), so it is taken
    out here and applied to the input instead. A Delay elsewhere, or one that is not a
    whole number of steps, is refused naming the node.
    """
    import nir
    delays = [k for k, v in graph.nodes.items() if isinstance(v, nir.Delay)]
    if not delays:
        return graph, 0
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    name = delays[0]
    preds = [a for a, b in graph.edges if b == name]
    succs = [b for a, b in graph.edges if a == name]
    if len(delays) > 1 or len(inputs) != 1 or preds != inputs or len(succs) != 1:
        raise ValueError(f"node {name!r} (Delay): norse has no Delay; only a single Delay "
                         f"right after the Input can be applied to the input instead")
    steps = np.asarray(graph.nodes[name].delay, dtype=np.float64).reshape(-1) / dt
    whole = np.round(steps)
    if steps.size and (np.any(np.abs(steps - whole) > 1e-9) or np.any(whole != whole[0])
                       or whole[0] < 0):
        raise ValueError(f"node {name!r} (Delay): the delay must be the same whole number "
                         f"of steps (dt={dt:g} s) on every channel")
    nodes = {k: v for k, v in graph.nodes.items() if k != name}
    edges = [e for e in graph.edges if name not in e] + [(inputs[0], succs[0])]
    stripped = nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph.metadata,
                            type_check=False)
    return stripped, int(whole[0]) if steps.size else 0


def load_norse(graph_or_net, *, dt: float | None = None, as_imported: bool = False
               ) -> NorseModel:
    """Load a NIR graph (or export a :class:`SpikingNetwork` first) into norse.

    Parameters
    ----------
    graph_or_net : nir.NIRGraph or SpikingNetwork
        A flat graph with exactly one ``CubaLIF`` or ``LIF`` node at the top level
        (for a nested snnTorch graph run ``run_norse(lnp_neuro.nir_io.from_nir(graph))``).
    dt : float, optional
        Time step in seconds; read from the graph's metadata when omitted.
    as_imported : bool
        Keep norse's initial state (``v_leak``) and synaptic leak target (``v_leak``);
        by default both are set to 0 to match the project's model (module docstring).
    """
    import nir
    if isinstance(graph_or_net, SpikingNetwork):
        graph = to_nir(graph_or_net)
    elif isinstance(graph_or_net, nir.NIRGraph):
        graph = graph_or_net
    else:
        raise TypeError(f"graph_or_net must be a nir.NIRGraph or a SpikingNetwork, got "
                        f"{type(graph_or_net).__name__}")
    dt = _graph_dt(graph, dt)
    graph, input_delay_steps = _without_input_delay(graph, dt)
    spiking = [(k, v) for k, v in graph.nodes.items() if isinstance(v, (nir.CubaLIF, nir.LIF))]
    if len(spiking) != 1:
        raise ValueError(f"run_norse needs exactly one CubaLIF or LIF node at the top level "
                         f"of the graph, found {[k for k, _ in spiking]}")
    inputs = [v for v in graph.nodes.values() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"run_norse needs exactly one Input node, found {len(inputs)}")
    name, node = spiking[0]
    if isinstance(node, nir.LIF) and not np.allclose(np.asarray(node.r), 1.0) \
            and not as_imported:
        raise ValueError(f"node {name!r} (LIF) has r != 1, which norse's LIF import ignores "
                         f"(it warns and integrates with r = 1); pass as_imported=True to "
                         f"run it that way anyway")
    n_inputs = int(np.prod(np.asarray(inputs[0].input_type["input"])))
    n_neurons = int(np.asarray(node.v_threshold).size)

    with warnings.catch_warnings():
        # norse 1.1.0 uses torch.jit.script and nirtorch.load, both deprecated upstream.
        warnings.simplefilter("ignore", DeprecationWarning)
        import norse.torch
        from nirtorch.utils import sanitize_name
        from norse.torch.functional.leaky_integrator_box import LIBoxParameters
        module = norse.torch.from_nir(graph, dt=dt, ignore_warnings=True)
    module.eval()
    node_name = sanitize_name(name)
    if not as_imported and isinstance(node, nir.CubaLIF):
        cuba = getattr(module, node_name)
        p = cuba.synapse.p
        cuba.synapse.p = LIBoxParameters(tau_mem_inv=p.tau_mem_inv,
                                         v_leak=p.v_leak.new_zeros(p.v_leak.shape))
    return NorseModel(module=module, neuron_node=node_name, neuron_type=type(node).__name__,
                      n_neurons=n_neurons, n_inputs=n_inputs, dt=dt, as_imported=as_imported,
                      input_delay_steps=input_delay_steps)


def run_norse(graph_or_net, input_spikes, *, dt: float | None = None,
              as_imported: bool = False, input_delay: int | None = None, n_threads: int = 1,
              progress: bool = False) -> np.ndarray:
    """Simulate a NIR graph (or a SpikingNetwork, exported first) in norse on the CPU.

    Parameters
    ----------
    graph_or_net : nir.NIRGraph, SpikingNetwork or NorseModel
    input_spikes : array (T, n_inputs)
        Input spikes (bool or 0/1) per step.
    dt, as_imported :
        See :func:`load_norse` (ignored for an already loaded :class:`NorseModel`).
    input_delay : int, optional
        Deliver input spike ``x[t]`` at step ``t + input_delay`` (zeros before). By
        default the steps of the graph's input ``Delay`` node (one for an exported
        network: the timing of ``lnp_neuro.simulator`` and Lava); 0 runs it as norse
        itself would, without the Delay.
    n_threads : int
        torch intra-op threads while running (restored afterwards).
    progress : bool
        Show a tqdm bar over time steps.

    Returns
    -------
    bool array (T, N): spikes of the neuron node. Pruned neurons of an exported network
    have no input, no bias and a positive threshold, so they never spike.
    """
    import torch
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    model = graph_or_net if isinstance(graph_or_net, NorseModel) else load_norse(
        graph_or_net, dt=dt, as_imported=as_imported)
    x = np.asarray(input_spikes)
    if x.ndim != 2 or x.shape[1] != model.n_inputs:
        raise ValueError(f"input_spikes must have shape (T, {model.n_inputs}), got {x.shape}")
    if x.dtype != bool and not np.all((x == 0) | (x == 1)):
        raise ValueError("input_spikes must be bool or 0/1 values")
    if input_delay is None:
        input_delay = model.input_delay_steps
    if isinstance(input_delay, bool) or not isinstance(input_delay, (int, np.integer)) \
            or input_delay < 0:
        raise ValueError(f"input_delay must be a non-negative integer, got {input_delay!r}")
    n_steps = x.shape[0]
    if input_delay:
        delayed = np.zeros_like(x)
        delayed[input_delay:] = x[:max(n_steps - input_delay, 0)]
        x = delayed
    spikes = np.zeros((n_steps, model.n_neurons), dtype=bool)
    xt = torch.from_numpy(x.astype(np.float32))
    steps = range(n_steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="norse", unit="step")
    with _torch_threads(int(n_threads)), torch.no_grad():
        state = model.initial_state()
        for t in steps:
            _, state = model.module(xt[t:t + 1], state)
            spikes[t] = state.cache[model.neuron_node][0].numpy() > 0
    return spikes


@dataclass(eq=False)
class NorseComparison:
    """Native simulator vs norse on the same network and input.

    Attributes
    ----------
    spikes_native, spikes_norse : bool arrays (T, N)
    count_correlation : float
        Pearson correlation of per-neuron spike counts (active neurons; NaN when either
        count vector is constant).
    identical_steps : int
        Number of leading steps whose spike rasters are identical.
    total_native, total_norse : int
        Total spike counts.
    """

    spikes_native: np.ndarray
    spikes_norse: np.ndarray
    count_correlation: float
    identical_steps: int
    total_native: int
    total_norse: int

    def __post_init__(self) -> None:
        if self.spikes_native.shape != self.spikes_norse.shape:
            raise ValueError(f"spike arrays differ in shape: {self.spikes_native.shape} vs "
                             f"{self.spikes_norse.shape}")


def compare_to_native(net: SpikingNetwork, input_spikes, *, input_delay: int | None = None,
                      as_imported: bool = False, n_threads: int = 1) -> NorseComparison:
    """Run ``net`` natively (``lnp_neuro.simulator.simulate``, float mode) and in norse
    (through :func:`to_nir`) on the same input, and compare the spike trains.

    The exported graph carries the one-step input delay of the native simulator as a
    ``Delay`` node, which :func:`run_norse` applies (norse drops it); ``input_delay``
    overrides it (0: the input undelayed, as norse alone would run the graph).
    """
    from ..simulator import simulate
    if input_delay is not None and (isinstance(input_delay, bool) or not isinstance(
            input_delay, (int, np.integer)) or input_delay < 0):
        raise ValueError(f"input_delay must be a non-negative integer, got {input_delay!r}")
    x = np.asarray(input_spikes)
    native = np.asarray(simulate(net, x, mode="float").spikes, dtype=bool)
    normed = run_norse(net, x, as_imported=as_imported, input_delay=input_delay,
                       n_threads=n_threads)
    active = net.neuron_active
    a = native[:, active].sum(0).astype(float)
    b = normed[:, active].sum(0).astype(float)
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    differs = np.flatnonzero(np.any(native != normed, axis=1))
    identical = int(differs[0]) if differs.size else native.shape[0]
    return NorseComparison(spikes_native=native, spikes_norse=normed, count_correlation=corr,
                           identical_steps=identical, total_native=int(native.sum()),
                           total_norse=int(normed.sum()))


# --------------------------------------------------------------------------------------
# Several populations: any graph of Input, Affine/Linear, Delay, neuron and Output nodes.
# --------------------------------------------------------------------------------------

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
    import nir
    integrator = getattr(nir, "Integrator", None) or getattr(nir, "I", None)
    if integrator is not None and isinstance(node, integrator):
        return "Integrator"
    return type(node).__name__


def _flat_nodes_edges(graph) -> tuple[dict, list]:
    """Nested subgraphs inlined with '.'-joined names, as :mod:`lnp_neuro.nir_import`
    does (its subgraph Input/Output nodes are contracted into the edges)."""
    from ..nir_import import _contract_passthrough, _flatten_graph
    nodes, edges = _flatten_graph(graph)
    return _contract_passthrough(nodes, edges)


def _strip_delays(nodes: dict, edges: list) -> tuple[dict, list]:
    """Every ``Delay`` node removed, each (pred -> Delay -> succ) path rewired to
    (pred -> succ): norse 1.1.0 has no import for ``nir.Delay`` (module docstring,
    difference 5), so the graph runs in the executor's own timing."""
    import nir
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
    import nir
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
        if isinstance(node, nir.LIF):
            nodes[name] = nir.LIF(tau=node.tau, r=one, v_leak=node.v_leak,
                                  v_threshold=node.v_threshold, v_reset=node.v_reset)
        else:
            nodes[name] = nir.IF(r=one / dt, v_threshold=node.v_threshold,
                                 v_reset=node.v_reset)
    return nodes


def _reset_mode(node) -> str:
    """"subtract" where the node's lnp_neuro metadata says so, else NIR's "zero"."""
    meta = getattr(node, "metadata", None)
    meta = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    mode = meta.get("reset") if isinstance(meta, dict) else None
    return "subtract" if str(np.asarray(mode)) == "subtract" else "zero"


def _check_representable(name: str, node, dt: float, as_imported: bool) -> None:
    """Refuse, naming the node, what norse's import would silently change."""
    import nir
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
    import nir
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


def _zero_state(kind: str, n: int):
    """The executor state of one neuron node at t = 0 with all currents and potentials
    zero (the shape :meth:`NorseModel.initial_state` builds for one node)."""
    import torch
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.functional.leaky_integrator_box import LIBoxState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState
    zeros = torch.zeros(1, n, dtype=torch.float32)
    if kind == "CubaLIF":
        return ((LIBoxState(v=zeros.clone()), LIFBoxFeedForwardState(v=zeros.clone())),)
    if kind == "LIF":
        return (LIFBoxFeedForwardState(v=zeros.clone()),)
    if kind == "IF":
        return (IAFFeedForwardState(v=zeros.clone()),)
    if kind == "LI":
        return (LIBoxState(v=zeros.clone()),)
    return (zeros.clone(),)


def _neuron_size(node) -> int:
    field = "v_threshold" if hasattr(node, "v_threshold") else "r"
    return int(np.asarray(getattr(node, field)).size)


def run_norse_populations(graph, input_spikes, *, dt: float, populations=None,
                          as_imported: bool = False, n_threads: int = 1,
                          progress: bool = False) -> dict[str, np.ndarray]:
    """Run a NIR graph with any number of neuron nodes in norse; every node's output.

    The graph is loaded the way ``norse.torch.from_nir`` loads it (``nirtorch.load``
    with norse's ``_import_norse_module``) after three rewrites, and stepped one time
    step at a time (batch of 1); each neuron node's output is read from the executor's
    cache.

    1. Nested subgraphs (snnTorch writes a recurrent layer as a subgraph ``lif1`` with
       ``lif1.lif`` and ``lif1.w_rec``) are inlined with '.'-joined names, as
       :mod:`lnp_neuro.nir_import` does; nirtorch would run them as a nested executor
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

    Neuron nodes, per norse's discretisation (module docstring; v reset to 0 on a
    spike, ``z = v > v_th``)::

        CubaLIF  I += dt/tau_syn (v_leak - I + w_in x);  v += dt/tau_mem (v_leak - v + r I)
        LIF      v += dt/tau (v_leak - v + x)             (norse ignores r: r = 1 required)
        IF       v += x                                   (NIR Euler: dt r = 1 required)
        LI       v += dt/tau (v_leak - v + r x)           (output v, no spikes)
        Integrator  v += dt r x                           (output v, no spikes)

    LI and Integrator have no norse import; they are built here (``_extra_module``).

    Parameters
    ----------
    graph : nir.NIRGraph
        Nodes of the kinds above; Input, Output, Affine, Linear and Delay besides.
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
    import nir
    import torch
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph, got {type(graph).__name__}")
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")

    nodes, edges = _flat_nodes_edges(graph)
    if not as_imported:
        nodes = _fold_gains(nodes, edges, dt)
    for name, node in nodes.items():
        _check_representable(name, node, dt, as_imported)
    nodes, edges = _strip_delays(nodes, edges)
    neurons = {k: _kind(v) for k, v in nodes.items()
               if _kind(v) in _SPIKING_NODES + _NON_SPIKING_NODES}
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

    # Inputs: one array, or one per Input node (merged into one executor input).
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
    n_steps = x.shape[0]

    if len(input_names) > 1:
        total = sum(widths)
        if _MERGED_INPUT in nodes:
            raise ValueError(f"node name {_MERGED_INPUT!r} is reserved")
        offset = 0
        for k, w in zip(input_names, widths):
            select = np.zeros((w, total), dtype=np.float32)
            select[np.arange(w), offset + np.arange(w)] = 1.0
            offset += w
            nodes[k] = nir.Linear(weight=select)
        nodes = {_MERGED_INPUT: nir.Input(input_type={"input": np.array([total])}), **nodes}
        edges = [(_MERGED_INPUT, k) for k in input_names] + edges
        root = _MERGED_INPUT
    else:
        root = input_names[0]

    from nirtorch.utils import sanitize_name
    sanitized = {k: sanitize_name(k) for k in nodes}
    if len(set(sanitized.values())) != len(sanitized):
        clash = sorted(k for k in nodes if list(sanitized.values()).count(sanitized[k]) > 1)
        raise ValueError(f"node names {clash} collide once nirtorch replaces '.' by '_'")
    order = _execution_order(list(nodes), edges, root)

    with warnings.catch_warnings():
        # norse 1.1.0 uses torch.jit.script and nirtorch.load, both deprecated upstream.
        warnings.simplefilter("ignore", DeprecationWarning)
        import nirtorch
        from norse.torch.functional.leaky_integrator_box import LIBoxParameters
        from norse.torch.utils.import_nir import _import_norse_module

        from norse.torch.functional.reset import reset_subtract, reset_value

        def model_map(node):
            extra = _extra_module(node, dt)
            if extra is not None:
                return extra
            # NIR resets to v_reset; a population that resets by subtraction says so in
            # the lnp_neuro metadata of its node (lnp_neuro.nir.export), and norse's LIF
            # cells take that rule as their reset method.
            subtract = _reset_mode(node) == "subtract"
            return _import_norse_module(node, ignore_warnings=True, dt=dt,
                                        reset_method=reset_subtract if subtract
                                        else reset_value)

        flat = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
        module = nirtorch.load(flat, model_map)
    module.eval()
    by_name = {n.name: n for n in module.graph.node_list}
    module.execution_order = [by_name[sanitized[k]] for k in order]

    state = None
    if not as_imported:
        for name, kind in neurons.items():
            if kind == "CubaLIF":
                cuba = getattr(module, sanitized[name])
                p = cuba.synapse.p
                cuba.synapse.p = LIBoxParameters(tau_mem_inv=p.tau_mem_inv,
                                                 v_leak=p.v_leak.new_zeros(p.v_leak.shape))
    from nirtorch.graph_executor import GraphExecutorState

    out = {k: np.zeros((n_steps, _neuron_size(nodes[k])),
                       dtype=bool if neurons[k] in _SPIKING_NODES else np.float64)
           for k in wanted}
    xt = torch.from_numpy(x)
    steps = range(n_steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="norse", unit="step")
    with _torch_threads(int(n_threads)), torch.no_grad():
        if not as_imported:
            state = GraphExecutorState(state={
                sanitized[k]: _zero_state(kind, _neuron_size(nodes[k]))
                for k, kind in neurons.items()})
        for t in steps:
            _, state = module(xt[t:t + 1], state)
            for k, arr in out.items():
                value = state.cache[sanitized[k]][0].numpy()
                arr[t] = value > 0 if arr.dtype == bool else value
    return out
