"""Parameter checks shared by the task modules; messages name the parameter."""

from __future__ import annotations

import math

import numpy as np


def positive(name: str, value) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless finite and > 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def count(name: str, value, low: int = 1) -> int:
    """``value`` as an int, or a ValueError naming ``name`` unless an integer >= ``low``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
