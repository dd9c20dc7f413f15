"""JSON from files nobody here wrote: parsed with a bound on nesting, never unbounded recursion.

``json.loads`` recurses once per level and raises ``RecursionError`` far down a
hostile document; whatever it does return may still be nested deep enough to
crash the next recursive step (``str()``, ``json.dumps``, a comparison).  Both
cases become :class:`TooDeep` here, so callers name the problem instead of
crashing.  JSON *text* inside a JSON string (the Caseline extension's
``valueString``) goes through the same door.
"""

from __future__ import annotations

import json
from typing import Any


class TooDeep(ValueError):
    """The value is nested deeper than the bound."""


def deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (a top-level object is level 1).

    Recursive but bounded: it never goes below ``limit`` levels, so hostile input
    cannot exhaust the stack.  Only containers are visited.
    """
    return _deeper(value, 1, limit) if isinstance(value, dict | list) else False


def _deeper(value: dict[str, Any] | list[Any], depth: int, limit: int) -> bool:
    if depth > limit:
        return True
    children = value.values() if isinstance(value, dict) else value
    deeper = depth + 1
    for child in children:
        if (type(child) is dict or type(child) is list) and _deeper(child, deeper, limit):
            return True
    return False


def loads_bounded(text: str | bytes, limit: int) -> Any:
    """``json.loads`` that raises :class:`TooDeep` beyond ``limit`` levels (and ValueError if not JSON)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"nested deeper than {limit} levels") from None
    if deeper_than(value, limit):
        raise TooDeep(f"nested deeper than {limit} levels")
    return value
