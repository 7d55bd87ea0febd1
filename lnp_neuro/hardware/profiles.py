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
energy_per_spike                 J .. fJ       extra cost of an update that emits a spike
                                               (per spike, not per synapse)
energy_per_mac                   J .. fJ       one multiply-accumulate (reference datapaths;
                                               required when kind = "reference")
energy_per_spike_message         J .. fJ       one spike message delivered to one core
                                               inside its tile (routing)
energy_per_hop_ew, _ns           J .. fJ       one mesh hop east-west / north-south
energy_per_chip_hop              J .. fJ       one chip-to-chip link crossing
latency_per_spike_message        s .. ps       latency of a within-tile message
latency_per_hop_ew, _ns          s .. ps       latency of one mesh hop
static_power                     W .. nW       static/idle power of one chip
neurons_per_core                 neurons       neuron slots per core (*)
synapses_per_core                synapses      synapses one core can store (*, or the next two)
synaptic_memory_bits_per_core    bits, KiB     synaptic memory per core (with weight_bits)
weight_bits                      bits          synaptic memory one synapse occupies
cores_per_chip                   cores         (*)
cores_per_tile                   cores         cores sharing one mesh router (default 1)
mesh_tiles_x, mesh_tiles_y       tiles         the chip's router mesh (for hop counts)
max_fan_in, max_fan_out          synapses      per-neuron limits where published
memory_accesses_per_sop, ..._per_neuron_update, ..._per_spike, ..._per_mac
                                 accesses      memory words a von-Neumann machine moves per
                                               operation (priced with memory_levels)
bytes_per_synapse, bytes_per_neuron  bytes     working-set size, which picks the memory level
===============================  ============  ==============================================

