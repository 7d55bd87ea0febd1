"""JSON read from files a user may have edited or been handed: bounded before it is used.

``json.loads`` alone turns a hostile ``report.json`` or network metadata into a traceback
far from the file: nesting a few thousand levels deep is a ``RecursionError``, an integer
of 10^400 an ``OverflowError`` once it meets a float, one of 5000 digits a ``ValueError``
about Python's digit limit, a float of 1e308 an overflow inside numpy, a string of a
million characters minutes of plotting. :func:`loads_bounded` refuses each of these with
one ``ValueError`` naming the file and the field (``history[0].iteration``), so the
command line reports it on one line and exits 2.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["loads_bounded", "MAX_DEPTH", "MAX_STRING", "MAX_ABS_NUMBER", "MAX_INT_DIGITS"]

#: Deepest nesting of objects and lists accepted (report.json needs 5).
MAX_DEPTH = 64
#: Longest string (or object key) accepted, in characters.
MAX_STRING = 10_000
#: Largest magnitude of a number: beyond it, squares and sums in the report overflow.
MAX_ABS_NUMBER = 1e100
#: Longest integer literal accepted, in digits (well inside Python's 4300-digit limit).
MAX_INT_DIGITS = 30

# Strings (a key when followed by ':'), brackets and commas: enough to follow the nesting.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[{}\[\],]')


class _Refused:
    """A number the parser met but will not convert; the walk reports it with its path."""

    def __init__(self, why: str) -> None:
        self.why = why


def _path(stack: list[list]) -> str:
    out = ""
    for kind, key in stack:
        if kind == "[":
            out += f"[{key}]"
        elif key is not None:
            out += ("." if out else "") + str(key)
    out = out or "(top level)"
    return out if len(out) <= 80 else out[:60] + "..." + out[-17:]


def _too_deep(text: str, max_depth: int) -> str | None:
    """The path of the first value nested deeper than ``max_depth``, else None."""
    stack: list[list] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first in "{[":
            stack.append([first, None if first == "{" else 0])
            if len(stack) > max_depth:
                return _path(stack[:-1])
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
        elif token.endswith(":") and stack and stack[-1][0] == "{":
            try:
                stack[-1][1] = json.loads(token[:-1].rstrip())[:40]
            except ValueError:
                stack[-1][1] = "?"
    return None


def _parse_int(text: str) -> Any:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Refused(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    value = int(text)
    if abs(value) > MAX_ABS_NUMBER:
        return _Refused(f"an integer beyond +-{MAX_ABS_NUMBER:g}")
    return value


def _parse_float(text: str) -> Any:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        return _Refused(f"a number beyond +-{MAX_ABS_NUMBER:g} ({text[:20]})")
    return value


def _is_text(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8 (JSON's \\ud800 escapes decode to lone
    surrogates, which no file or font can take)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value: Any, where: str, source: str) -> None:
    """Refused numbers and overlong strings anywhere in ``value`` (depth already bounded)."""
    if isinstance(value, _Refused):
        raise ValueError(f"{source}: field {where} is {value.why}")
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ValueError(f"{source}: field {where} is text of {len(value)} characters "
                             f"(at most {MAX_STRING})")
        if not _is_text(value):
            raise ValueError(f"{source}: field {where} is not valid Unicode text "
                             f"(a lone surrogate such as \\ud800)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if len(key) > MAX_STRING or not _is_text(key):
                raise ValueError(f"{source}: an object key under {where} is not valid text "
                                 f"of at most {MAX_STRING} characters")
            _check(item, key if where == "(top level)" else f"{where}.{key[:40]}", source)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{'' if where == '(top level)' else where}[{i}]", source)


def loads_bounded(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing deep nesting, huge numbers and overlong strings.

    Raises ``ValueError`` starting with ``source`` (the file, or file and key) and naming
    the offending field. ``NaN`` / ``Infinity`` constants are kept (old report.json files
    hold them); a literal that overflows to infinity (1e400) is refused.
    """
    deep = _too_deep(text, max_depth)
    if deep is not None:
        raise ValueError(f"{source}: field {deep} is nested deeper than {max_depth} levels")
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:  # unbalanced brackets the scan above could not follow
        raise ValueError(f"{source}: nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON ({exc})") from None
    _check(data, "(top level)", source)
    return data
