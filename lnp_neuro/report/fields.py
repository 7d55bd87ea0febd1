"""The field types of an ``lnp-deploy`` run's ``report.json``, checked before a report is drawn.

``lnp-deploy report RUN...`` reads report.json files that may have been edited, truncated
or written by another version. A field of the wrong type (a list where the energy per
profile should be an object, text where a count should be) is refused with an error
naming the file and the field, instead of failing halfway through the rendering. Missing
fields and ``null`` values are allowed: the report shows them as not available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["check_report_fields", "REPORT_FIELD_TYPES"]

_NUMBER = "number"
_TEXT = "text"
_OBJECT = "object"
_LIST = "list"

#: report.json field -> the JSON type it must have when present and not null.
REPORT_FIELD_TYPES: dict[str, str] = {
    **{k: _TEXT for k in ("label", "target", "backend", "mode", "profile",
                          "parity_reference")},
    **{k: _NUMBER for k in (
        "steps", "dt", "neurons_before", "neurons_after", "synapses_before", "synapses_after",
        "sops_dense", "sops_pruned", "sop_ratio", "energy_joules", "spikes_before",
        "spikes_after", "lambda_max_before", "lambda_max_after", "cores_used", "parity",
        "seconds")},
    **{k: _OBJECT for k in ("energy_by_profile", "energy", "quantisation", "mapping",
                            "input", "options", "timings_seconds", "null_reasons")},
    "history": _LIST,
}

_JSON_NAMES = {dict: "an object", list: "a list", str: "text", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}


def _is(value: Any, kind: str) -> bool:
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _OBJECT:
        return isinstance(value, dict)
    return isinstance(value, list)


def check_report_fields(report: Any, source: str | Path) -> None:
    """Raise ``ValueError`` naming ``source`` and the field when a field has the wrong type.

    Checks the top-level fields of :data:`REPORT_FIELD_TYPES`, the values of
    ``energy_by_profile`` (numbers), the entries of ``history`` (objects) and
    ``energy.profiles`` (an object of objects).
    """
    if not isinstance(report, dict):
        raise ValueError(f"{source}: must hold a JSON object, got "
                         f"{_JSON_NAMES.get(type(report), type(report).__name__)}")

    def refuse(field: str, wanted: str, value: Any) -> ValueError:
        got = _JSON_NAMES.get(type(value), type(value).__name__)
        return ValueError(f"{source}: field {field!r} must be {wanted} or null, got {got} "
                          f"({str(value)[:40]!r})")

    wanted_names = {_NUMBER: "a number", _TEXT: "text", _OBJECT: "an object", _LIST: "a list"}
    for field, kind in REPORT_FIELD_TYPES.items():
        value = report.get(field)
        if value is not None and not _is(value, kind):
            raise refuse(field, wanted_names[kind], value)
    for name, joules in (report.get("energy_by_profile") or {}).items():
        if joules is not None and not _is(joules, _NUMBER):
            raise refuse(f"energy_by_profile.{name}", "a number", joules)
    for i, entry in enumerate(report.get("history") or []):
        if not isinstance(entry, dict):
            raise refuse(f"history[{i}]", "an object", entry)
    profiles = (report.get("energy") or {}).get("profiles")
    if profiles is not None:
        if not isinstance(profiles, dict):
            raise refuse("energy.profiles", "an object", profiles)
        for name, entry in profiles.items():
            if entry is not None and not isinstance(entry, dict):
                raise refuse(f"energy.profiles.{name}", "an object", entry)
