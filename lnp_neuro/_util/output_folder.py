"""A whole run's output as a transaction, confined to the output folder.

Files are written into a hidden staging folder beside ``--out`` and moved into place only
when the run is complete; a lock stops two runs writing the same folder; a manifest records
which files a run wrote, so ``--force`` replaces exactly those (stale plots included) and
never a file the run did not write; input files inside the folder are protected; the
location is checked for writability before any computation. Every file it creates,
truncates or removes is confined to the output folder and its staging folder and lock (no
symbolic link is followed; only what it wrote, recognised by its manifest or marker, is
removed; never a folder with content), and the staging folder lies beside the real folder,
on its file system, so the final move is a rename.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from .bounded_json import loads_bounded
from .confined import (_DIR_FLAGS, _NAME_MAX, _Blocked, _is_reg, _kind, _lstat_at, _os_reason,
                       _parent_fd, _path_problem, _scan, _short, _valid_member)
from .io import apply_umask, atomic_write, current_umask

__all__ = ["OutputFolder", "OutputBusyError", "MANIFEST_NAME", "STAGING_MARKER"]

#: File in each output folder listing the files the run wrote (``--force`` replaces these).
MANIFEST_NAME = ".lnp-manifest.json"


# ------------------------------------------------------------------ output transaction
#: File inside a staging folder that marks it as one this module created; a stale staging
#: folder (of a killed run) is removed only when it holds this marker naming the folder.
STAGING_MARKER = ".lnp-staging"
_MANIFEST_MAX = 64 << 20
_LOCK_TEXT_MAX = 64


class OutputBusyError(FileExistsError):
    """Another run holds the lock of this output folder."""


class OutputFolder:
    """A run's output folder, written as a transaction (module docstring).

    Parameters
    ----------
    path : the output folder (``--out``); a symbolic link to a folder is followed once,
        here, and everything below happens in the real folder it names (on whatever file
        system that is: the staging folder goes beside it).
    force : replace the files an earlier run wrote there (its manifest), keep the rest.
    expected : names of entries the run will write (checked against protected and foreign
        files before any computation; the final check covers every written file).
    protect : input files of the run; one inside ``path`` that the run would replace is an
        error up front.
    flag : the option naming ``path`` in messages (``--out``).

    Use as ``with OutputFolder(...) as staging: <write files into staging>``: on a normal
    exit the files move into ``path`` (the lock is held from ``__enter__`` to the end); on
    an exception or interrupt the staging folder is removed and ``path`` is as before.

    Confinement (why): ``--out`` often lies in a shared folder (``/tmp``) where any user
    can plant a symbolic link, and beside a user's own work. So every file this class
    creates, truncates or removes is reached through a folder descriptor of the real
    folder with ``O_NOFOLLOW`` (no link is followed); the lock is created with
    ``O_EXCL`` and an existing one is used only when it is a lock file; only staging
    folders holding this module's marker are removed; ``--force`` removes only regular
    files listed in the manifest, never a folder (an emptied folder the manifest lists is
    removed with ``rmdir``, which fails on anything not empty); and the whole manifest and
    every target are checked before anything of the earlier run is removed.
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
        self._dest: Path | None = None  # the real folder (symbolic links resolved)
        self._parent_fd: int | None = None
        self._lock_fd: int | None = None
        self._lock_name: str | None = None
        self._created: list[Path] = []
        self._previous: set[str] = set()
        self._previous_dirs: set[str] = set()
        self._old_format = False

    # ---------------------------------------------------------------- checks and lock
    def _fail(self, message: str) -> ValueError:
        """Bad input (exit 2): one line naming the folder as the user spelt it."""
        return ValueError(f"{self.flag} {_short(self.path)}: {message}")

    def _resolve(self) -> Path:
        """Check the path, create its missing parents; return the real destination."""
        text = os.path.abspath(os.fspath(self.path))
        problem = _path_problem(text)
        if problem is not None:
            raise self._fail(f"the path {problem}")
        absolute = Path(text)
        if absolute.is_symlink() and not absolute.exists():
            raise self._fail("is a broken symbolic link")
        parent = absolute.parent
        missing = []
        probe = parent
        while not probe.exists():
            if probe.is_symlink():
                raise self._fail(f"{_short(probe)} is a broken symbolic link")
            missing.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            raise self._fail(f"lies under {_short(probe)}, which is a file, not a folder")
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                raise self._fail(f"cannot create {_short(folder)} ({_os_reason(exc)})"
                                 ) from None
            self._created.append(folder)
        dest = Path(os.path.realpath(absolute))
        problem = _path_problem(str(dest))
        if problem is not None:
            raise self._fail(f"the real path {_short(dest)} {problem}")
        if os.path.lexists(dest) and not dest.is_dir():
            raise self._fail("exists and is not a folder")
        # The staging folder and the lock are named after the folder: they must fit too.
        longest = len(os.fsencode(f".{dest.name}.partial-XXXXXXXX"))
        if longest > _NAME_MAX:
            raise self._fail(f"the folder's name is too long ({len(os.fsencode(dest.name))} "
                             f"bytes; at most {_NAME_MAX - 18} leaves room for the staging "
                             f"folder beside it)")
        return dest

    def _lock_error(self, message: str) -> ValueError:
        """Bad input at the lock's path (exit 2): the message names the lock."""
        return self._fail(f"the lock {_short(self._dest.parent / self._lock_name)} {message}; "
                          f"remove it or choose another {self.flag}")

    def _lock(self) -> None:
        """Take the lock file ``.NAME.lock`` beside the folder (created with ``O_EXCL``;
        an existing one is used only if it is a regular single-link file holding a
        process id, never through a symbolic link)."""
        import fcntl

        pfd = self._parent_fd
        name = self._lock_name = f".{self._dest.name}.lock"
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | \
            getattr(os, "O_CLOEXEC", 0)
        while True:
            created = True
            try:
                fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=pfd)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(name, flags, dir_fd=pfd)
                except FileNotFoundError:
                    continue  # its holder removed it just now: create it again
                except OSError as exc:
                    st = None
                    with contextlib.suppress(OSError):
                        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    if st is not None and not stat.S_ISREG(st.st_mode):
                        raise self._lock_error(f"is {_kind(st)}, not a lock file") from None
                    raise self._lock_error(f"cannot be opened ({_os_reason(exc)})") from None
            except OSError as exc:
                raise self._fail(f"the folder it is in is not writable ({_os_reason(exc)})"
                                 ) from None
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise self._lock_error(f"is {_kind(st)}, not a lock file")
                text = os.pread(fd, _LOCK_TEXT_MAX + 1, 0).strip()
                if not created and (st.st_nlink != 1 or st.st_size > _LOCK_TEXT_MAX
                                    or (text and not text.isdigit())):
                    raise self._lock_error("is not a lock file of this program (it holds "
                                           "something other than a process id)")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise OutputBusyError(
                            f"{self.flag} {_short(self.path)}: another run is writing this "
                            f"folder (lock {_short(self._dest.parent / name)}); wait for it "
                            f"to finish or choose another {self.flag}") from None
                    raise
            except BaseException:
                os.close(fd)
                raise
            # The holder before us may have unlinked the file after we opened it: the lock
            # only counts if it is on the file the name holds now.
            try:
                now = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                same = (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self._lock_fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        """Remove the lock file (only if it is still ours) while holding it; release it."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                st = os.fstat(self._lock_fd)
                now = os.stat(self._lock_name, dir_fd=self._parent_fd, follow_symlinks=False)
                if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                    os.unlink(self._lock_name, dir_fd=self._parent_fd)  # still holding it
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._parent_fd is not None:
            os.close(self._parent_fd)
            self._parent_fd = None

    def _remove_stale_staging(self) -> None:
        """Remove staging folders of this --out that a killed run (SIGKILL, power loss)
        left: only real folders of ours holding the marker that names them (we hold the
        lock, and only the lock holder creates them)."""
        prefix = f".{self._dest.name}.partial-"
        pfd = self._parent_fd
        with os.scandir(pfd) as entries:
            names = [e.name for e in entries if e.name.startswith(prefix)]
        for name in names:
            with contextlib.suppress(OSError):
                st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                    continue
                if self._marker_text(name) != self._read_marker(pfd, name):
                    continue
                shutil.rmtree(name, dir_fd=pfd)

    @staticmethod
    def _marker_text(staging_name: str) -> bytes:
        """The marker's content: it names its folder, so a copy elsewhere does not count."""
        return f"lnp_neuro staging folder {staging_name}\n".encode("utf-8", "surrogateescape")

    @staticmethod
    def _read_marker(pfd: int, staging_name: str) -> bytes | None:
        """The marker of a staging folder below ``pfd`` (read through no link), or None."""
        fd = os.open(staging_name, _DIR_FLAGS, dir_fd=pfd)
        try:
            mfd = os.open(STAGING_MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                          dir_fd=fd)
        finally:
            os.close(fd)
        try:
            st = os.fstat(mfd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > 4096:
                return None
            return os.read(mfd, 4096)
        finally:
            os.close(mfd)

    @contextlib.contextmanager
    def _dest_fd(self) -> Iterator[int]:
        """The real output folder, opened without following a link."""
        fd = os.open(self._dest.name, _DIR_FLAGS, dir_fd=self._parent_fd)
        try:
            yield fd
        finally:
            os.close(fd)

    def _read_manifest(self, dfd: int) -> None:
        """Read and validate the earlier run's manifest (all of it, before any change)."""
        shown = _short(self.path / MANIFEST_NAME)
        try:
            fd = os.open(MANIFEST_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                         dir_fd=dfd)
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._fail(f"{shown} is a symbolic link, not a manifest this program "
                                 f"wrote; remove it or choose another {self.flag}") from None
            raise self._fail(f"{shown} cannot be read ({_os_reason(exc)})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self._fail(f"{shown} is {_kind(st)}, not a manifest; remove it or "
                                 f"choose another {self.flag}")
            if st.st_size > _MANIFEST_MAX:
                raise self._fail(f"{shown} is not a readable manifest (too large); remove "
                                 f"it or choose another {self.flag}")
            with os.fdopen(os.dup(fd), "rb") as fh:
                raw = fh.read(_MANIFEST_MAX + 1)
        finally:
            os.close(fd)
        try:
            # Bounded: a manifest nested thousands deep is a RecursionError in json.loads.
            data = loads_bounded(raw.decode("utf-8"), "its JSON")
            if not isinstance(data, dict):
                raise TypeError("it must hold an object")
            files = data["files"]
            dirs = data.get("dirs", [])
            for key, value in (("files", files), ("dirs", dirs)):
                if not isinstance(value, list):
                    raise TypeError(f"{key} must be a list of names")
                bad = [v for v in value if not _valid_member(v)]
                if bad:
                    raise ValueError(f"{key} holds an entry that is not a relative path of "
                                     f"file names: {_short(repr(bad[0]))}")
        except (ValueError, KeyError, TypeError) as exc:
            raise self._fail(f"{shown} is not a readable manifest ({exc}); remove it or "
                             f"choose another {self.flag}") from None
        self._old_format = "dirs" not in data
        self._previous = {f for f in files if f != MANIFEST_NAME}
        self._previous_dirs = set(dirs)

    def _check_existing(self) -> None:
        if not os.path.lexists(self._dest):
            return
        with self._dest_fd() as dfd:
            with os.scandir(dfd) as entries:
                nonempty = any(True for _ in entries)
            if nonempty and not self.force:
                raise FileExistsError(
                    f"output folder {_short(self.path)} exists and is not empty; pass --force "
                    f"to replace the files an earlier run wrote there, or choose another "
                    f"{self.flag}")
            self._read_manifest(dfd)
            for name in self.expected:
                problem = self._conflict(dfd, name, None)
                if problem:
                    raise self._fail(problem)

    def _conflict(self, dfd: int, rel: str, is_dir: bool | None) -> str | None:
        """Why the run may not put an entry (a folder if ``is_dir``, a file if not, either
        if None) at ``rel``: a protected input, a file no run wrote, a folder or link
        where a file goes. None when it may."""
        target = self.path / rel
        try:
            st = _lstat_at(dfd, rel)
        except _Blocked:
            return (f"{_short(target)} lies under something that is not a folder (a "
                    f"symbolic link or a file); move it or choose another {self.flag}")
        if st is None:
            return None
        p = self._protected_input(st)
        if p is not None:
            return (f"the input file {_short(p)} is {_short(target)}, which this run would "
                    f"replace; choose another {self.flag} or move the input")
        if stat.S_ISDIR(st.st_mode):
            if is_dir or (is_dir is None and (rel in self._previous_dirs
                                              or self._old_format and rel in self._previous)):
                return None  # a folder the run writes into: files are checked one by one
            return (f"{_short(target)} is a folder this run would replace with a file; "
                    f"this program never removes a folder: move it or choose another "
                    f"{self.flag}")
        if rel not in self._previous:
            return (f"{_short(target)} was not written by an earlier run (it is not in "
                    f"{MANIFEST_NAME}); this run would replace it, so it stops here; move "
                    f"the file or choose another {self.flag}")
        if not stat.S_ISREG(st.st_mode):
            return (f"{_short(target)} is {_kind(st)}, not the file an earlier run wrote; "
                    f"move it or choose another {self.flag}")
        return None

    def _check_protected_not_stale(self) -> None:
        """An input file that an earlier run wrote would be removed as stale."""
        if not self._previous:
            return
        with self._dest_fd() as dfd:
            for name in self._previous:
                with contextlib.suppress(_Blocked):
                    p = self._protected_input(_lstat_at(dfd, name))
                    if p is not None:
                        raise self._fail(
                            f"the input file {_short(p)} was written by an earlier run into "
                            f"this folder and --force would replace it; copy it elsewhere "
                            f"first or choose another {self.flag}")

    def _protected_input(self, st: os.stat_result | None):
        """The protected input file that the entry of ``lstat`` ``st`` is, or None."""
        if not _is_reg(st):
            return None
        for p in self.protect:
            with contextlib.suppress(OSError):
                other = os.stat(p)
                if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
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
            try:
                self._dest = self._resolve()
                self._parent_fd = os.open(self._dest.parent, _DIR_FLAGS)
                self._lock()
                self._remove_stale_staging()
                self._check_existing()
                self._check_protected_not_stale()
                self.staging = Path(tempfile.mkdtemp(prefix=f".{self._dest.name}.partial-",
                                                     dir=self._dest.parent))
                self._write_marker()
                if os.path.lexists(self._dest):  # files will be moved into it: must take them
                    probe = Path(tempfile.mkdtemp(prefix=".lnp-write-test-", dir=self._dest))
                    probe.rmdir()
            except OSError as exc:
                if isinstance(exc, FileExistsError) and not exc.errno:
                    raise  # our own "not empty" / busy messages
                raise self._fail(f"not writable ({_os_reason(exc)})") from None
        except BaseException:
            self.abort()
            raise
        return self.staging

    def _write_marker(self) -> None:
        """Mark the new staging folder as ours (a stale one is removed only if marked)."""
        sfd = os.open(self.staging, _DIR_FLAGS)
        try:
            fd = os.open(STAGING_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o600, dir_fd=sfd)
        finally:
            os.close(sfd)
        try:
            os.write(fd, self._marker_text(self.staging.name))
        finally:
            os.close(fd)

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
        """Write the manifest, check every target, then replace, remove stale, move in."""
        staging = self.staging
        marker = staging / STAGING_MARKER
        if marker.read_bytes() != self._marker_text(staging.name):
            raise RuntimeError(f"a run must not write {STAGING_MARKER} itself")
        os.unlink(marker)
        if os.path.lexists(staging / MANIFEST_NAME):
            raise RuntimeError(f"a run must not write {MANIFEST_NAME} itself")
        files, dirs = _scan(staging)
        with atomic_write(staging / MANIFEST_NAME) as tmp:
            tmp.write_text(json.dumps({"files": files, "dirs": dirs}, indent=1) + "\n",
                           encoding="utf-8")
        for rel in [*dirs, *files, MANIFEST_NAME]:
            apply_umask(staging / rel)
        apply_umask(staging)
        pfd = self._parent_fd
        name = self._dest.name
        if not os.path.lexists(self._dest):
            # atomic: the folder appears complete or not at all
            os.rename(staging.name, name, src_dir_fd=pfd, dst_dir_fd=pfd)
            self.staging = None
            self._unlock()
            return
        with self._dest_fd() as dfd:
            # 1. every check, before anything of the earlier run is touched
            problems = [p for p in (*(self._conflict(dfd, d, True) for d in dirs),
                                    *(self._conflict(dfd, f, False) for f in files)) if p]
            if problems:
                raise self._fail(problems[0])
            # 2. the earlier run's files this run does not write again (regular files only)
            for rel in sorted(self._previous - set(files)):
                self._unlink_file(dfd, rel)
            # 3. the new files; a file an earlier run wrote where a folder now goes
            for rel in dirs:
                st = _lstat_at(dfd, rel)
                if _is_reg(st):
                    self._unlink_file(dfd, rel)
                    st = None
                if st is None:
                    with _parent_fd(dfd, rel) as (fd, last):
                        os.mkdir(last, 0o777 & ~current_umask(), dir_fd=fd)
            sfd = os.open(staging, _DIR_FLAGS)
            try:
                for rel in [*files, MANIFEST_NAME]:  # the manifest last: it vouches for the rest
                    with _parent_fd(sfd, rel) as (src, src_name), \
                            _parent_fd(dfd, rel) as (dst, dst_name):
                        os.replace(src_name, dst_name, src_dir_fd=src, dst_dir_fd=dst)
            finally:
                os.close(sfd)
            # 4. folders of the earlier run left empty (rmdir: never a folder with content)
            for rel in sorted(self._previous_dirs - set(dirs), key=lambda r: -r.count("/")):
                with contextlib.suppress(OSError, _Blocked), _parent_fd(dfd, rel) as (fd, last):
                    os.rmdir(last, dir_fd=fd)
        shutil.rmtree(staging, ignore_errors=True)  # the empty folders left in it
        self.staging = None
        self._unlock()

    @staticmethod
    def _unlink_file(dfd: int, rel: str) -> None:
        """Remove ``rel`` if it is a regular file reached without following a link."""
        with contextlib.suppress(FileNotFoundError, _Blocked), \
                _parent_fd(dfd, rel) as (fd, last):
            st = os.stat(last, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                os.unlink(last, dir_fd=fd)
