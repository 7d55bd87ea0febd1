"""Hardware profiles: energy per operation and capacity of neuromorphic chips (design section 5).

One TOML file per chip lives in ``hardware_profiles/`` (shipped as the data package
``lnp_neuro.hardware_profiles``). Every number is a table with its unit and published
source, so a figure can never lose where it came from::

    name = "loihi"                      # equals the file stem
    title = "Intel Loihi"
    kind = "neuromorphic"               # or "reference" (a conventional digital datapath)
    description = "..."

    [energy_per_sop]
    value = 23.6
    unit = "pJ"
    source = "Davies et al. 2018, IEEE Micro 38(1):82-99, Table 1"
    # estimate = true                   # a number without a published source ...
    # reasoning = "..."                 # ... must say how it was derived

Fields (all optional unless marked):

===============================  ============  ==============================================
field                            units         meaning
===============================  ============  ==============================================
energy_per_sop (required)        J .. fJ       one spike delivered through one synapse
energy_per_neuron_update         J .. fJ       one neuron's state update in one time step
energy_per_spike                 J .. fJ       one spike emitted / routed (per spike, not
                                               per synapse)
energy_per_mac                   J .. fJ       one multiply-accumulate (reference datapaths;
                                               required when kind = "reference")
static_power                     W .. nW       static/idle power of one chip
neurons_per_core                 neurons       neuron slots per core (*)
synapses_per_core                synapses      synapses one core can store (*, or the next two)
synaptic_memory_bits_per_core    bits, KiB     synaptic memory per core (with weight_bits)
weight_bits                      bits          synaptic memory one synapse occupies
cores_per_chip                   cores         (*)
max_fan_in, max_fan_out          synapses      per-neuron limits where published
===============================  ============  ==============================================

(*) required when kind = "neuromorphic". :func:`load_profile` rejects a profile with a
missing required field, an unknown field, a bare (unitless) number, an unknown unit or a
number without a source, naming the file and the field.
"""

from __future__ import annotations

import importlib.resources
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Quantity", "HardwareProfile", "ProfileError", "load_profile", "list_profiles",
           "validate_profile", "PROFILE_PACKAGE"]

PROFILE_PACKAGE = "lnp_neuro.hardware_profiles"

_ENERGY = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15}
_POWER = {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "µW": 1e-6, "nW": 1e-9}
_BITS = {"bits": 1.0, "bytes": 8.0, "KiB": 8.0 * 1024, "MiB": 8.0 * 1024 ** 2}

