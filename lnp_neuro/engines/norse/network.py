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
   one ``dt`` between ``input`` and ``input_weights`` (:mod:`lnp_neuro.nir.reservoir_files`).
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
Integrator readouts, several Inputs) run through :func:`run_norse_populations`
(:mod:`lnp_neuro.engines.norse.graph`, re-exported here), which applies the same
corrections to every node, removes every Delay node and returns each population's output
under its NIR name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nir
import numpy as np

from ...model.network import SpikingNetwork
from ...nir.reservoir_export import to_nir
from ...nir.reservoir_import import _checked_dt, _lnp_meta, _resolve_dt
from .common import (_check_n_threads, _quiet_norse_import, _time_steps, _torch_threads,
                     _zero_state, _zero_synaptic_leak)
from .graph import run_norse_populations

__all__ = ["run_norse", "load_norse", "NorseModel", "NorseComparison", "compare_to_native",
           "run_norse_populations"]


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
        from nirtorch.graph_executor import GraphExecutorState
        return GraphExecutorState(
            state={self.neuron_node: _zero_state(self.neuron_type, self.n_neurons)})


def _graph_dt(graph, dt: float | None) -> float:
    """The time step: the argument, which must not contradict the one stored in the
    graph's lnp_neuro metadata, else the stored one (norse cannot infer it)."""
    def missing() -> float:
        raise ValueError("the graph carries no dt (no lnp_neuro metadata); pass dt=... "
                         "(norse needs the time step)")
    return _resolve_dt(_checked_dt(graph, dt), _lnp_meta(graph), missing)[0]


def _without_input_delay(graph, dt: float):
    """The graph without the ``Delay`` node after its Input, and that delay in steps.

    norse drops a Delay node silently (module docstring, difference 5), so it is taken
    out here and applied to the input instead. A Delay elsewhere, or one that is not a
    whole number of steps, is refused naming the node.
    """
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
        (for a nested snnTorch graph run ``run_norse(lnp_neuro.nir.reservoir_files.from_nir(graph))``).
    dt : float, optional
        Time step in seconds; read from the graph's metadata when omitted.
    as_imported : bool
        Keep norse's initial state (``v_leak``) and synaptic leak target (``v_leak``);
        by default both are set to 0 to match the project's model (module docstring).
    """
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

    with _quiet_norse_import():
        import norse.torch
        from nirtorch.utils import sanitize_name
        module = norse.torch.from_nir(graph, dt=dt, ignore_warnings=True)
    module.eval()
    node_name = sanitize_name(name)
    if not as_imported and isinstance(node, nir.CubaLIF):
        _zero_synaptic_leak(getattr(module, node_name))
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
        network: the timing of ``lnp_neuro.engines.simulator`` and Lava); 0 runs it as norse
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
    _check_n_threads(n_threads)
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
    steps = _time_steps(n_steps, progress)
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
    """Run ``net`` natively (``lnp_neuro.engines.simulator.simulate``, float mode) and in norse
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

