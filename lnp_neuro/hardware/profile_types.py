"""The data classes of a hardware profile (:class:`HardwareProfile` and its parts) and the
units and fields they accept; the equations and sources of the profiles are in
:mod:`lnp_neuro.hardware.profiles`' module docstring.

Kept apart from :mod:`lnp_neuro.hardware.profiles` (reading and validating the TOML files): this
module changes with what a profile describes, that one with how profiles are stored.
Re-exported by :mod:`lnp_neuro.hardware.profiles`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Quantity", "MemoryLevel", "TermStatement", "HardwareProfile", "ProfileError",
           "ENERGY_TERMS", "TERM_STATUSES"]

_ENERGY = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15}
_POWER = {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "µW": 1e-6, "nW": 1e-9}
_BITS = {"bits": 1.0, "bytes": 8.0, "KiB": 8.0 * 1024, "MiB": 8.0 * 1024 ** 2}
_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}
_ACCESSES = {"accesses": 1.0}

# field -> (SI unit, accepted units with their factor to SI, integer count?)
_QUANTITY_FIELDS: dict[str, tuple[str, dict[str, float], bool]] = {
    "energy_per_sop": ("J", _ENERGY, False),
    "energy_per_neuron_update": ("J", _ENERGY, False),
    "energy_per_spike": ("J", _ENERGY, False),
    "energy_per_mac": ("J", _ENERGY, False),
    "energy_per_spike_message": ("J", _ENERGY, False),
    "energy_per_hop_ew": ("J", _ENERGY, False),
    "energy_per_hop_ns": ("J", _ENERGY, False),
    "energy_per_chip_hop": ("J", _ENERGY, False),
    "latency_per_spike_message": ("s", _TIME, False),
    "latency_per_hop_ew": ("s", _TIME, False),
    "latency_per_hop_ns": ("s", _TIME, False),
    "static_power": ("W", _POWER, False),
    "neurons_per_core": ("neurons", {"neurons": 1.0}, True),
    "synapses_per_core": ("synapses", {"synapses": 1.0}, True),
    "synaptic_memory_bits_per_core": ("bits", _BITS, True),
    "weight_bits": ("bits", {"bits": 1.0}, True),
    "cores_per_chip": ("cores", {"cores": 1.0}, True),
    "max_fan_in": ("synapses", {"synapses": 1.0}, True),
    "max_fan_out": ("synapses", {"synapses": 1.0}, True),
    "cores_per_tile": ("cores", {"cores": 1.0}, True),
    "mesh_tiles_x": ("tiles", {"tiles": 1.0}, True),
    "mesh_tiles_y": ("tiles", {"tiles": 1.0}, True),
    "memory_accesses_per_sop": ("accesses", _ACCESSES, True),
    "memory_accesses_per_neuron_update": ("accesses", _ACCESSES, True),
    "memory_accesses_per_spike": ("accesses", _ACCESSES, True),
    "memory_accesses_per_mac": ("accesses", _ACCESSES, True),
    "bytes_per_synapse": ("bits", _BITS, True),
    "bytes_per_neuron": ("bits", _BITS, True),
}

#: The energy terms every profile accounts for (design section 5), in report order.
ENERGY_TERMS = ("synaptic", "neuron_update", "routing", "memory", "static")
#: How a profile may account for a term it has no numbers of (the ``[terms]`` table).
TERM_STATUSES = ("included", "not modelled")
# The profile fields that price each term; a term is modelled when any of them is present.
_TERM_FIELDS = {
    "synaptic": ("energy_per_sop",),
    "neuron_update": ("energy_per_neuron_update", "energy_per_spike"),
    "routing": ("energy_per_spike_message", "energy_per_hop_ew", "energy_per_hop_ns",
                "energy_per_chip_hop"),
    "memory": ("memory_accesses_per_sop", "memory_accesses_per_neuron_update",
               "memory_accesses_per_spike"),
    "static": ("static_power",),
}
_TEXT_FIELDS = {"name", "title", "kind", "description", "technology"}
_LIST_FIELDS = {"references", "memory_levels"}
_TABLE_FIELDS = {"terms"}
_KINDS = ("neuromorphic", "reference")
_QUANTITY_KEYS = {"value", "unit", "source", "estimate", "reasoning", "note"}


class ProfileError(ValueError):
    """A hardware profile file breaks the schema; the message names the file and the field."""


@dataclass(frozen=True)
class Quantity:
    """A published number: ``value`` in ``unit`` as written, ``si`` in the SI unit.

    ``estimate`` is True for a number that could not be sourced; ``reasoning`` then says
    how it was obtained.
    """

    value: float
    unit: str
    si: float
    si_unit: str
    source: str
    estimate: bool = False
    reasoning: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.si) or self.si <= 0:
            raise ValueError(f"a quantity must be a positive finite number, got {self.value}")
        if not self.source.strip():
            raise ValueError("a quantity needs its published source")
        if self.estimate and not self.reasoning.strip():
            raise ValueError("an estimated quantity needs its reasoning")

    def as_dict(self) -> dict[str, Any]:
        out = {"value": self.value, "unit": self.unit, "si": self.si, "si_unit": self.si_unit,
               "source": self.source, "estimate": self.estimate}
        if self.reasoning:
            out["reasoning"] = self.reasoning
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class MemoryLevel:
    """One level of a von-Neumann memory hierarchy (Horowitz, ISSCC 2014, energy table).

    ``capacity`` (bits) is None on the last level (it holds any working set).
    """

    name: str
    energy_per_access: Quantity
    capacity: Quantity | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a memory level needs a name")
        if self.energy_per_access.si_unit != "J":
            raise ValueError(f"memory level {self.name!r}: energy_per_access must be an energy")
        if self.capacity is not None and self.capacity.si_unit != "bits":
            raise ValueError(f"memory level {self.name!r}: capacity must be a memory size")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "energy_per_access": self.energy_per_access.as_dict(),
                "capacity": None if self.capacity is None else self.capacity.as_dict()}


@dataclass(frozen=True)
class TermStatement:
    """Why a profile does not price an energy term with numbers of its own.

    ``status`` "included": the term is inside another published figure (TrueNorth's
    all-in energy per synaptic event); "not modelled": the chip has the cost but no
    published figure is entered, so the report says so instead of counting 0.
    """

    term: str
    status: str
    reason: str

    def __post_init__(self) -> None:
        if self.term not in ENERGY_TERMS:
            raise ValueError(f"unknown energy term {self.term!r}; terms: {', '.join(ENERGY_TERMS)}")
        if self.status not in TERM_STATUSES:
            raise ValueError(f"term {self.term!r}: status must be one of "
                             f"{', '.join(TERM_STATUSES)}, got {self.status!r}")
        if not self.reason.strip():
            raise ValueError(f"term {self.term!r}: a statement needs its reason")


@dataclass(frozen=True)
class HardwareProfile:
    """Energy and capacity figures of one chip (or of a reference digital datapath).

    The synaptic-operation energy prices the SOP count of :mod:`lnp_neuro.hardware.energy`
    (``E = E_sop * SOPs``, Chakraborty et al. ICLR 2024 Suppl. A.5); the capacity fields
    bound how a network is placed on cores (:mod:`lnp_neuro.hardware.mapping`).
    """

    name: str
    title: str
    kind: str
    description: str
    energy_per_sop: Quantity
    technology: str = ""
    references: tuple[str, ...] = ()
    energy_per_neuron_update: Quantity | None = None
    energy_per_spike: Quantity | None = None
    energy_per_mac: Quantity | None = None
    static_power: Quantity | None = None
    neurons_per_core: Quantity | None = None
    synapses_per_core: Quantity | None = None
    synaptic_memory_bits_per_core: Quantity | None = None
    weight_bits: Quantity | None = None
    cores_per_chip: Quantity | None = None
    max_fan_in: Quantity | None = None
    max_fan_out: Quantity | None = None
    energy_per_spike_message: Quantity | None = None
    energy_per_hop_ew: Quantity | None = None
    energy_per_hop_ns: Quantity | None = None
    energy_per_chip_hop: Quantity | None = None
    latency_per_spike_message: Quantity | None = None
    latency_per_hop_ew: Quantity | None = None
    latency_per_hop_ns: Quantity | None = None
    cores_per_tile: Quantity | None = None
    mesh_tiles_x: Quantity | None = None
    mesh_tiles_y: Quantity | None = None
    memory_accesses_per_sop: Quantity | None = None
    memory_accesses_per_neuron_update: Quantity | None = None
    memory_accesses_per_spike: Quantity | None = None
    memory_accesses_per_mac: Quantity | None = None
    bytes_per_synapse: Quantity | None = None
    bytes_per_neuron: Quantity | None = None
    memory_levels: tuple[MemoryLevel, ...] = ()
    terms: tuple[TermStatement, ...] = ()
    path: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        for f in fields(self):
            if f.name in _QUANTITY_FIELDS:
                value = getattr(self, f.name)
                if value is not None and not isinstance(value, Quantity):
                    raise ValueError(f"{f.name} must be a Quantity or None, got "
                                     f"{type(value).__name__}")
        if self.kind == "neuromorphic":
            for key in ("neurons_per_core", "cores_per_chip"):
                if getattr(self, key) is None:
                    raise ValueError(f"a neuromorphic profile needs {key}")
            if self.synapse_capacity_per_core is None:
                raise ValueError("a neuromorphic profile needs synapses_per_core, or "
                                 "synaptic_memory_bits_per_core with weight_bits")
        elif self.energy_per_mac is None:
            raise ValueError("a reference profile needs energy_per_mac")
        self._check_memory()
        self._check_mesh()
        stated = [t.term for t in self.terms]
        if len(set(stated)) != len(stated):
            raise ValueError(f"[terms] states a term twice: {stated}")
        for statement in self.terms:
            priced = [k for k in _TERM_FIELDS[statement.term] if getattr(self, k) is not None]
            if priced:
                raise ValueError(f"[terms] says {statement.term!r} is {statement.status}, but the "
                                 f"profile prices it with {', '.join(priced)}")

    def _check_memory(self) -> None:
        accesses = [k for k in _TERM_FIELDS["memory"] + ("memory_accesses_per_mac",)
                    if getattr(self, k) is not None]
        if accesses and not self.memory_levels:
            raise ValueError(f"{accesses[0]} needs [[memory_levels]] to price the accesses")
        if self.memory_levels:
            if self.bytes_per_synapse is None:
                raise ValueError("[[memory_levels]] needs bytes_per_synapse (the working set "
                                 "picks the level)")
            sizes = [lv.capacity for lv in self.memory_levels]
            if sizes[-1] is not None:
                raise ValueError("the last of [[memory_levels]] must have no capacity (it "
                                 "holds any working set)")
            if any(c is None for c in sizes[:-1]):
                raise ValueError("every memory level but the last needs a capacity")
            bounded = [c.si for c in sizes[:-1]]
            if bounded != sorted(bounded) or len(set(bounded)) != len(bounded):
                raise ValueError("[[memory_levels]] must be listed smallest first")

    def _check_mesh(self) -> None:
        mesh = [self.mesh_tiles_x, self.mesh_tiles_y]
        if any(m is not None for m in mesh) and any(m is None for m in mesh):
            raise ValueError("mesh_tiles_x and mesh_tiles_y go together")
        if self.mesh_tiles_x is not None and self.cores_per_chip is not None:
            tiles = int(self.mesh_tiles_x.si) * int(self.mesh_tiles_y.si)
            per_tile = int(self.cores_per_tile.si) if self.cores_per_tile is not None else 1
            if tiles * per_tile < int(self.cores_per_chip.si):
                raise ValueError(f"mesh_tiles_x x mesh_tiles_y x cores_per_tile = "
                                 f"{tiles * per_tile} slots cannot hold cores_per_chip "
                                 f"{int(self.cores_per_chip.si)}")

    # ------------------------------------------------------------ energy terms
    def term_statement(self, term: str) -> TermStatement | None:
        """How this profile accounts for ``term`` when it has no numbers of its own.

        None when the profile prices the term; the explicit ``[terms]`` statement when
        there is one; else "not modelled" because the profile gives no figure (a term is
        never counted as 0 in silence).
        """
        if term not in ENERGY_TERMS:
            raise ValueError(f"unknown energy term {term!r}; terms: {', '.join(ENERGY_TERMS)}")
        if any(getattr(self, k) is not None for k in _TERM_FIELDS[term]):
            return None
        for statement in self.terms:
            if statement.term == term:
                return statement
        return TermStatement(term, "not modelled",
                             f"profile {self.name!r} gives no figure for it "
                             f"({' / '.join(_TERM_FIELDS[term])})")

    def mesh(self) -> tuple[int, int, int] | None:
        """``(cores_per_tile, tiles_x, tiles_y)`` of the chip's router mesh, or None."""
        if self.mesh_tiles_x is None:
            return None
        per_tile = int(self.cores_per_tile.si) if self.cores_per_tile is not None else 1
        return per_tile, int(self.mesh_tiles_x.si), int(self.mesh_tiles_y.si)

    # --------------------------------------------------------------- capacity
    @property
    def synapse_capacity_per_core(self) -> int | None:
        """Synapses per core: the published count, else synaptic memory / weight bits."""
        if self.synapses_per_core is not None:
            return int(self.synapses_per_core.si)
        if self.synaptic_memory_bits_per_core is not None and self.weight_bits is not None:
            return int(self.synaptic_memory_bits_per_core.si // self.weight_bits.si)
        return None

    def capacity(self) -> dict[str, int | None]:
        """Integer capacity limits for placement (None: not published / not applicable)."""
        def as_int(q: Quantity | None) -> int | None:
            return None if q is None else int(q.si)
        return {
            "neurons_per_core": as_int(self.neurons_per_core),
            "synapses_per_core": self.synapse_capacity_per_core,
            "cores_per_chip": as_int(self.cores_per_chip),
            "max_fan_in": as_int(self.max_fan_in),
            "max_fan_out": as_int(self.max_fan_out),
            "weight_bits": as_int(self.weight_bits),
        }

    def cores_needed(self, n_neurons: int, n_synapses: int) -> int | None:
        """Lower bound on cores: ``max(ceil(N / neurons_per_core), ceil(S / synapses_per_core))``.

        A placement (which respects per-core packing) can only need more. None for a
        profile without capacity data.
        """
        cap = self.capacity()
        if cap["neurons_per_core"] is None or cap["synapses_per_core"] is None:
            return None
        if n_neurons < 0 or n_synapses < 0:
            raise ValueError("n_neurons and n_synapses must be non-negative")
        return max(math.ceil(n_neurons / cap["neurons_per_core"]),
                   math.ceil(n_synapses / cap["synapses_per_core"]))

    def has_estimates(self) -> bool:
        """True when any number of this profile is an estimate rather than a published figure."""
        return any(q.estimate for q in self.quantities().values()) or any(
            q.estimate for lv in self.memory_levels
            for q in (lv.energy_per_access, lv.capacity) if q is not None)

    def quantities(self) -> dict[str, Quantity]:
        return {k: getattr(self, k) for k in _QUANTITY_FIELDS if getattr(self, k) is not None}

    def memory_level_for(self, working_set_bits: float) -> MemoryLevel | None:
        """The smallest memory level that holds ``working_set_bits`` (None without levels)."""
        for level in self.memory_levels:
            if level.capacity is None or working_set_bits <= level.capacity.si:
                return level
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (for reports)."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "technology": self.technology, "description": self.description,
                "references": list(self.references),
                "quantities": {k: q.as_dict() for k, q in self.quantities().items()},
                "memory_levels": [lv.as_dict() for lv in self.memory_levels],
                "terms": {t.term: {"status": t.status, "reason": t.reason} for t in self.terms}}
