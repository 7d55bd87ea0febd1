"""Parameter checks and progress bars shared by every module.

Each check takes the value first and the parameter's name second, returns the value in
its canonical type, and raises a ValueError whose message names the parameter (the
scikit-learn convention: configuration is validated where it is used, with a message a
user can act on).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_int", "check_positive", "check_nonnegative", "check_float",
           "check_fraction", "make_rng", "progress_bar", "NoProgress"]


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int; it must be an integer (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_float(value: Any, name: str, minimum: float | None = None,
                strict: bool = False) -> float:
    """``value`` as a finite float, ``>= minimum`` (``> minimum`` when ``strict``)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (out <= minimum if strict else out < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {out}")
    return out


def check_positive(value: Any, name: str) -> float:
    """``value`` as a float; it must be finite and > 0."""
    out = check_float(value, name)
    if out <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return out


def check_nonnegative(value: Any, name: str) -> float:
    """``value`` as a float; it must be finite and >= 0."""
    out = check_float(value, name)
    if out < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return out


def check_fraction(value: Any, name: str, allow_zero: bool = True,
                   allow_one: bool = False) -> float:
    """``value`` as a float in [0, 1) by default; ``allow_zero`` / ``allow_one`` close or
    open the ends (a probability is ``allow_one=True``)."""
    v = check_float(value, name)
    lo = v >= 0 if allow_zero else v > 0
    hi = v <= 1 if allow_one else v < 1
    if not (lo and hi):
        raise ValueError(f"{name} must be in {'[' if allow_zero else '('}0, 1"
                         f"{']' if allow_one else ')'}, got {value}")
    return v


def make_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from an integer seed, None (fresh entropy) or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ValueError(f"{name} must be an integer, a numpy Generator or None, got {seed!r}")


class NoProgress:
    """A progress bar that shows nothing (what :func:`progress_bar` returns when off)."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "NoProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int | None, progress: bool | None, desc: str, **kwargs):
    """A tqdm bar of ``total`` steps labelled ``desc``, or :class:`NoProgress`.

    ``progress=None`` lets tqdm decide (shown on a terminal, quiet in logs and tests);
    False builds no tqdm object at all: creating one fixes the default multiprocessing
    context as a side effect, which Lava's start-up must not inherit
    (:mod:`lnp_neuro.engines.lava.compat`).
    """
    if progress is not None and not progress:
        return NoProgress()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False, disable=None if progress is None else False,
                **kwargs)
