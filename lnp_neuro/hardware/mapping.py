"""Placement of a network's neurons onto neuromorphic cores, and the spike traffic it routes.

Model (the usual one for Loihi-class chips, Davies et al., IEEE Micro 2018, Sec. "Loihi
architecture"): every neuron lives on one core; a synapse is stored in the synaptic memory
of its *postsynaptic* neuron's core, so a core's synapse load is the sum of the fan-ins of
its neurons. A core is full when either its neuron slots or its synapse memory is used up.

Two placements (``strategy``):

- ``"first-fit"``: neurons in index order, CHRSNN clusters kept contiguous, each on the
  current core until it is full. It never looks at the traffic.
- ``"partition"``: METIS k-way graph partitioning (Karypis & Kumar, SIAM J. Sci. Comput.
  20(1), 1998, through pymetis) of the synapse graph with edge weights = the spikes that
  cross the edge in the run's raster (+1, so that a silent synapse still ties its ends),
  into the fewest cores the capacity allows; the balance tolerance is set so that a part
  fits a core, and a greedy repair moves the cheapest boundary neurons out of any core
  that still overflows (adding a core only when no move fits). METIS minimises the spikes
  on cut *synapses*; the chip pays per spike and destination *core*, so a last greedy
  pass (Fiduccia & Mattheyses, DAC 1982) moves single neurons while that lowers the true
  message count. METIS is seeded (``options.seed``) and the passes run in index order, so
  the same seed gives the same placement.

Routing (:func:`route_spikes`): a spike of neuron i is sent once to every core that holds
at least one of its active postsynaptic neurons (Loihi's per-core spike messages,
Davies et al. 2018); the messages to other cores are the ``inter_core_spikes``. Cores sit
on the chip's router mesh (``cores_per_tile`` cores per router, ``mesh_tiles_x`` x
``mesh_tiles_y`` routers per chip, cores numbered row-major); a message travels
dimension-order (E-W then N-S), so its hops are the Manhattan distance between the two
routers. A network larger than one chip fills chips in order, the chips laid out as a
near-square grid whose meshes join edge to edge (Loihi's mesh extends to other chips in
the four planar directions, Davies et al. 2018); a message between chips also counts the
chip boundaries it crosses (``chip_hops``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..model.network import SpikingNetwork

__all__ = ["STRATEGIES", "CoreLimits", "Mapping", "MappingError", "Routing", "core_limits",
           "map_to_cores", "route_spikes", "core_positions", "spike_latency"]

STRATEGIES = ("first-fit", "partition")
#: The core-to-core traffic matrix goes into report.json only up to this many cores.
MAX_TRAFFIC_CORES = 256


class MappingError(ValueError):
    """The network does not fit the chip; the message lists every limit it breaks."""

    def __init__(self, profile: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"network does not fit {profile}: " + "; ".join(problems))


def _positive_int(value, name: str, owner: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer"
                         f"{' or None' if optional else ''}, got {value!r}")


@dataclass(frozen=True)
class CoreLimits:
    """Capacity limits and router mesh of one chip family.

    ``neurons_per_core`` and ``synapses_per_core`` bound one core; ``cores_per_chip``
    bounds a chip and ``max_chips`` the system (None: as many chips as needed).
    ``max_fan_in`` / ``max_fan_out`` (per neuron) are optional (None: no limit published).
    ``cores_per_tile``, ``mesh_tiles_x``, ``mesh_tiles_y`` describe the router mesh for
    hop counts (None: hops are not counted).
    """

    name: str
    neurons_per_core: int
    synapses_per_core: int
    cores_per_chip: int
    max_chips: int | None = None
    max_fan_in: int | None = None
    max_fan_out: int | None = None
    cores_per_tile: int = 1
    mesh_tiles_x: int | None = None
    mesh_tiles_y: int | None = None

    def __post_init__(self) -> None:
        for key in ("neurons_per_core", "synapses_per_core", "cores_per_chip", "cores_per_tile"):
            _positive_int(getattr(self, key), key, self.name)
        for key in ("max_chips", "max_fan_in", "max_fan_out", "mesh_tiles_x", "mesh_tiles_y"):
            _positive_int(getattr(self, key), key, self.name, optional=True)
        if (self.mesh_tiles_x is None) != (self.mesh_tiles_y is None):
            raise ValueError(f"{self.name}: mesh_tiles_x and mesh_tiles_y go together")
        if self.has_mesh and self.mesh_tiles_x * self.mesh_tiles_y * self.cores_per_tile \
                < self.cores_per_chip:
            raise ValueError(f"{self.name}: a mesh of {self.mesh_tiles_x} x {self.mesh_tiles_y} "
                             f"tiles of {self.cores_per_tile} core(s) cannot hold "
                             f"{self.cores_per_chip} cores")

    @property
    def has_mesh(self) -> bool:
        return self.mesh_tiles_x is not None

    @property
    def cores_available(self) -> int | None:
        return None if self.max_chips is None else self.cores_per_chip * self.max_chips


def core_limits(profile) -> CoreLimits | None:
    """The :class:`CoreLimits` of a hardware profile (None when it has no capacity data)."""
    cap = profile.capacity()
    if cap["neurons_per_core"] is None or cap["synapses_per_core"] is None \
            or cap["cores_per_chip"] is None:
        return None
    mesh = profile.mesh()
    per_tile, tiles_x, tiles_y = mesh if mesh is not None else (1, None, None)
    return CoreLimits(profile.name, neurons_per_core=cap["neurons_per_core"],
                      synapses_per_core=cap["synapses_per_core"],
                      cores_per_chip=cap["cores_per_chip"],
                      max_fan_in=cap["max_fan_in"], max_fan_out=cap["max_fan_out"],
                      cores_per_tile=per_tile, mesh_tiles_x=tiles_x, mesh_tiles_y=tiles_y)


# ----------------------------------------------------------------------- routing
@dataclass
class Routing:
    """Spike messages between cores of one run (:func:`route_spikes`).

    ``traffic[a, b]``: messages core a sent to core b (the diagonal: to its own core).
    ``hops_ew``/``hops_ns``/``chip_hops``: [cores, cores] distances, None without a mesh.
    """

    traffic: np.ndarray
    hops_ew: np.ndarray | None = None
    hops_ns: np.ndarray | None = None
    chip_hops: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.traffic = np.asarray(self.traffic, dtype=np.int64)
        if self.traffic.ndim != 2 or self.traffic.shape[0] != self.traffic.shape[1]:
            raise ValueError(f"traffic must be a square [cores, cores] matrix, got "
                             f"{self.traffic.shape}")
        for name in ("hops_ew", "hops_ns", "chip_hops"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != self.traffic.shape:
                raise ValueError(f"{name} must have the traffic's shape {self.traffic.shape}")

    @property
    def messages(self) -> int:
        """Every spike message, to the sender's own core included."""
        return int(self.traffic.sum())

    @property
    def inter_core_spikes(self) -> int:
        return int(self.traffic.sum() - np.trace(self.traffic))

    def _weighted(self, hops: np.ndarray | None) -> int | None:
        return None if hops is None else int((self.traffic * hops).sum())

    @property
    def total_hops_ew(self) -> int | None:
        return self._weighted(self.hops_ew)

    @property
    def total_hops_ns(self) -> int | None:
        return self._weighted(self.hops_ns)

    @property
    def hop_count(self) -> int | None:
        """Router-to-router hops of all messages (E-W plus N-S)."""
        if self.hops_ew is None:
            return None
        return self.total_hops_ew + self.total_hops_ns

    @property
    def total_chip_hops(self) -> int | None:
        return self._weighted(self.chip_hops)

    def summary(self) -> dict:
        cores = self.traffic.shape[0]
        return {
            "spike_messages": self.messages,
            "inter_core_spikes": self.inter_core_spikes,
            "hop_count": self.hop_count,
            "hops_ew": self.total_hops_ew,
            "hops_ns": self.total_hops_ns,
            "chip_hops": self.total_chip_hops,
            "core_traffic": self.traffic.tolist() if cores <= MAX_TRAFFIC_CORES else None,
        }


