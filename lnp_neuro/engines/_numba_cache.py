"""Where numba may keep its on-disk cache, so runs work without a writable HOME.

The simulator's kernels are compiled with ``numba.njit(cache=True)``. Numba stores the
compiled code in ``__pycache__`` beside the source or, when that is not writable (an
installed package), in ``$XDG_CACHE_HOME/numba`` / ``~/.cache/numba``; when neither is
writable -- a service account, a read-only HOME, ``HOME=/nonexistent`` -- it refuses to
compile at all ("cannot cache function ... no locator available"). :func:`ensure_cache_dir`
runs when ``lnp_neuro`` is imported, before any kernel is defined: if the user did not set
``NUMBA_CACHE_DIR`` and neither location is writable, it points ``NUMBA_CACHE_DIR`` at a
per-user folder of the temporary directory (mode 0700). Numba reads the variable when its
config is imported; if numba was imported already, its config is updated as well.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["ensure_cache_dir"]


def _writable_dir(path: Path) -> bool:
    # The same test numba applies (numba.core.caching._CacheLocator.ensure_cache_path).
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _numba_user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "numba"


def ensure_cache_dir(package_dir: str | Path | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` when numba would find no writable cache; return what was set."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    package_dir = Path(package_dir or Path(__file__).resolve().parent)
    if _writable_dir(package_dir / "__pycache__") or _writable_dir(_numba_user_cache()):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"lnp_neuro-numba-cache-{uid}"
    try:
        fallback.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None  # nowhere to cache: numba's own error will say so
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    import sys
    config = sys.modules.get("numba.core.config")
    if config is not None:
        config.CACHE_DIR = str(fallback)
    return str(fallback)
