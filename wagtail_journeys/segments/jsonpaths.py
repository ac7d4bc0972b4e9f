"""Reading one key of a JSON column in SQL, with the same meaning on SQLite and PostgreSQL.

The two databases disagree on JSON comparisons (SQLite compares a text value greater than
any number; PostgreSQL orders jsonb by type first), so rules never compare raw JSON: they
read a key *as a number*, *as text* or *as a boolean*, and a value of another JSON type
reads as SQL ``NULL``. :func:`json_condition` builds a rule condition from those readings
and :func:`json_condition_holds` is its plain-Python twin; both must agree on every input.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import NotSupportedError
from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    Expression,
    F,
    FloatField,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.lookups import Exact, GreaterThan, LessThan

from ..inputs import MAX_NUMBER, number_problem

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}\Z")
NUMBER_PATTERN = re.compile(r"^-?\d{1,15}(\.\d{1,15})?$")

OPERATORS = ("equals", "contains", "greater", "less", "is_empty", "in_list")


def parse_number(text: str) -> float | None:
    """The number an editor typed (``12``, ``-3.5``), or ``None`` if it is not one."""
    text = str(text).strip()
    return float(text) if NUMBER_PATTERN.match(text) else None


def parse_list(text: str) -> list[str]:
    """Comma-separated items, stripped, empty ones dropped."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def definite(q: Q) -> Q:
    """``q`` as a condition that is TRUE or FALSE, never SQL ``NULL``.

    A ``NULL`` condition under NOT stays ``NULL`` (so neither the rule nor its negation
    would match); forcing two values keeps ``NOT rule`` the exact complement of ``rule``.
    """
    return Q(Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField()))