def core_positions(n_cores: int, limits: CoreLimits) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray, np.ndarray]:
    """Router coordinates ``(x, y)`` on the joined mesh and chip coordinates ``(cx, cy)``.

    Core c is on chip ``c // cores_per_chip`` and tile ``(c % cores_per_chip) //
    cores_per_tile``, tiles row-major on a ``mesh_tiles_x``-wide mesh; the chips used form
    a grid ``ceil(sqrt(chips))`` wide, each chip's mesh offset by its grid position.
    """
    if not limits.has_mesh:
        raise ValueError(f"{limits.name}: no router mesh (mesh_tiles_x / mesh_tiles_y)")
    core = np.arange(n_cores, dtype=np.int64)
    chip, local = np.divmod(core, limits.cores_per_chip)
    tile = local // limits.cores_per_tile
    tx, ty = tile % limits.mesh_tiles_x, tile // limits.mesh_tiles_x
    n_chips = int(chip.max()) + 1 if n_cores else 0
    chips_wide = max(1, math.ceil(math.sqrt(n_chips)))
    cx, cy = chip % chips_wide, chip // chips_wide
    return (cx * limits.mesh_tiles_x + tx, cy * limits.mesh_tiles_y + ty, cx, cy)


def route_spikes(net: SpikingNetwork, core_of_neuron: np.ndarray, n_cores: int, spikes,
                 limits: CoreLimits | None = None) -> Routing:
    """Count the spike messages of a raster between the cores of a placement.

    A spike of active neuron i is one message to each distinct core holding an active
    postsynaptic neuron of i through an active synapse (the AND-mask of design section 5).
    With a mesh in ``limits``, the hop matrices give each message's E-W / N-S router hops
    and chip crossings.
    """
    raster = np.asarray(spikes)
    if raster.ndim != 2 or raster.shape[1] != net.n_total_neurons:
        raise ValueError(f"spikes must be a raster [T, {net.n_total_neurons}], got shape "
                         f"{raster.shape}")
    core_of = np.asarray(core_of_neuron, dtype=np.int64)
    counts = np.count_nonzero(raster, axis=0).astype(np.int64)
    keep = net.synapse_and_mask()
    pre, post = net.synapse_pre_post()
    pre, post = pre[keep], post[keep]
    if np.any(core_of[pre] < 0) or np.any(core_of[post] < 0):
        raise ValueError("every active neuron needs a core")
    # One message per (presynaptic neuron, destination core) pair, whatever the synapses.
    pairs = np.unique(pre * n_cores + core_of[post])
    src_neuron, dst_core = np.divmod(pairs, n_cores)
    flat = core_of[src_neuron] * n_cores + dst_core
    traffic = np.bincount(flat, weights=counts[src_neuron], minlength=n_cores * n_cores)
    traffic = np.rint(traffic).astype(np.int64).reshape(n_cores, n_cores)
    if limits is None or not limits.has_mesh:
        return Routing(traffic)
    x, y, cx, cy = core_positions(n_cores, limits)
    return Routing(traffic, hops_ew=np.abs(x[:, None] - x[None, :]),
                   hops_ns=np.abs(y[:, None] - y[None, :]),
                   chip_hops=np.abs(cx[:, None] - cx[None, :]) + np.abs(cy[:, None] - cy[None, :]))