# field -> (SI unit, accepted units with their factor to SI, integer count?)
_QUANTITY_FIELDS: dict[str, tuple[str, dict[str, float], bool]] = {
    "energy_per_sop": ("J", _ENERGY, False),
    "energy_per_neuron_update": ("J", _ENERGY, False),
    "energy_per_spike": ("J", _ENERGY, False),
    "energy_per_mac": ("J", _ENERGY, False),
    "static_power": ("W", _POWER, False),
    "neurons_per_core": ("neurons", {"neurons": 1.0}, True),
    "synapses_per_core": ("synapses", {"synapses": 1.0}, True),
    "synaptic_memory_bits_per_core": ("bits", _BITS, True),
    "weight_bits": ("bits", {"bits": 1.0}, True),
    "cores_per_chip": ("cores", {"cores": 1.0}, True),
    "max_fan_in": ("synapses", {"synapses": 1.0}, True),
    "max_fan_out": ("synapses", {"synapses": 1.0}, True),
}
_TEXT_FIELDS = {"name", "title", "kind", "description", "technology"}
_LIST_FIELDS = {"references"}
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
class HardwareProfile:
    """Energy and capacity figures of one chip (or of a reference digital datapath).

    The synaptic-operation energy prices the SOP count of :mod:`lnp_neuro.energy`
    (``E = E_sop * SOPs``, Chakraborty et al. ICLR 2024 Suppl. A.5); the capacity fields
    bound how a network is placed on cores (:mod:`lnp_neuro.mapping`).
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
        return any(q.estimate for q in self.quantities().values())

    def quantities(self) -> dict[str, Quantity]:
        return {k: getattr(self, k) for k in _QUANTITY_FIELDS if getattr(self, k) is not None}

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (for reports)."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "technology": self.technology, "description": self.description,
                "references": list(self.references),
                "quantities": {k: q.as_dict() for k, q in self.quantities().items()}}


# ---------------------------------------------------------------------- loading
def _fail(where: str, field_name: str | None, message: str) -> ProfileError:
    if field_name is None:
        return ProfileError(f"{where}: {message}")
    return ProfileError(f"{where}: field '{field_name}' {message}")


def _quantity(where: str, key: str, raw: Any) -> Quantity:
    si_unit, units, integer = _QUANTITY_FIELDS[key]
    if isinstance(raw, bool) or isinstance(raw, (int, float)):
        raise _fail(where, key, f"is a bare number ({raw!r}) without a unit; write it as a "
                                f"table with value, unit (one of {sorted(units)}) and source")
    if not isinstance(raw, dict):
        raise _fail(where, key, f"must be a table with value, unit and source, got "
                                f"{type(raw).__name__}")
    unknown = sorted(set(raw) - _QUANTITY_KEYS)
    if unknown:
        raise _fail(where, key, f"has unknown key(s) {unknown}; allowed: {sorted(_QUANTITY_KEYS)}")
    if "value" not in raw:
        raise _fail(where, key, "has no value")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, key, f"value must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise _fail(where, key, f"value must be a positive finite number, got {value!r}")
    if "unit" not in raw:
        raise _fail(where, key, f"has no unit (one of {sorted(units)})")
    unit = raw["unit"]
    if unit not in units:
        raise _fail(where, key, f"has unit {unit!r}; allowed: {sorted(units)}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _fail(where, key, "has no source (the paper, table and page it comes from)")
    estimate = raw.get("estimate", False)
    if not isinstance(estimate, bool):
        raise _fail(where, key, f"estimate must be true or false, got {estimate!r}")
    reasoning = raw.get("reasoning", "")
    if not isinstance(reasoning, str) or (estimate and not reasoning.strip()):
        raise _fail(where, key, "is marked estimate = true but has no reasoning")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise _fail(where, key, "note must be text")
    si = float(value) * units[unit]
    if integer and (abs(si - round(si)) > 1e-9 * max(1.0, si)):
        raise _fail(where, key, f"must be a whole number of {si_unit}, got {value} {unit}")
    return Quantity(value=float(value), unit=unit, si=round(si) if integer else si,
                    si_unit=si_unit, source=source.strip(), estimate=estimate,
                    reasoning=reasoning.strip(), note=note.strip())


def validate_profile(data: dict[str, Any], where: str = "<profile>",
                     expected_name: str | None = None) -> HardwareProfile:
    """Check a parsed profile against the schema and build the :class:`HardwareProfile`.

    ``where`` names the file in every error; ``expected_name`` (the file stem) must equal
    the ``name`` field.
    """
    if not isinstance(data, dict):
        raise _fail(where, None, "a profile must be a TOML table")
    known = _TEXT_FIELDS | _LIST_FIELDS | set(_QUANTITY_FIELDS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(where, unknown[0], f"is not a profile field (allowed: {sorted(known)})")
    for key in ("name", "title", "kind", "description"):
        if key not in data:
            raise _fail(where, key, "is missing")
    for key in _TEXT_FIELDS & set(data):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _fail(where, key, "must be non-empty text")
    if data["kind"] not in _KINDS:
        raise _fail(where, "kind", f"must be one of {_KINDS}, got {data['kind']!r}")
    if expected_name is not None and data["name"] != expected_name:
        raise _fail(where, "name", f"is {data['name']!r} but the file is {expected_name}.toml; "
                                   f"they must match")
    refs = data.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) and r.strip() for r in refs):
        raise _fail(where, "references", "must be a list of citation strings")
    if "energy_per_sop" not in data:
        raise _fail(where, "energy_per_sop", "is missing")
    if data["kind"] == "neuromorphic":
        for key in ("neurons_per_core", "cores_per_chip"):
            if key not in data:
                raise _fail(where, key, "is missing (required for a neuromorphic profile)")
        if "synapses_per_core" not in data:
            for key in ("synaptic_memory_bits_per_core", "weight_bits"):
                if key not in data:
                    raise _fail(where, key, "is missing (a neuromorphic profile needs "
                                            "synapses_per_core, or synaptic_memory_bits_per_core "
                                            "with weight_bits)")
    elif "energy_per_mac" not in data:
        raise _fail(where, "energy_per_mac", "is missing (required for a reference profile)")
    quantities = {key: _quantity(where, key, data[key]) for key in _QUANTITY_FIELDS if key in data}
    try:
        return HardwareProfile(
            name=data["name"], title=data["title"], kind=data["kind"],
            description=data["description"], technology=data.get("technology", ""),
            references=tuple(refs), path=where, **quantities)
    except ValueError as exc:
        raise _fail(where, None, str(exc)) from None


def _package_dir():
    return importlib.resources.files(PROFILE_PACKAGE)


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(entry.name[:-5] for entry in _package_dir().iterdir()
                  if entry.name.endswith(".toml") and entry.is_file())


def load_profile(name_or_path: str | Path) -> HardwareProfile:
    """Load a shipped profile by name (``"loihi2"``) or any profile file by path.

    Raises :class:`ProfileError` (a ValueError) naming the file and the field when the
    file breaks the schema, and ``FileNotFoundError`` listing the shipped names when a
    name is unknown.
    """
    if isinstance(name_or_path, Path) or str(name_or_path).endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such profile file")
        text, where, stem = path.read_text(encoding="utf-8"), str(path), path.stem
    elif isinstance(name_or_path, str):
        if not name_or_path or "/" in name_or_path or "\\" in name_or_path:
            raise ValueError(f"name_or_path must be a profile name or a .toml path, got "
                             f"{name_or_path!r}")
        entry = _package_dir() / f"{name_or_path}.toml"
        if not entry.is_file():
            raise FileNotFoundError(f"no hardware profile named {name_or_path!r}; shipped: "
                                    f"{', '.join(list_profiles())}")
        text, where, stem = entry.read_text(encoding="utf-8"), f"{name_or_path}.toml", name_or_path
    else:
        raise ValueError(f"name_or_path must be a profile name or a path, got "
                         f"{type(name_or_path).__name__}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML ({exc})") from None
    return validate_profile(data, where, expected_name=stem)


def sources_markdown(names: list[str] | None = None) -> str:
    """Markdown table of every number of every profile with its unit and source.

    ``hardware_profiles/README.md`` embeds this text; a test keeps the two in step.
    """
    rows = []
    for name in names if names is not None else list_profiles():
        profile = load_profile(name)
        rows.append(f"### {profile.name} — {profile.title}\n")
        rows.append(f"{profile.description}\n")
        if profile.technology:
            rows.append(f"Technology: {profile.technology}.\n")
        rows.append("| field | value | source | estimate | note |")
        rows.append("|---|---|---|---|---|")
        for key, q in profile.quantities().items():
            source = q.source.replace("|", "/")
            extra = f" Reasoning: {q.reasoning}" if q.estimate else ""
            note = q.note.replace("|", "/") or "-"
            rows.append(f"| {key} | {q.value:g} {q.unit} | {source} | "
                        f"{'yes.' + extra if q.estimate else 'no'} | {note} |")
        if profile.references:
            rows.append("\nReferences:\n")
            rows.extend(f"- {ref}" for ref in profile.references)
        rows.append("")
    return "\n".join(rows).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the README's sources section
    print(sources_markdown(), end="")
