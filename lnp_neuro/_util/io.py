"""Safe file output: atomic writes and output folders that never clobber a user's work.

- :func:`atomic_write`: one file, written beside its destination and renamed into place.
- :class:`OutputFolder`: a whole run's output as a transaction. Files are written into a
  hidden staging folder beside ``--out`` and moved into place only when the run is
  complete; a lock stops two runs writing the same folder; a manifest records which files
  a run wrote, so ``--force`` replaces exactly those (stale plots included) and never a
  file the run did not write; input files inside the folder are protected; the location
  is checked for writability before any computation.
- :func:`strict_json`: report dicts as strict JSON (RFC 8259 has no NaN / Infinity): a
  non-finite number becomes ``null`` and its reason is recorded beside it.
- Files and folders get the permissions the user's umask asks for (``mkstemp`` and
  ``mkdtemp`` alone would make them private, 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, Iterable, Iterator

__all__ = ["atomic_write", "prepare_output_dir", "json_default", "OutputFolder",
           "OutputBusyError", "strict_json", "strict_json_record", "MANIFEST_NAME", "current_umask",
           "apply_umask"]

#: File in each output folder listing the files the run wrote (``--force`` replaces these).
MANIFEST_NAME = ".lnp-manifest.json"


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


# ------------------------------------------------------------------ output transaction
class OutputBusyError(FileExistsError):
    """Another run holds the lock of this output folder."""


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class OutputFolder:
    """A run's output folder, written as a transaction (module docstring).

    Parameters
    ----------
    path : the output folder (``--out``).
    force : replace the files an earlier run wrote there (its manifest), keep the rest.
    expected : names of files the run will write (checked against protected and foreign
        files before any computation; the final check covers every written file).
    protect : input files of the run; one inside ``path`` that the run would replace is an
        error up front.
    flag : the option naming ``path`` in messages (``--out``).

    Use as ``with OutputFolder(...) as staging: <write files into staging>``: on a normal
    exit the files move into ``path`` (the lock is held from ``__enter__`` to the end); on
    an exception or interrupt the staging folder is removed and ``path`` is as before.
    """

    def __init__(self, path: str | Path, *, force: bool = False,
                 expected: Iterable[str] = (), protect: Iterable[str | Path | None] = (),
                 flag: str = "--out"):
        self.path = Path(path)
        self.force = bool(force)
        self.expected = tuple(expected)
        self.protect = tuple(Path(p) for p in protect if p is not None)
        self.flag = flag
        self.staging: Path | None = None
        self._lock_fd: int | None = None
        self._lock_path: Path | None = None
        self._created: list[Path] = []
        self._previous: set[str] = set()

    # ---------------------------------------------------------------- checks and lock
    def _fail(self, message: str) -> ValueError:
        return ValueError(f"{self.flag} {self.path}: {message}")

    def _parent(self) -> Path:
        """Create the missing parents of ``path`` (remembered, removed again on abort)."""
        parent = self.path.absolute().parent
        missing = []
        probe = parent
        while not probe.exists():
            if probe.is_symlink():
                raise self._fail(f"{probe} is a broken symbolic link")
            missing.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            raise self._fail(f"lies under {probe}, which is a file, not a folder")
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                raise self._fail(f"cannot create {folder} ({_os_reason(exc)})") from None
            self._created.append(folder)
        return parent

    def _lock(self, parent: Path) -> None:
        import fcntl

        lock_path = parent / f".{self.path.name}.lock"
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise self._fail(f"the folder it is in is not writable ({_os_reason(exc)})"
                                 ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputBusyError(
                        f"{self.flag} {self.path}: another run is writing this folder (lock "
                        f"{lock_path}); wait for it to finish or choose another "
                        f"{self.flag}") from None
                raise
            # The holder before us may have unlinked the file after we opened it: the lock
            # only counts if it is on the file the path names now.
            try:
                same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._lock_fd, self._lock_path = fd, lock_path
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self._lock_path)  # while still holding it (see _lock)
        os.close(self._lock_fd)
        self._lock_fd = None

    def _read_manifest(self) -> set[str]:
        manifest = self.path / MANIFEST_NAME
        if not manifest.is_file():
            return set()
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            files = data["files"]
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise TypeError("files must be a list of names")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise self._fail(f"{manifest} is not a readable manifest ({exc}); remove it or "
                             f"choose another {self.flag}") from None
        # A manifest names plain files of this folder; anything else is not ours to touch.
        return {f for f in files if f and f == Path(f).name and f not in (".", "..")
                and f != MANIFEST_NAME}

    def _check_existing(self) -> None:
        path = self.path
        if path.is_symlink() and not path.exists():
            raise self._fail("is a broken symbolic link")
        if path.exists() and not path.is_dir():
            raise self._fail("exists and is not a folder")
        if not path.is_dir():
            return
        entries = [e.name for e in path.iterdir()]
        if entries and not self.force:
            raise FileExistsError(
                f"output folder {path} exists and is not empty; pass --force to replace "
                f"the files an earlier run wrote there, or choose another {self.flag}")
        self._previous = self._read_manifest()
        for name in self.expected:
            self._check_replaceable(name)

    def _check_replaceable(self, name: str) -> None:
        """Refuse to replace a protected input or a file no run wrote."""
        target = self.path / name
        p = self._protected_input(target)
        if p is not None:
            raise self._fail(f"the input file {p} is {target}, which this run would replace; "
                             f"choose another {self.flag} or move the input")
        if (target.exists() or target.is_symlink()) and name not in self._previous:
            raise self._fail(f"{target} was not written by an earlier run (it is not in "
                             f"{MANIFEST_NAME}); this run would replace it, so it stops "
                             f"here; move the file or choose another {self.flag}")

    def _check_protected_not_stale(self) -> None:
        """An input file that an earlier run wrote would be removed as stale."""
        for name in self._previous:
            p = self._protected_input(self.path / name)
            if p is not None:
                raise self._fail(
                    f"the input file {p} was written by an earlier run into this "
                    f"folder and --force would replace it; copy it elsewhere first "
                    f"or choose another {self.flag}")

    def _protected_input(self, target: Path):
        """The protected input file that ``target`` is (same file), or None."""
        for p in self.protect:
            with contextlib.suppress(OSError):
                if target.exists() and os.path.samefile(p, target):
                    return p
        return None

    # ------------------------------------------------------------------- transaction
    def __enter__(self) -> Path:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.commit()

    def open(self) -> Path:
        """Check, lock and create the staging folder (before any computation); return it."""
        try:
            parent = self._parent()
            self._lock(parent)
            # Staging folders of this --out that a killed run (SIGKILL, power loss) left:
            # only the lock holder creates them, and we hold the lock now.
            for stale in parent.glob(f".{glob_escape(self.path.name)}.partial-*"):
                shutil.rmtree(stale, ignore_errors=True)
            self._check_existing()
            self._check_protected_not_stale()
            try:
                self.staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-",
                                                     dir=parent))
                if self.path.is_dir():  # files will be moved into it: it must take them
                    probe = Path(tempfile.mkdtemp(prefix=".lnp-write-test-", dir=self.path))
                    probe.rmdir()
            except OSError as exc:
                raise self._fail(f"not writable ({_os_reason(exc)})") from None
        except BaseException:
            self.abort()
            raise
        return self.staging

    def commit(self) -> None:
        """Move the staged files into place; on any failure nothing claims success."""
        try:
            self._commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Remove the staging folder (and parents this transaction created); unlock."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        self._created = []
        self._unlock()

    def _commit(self) -> None:
        staging = self.staging
        new = sorted(e.name for e in staging.iterdir())
        if MANIFEST_NAME in new:
            raise RuntimeError(f"a run must not write {MANIFEST_NAME} itself")
        manifest = staging / MANIFEST_NAME
        manifest.write_text(json.dumps({"files": new}, indent=1) + "\n", encoding="utf-8")
        for root, dirs, files in os.walk(staging):
            for name in dirs + files:
                apply_umask(Path(root) / name)
        apply_umask(staging)
        if not self.path.exists():
            os.rename(staging, self.path)  # atomic: the folder appears complete or not at all
            self.staging = None
            self._unlock()
            return
        for name in new:
            self._check_replaceable(name)
        for name in sorted(self._previous - set(new)):  # stale files of the earlier run
            _remove(self.path / name)
        for name in new:
            if (self.path / name).is_dir() and not (self.path / name).is_symlink():
                _remove(self.path / name)  # a folder an earlier run wrote (checked above)
            os.replace(staging / name, self.path / name)
        os.replace(manifest, self.path / MANIFEST_NAME)  # last: it vouches for the rest
        staging.rmdir()
        self.staging = None
        self._unlock()