def spike_latency(routing: Routing, per_message: float, per_hop_ew: float,
                  per_hop_ns: float) -> dict[str, float] | None:
    """Latency of the spike messages (seconds): the slowest and the message-weighted mean.

    A message costs the within-tile latency plus its hops' latencies (Davies et al. 2018,
    Table 1). None without hop matrices or without messages.
    """
    if routing.hops_ew is None or routing.messages == 0:
        return None
    lat = per_message + per_hop_ew * routing.hops_ew + per_hop_ns * routing.hops_ns
    used = routing.traffic > 0
    return {"max_seconds": float(lat[used].max()),
            "mean_seconds": float((lat * routing.traffic).sum() / routing.messages)}


# ----------------------------------------------------------------------- mapping
@dataclass
class Mapping:
    """Result of :func:`map_to_cores`.

    ``core_of_neuron`` is -1 for pruned neurons. Per-core arrays are over the cores used.
    ``routing`` holds the spike traffic when a raster was given.
    """

    profile: str
    core_of_neuron: np.ndarray
    neurons_on_core: np.ndarray
    synapses_on_core: np.ndarray
    limits: CoreLimits
    strategy: str = "first-fit"
    routing: Routing | None = None
    chips_used: int = field(init=False)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got "
                             f"{self.strategy!r}")
        self.chips_used = int(-(-self.cores_used // self.limits.cores_per_chip)) if self.cores_used else 0

    @property
    def cores_used(self) -> int:
        return int(self.neurons_on_core.size)

    def summary(self) -> dict:
        """JSON-ready figures for reports."""
        lim = self.limits
        used = self.cores_used
        out = {
            "profile": self.profile,
            "strategy": self.strategy,
            "cores_used": used,
            "chips_used": self.chips_used,
            "cores_available": lim.cores_available,
            "neuron_utilisation": float(self.neurons_on_core.sum() / (used * lim.neurons_per_core)) if used else 0.0,
            "synapse_utilisation": float(self.synapses_on_core.sum() / (used * lim.synapses_per_core)) if used else 0.0,
            "max_neurons_on_a_core": int(self.neurons_on_core.max()) if used else 0,
            "max_synapses_on_a_core": int(self.synapses_on_core.max()) if used else 0,
            "limits": {"neurons_per_core": lim.neurons_per_core,
                       "synapses_per_core": lim.synapses_per_core,
                       "cores_per_chip": lim.cores_per_chip, "max_chips": lim.max_chips,
                       "max_fan_in": lim.max_fan_in, "max_fan_out": lim.max_fan_out,
                       "cores_per_tile": lim.cores_per_tile,
                       "mesh_tiles_x": lim.mesh_tiles_x, "mesh_tiles_y": lim.mesh_tiles_y},
        }
        if self.routing is not None:
            out.update(self.routing.summary())
        return out


def _placement_order(net: SpikingNetwork) -> np.ndarray:
    active = np.flatnonzero(net.neuron_active)
    if net.cluster is None:
        return active
    return active[np.argsort(net.cluster[active], kind="stable")]


def _first_fit(net: SpikingNetwork, limits: CoreLimits, fan_in: np.ndarray) -> np.ndarray:
    """Core of every neuron, filling cores in placement order (-1 for pruned neurons)."""
    core_of = np.full(net.n_total_neurons, -1, dtype=np.int64)
    n_here = s_here = 0
    core = -1
    for i in _placement_order(net):
        load = int(fan_in[i])
        if core < 0 or n_here + 1 > limits.neurons_per_core or s_here + load > limits.synapses_per_core:
            core += 1
            n_here = s_here = 0
        core_of[i] = core
        n_here += 1
        s_here += load
    return core_of


def _spike_counts(net: SpikingNetwork, spikes) -> np.ndarray:
    """Spikes per neuron of a raster [T, N] (zeros without one)."""
    if spikes is None:
        return np.zeros(net.n_total_neurons, np.int64)
    raster = np.asarray(spikes)
    if raster.ndim != 2 or raster.shape[1] != net.n_total_neurons:
        raise ValueError(f"spikes must be a raster [T, {net.n_total_neurons}], got shape "
                         f"{raster.shape}")
    return np.count_nonzero(raster, axis=0).astype(np.int64)


def _distinct_synapses(net: SpikingNetwork, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active synapses as (pre, post) in active-neuron indices, self-loops dropped."""
    index = np.full(net.n_total_neurons, -1, dtype=np.int64)
    index[active] = np.arange(active.size)
    keep = net.synapse_and_mask()
    pre, post = net.synapse_pre_post()
    pre, post = index[pre[keep]], index[post[keep]]
    loop = pre == post
    return pre[~loop], post[~loop]


def _traffic_graph(net: SpikingNetwork, active: np.ndarray, spikes) -> sp.csr_matrix:
    """Undirected graph on the active neurons: edge weight = spikes crossing it, plus 1.

    A synapse i -> j carries every spike of i; i -> j and j -> i add up. The +1 keeps the
    wiring as a tie-break where the raster is silent (and gives METIS the positive integer
    weights it needs).
    """
    n = active.size
    counts = _spike_counts(net, spikes)[active]
    pre, post = _distinct_synapses(net, active)
    w = sp.coo_matrix(((counts[pre] + 1).astype(np.int64), (post, pre)), shape=(n, n)).tocsr()
    graph = (w + w.T).tocsr()
    graph.sum_duplicates()
    graph.sort_indices()
    return graph


def _repair(parts: np.ndarray, k: int, graph: sp.csr_matrix, load: np.ndarray,
            limits: CoreLimits) -> np.ndarray | None:
    """Move neurons out of overflowing parts, each move the one that loses least traffic.

    Returns the repaired parts, or None when some overflow cannot move anywhere (the
    caller then tries one more core).
    """
    parts = parts.copy()
    n_on = np.bincount(parts, minlength=k).astype(np.int64)
    s_on = np.bincount(parts, weights=load, minlength=k).astype(np.int64)
    while True:
        over = np.flatnonzero((n_on > limits.neurons_per_core) | (s_on > limits.synapses_per_core))
        if not over.size:
            return parts
        p = int(over[0])
        best = None
        for v in np.flatnonzero(parts == p):
            room = (n_on + 1 <= limits.neurons_per_core) & (s_on + load[v] <= limits.synapses_per_core)
            room[p] = False
            if not room.any():
                continue
            lo, hi = graph.indptr[v], graph.indptr[v + 1]
            link = np.bincount(parts[graph.indices[lo:hi]], weights=graph.data[lo:hi], minlength=k)
            # Traffic that stops crossing minus traffic that starts crossing.
            gain = np.where(room, link - link[p], -np.inf)
            q = int(np.argmax(gain))
            if best is None or gain[q] > best[0]:
                best = (gain[q], int(v), q)
        if best is None:
            return None
        _, v, q = best
        parts[v] = q
        n_on[p] -= 1
        n_on[q] += 1
        s_on[p] -= load[v]
        s_on[q] += load[v]


#: The message-count refinement keeps a [neurons, cores] table; above this size it is skipped.
_REFINE_MAX_CELLS = 20_000_000


def _refine_messages(parts: np.ndarray, k: int, pre: np.ndarray, post: np.ndarray,
                     counts: np.ndarray, load: np.ndarray, limits: CoreLimits,
                     max_passes: int = 8) -> np.ndarray:
    """Greedy single-neuron moves that lower the inter-core spike messages, under capacity.

    METIS minimises the spikes crossing a cut *synapse*; a chip sends one message per
    spike and destination *core* (multicast), whatever the synapses behind it. This pass
    (Kernighan-Lin / Fiduccia-Mattheyses style local search, Fiduccia & Mattheyses, DAC
    1982) moves one neuron at a time, in index order, to the core that lowers the true
    message count most while the core has room, until a pass moves nothing.

    ``pre``/``post``: the distinct synapses (active indices, no self-loops); ``counts``:
    spikes per active neuron.
    """
    n = parts.size
    if n * k > _REFINE_MAX_CELLS or k < 2:
        return parts
    parts = parts.copy()
    # targets[u, c]: synapses from u onto neurons on core c.
    targets = np.zeros((n, k), np.int64)
    np.add.at(targets, (pre, parts[post]), 1)
    order = np.argsort(post, kind="stable")
    in_ptr = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=n))])
    sources = pre[order]
    n_on = np.bincount(parts, minlength=k).astype(np.int64)
    s_on = np.bincount(parts, weights=load, minlength=k).astype(np.int64)
    cores = np.arange(k)
    for _ in range(max_passes):
        moved = 0
        for v in range(n):
            p = int(parts[v])
            room = (n_on + 1 <= limits.neurons_per_core) & \
                (s_on + load[v] <= limits.synapses_per_core)
            room[p] = False
            if not room.any():
                continue
            u = sources[in_ptr[v]:in_ptr[v + 1]]
            su, pu = counts[u], parts[u]
            # v's own messages: core p becomes remote if v has targets there, q local.
            own = counts[v] * ((targets[v, p] > 0).astype(np.int64)
                               - (targets[v] > 0).astype(np.int64))
            # Each presynaptic u stops messaging p if v was its only target there, and
            # starts messaging q if it had none there (its own core never counts).
            leave = int(su[(targets[u, p] == 1) & (pu != p)].sum())
            join = su @ ((targets[u] == 0) & (pu[:, None] != cores[None, :]))
            delta = np.where(room, own - leave + join, np.iinfo(np.int64).max)
            q = int(np.argmin(delta))
            if delta[q] >= 0:
                continue
            parts[v] = q
            np.subtract.at(targets, (u, p), 1)
            np.add.at(targets, (u, q), 1)
            n_on[p] -= 1
            n_on[q] += 1
            s_on[p] -= load[v]
            s_on[q] += load[v]
            moved += 1
        if not moved:
            break
    return parts


def _partition(net: SpikingNetwork, limits: CoreLimits, fan_in: np.ndarray, spikes,
               seed: int) -> np.ndarray:
    """Core of every neuron from METIS k-way partitioning of the traffic graph."""
    import pymetis

    active = np.flatnonzero(net.neuron_active)
    core_of = np.full(net.n_total_neurons, -1, dtype=np.int64)
    n = active.size
    if n == 0:
        return core_of
    load = fan_in[active].astype(np.int64)
    graph = _traffic_graph(net, active, spikes)
    k = max(1, math.ceil(n / limits.neurons_per_core),
            math.ceil(int(load.sum()) / limits.synapses_per_core))
    available = limits.cores_available
    if available is not None and k > available:
        raise MappingError(limits.name, [
            f"needs {k} cores but cores_per_chip {limits.cores_per_chip} x "
            f"max_chips {limits.max_chips} = {available} are available"])
    while True:
        if k == 1:
            parts = np.zeros(n, np.int64)
        else:
            options = pymetis.Options()
            options.seed = int(seed) % (2 ** 31)
            # METIS keeps every part <= (1 + ufactor / 1000) x the mean part: allow exactly
            # what fills a core, so that the cut, not the balance, decides.
            options.ufactor = max(1, int(1000 * (limits.neurons_per_core * k / n - 1)))
            options.ncuts = 4
            result = pymetis.part_graph(
                k, pymetis.CSRAdjacency(graph.indptr, graph.indices), eweights=graph.data,
                recursive=False, options=options)
            parts = np.asarray(result.vertex_part, dtype=np.int64)
        repaired = _repair(parts, k, graph, load, limits)
        if repaired is not None:
            repaired = _refine_messages(repaired, k, *_distinct_synapses(net, active),
                                        _spike_counts(net, spikes)[active], load, limits)
            break
        k += 1
        if available is not None and k > available:
            raise MappingError(limits.name, [
                f"the partition needs more than cores_per_chip {limits.cores_per_chip} x "
                f"max_chips {limits.max_chips} = {available} cores"])
    # Cores numbered in order of each part's first neuron (empty parts dropped), so the
    # numbering does not depend on METIS's labels.
    _, first = np.unique(repaired, return_index=True)
    order = np.argsort(first, kind="stable")
    relabel = np.empty(k, np.int64)
    relabel[np.unique(repaired)[order]] = np.arange(order.size)
    core_of[active] = relabel[repaired]
    return core_of


def map_to_cores(net: SpikingNetwork, limits: CoreLimits, strategy: str = "partition",
                 spikes=None, seed: int = 0) -> Mapping:
    """Place the active neurons and synapses of ``net`` on cores under ``limits``.

    ``strategy`` "partition" (METIS on the spike traffic of ``spikes``, or on the wiring
    alone without a raster) or "first-fit" (module docstring). With ``spikes`` [T, N] the
    result's ``routing`` counts the spike messages between cores (:func:`route_spikes`).
    Raises :class:`MappingError` naming every broken limit (fan-in, fan-out, a single
    neuron's synapses exceeding a core, cores needed beyond the chips available).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    keep = net.synapse_and_mask()
    pre, post = net.synapse_pre_post()
    fan_in = np.bincount(post[keep], minlength=net.n_total_neurons)
    fan_out = np.bincount(pre[keep], minlength=net.n_total_neurons)
    problems: list[str] = []
    for label, counts, limit in (("fan-in", fan_in, limits.max_fan_in),
                                 ("fan-out", fan_out, limits.max_fan_out)):
        if limit is not None and counts.max(initial=0) > limit:
            worst = int(np.argmax(counts))
            n_bad = int(np.count_nonzero(counts > limit))
            problems.append(f"{n_bad} neuron(s) exceed max_{label.replace('-', '_')} {limit} "
                            f"(neuron {worst} has {label} {int(counts[worst])})")
    too_big = np.flatnonzero(fan_in > limits.synapses_per_core)
    if too_big.size:
        worst = int(too_big[np.argmax(fan_in[too_big])])
        problems.append(f"{too_big.size} neuron(s) have more incoming synapses than one core "
                        f"holds (synapses_per_core {limits.synapses_per_core}; neuron {worst} "
                        f"has {int(fan_in[worst])})")
    if problems:
        raise MappingError(limits.name, problems)

    if strategy == "first-fit":
        core_of = _first_fit(net, limits, fan_in)
    else:
        core_of = _partition(net, limits, fan_in, spikes, seed)
    placed = core_of >= 0
    n_cores = int(core_of.max()) + 1 if placed.any() else 0
    neurons_on = np.bincount(core_of[placed], minlength=n_cores).astype(np.int64)
    synapses_on = np.bincount(core_of[placed], weights=fan_in[placed],
                              minlength=n_cores).astype(np.int64)
    available = limits.cores_available
    if available is not None and n_cores > available:
        raise MappingError(limits.name, [
            f"needs {n_cores} cores but cores_per_chip {limits.cores_per_chip} x "
            f"max_chips {limits.max_chips} = {available} are available"])
    mapping = Mapping(limits.name, core_of, neurons_on, synapses_on, limits, strategy)
    if spikes is not None:
        mapping.routing = route_spikes(net, core_of, n_cores, spikes, limits)
    return mapping