class _JSONKey(Expression):
    """Base of the per-database readings of ``column[key]``."""

    def __init__(self, field: str, key: str, output_field):
        super().__init__(output_field=output_field)
        if not KEY_PATTERN.match(key):
            raise ValueError(f"invalid JSON key {key!r}")
        self.column = F(field)
        self.key = key

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"JSON rules are not implemented on {connection.vendor}")

    def as_sqlite(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return self.sqlite(column, "$." + self.key, list(params))

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return self.postgresql(column, self.key, list(params))


#: The bound on numbers read from JSON, as SQL (``inputs.MAX_NUMBER``): rows stored before
#: validation may hold bigger ones, which read as no number instead of failing a cast.
_BOUND = str(MAX_NUMBER)


class JSONNumber(_JSONKey):
    """``column[key]`` as a float when it is a storable JSON number (finite, below
    ``inputs.MAX_NUMBER`` in magnitude), else ``NULL``: never an error, whatever a row holds.
    """

    def __init__(self, field: str, key: str):
        super().__init__(field, key, FloatField())

    def sqlite(self, col, path, params):
        sql = (
            f"(CASE WHEN json_type({col}, %s) IN ('integer', 'real') "
            f"AND abs(json_extract({col}, %s)) < {_BOUND} "
            f"THEN json_extract({col}, %s) END)"
        )
        return sql, [*params, path, *params, path, *params, path]

    def postgresql(self, col, key, params):
        # jsonb numbers are numerics: the cast to numeric cannot fail, the one to a double
        # can (a 400-digit number), so it comes after the bound.
        sql = (
            f"(CASE WHEN jsonb_typeof({col} -> %s) = 'number' "
            f"AND abs(({col} -> %s)::numeric) < {_BOUND} "
            f"THEN ({col} ->> %s)::double precision END)"
        )
        return sql, [*params, key, *params, key, *params, key]


class JSONDecimal(_JSONKey):
    """``column[key]`` as an exact decimal when it is a storable JSON number (as
    :class:`JSONNumber`), else ``NULL``, for the aggregates of :mod:`.decimals`: ``numeric``
    on PostgreSQL; on SQLite the number as written, inside a JSON array (``[130.14,130.14]``,
    see ``decimals``), which only those aggregates and ``Count`` read."""

    def __init__(self, field: str, key: str):
        super().__init__(field, key, DecimalField())

    def sqlite(self, col, path, params):
        sql = (
            f"(CASE WHEN json_type({col}, %s) IN ('integer', 'real') "
            f"AND abs(json_extract({col}, %s)) < {_BOUND} "
            f"THEN json_extract({col}, %s, %s) END)"
        )
        return sql, [*params, path, *params, path, *params, path, path]

    def postgresql(self, col, key, params):
        sql = (
            f"(CASE WHEN jsonb_typeof({col} -> %s) = 'number' "
            f"AND abs(({col} -> %s)::numeric) < {_BOUND} "
            f"THEN ({col} -> %s)::numeric END)"
        )
        return sql, [*params, key, *params, key, *params, key]


class JSONText(_JSONKey):
    """``column[key]`` when it is a JSON string, else ``NULL``."""

    def __init__(self, field: str, key: str):
        super().__init__(field, key, TextField())

    def sqlite(self, col, path, params):
        sql = f"(CASE WHEN json_type({col}, %s) = 'text' THEN json_extract({col}, %s) END)"
        return sql, [*params, path, *params, path]

    def postgresql(self, col, key, params):
        sql = f"(CASE WHEN jsonb_typeof({col} -> %s) = 'string' THEN {col} ->> %s END)"
        return sql, [*params, key, *params, key]


class JSONBoolean(_JSONKey):
    """``'true'`` / ``'false'`` when ``column[key]`` is a JSON boolean, else ``NULL``."""

    def __init__(self, field: str, key: str):
        super().__init__(field, key, TextField())

    def sqlite(self, col, path, params):
        sql = f"(CASE WHEN json_type({col}, %s) IN ('true', 'false') THEN json_type({col}, %s) END)"
        return sql, [*params, path, *params, path]

    def postgresql(self, col, key, params):
        sql = f"(CASE WHEN jsonb_typeof({col} -> %s) = 'boolean' THEN {col} ->> %s END)"
        return sql, [*params, key, *params, key]


class JSONIsEmpty(_JSONKey):
    """TRUE when ``column[key]`` is missing, null, ``""``, ``[]`` or ``{}`` (never NULL)."""

    conditional = True

    def __init__(self, field: str, key: str):
        super().__init__(field, key, BooleanField())

    def sqlite(self, col, path, params):
        sql = (
            f"(CASE WHEN json_type({col}, %s) IS NULL THEN 1"
            f" WHEN json_type({col}, %s) = 'null' THEN 1"
            f" WHEN json_type({col}, %s) IN ('text', 'object') "
            f"THEN json_extract({col}, %s) IN ('', '{{}}')"
            f" WHEN json_type({col}, %s) = 'array' THEN json_array_length({col}, %s) = 0"
            " ELSE 0 END)"
        )
        return sql, [*params, path] * 6

    def postgresql(self, col, key, params):
        sql = (
            f"COALESCE(jsonb_typeof({col} -> %s) = 'null'"
            f" OR ({col} -> %s) IN ('\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb), true)"
        )
        return sql, [*params, key, *params, key]


class JSONContains(_JSONKey):
    """TRUE when ``column[key]`` is a list holding the string ``value`` or a string holding
    ``value`` as a substring (case-sensitive); FALSE otherwise (never NULL)."""

    conditional = True

    def __init__(self, field: str, key: str, value: str):
        super().__init__(field, key, BooleanField())
        self.value = value

    def sqlite(self, col, path, params):
        # ``col`` is Django's compiled column reference; every value is a parameter.
        sql = (
            f"(CASE json_type({col}, %s)"  # noqa: S608
            f" WHEN 'array' THEN EXISTS(SELECT 1 FROM json_each({col}, %s) AS j"
            " WHERE j.type = 'text' AND j.value = %s)"
            f" WHEN 'text' THEN instr(json_extract({col}, %s), %s) > 0"
            " ELSE 0 END)"
        )
        v = self.value
        return sql, [*params, path, *params, path, v, *params, path, v]

    def postgresql(self, col, key, params):
        sql = (
            f"(CASE jsonb_typeof({col} -> %s)"
            f" WHEN 'array' THEN ({col} -> %s) @> jsonb_build_array(%s::text)"
            f" WHEN 'string' THEN strpos({col} ->> %s, %s) > 0"
            " ELSE false END)"
        )
        v = self.value
        return sql, [*params, key, *params, key, v, *params, key, v]


def _equals_q(field: str, key: str, text: str) -> Q:
    q = Q(Exact(JSONText(field, key), Value(text)))
    number = parse_number(text)
    if number is not None:
        q |= Q(Exact(JSONNumber(field, key), Value(number)))
    if text in ("true", "false"):
        q |= Q(Exact(JSONBoolean(field, key), Value(text)))
    return q


def json_condition(field: str, key: str, operator: str, value: str) -> Q:
    """A definite (never ``NULL``) condition on ``field[key]``; see the module docstring.

    ``value`` is what the editor typed; callers validate it first (numbers for
    ``greater``/``less``), and a bad one raises ``ValueError`` here.
    """
    if operator == "equals":
        return definite(_equals_q(field, key, value))
    if operator == "in_list":
        q = Q(pk__in=[])
        for item in parse_list(value):
            q |= _equals_q(field, key, item)
        return definite(q)
    if operator == "contains":
        return Q(JSONContains(field, key, value))
    if operator == "is_empty":
        return Q(JSONIsEmpty(field, key))
    if operator in ("greater", "less"):
        number = parse_number(value)
        if number is None:
            raise ValueError(f"{value!r} is not a number")
        lookup = GreaterThan if operator == "greater" else LessThan
        return definite(Q(lookup(JSONNumber(field, key), Value(number))))
    raise ValueError(f"unknown operator {operator!r}")


def is_json_number(value: Any) -> bool:
    """Is ``value`` a number the rules read (the Python twin of :class:`JSONNumber`)?"""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and number_problem(value) is None
    )


def _equals(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if is_json_number(value):
        number = parse_number(text)
        return number is not None and float(value) == number
    return False


def json_condition_holds(data: Any, key: str, operator: str, value: str) -> bool:
    """Plain-Python twin of :func:`json_condition` on a decoded JSON object."""
    present = isinstance(data, dict) and key in data
    item = data.get(key) if present else None
    if operator == "equals":
        return _equals(item, value)
    if operator == "in_list":
        return any(_equals(item, text) for text in parse_list(value))
    if operator == "contains":
        if isinstance(item, list):
            return any(isinstance(x, str) and x == value for x in item)
        return isinstance(item, str) and value in item
    if operator == "is_empty":
        return item is None or item in ("", [], {})
    if operator in ("greater", "less"):
        number = parse_number(value)
        if number is None:
            raise ValueError(f"{value!r} is not a number")
        if not is_json_number(item):
            return False
        return item > number if operator == "greater" else item < number
    raise ValueError(f"unknown operator {operator!r}")
