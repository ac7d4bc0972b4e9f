"""What outside input may be stored: the rules every boundary shares (API bodies, form
posts, CSV cells, admin forms, editor rules).

PostgreSQL refuses NUL characters in text and ``jsonb``; a lone UTF-16 surrogate cannot be
encoded as UTF-8 at all; a number beyond a double's range (or one that is not finite)
breaks every cast that reads it, so one such row could fail an aggregate for all
contacts. Such values are refused where they come in, with a message naming the field,
on every database alike (SQLite would store them and fail later, elsewhere).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from .exceptions import InvalidInput

#: Numbers stored from outside stay strictly below this in magnitude: far above any
#: amount or count, and well inside what a double and every numeric cast handle.
MAX_NUMBER = 10**15
MAX_DEPTH = 8
MAX_KEY_LENGTH = 100


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (``None`` when it can)."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def number_problem(value: int | float | Decimal) -> str | None:
    """Why ``value`` cannot be stored as a number (``None`` when it can)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        finite = value.is_finite()
    else:  # an int is finite however large (and too large for math.isfinite)
        finite = isinstance(value, int) or math.isfinite(value)
    if not finite:
        return "contains a number that is not finite"
    if abs(value) >= MAX_NUMBER:
        return f"contains a number too large (the limit is ±{MAX_NUMBER:.0e})"
    return None


def clean_text(value: str, *, field: str) -> str:
    """Return ``value`` if it can be stored as text; raise ``InvalidInput`` otherwise."""
    problem = text_problem(value)
    if problem:
        raise InvalidInput(f"{field} {problem}.", field=field)
    return value


def json_problem(value: Any, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a JSON value cannot be stored (``None`` when it can): keys and strings must be
    storable text, numbers finite and bounded, nesting at most ``max_depth`` levels."""
    todo = [(value, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > max_depth:
            return f"is nested too deeply ({max_depth} levels at most)"
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
                    return f"has an invalid key {str(key)[:40]!r}"
                problem = text_problem(key)
                if problem:
                    return f"has a key that {problem}"
                todo.append((item, depth + 1))
        elif isinstance(node, list | tuple):
            todo.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return problem
        elif isinstance(node, int | float | Decimal):
            problem = number_problem(node)
            if problem:
                return problem
        elif node is not None:
            return f"holds a value that is not JSON ({type(node).__name__})"
    return None


def clean_json(value: Any, *, field: str, max_depth: int = MAX_DEPTH) -> Any:
    """Return ``value`` if it can be stored as JSON; raise ``InvalidInput`` otherwise."""
    problem = json_problem(value, max_depth=max_depth)
    if problem:
        raise InvalidInput(f"{field} {problem}.", field=field)
    return value


def clean_object(value: Any, *, field: str, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A storable JSON object (event properties, contact attributes, scenario context)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object.", field=field)
    return clean_json(value, field=field, max_depth=max_depth)
