"""Placement of a network's neurons and synapses onto neuromorphic cores.

Model (the usual one for Loihi-class chips, Davies et al., IEEE Micro 2018, Sec. "Loihi
architecture"): every neuron lives on one core; a synapse is stored in the synaptic memory
of its *postsynaptic* neuron's core, so a core's synapse load is the sum of the fan-ins of
its neurons. A core is full when either its neuron slots or its synapse memory is used up.

Placement is first-fit in neuron order, with CHRSNN clusters kept contiguous so that a
cluster's dense local wiring stays on as few cores as possible. First-fit in a fixed order
is not optimal bin packing, but with per-neuron loads far below a core's capacity (the
usual case) it wastes at most one neuron's load per core; the report gives the resulting
utilisation so the slack is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .network import SpikingNetwork

__all__ = ["CoreLimits", "Mapping", "MappingError", "map_to_cores"]


class MappingError(ValueError):
    """The network does not fit the chip; the message lists every limit it breaks."""

    def __init__(self, profile: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"network does not fit {profile}: " + "; ".join(problems))


@dataclass(frozen=True)
class CoreLimits:
    """Capacity limits of one chip family.

    ``neurons_per_core`` and ``synapses_per_core`` bound one core; ``cores_per_chip`` and
    ``max_chips`` bound the system. ``max_fan_in`` / ``max_fan_out`` (per neuron) are
    optional (None: no limit published).
    """

    name: str
    neurons_per_core: int
    synapses_per_core: int
    cores_per_chip: int
    max_chips: int = 1
    max_fan_in: int | None = None
    max_fan_out: int | None = None

    def __post_init__(self) -> None:
        for key in ("neurons_per_core", "synapses_per_core", "cores_per_chip", "max_chips"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{self.name}: {key} must be a positive integer, got {value!r}")
        for key in ("max_fan_in", "max_fan_out"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"{self.name}: {key} must be a positive integer or None, "
                                 f"got {value!r}")


@dataclass
class Mapping:
    """Result of :func:`map_to_cores`.

    ``core_of_neuron`` is -1 for pruned neurons. Per-core arrays are over the cores used.
    """

    profile: str
    core_of_neuron: np.ndarray
    neurons_on_core: np.ndarray
    synapses_on_core: np.ndarray
    limits: CoreLimits
    chips_used: int = field(init=False)

    def __post_init__(self) -> None:
        self.chips_used = int(-(-self.cores_used // self.limits.cores_per_chip)) if self.cores_used else 0

    @property
    def cores_used(self) -> int:
        return int(self.neurons_on_core.size)

    def summary(self) -> dict:
        """JSON-ready figures for reports."""
        lim = self.limits
        used = self.cores_used
        return {
            "profile": self.profile,
            "cores_used": used,
            "chips_used": self.chips_used,
            "cores_available": lim.cores_per_chip * lim.max_chips,
            "neuron_utilisation": float(self.neurons_on_core.sum() / (used * lim.neurons_per_core)) if used else 0.0,
            "synapse_utilisation": float(self.synapses_on_core.sum() / (used * lim.synapses_per_core)) if used else 0.0,
            "max_neurons_on_a_core": int(self.neurons_on_core.max()) if used else 0,
            "max_synapses_on_a_core": int(self.synapses_on_core.max()) if used else 0,
            "limits": {"neurons_per_core": lim.neurons_per_core,
                       "synapses_per_core": lim.synapses_per_core,
                       "cores_per_chip": lim.cores_per_chip, "max_chips": lim.max_chips,
                       "max_fan_in": lim.max_fan_in, "max_fan_out": lim.max_fan_out},
        }


def _placement_order(net: SpikingNetwork) -> np.ndarray:
    active = np.flatnonzero(net.neuron_active)
    if net.cluster is None:
        return active
    return active[np.argsort(net.cluster[active], kind="stable")]


def map_to_cores(net: SpikingNetwork, limits: CoreLimits) -> Mapping:
    """Place the active neurons and synapses of ``net`` on cores under ``limits``.

    Raises :class:`MappingError` naming every broken limit (fan-in, fan-out, a single
    neuron's synapses exceeding a core, cores needed beyond the chips available).
    """
    keep = net.synapse_and_mask()
    pre, post = net.synapse_pre_post()
    fan_in = np.bincount(post[keep], minlength=net.size)
    fan_out = np.bincount(pre[keep], minlength=net.size)
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

    core_of = np.full(net.size, -1, dtype=np.int64)
    neurons_on: list[int] = []
    synapses_on: list[int] = []
    n_here = s_here = 0
    core = -1
    for i in _placement_order(net):
        load = int(fan_in[i])
        if core < 0 or n_here + 1 > limits.neurons_per_core or s_here + load > limits.synapses_per_core:
            if core >= 0:
                neurons_on.append(n_here)
                synapses_on.append(s_here)
            core += 1
            n_here = s_here = 0
        core_of[i] = core
        n_here += 1
        s_here += load
    if core >= 0:
        neurons_on.append(n_here)
        synapses_on.append(s_here)
    mapping = Mapping(limits.name, core_of, np.array(neurons_on, np.int64),
                      np.array(synapses_on, np.int64), limits)
    available = limits.cores_per_chip * limits.max_chips
    if mapping.cores_used > available:
        raise MappingError(limits.name, [
            f"needs {mapping.cores_used} cores but cores_per_chip {limits.cores_per_chip} x "
            f"max_chips {limits.max_chips} = {available} are available"])
    return mapping
