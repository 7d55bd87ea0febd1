"""Execution engines: one interface, one registry, named by the target files (design section 6).

What runs is separate from how it runs (Lava's separation of process and process model):
the *what* is a :class:`DeployedNetwork`, the NIR graph read back from ``network.nir``
together with the :class:`~lnp_neuro.model.network.SpikingNetwork` it describes; the *how* is
an :class:`Engine`, whose ``run(network, input_spikes, mode)`` returns an
:class:`EngineRun` (the spike raster ``[T, N]`` of the graph's neurons and the engine's
name). A target file (``targets/*.toml``) names its engine in ``backend``.

Every engine also names an independent engine it is checked against
(``parity_reference``): the numba kernels against the numpy reference engine (a
different implementation of the same arithmetic), Lava and norse against the native
engine. Parity is the number of spike mismatches between the two rasters; it can be
non-zero, and the report says which engine the target was compared with.

=============  ==============================================  ==========  ===========
engine         implementation                                  modes       compared to
=============  ==============================================  ==========  ===========
``native``     :func:`lnp_neuro.engines.simulator.simulate`, numba      fixed/float ``numpy``
``numpy``      :func:`lnp_neuro.engines.simulator.simulate`, numpy      fixed/float ``native``
``lava``       :func:`lnp_neuro.engines.lava.backend.run_lava` fixed/float ``native``
``norse``      norse's own NIR importer on the graph            float       ``native``
``lava-loihi`` a physical Loihi 2 (lava-loihi, not public)      fixed       ``native``
=============  ==============================================  ==========  ===========
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..model.network import SpikingNetwork

__all__ = ["TargetUnavailable", "DeployedNetwork", "EngineRun", "Engine", "ENGINES", "get_engine",
           "register_engine", "parity"]

_MODES = ("fixed", "float")


class TargetUnavailable(RuntimeError):
    """The target is known but cannot run on this machine (a missing package or chip)."""


@dataclass(eq=False)
class DeployedNetwork:
    """The network every engine runs: the NIR graph and the network it maps onto.

    Attributes
    ----------
    graph : nir.NIRGraph
        As read from ``source`` (what peers such as norse run).
    network : SpikingNetwork
        :func:`lnp_neuro.nir.reservoir_files.from_nir` of ``graph`` (what the project's engines and
        Lava run).
    neuron_ids : int array (N,)
        For each neuron of the graph, its id in the network it was compacted from
        (``arange(N)`` when the graph stores none).
    source : str
        The file the graph was read from (for messages).
    """

    graph: object
    network: SpikingNetwork
    neuron_ids: np.ndarray
    source: str = ""
    #: The population graph behind ``network`` (its flat layout), for a graph of several
    #: populations; None for the one-population reservoir form.
    layout: object = None

    def __post_init__(self) -> None:
        if not isinstance(self.network, SpikingNetwork):
            raise ValueError(f"network must be a SpikingNetwork, got "
                             f"{type(self.network).__name__}")
        ids = np.asarray(self.neuron_ids)
        if (ids.shape != (self.network.n_total_neurons,)
                or (ids.size and ids.dtype.kind not in "iu")):
            raise ValueError(f"neuron_ids must hold one integer per neuron "
                             f"({self.network.n_total_neurons}), got shape {ids.shape}")
        self.neuron_ids = ids.astype(np.int64)

    @classmethod
    def read(cls, path: str | Path, dt: float | None = None) -> "DeployedNetwork":
        """Read ``path`` (a ``.nir`` file) as it is handed over to the engines."""
        from ..nir.reservoir_files import graph_neuron_ids, network_from_graph, read_nir_graph
        graph = read_nir_graph(path)
        net = network_from_graph(graph, path, dt=dt)
        ids = graph_neuron_ids(graph)
        return cls(graph=graph, network=net,
                   neuron_ids=np.arange(net.n_total_neurons) if ids is None else ids,
                   source=str(path))

    @classmethod
    def read_graph(cls, path: str | Path, dt: float | None = None) -> "DeployedNetwork":
        """Read ``path`` as a graph of populations (:func:`lnp_neuro.nir.read_graph`); the
        engines run its flat layout (:func:`lnp_neuro.model.flatten`)."""
        from ..model import flatten
        from ..nir import read_graph
        from ..nir.reservoir_files import read_nir_graph
        layout = flatten(read_graph(path, dt=dt))
        return cls(graph=read_nir_graph(path), network=layout.network,
                   neuron_ids=np.arange(layout.network.n_total_neurons), source=str(path),
                   layout=layout)

    def populations(self, raster: np.ndarray) -> dict[str, np.ndarray]:
        """``{population name: its columns of raster}`` (one entry for the reservoir)."""
        if self.layout is None:
            return {"reservoir": np.asarray(raster)}
        return self.layout.split(raster)


@dataclass(eq=False)
class EngineRun:
    """What an engine returns: the raster ``spikes`` (bool ``[T, N]``) and who ran it."""

    spikes: np.ndarray
    engine: str
    mode: str

    def __post_init__(self) -> None:
        spikes = np.asarray(self.spikes)
        if spikes.ndim != 2:
            raise ValueError(f"engine {self.engine!r} returned spikes of shape {spikes.shape}, "
                             f"expected [T, N]")
        self.spikes = spikes.astype(bool, copy=False)
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}")


@dataclass(frozen=True)
class Engine:
    """One way of running a :class:`DeployedNetwork`.

    ``runner(deployed, input_spikes, mode, progress) -> bool [T, N]`` does the work;
    ``modes`` are the arithmetic it supports; ``parity_reference`` is the independent
    engine it is checked against (None: none exists).
    """

    name: str
    description: str
    runner: Callable[..., np.ndarray]
    modes: tuple[str, ...] = _MODES
    parity_reference: str | None = "native"

    def __post_init__(self) -> None:
        if not self.name or not set(self.modes) <= set(_MODES) or not self.modes:
            raise ValueError(f"engine {self.name!r}: modes must be a non-empty subset of "
                             f"{_MODES}, got {self.modes}")
        if self.parity_reference == self.name:
            raise ValueError(f"engine {self.name!r} cannot be its own parity reference")

    def run(self, network: DeployedNetwork, input_spikes: np.ndarray, mode: str,
            progress: bool = False) -> EngineRun:
        if mode not in self.modes:
            raise ValueError(f"engine {self.name!r} runs in {', '.join(self.modes)} mode, "
                             f"not {mode!r}")
        if not isinstance(network, DeployedNetwork):
            raise ValueError(f"engine {self.name!r} runs a DeployedNetwork, got "
                             f"{type(network).__name__}")
        spikes = self.runner(network, input_spikes, mode, progress)
        run = EngineRun(spikes=spikes, engine=self.name, mode=mode)
        expected = (np.asarray(input_spikes).shape[0], network.network.n_total_neurons)
        if run.spikes.shape != expected:
            raise ValueError(f"engine {self.name!r} returned spikes of shape "
                             f"{run.spikes.shape}, expected {expected}")
        return run


def _simulator(engine: str):
    def run(deployed: DeployedNetwork, x, mode: str, progress: bool) -> np.ndarray:
        from .simulator import simulate
        return simulate(deployed.network, x, mode=mode, engine=engine, progress=progress,
                        delayed=_delayed(deployed)).spikes
    return run


def _delayed(deployed: DeployedNetwork) -> tuple:
    """The synapse groups of more than one step of a graph's layout (none otherwise)."""
    return () if deployed.layout is None else tuple(deployed.layout.delayed)


