"""Safe file output: atomic writes and output folders that never clobber a user's work.

- :func:`atomic_write`: one file, written beside its destination and renamed into place.
- a whole run's output as a transaction: :mod:`lnp_neuro._util.output_folder`.
- :func:`strict_json`: report dicts as strict JSON (RFC 8259 has no NaN / Infinity): a
  non-finite number becomes ``null`` and its reason is recorded beside it.
- Files and folders get the permissions the user's umask asks for (``mkstemp`` and
  ``mkdtemp`` alone would make them private, 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_write", "prepare_output_dir", "json_default", "strict_json",
           "strict_json_record", "current_umask", "apply_umask"]


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> None:
    """Give ``path`` the mode a plain ``open`` / ``mkdir`` would have (0666 / 0777 & ~umask)."""
    path = Path(path)
    base = 0o777 if path.is_dir() else 0o666
    os.chmod(path, base & ~current_umask())


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def prepare_output_dir(path: str | Path, force: bool = False) -> Path:
    """Create ``path`` for output; refuse an existing non-empty folder unless ``force``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise FileExistsError(
            f"output folder {path} exists and is not empty; pass --force to write into it "
            f"(files of the same name are replaced) or choose another --out")
    path.mkdir(parents=True, exist_ok=True)
    return path


def json_default(obj):
    """``json.dumps(default=...)`` for numpy scalars and arrays and paths in reports."""
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


# ----------------------------------------------------------------------- strict JSON
def strict_json(obj: Any, reasons: dict[str, str] | None = None, _where: str = "") -> Any:
    """``obj`` with every non-finite float replaced by ``None``; numpy values made plain.

    Each replaced value is recorded in ``reasons`` (if given) as ``{"a.b[3]": "NaN: ..."}``
    so the report can say why a number is missing. The result dumps with
    ``json.dumps(..., allow_nan=False)``.
    """
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): strict_json(v, reasons, f"{_where}.{k}" if _where else str(k))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v, reasons, f"{_where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist(), reasons, _where)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if math.isfinite(value):
            return value
        if reasons is not None:
            reasons[_where] = ("NaN: the quantity is undefined for this run (e.g. 0/0 or an "
                               "empty set)" if math.isnan(value) else
                               f"{'+' if value > 0 else '-'}Infinity: the quantity diverges "
                               f"for this run (e.g. a division by zero)")
        return None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return json_default(obj)


def strict_json_record(record: dict) -> dict:
    """:func:`strict_json` of a record (a report, a row) that says why a number is missing:
    when a value was replaced by ``None``, ``null_reasons`` maps its place to the reason."""
    reasons: dict[str, str] = {}
    out = strict_json(record, reasons)
    if reasons:
        out["null_reasons"] = reasons
    return out
