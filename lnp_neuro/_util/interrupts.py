"""Interrupts and child processes: SIGINT / SIGTERM stop a run cleanly, children never outlive it.

Three pieces, used by the console scripts and by the Lava back end:

- :func:`signals_raise` installs handlers that turn SIGINT and SIGTERM into
  :class:`Interrupted` (a ``KeyboardInterrupt``), so ``try/finally`` blocks -- the output
  transaction of :mod:`lnp_neuro._util.io`, the Lava clean-up below -- run on either signal.
  The scripts exit with ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM), the shell
  convention.
- :func:`children_die_with_parent` marks every process forked inside the block (Lava's
  CPU runtime forks one process per process model, plus its runtime service and a
  shared-memory manager) so that the kernel kills it when its parent dies, including by
  SIGKILL, which no handler can see: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux,
  ``man 2 prctl``). A child whose parent died between ``fork`` and ``prctl`` notices the
  changed parent id and exits. Children also ignore SIGINT / SIGTERM sent to the whole
  process group (Ctrl-C in a terminal): the parent handles the signal and stops them.
- :func:`kill_children` ends the given ``multiprocessing`` children: SIGKILL, then join.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from typing import Iterable, Iterator

__all__ = ["Interrupted", "signals_raise", "children_die_with_parent", "die_with_parent",
           "kill_children", "exit_code", "exit_within"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` is its number."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")


def exit_code(exc: BaseException) -> int:
    """Shell exit status for an interrupt: 128 + signal number (130 SIGINT, 143 SIGTERM)."""
    return 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)


def _raise_interrupted(signum, frame):
    # Further signals while the clean-up runs must not interrupt the clean-up itself.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only).

    The previous handlers come back on exit. Outside the main thread (where Python cannot
    install handlers) the block does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _raise_interrupted)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------ forked children
_state = {"depth": 0, "parent": None}
_libc = None


def _prctl_pdeathsig(sig: int) -> bool:
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        return _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _before_fork() -> None:
    _state["parent"] = os.getpid()


def die_with_parent(parent: int | None = None) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; ignore SIGINT/SIGTERM.

    For worker processes whose parent handles the signals and ends them. ``parent`` is
    the parent's pid as the parent saw it (default: the current parent); if it has
    already died, the process exits at once. Returns False where ``prctl`` is missing.
    """
    parent = os.getppid() if parent is None else parent
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if not _prctl_pdeathsig(signal.SIGKILL):
        return False
    if os.getppid() != parent:
        os._exit(1)  # the parent died before prctl took effect
    return True


def _after_fork_in_child() -> None:
    if _state["depth"] <= 0:
        return
    # A child of a child is the grandchild's business; only direct children are marked.
    _state["depth"] = 0
    die_with_parent(_state["parent"])


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def children_die_with_parent() -> Iterator[None]:
    """Processes forked inside the block are killed by the kernel when this process dies.

    Uses ``PR_SET_PDEATHSIG`` (Linux). The signal is sent when the *thread* that forked
    exits, so the block is meant for forks made by the calling thread (Lava forks from
    the thread that calls ``run``).
    """
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1


def kill_children(children: Iterable[multiprocessing.process.BaseProcess],
                  timeout: float = 5.0) -> None:
    """SIGKILL each live child, then reap it (each join waits at most ``timeout`` s)."""
    children = list(children)
    for child in children:
        with contextlib.suppress(Exception):
            if child.is_alive():
                child.kill()
    for child in children:
        with contextlib.suppress(Exception):
            child.join(timeout)


def exit_within(code: int, seconds: float = 3.0) -> None:
    """Make sure the process ends with ``code`` at most ``seconds`` from now.

    For the console scripts after an interrupt, once their clean-up has run: a library
    may leave a non-daemon thread blocked on a channel whose other end was killed (Lava's
    runtime can), and the interpreter would wait for it at exit for ever. A daemon timer
    ends the process with ``os._exit`` if normal shutdown has not finished in time. Never
    call this from code running inside someone else's process (a test, a notebook).
    """
    def force_exit() -> None:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(seconds, force_exit)
    timer.daemon = True
    timer.start()
