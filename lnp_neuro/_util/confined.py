"""File-system steps confined to one folder: paths checked for length and content, entries
opened relative to a folder descriptor without following symbolic links, and what an entry
is, read without following it (:mod:`lnp_neuro._util.output_folder` builds on them)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import Any, Iterator

_NAME_MAX = 255     # bytes in one file name (Linux, most file systems)
_PATH_MAX = 4096    # bytes in a path, its terminating NUL included
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _os_reason(exc: OSError) -> str:
    """The reason of an OS error without its file name (messages name the path once)."""
    return exc.strerror or type(exc).__name__


def _short(path: str | Path) -> str:
    """``path`` for a message: a path of thousands of characters is shown by its ends."""
    text = str(path)
    if len(text) <= 200:
        return text
    return f"{text[:80]}...{text[-80:]} ({len(text)} characters)"


def _path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file on Linux (too long, NUL byte), or None."""
    if "\0" in path:
        return "contains a NUL byte"
    try:
        raw = os.fsencode(path)
    except UnicodeError:
        return "is not valid in the file system's encoding"
    if len(raw) >= _PATH_MAX:
        return f"is too long ({len(raw)} bytes; a path holds at most {_PATH_MAX - 1})"
    longest = max((len(part) for part in raw.split(b"/")), default=0)
    if longest > _NAME_MAX:
        return (f"has a name of {longest} bytes (a file name holds at most {_NAME_MAX})")
    return None


def _valid_member(name: Any) -> bool:
    """A manifest entry: a relative path of plain names below the folder, nothing else."""
    if not isinstance(name, str) or not name or _path_problem(name) is not None:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _is_reg(st: os.stat_result | None) -> bool:
    """``st`` is the ``lstat`` of a regular file (the only kind of entry ever removed)."""
    return st is not None and stat.S_ISREG(st.st_mode)


def _kind(st: os.stat_result) -> str:
    """What the entry of ``lstat`` ``st`` is, for a message that says why it is refused."""
    mode = st.st_mode
    return ("a folder" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode)
            else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or
            stat.S_ISBLK(mode) else "a file")


class _Blocked(Exception):
    """A component of a path inside the output folder is not a real folder."""


@contextlib.contextmanager
def _parent_fd(root_fd: int, rel: str, create: bool = False) -> Iterator[tuple[int, str]]:
    """``(fd, name)``: the folder holding ``rel`` (below ``root_fd``) opened without
    following any symbolic link on the way, and the last name of ``rel``.

    A missing folder is created when ``create`` (else ``FileNotFoundError``); a component
    that is a symbolic link or not a folder raises :class:`_Blocked`. So nothing done
    through the fd can land outside the output folder.
    """
    parts = rel.split("/")
    opened: list[int] = []
    fd = root_fd
    try:
        for part in parts[:-1]:
            try:
                fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o777, dir_fd=fd)
                fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _Blocked(rel) from None
                raise
            opened.append(fd)
        yield fd, parts[-1]
    finally:
        for fd in reversed(opened):
            os.close(fd)


def _lstat_at(root_fd: int, rel: str) -> os.stat_result | None:
    """``lstat`` of ``rel`` below ``root_fd``; None when it is absent (or its folder is)."""
    try:
        with _parent_fd(root_fd, rel) as (fd, name):
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _scan(root: Path) -> tuple[list[str], list[str]]:
    """The regular files and folders below ``root`` (relative, ``/``-separated, sorted).

    Anything else (a symbolic link, a pipe) is refused: a run writes files and folders.
    """
    files, dirs = [], []
    for top, subdirs, names in os.walk(root):
        rel_top = os.path.relpath(top, root)
        for name in subdirs + names:
            rel = name if rel_top == "." else f"{rel_top}/{name}".replace(os.sep, "/")
            st = os.lstat(os.path.join(top, name))
            if stat.S_ISDIR(st.st_mode):
                dirs.append(rel)
            elif stat.S_ISREG(st.st_mode):
                files.append(rel)
            else:
                raise RuntimeError(f"a run must write only files and folders; "
                                   f"{_short(os.path.join(top, name))} is {_kind(st)}")
    return sorted(files), sorted(dirs)
