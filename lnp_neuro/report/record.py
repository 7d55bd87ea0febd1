"""The record of one ``lnp-deploy`` run: a typed, versioned structure behind ``report.json``.

:func:`lnp_neuro.deploy.run_deploy` builds a :class:`RunRecord` and writes it
(:meth:`RunRecord.write`); :mod:`lnp_neuro.report.render` reads it back
(:meth:`RunRecord.from_dict`) and tests construct it, so the three cannot drift apart.
Validation lives in ``__post_init__`` (the style of NIR's node dataclasses): a field of
the wrong type, a negative count or an unknown mode is refused with an error naming the
field, and, when read from a file, the file.

Versions (``record_version``):

- 1: the unversioned ``report.json`` of earlier releases (no ``record_version`` key; the
  report reads those as plain JSON, field types checked by
  :func:`lnp_neuro.report.fields.check_report_fields`);
- 2: this structure; adds ``parity_reference`` (the engine the target was compared
  with) and ``deployed`` (the hand-over file, its neuron count and where the original
  neuron ids are).

``report.json`` holds :meth:`RunRecord.to_json`: a non-finite number is written as
``null`` and ``null_reasons`` says why (strict JSON).
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._util.bounded_json import loads_bounded
from .._util.io import atomic_write, strict_json

__all__ = ["RunRecord", "RUN_RECORD_VERSION"]

RUN_RECORD_VERSION = 2

_NUMBER, _INT, _TEXT, _OBJECT, _LIST = "a number", "an integer", "text", "an object", "a list"
_JSON_NAMES = {dict: "an object", list: "a list", str: "text", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}


def _is(value: Any, kind: str) -> bool:
    # numpy scalars count (deploy computes with them); JSON true/false never does.
    if kind == _NUMBER:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if kind == _INT:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _OBJECT:
        return isinstance(value, dict)
    return isinstance(value, list)


def _kind(kind: str, *, nullable: bool = False, omit_if_none: bool = False):
    """A record field of JSON type ``kind``; ``nullable`` fields may be None (undefined
    for the run), ``omit_if_none`` ones are left out of report.json when None."""
    meta = {"kind": kind, "nullable": nullable or omit_if_none, "omit": omit_if_none}
    if omit_if_none:
        return field(default=None, metadata=meta)
    return field(metadata=meta)


@dataclass(eq=False)
class RunRecord:
    """One deployment: what ran where, and what it cost (README, "Outputs").

    Counts are of the deployed network (``*_after``: the compacted graph in
    ``network.nir``) and of the starting network (``*_before``). ``parity`` is the number
    of spike mismatches between the target's engine and ``parity_reference``, an
    independent engine run on the same graph and input (:mod:`lnp_neuro.engines.base`).
    """

    label: str = _kind(_TEXT)
    target: str = _kind(_TEXT)
    backend: str = _kind(_TEXT)          # the engine that ran the target
    mode: str = _kind(_TEXT)
    profile: str = _kind(_TEXT)
    steps: int = _kind(_INT)
    dt: float = _kind(_NUMBER)
    neurons_before: int = _kind(_INT)
    neurons_after: int = _kind(_INT)
    synapses_before: int = _kind(_INT)
    synapses_after: int = _kind(_INT)
    sops_dense: float = _kind(_NUMBER)
    sops_pruned: float = _kind(_NUMBER)
    sop_ratio: float | None = _kind(_NUMBER, nullable=True)
    energy_joules: float | None = _kind(_NUMBER, nullable=True)
    energy_by_profile: dict = _kind(_OBJECT)
    cores_used: int | None = _kind(_INT, nullable=True)
    mapping: dict | None = _kind(_OBJECT, nullable=True)
    parity: int = _kind(_INT)
    parity_reference: str = _kind(_TEXT)
    spikes_before: int = _kind(_INT)
    spikes_after: int = _kind(_INT)
    lambda_max_before: float | None = _kind(_NUMBER, nullable=True)
    lambda_max_after: float | None = _kind(_NUMBER, nullable=True)
    lambda_max_stderr_before: float | None = _kind(_NUMBER, nullable=True)
    lambda_max_stderr_after: float | None = _kind(_NUMBER, nullable=True)
    stability: dict = _kind(_OBJECT)
    activity: dict = _kind(_OBJECT)
    task: dict | None = _kind(_OBJECT, nullable=True)
    history: list = _kind(_LIST)
    baseline_budget: dict | None = _kind(_OBJECT, nullable=True)
    energy: dict = _kind(_OBJECT)
    input: dict = _kind(_OBJECT)
    options: dict = _kind(_OBJECT)
    deployed: dict = _kind(_OBJECT)
    timings_seconds: dict = _kind(_OBJECT)
    seconds: float | None = _kind(_NUMBER, nullable=True)
    quantisation: dict | None = _kind(_OBJECT, omit_if_none=True)
    #: NeuroBench's metrics of the deployed run (lnp_neuro.hardware.neurobench).
    neurobench: dict | None = _kind(_OBJECT, omit_if_none=True)
    null_reasons: dict | None = _kind(_OBJECT, omit_if_none=True)
    #: With --data: energy of one inference per profile (J), and its time (s).
    energy_per_inference_joules: dict | None = _kind(_OBJECT, omit_if_none=True)
    latency_per_inference_seconds: float | None = _kind(_NUMBER, omit_if_none=True)
    #: What reading a --network file warned about (a semantics it cannot represent).
    import_warnings: list | None = _kind(_LIST, omit_if_none=True)
    record_version: int = field(default=RUN_RECORD_VERSION, metadata={"kind": _INT})
    #: Keys of a newer record this version does not know, kept as read.
    extra: dict = field(default_factory=dict, metadata={"kind": None})

    def __post_init__(self) -> None:
        self._check(source=None)

    def _check(self, source: str | None) -> None:
        where = "" if source is None else f"{source}: "
        for f in fields(self):
            kind = f.metadata.get("kind")
            if kind is None:
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("nullable"):
                continue
            if not _is(value, kind):
                got = _JSON_NAMES.get(type(value), type(value).__name__)
                raise ValueError(f"{where}run record field {f.name!r} must be {kind}"
                                 f"{' or null' if f.metadata.get('nullable') else ''}, got "
                                 f"{got} ({str(value)[:40]!r})")
        if self.record_version != RUN_RECORD_VERSION:
            raise ValueError(f"{where}run record version {self.record_version} is not the "
                             f"one this lnp_neuro reads ({RUN_RECORD_VERSION})")
        if self.mode not in ("fixed", "float"):
            raise ValueError(f"{where}run record field 'mode' must be 'fixed' or 'float', "
                             f"got {self.mode!r}")
        for name in ("steps", "neurons_before", "neurons_after", "synapses_before",
                     "synapses_after", "parity", "spikes_before", "spikes_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{where}run record field {name!r} must be >= 0, got "
                                 f"{getattr(self, name)}")
        if self.dt <= 0:
            raise ValueError(f"{where}run record field 'dt' must be positive, got {self.dt}")
        if self.parity_reference == self.backend:
            raise ValueError(f"{where}run record: the parity reference must be another "
                             f"engine than the one that ran ({self.backend!r})")
        if not isinstance(self.extra, dict):
            raise ValueError(f"{where}run record field 'extra' must be a dict")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The report.json object (numpy values and non-finite floats not yet converted)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit"):
                continue
            out[f.name] = value
        out.update(self.extra)
        return out

    def to_json(self) -> str:
        """Strict JSON text: non-finite numbers become null, ``null_reasons`` says why."""
        reasons: dict[str, str] = {}
        data = strict_json(self.to_dict(), reasons)
        if reasons:
            data["null_reasons"] = {**(data.get("null_reasons") or {}), **reasons}
        return json.dumps(data, indent=2, allow_nan=False)

    def json_object(self) -> dict[str, Any]:
        """The object report.json holds (what :meth:`to_json` writes, parsed back)."""
        return json.loads(self.to_json())

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` atomically."""
        path = Path(path)
        with atomic_write(path) as tmp:
            tmp.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "run record") -> "RunRecord":
        """Validate a report.json object; errors name ``source`` and the field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: must hold a JSON object, got "
                             f"{_JSON_NAMES.get(type(data), type(data).__name__)}")
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        version = data.get("record_version")
        if not _is(version, _INT) or version != RUN_RECORD_VERSION:
            raise ValueError(f"{source}: record_version {version!r} is not the one this "
                             f"lnp_neuro reads ({RUN_RECORD_VERSION})")
        missing = [name for name, f in known.items() if name not in data
                   and not f.metadata.get("omit") and name != "record_version"]
        if missing:
            raise ValueError(f"{source}: run record is missing field(s) {', '.join(missing)}")
        record = cls.__new__(cls)
        for name, f in known.items():
            setattr(record, name, data.get(name))
        record.extra = {k: v for k, v in data.items() if k not in known}
        record._check(source=str(source))
        return record

    @classmethod
    def read(cls, path: str | Path) -> "RunRecord":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        data = loads_bounded(text, str(path))
        return cls.from_dict(data, path)
