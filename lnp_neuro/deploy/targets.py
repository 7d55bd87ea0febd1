"""Deployment targets: the data files in ``targets/`` and the checks that a target can run.

A target names a back end (how the network is executed), a numeric mode and the hardware
profile whose energy and capacity figures apply. The files ship inside the wheel as the
data package ``lnp_neuro.targets``; a user may also pass the path of a target file of
their own. A target's ``profile`` is a shipped profile's name (``"loihi2"``) or the path of
a profile ``.toml`` file of the user's own, relative to the target file; it is checked when
the target is loaded, so a missing or broken profile is refused before any computation.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from ..engines.base import TargetUnavailable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Target", "TargetUnavailable", "load_target", "list_targets", "BACKENDS", "MODES"]

BACKENDS = ("native", "lava", "lava-loihi", "norse")
MODES = ("fixed", "float")
_FIELDS = {"name": str, "description": str, "backend": str, "mode": str, "profile": str}


@dataclass(frozen=True)
class Target:
    """One deployment target.

    Attributes
    ----------
    name : the name users type (``--target NAME``), equal to the file's stem.
    description : one line for ``--list-targets``.
    backend : ``native`` (lnp_neuro.engines.simulator), ``lava`` (Lava CPU simulation),
        ``lava-loihi`` (a physical Loihi 2 through Intel's lava-loihi) or ``norse``.
    mode : ``fixed`` (Loihi integer arithmetic) or ``float``.
    profile : the hardware profile for energy and core mapping: a shipped profile's name
        (``hardware_profiles/``) or the absolute path of a profile file.
    source : the file the target was read from.
    """

    name: str
    description: str
    backend: str
    mode: str
    profile: str
    source: str = ""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"target {self.name!r} ({self.source}): backend must be one of "
                             f"{', '.join(BACKENDS)}, got {self.backend!r}")
        if self.mode not in MODES:
            raise ValueError(f"target {self.name!r} ({self.source}): mode must be one of "
                             f"{', '.join(MODES)}, got {self.mode!r}")
        if self.backend == "norse" and self.mode != "float":
            raise ValueError(f"target {self.name!r} ({self.source}): the norse back end runs "
                             f"in float mode only")

    def availability(self) -> str | None:
        """None when the target can run here, else the reason it cannot."""
        if self.backend == "native":
            return None
        if self.backend == "norse":
            missing = [m for m in ("torch", "norse") if importlib.util.find_spec(m) is None]
            return (f"target {self.name!r} needs {' and '.join(missing)} (run `make install`)"
                    if missing else None)
        if importlib.util.find_spec("lava") is None:
            return f"target {self.name!r} needs lava-nc 0.10.0 (run `make install`)"
        if self.backend == "lava-loihi":
            try:
                importlib.metadata.distribution("lava-loihi")
            except importlib.metadata.PackageNotFoundError:
                return (f"target {self.name!r} runs on a physical Loihi 2 and needs Intel's "
                        f"lava-loihi extension, which is not installed (it is distributed to "
                        f"Intel Neuromorphic Research Community members only). Use "
                        f"--target loihi-sim for a bit-accurate simulation of the same "
                        f"fixed-point arithmetic on this CPU.")
        return None

    def hardware_profile(self):
        """The :class:`lnp_neuro.hardware.profiles.HardwareProfile` this target is priced with."""
        from ..hardware.profiles import load_profile
        return load_profile(self.profile)

    def require_available(self) -> None:
        reason = self.availability()
        if reason:
            raise TargetUnavailable(reason)


def _parse(path: Path, text: str) -> Target:
    """Validate one target file; ``path`` names it in errors and fixes the expected name."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    missing = [k for k in _FIELDS if k not in data]
    if missing:
        raise ValueError(f"{path}: target file is missing field(s) {', '.join(missing)}")
    for key, typ in _FIELDS.items():
        if not isinstance(data[key], typ):
            raise ValueError(f"{path}: field {key!r} must be a {typ.__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}")
    if data["name"] != path.stem:
        raise ValueError(f"{path}: name {data['name']!r} must equal the file name {path.stem!r}")
    data["profile"] = _resolve_profile(path, data["profile"])
    return Target(source=str(path), **data)


def _resolve_profile(target_path: Path, profile: str) -> str:
    """A shipped profile's name as it is, or a profile file's absolute path.

    A value with a path separator or ending in ``.toml`` is a file, relative to the target
    file's folder unless absolute; it must exist and pass the profile schema. Errors name
    the target file and its ``profile`` field.
    """
    from ..hardware.profiles import ProfileError, list_profiles, load_profile

    if "/" in profile or "\\" in profile or profile.endswith(".toml"):
        file = Path(profile).expanduser()
        if not file.is_absolute():
            file = target_path.parent / file
        if not file.is_file():
            raise ValueError(f"{target_path}: field 'profile': no such profile file {file}")
        try:
            load_profile(file)
        except (ProfileError, OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{target_path}: field 'profile': {exc}") from None
        return str(file.resolve())
    shipped = list_profiles()
    if profile not in shipped:
        raise ValueError(f"{target_path}: field 'profile': unknown profile {profile!r}; shipped "
                         f"profiles: {', '.join(shipped)} (or the path of a profile .toml file, "
                         f"relative to the target file)")
    return profile


def _builtin_files() -> dict:
    root = importlib.resources.files("lnp_neuro.targets")
    return {Path(entry.name).stem: entry for entry in root.iterdir()
            if entry.name.endswith(".toml")}


def list_targets() -> list[Target]:
    """All built-in targets, sorted by name."""
    return [load_target(name) for name in sorted(_builtin_files())]


def load_target(name_or_path: str | Path) -> Target:
    """A built-in target by name, or a target file by path."""
    builtin = _builtin_files()
    key = str(name_or_path)
    if key in builtin:
        return _parse(Path(str(builtin[key])), builtin[key].read_text(encoding="utf-8"))
    path = Path(key)
    if path.suffix != ".toml" or not path.is_file():
        raise ValueError(f"unknown target {key!r}; known targets: {', '.join(sorted(builtin))} "
                         f"(or the path of a target .toml file)")
    return _parse(path, path.read_text(encoding="utf-8"))