def _lava(deployed: DeployedNetwork, x, mode: str, progress: bool) -> np.ndarray:
    from .lava.backend import run_lava
    return run_lava(deployed.network, x, mode=mode, delayed=_delayed(deployed))


def _norse(deployed: DeployedNetwork, x, mode: str, progress: bool) -> np.ndarray:
    # norse runs the graph itself, through its own importer (norse.torch.from_nir); the
    # graph's input Delay node is applied by run_norse because norse drops it.
    from .norse.network import run_norse, run_norse_populations
    if deployed.layout is None:
        return run_norse(deployed.graph, x, dt=deployed.network.dt, progress=progress)
    # norse steps the graph with NIR's same-step feed-forward edges (its Delay nodes
    # dropped): population p spikes there latency[p] steps before it does here
    # (lnp_neuro.model.graph), so each raster is shifted by its latency.
    layout = deployed.layout
    if layout.delayed:
        # norse drops the graph's Delay nodes, and a shift per population cannot stand for
        # a delay inside a loop: refused rather than run with other timing.
        names = [p.name for p in layout.graph.projections if p.delay_steps > 1]
        raise ValueError(f"the norse engine cannot run projections of more than one step "
                         f"(norse drops NIR Delay nodes): {names}")
    spiking = [name for name, pop in layout.graph.populations.items() if pop.spiking]
    outputs = run_norse_populations(deployed.graph, x, dt=deployed.network.dt,
                                    populations=spiking, progress=progress)
    spikes = np.zeros((np.asarray(x).shape[0], deployed.network.n_total_neurons), bool)
    for name in spiking:
        start, stop = layout.offsets[name]
        shift = layout.latency[name]
        raster = np.asarray(outputs[name], bool)
        spikes[shift:, start:stop] = raster[:raster.shape[0] - shift]
    return spikes


def _loihi(deployed: DeployedNetwork, x, mode: str, progress: bool) -> np.ndarray:
    raise TargetUnavailable("the lava-loihi engine needs Intel's lava-loihi extension and a "
                            "Loihi 2 system; no run is possible on this machine")


ENGINES: dict[str, Engine] = {}


def register_engine(engine: Engine, *, replace: bool = False) -> Engine:
    """Add ``engine`` to the registry (``replace`` an existing one of that name)."""
    if not isinstance(engine, Engine):
        raise ValueError(f"register_engine takes an Engine, got {type(engine).__name__}")
    if engine.name in ENGINES and not replace:
        raise ValueError(f"engine {engine.name!r} is already registered")
    ENGINES[engine.name] = engine
    return engine


for _engine in (
        Engine("native", "lnp_neuro.engines.simulator, event-driven numba kernels", _simulator("numba"),
               parity_reference="numpy"),
        Engine("numpy", "lnp_neuro.engines.simulator, vectorised numpy reference engine",
               _simulator("numpy"), parity_reference="native"),
        Engine("lava", "Lava (lava-nc 0.10.0) CPU simulation, Loihi2SimCfg", _lava),
        Engine("norse", "norse 1.1.0 through its NIR importer (float32)", _norse,
               modes=("float",)),
        Engine("lava-loihi", "Intel Loihi 2 hardware through lava-loihi", _loihi,
               modes=("fixed",))):
    register_engine(_engine)


def get_engine(name: str) -> Engine:
    """The registered engine ``name``; the error lists the known ones."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; known engines: "
                         f"{', '.join(sorted(ENGINES))}") from None


def parity(run: EngineRun, reference: EngineRun) -> int:
    """Spike mismatches between two runs of the same network on the same input."""
    if run.spikes.shape != reference.spikes.shape:
        raise ValueError(f"engines {run.engine!r} and {reference.engine!r} returned rasters "
                         f"of different shapes {run.spikes.shape} and "
                         f"{reference.spikes.shape}")
    return int(np.count_nonzero(run.spikes != reference.spikes))