(*) required when kind = "neuromorphic". ``[[memory_levels]]`` (von-Neumann profiles) lists
the memory hierarchy smallest first, each with ``name``, ``capacity`` (bits .. MiB; none on
the last level) and ``energy_per_access``. ``[terms]`` states, for an energy term the
profile does not price with its own numbers, whether it is ``included`` in another figure
or ``not modelled``, with the reason; a term without numbers and without a statement is
reported as not modelled, never as 0. :func:`load_profile` rejects a profile with a
missing required field, an unknown field, a bare (unitless) number, an unknown unit or a
number without a source, naming the file and the field.
"""

from __future__ import annotations

import importlib.resources
import math
import sys
from pathlib import Path
from typing import Any

# The data classes and their fields; re-exported, callers import them from here.
from .profile_types import (_BITS, _ENERGY, _KINDS, _LIST_FIELDS, _QUANTITY_FIELDS,
                            _QUANTITY_KEYS, _TABLE_FIELDS, _TEXT_FIELDS, ENERGY_TERMS,
                            TERM_STATUSES, HardwareProfile, MemoryLevel, ProfileError, Quantity,
                            TermStatement)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Quantity", "MemoryLevel", "TermStatement", "HardwareProfile", "ProfileError",
           "load_profile", "list_profiles", "validate_profile", "PROFILE_PACKAGE",
           "ENERGY_TERMS", "TERM_STATUSES"]

PROFILE_PACKAGE = "lnp_neuro.hardware_profiles"


# ---------------------------------------------------------------------- loading
def _fail(where: str, field_name: str | None, message: str) -> ProfileError:
    if field_name is None:
        return ProfileError(f"{where}: {message}")
    return ProfileError(f"{where}: field '{field_name}' {message}")


def _quantity(where: str, key: str, raw: Any, *, label: str | None = None,
              spec: tuple[str, dict[str, float], bool] | None = None) -> Quantity:
    """One ``{value, unit, source}`` table; errors name ``label`` (default: the field)."""
    si_unit, units, integer = spec if spec is not None else _QUANTITY_FIELDS[key]
    key = label or key
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


def _memory_levels(where: str, raw: Any) -> tuple[MemoryLevel, ...]:
    """The ``[[memory_levels]]`` array of tables, each checked like a profile number."""
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise _fail(where, "memory_levels", "must be an array of tables ([[memory_levels]])")
    levels = []
    for i, entry in enumerate(raw):
        label = f"memory_levels[{i}]"
        unknown = sorted(set(entry) - {"name", "capacity", "energy_per_access"})
        if unknown:
            raise _fail(where, label, f"has unknown key(s) {unknown}; allowed: capacity, "
                                      f"energy_per_access, name")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(where, label, "needs a name (text)")
        if "energy_per_access" not in entry:
            raise _fail(where, f"{label}.energy_per_access", "is missing")
        energy = _quantity(where, "energy_per_access", entry["energy_per_access"],
                           label=f"{label}.energy_per_access", spec=("J", _ENERGY, False))
        capacity = None
        if "capacity" in entry:
            capacity = _quantity(where, "capacity", entry["capacity"],
                                 label=f"{label}.capacity", spec=("bits", _BITS, True))
        levels.append(MemoryLevel(name=name.strip(), energy_per_access=energy,
                                  capacity=capacity))
    return tuple(levels)


def _term_statements(where: str, raw: Any) -> tuple[TermStatement, ...]:
    """The ``[terms]`` table: ``term = {status = "included" | "not modelled", reason = "..."}``."""
    if not isinstance(raw, dict):
        raise _fail(where, "terms", "must be a table of term = {status, reason}")
    out = []
    for term, entry in raw.items():
        label = f"terms.{term}"
        if term not in ENERGY_TERMS:
            raise _fail(where, label, f"is not an energy term (terms: {', '.join(ENERGY_TERMS)})")
        if not isinstance(entry, dict) or set(entry) - {"status", "reason"}:
            raise _fail(where, label, "must be a table with status and reason only")
        status, reason = entry.get("status"), entry.get("reason")
        if status not in TERM_STATUSES:
            raise _fail(where, label, f"status must be one of {', '.join(TERM_STATUSES)}, got "
                                      f"{status!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise _fail(where, label, "needs a reason (text)")
        out.append(TermStatement(term, status, reason.strip()))
    return tuple(out)


def validate_profile(data: dict[str, Any], where: str = "<profile>",
                     expected_name: str | None = None) -> HardwareProfile:
    """Check a parsed profile against the schema and build the :class:`HardwareProfile`.

    ``where`` names the file in every error; ``expected_name`` (the file stem) must equal
    the ``name`` field.
    """
    if not isinstance(data, dict):
        raise _fail(where, None, "a profile must be a TOML table")
    known = _TEXT_FIELDS | _LIST_FIELDS | _TABLE_FIELDS | set(_QUANTITY_FIELDS)
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
    levels = _memory_levels(where, data.get("memory_levels", []))
    terms = _term_statements(where, data.get("terms", {}))
    try:
        return HardwareProfile(
            name=data["name"], title=data["title"], kind=data["kind"],
            description=data["description"], technology=data.get("technology", ""),
            references=tuple(refs), path=where, memory_levels=levels, terms=terms,
            **quantities)
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
        for i, level in enumerate(profile.memory_levels):
            for label, q in (("capacity", level.capacity),
                             ("energy_per_access", level.energy_per_access)):
                if q is None:
                    continue
                source = q.source.replace("|", "/")
                extra = f" Reasoning: {q.reasoning}" if q.estimate else ""
                rows.append(f"| memory_levels[{i}] ({level.name}) {label} | {q.value:g} "
                            f"{q.unit} | {source} | {'yes.' + extra if q.estimate else 'no'} "
                            f"| - |")
        rows.append("\nEnergy terms:\n")
        for term in ENERGY_TERMS:
            statement = profile.term_statement(term)
            text = ("priced with the numbers above" if statement is None
                    else f"{statement.status}: {statement.reason}")
            rows.append(f"- {term}: {text}")
        if profile.references:
            rows.append("\nReferences:\n")
            rows.extend(f"- {ref}" for ref in profile.references)
        rows.append("")
    return "\n".join(rows).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the README's sources section
    print(sources_markdown(), end="")
