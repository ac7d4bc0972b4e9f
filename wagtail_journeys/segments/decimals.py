"""Exact decimal totals of JSON numbers, on PostgreSQL, on SQLite and in Python.

Money is written in decimal (``0.01 + 130.14 + 69.85`` is exactly ``200.00``), but a
binary double cannot hold most decimals, so summing doubles misses thresholds by a hair.
Rules therefore read a JSON number as the decimal it is written as, and add and compare
decimals exactly:

* PostgreSQL stores ``jsonb`` numbers as ``numeric``; rules sum and compare ``numeric``.
* SQLite has no decimal type, so the app registers three SQL functions on each
  connection (:func:`register_sqlite_functions`) that add and compare the numbers' JSON
  text with Python's ``decimal``.
* The Python reference (``holds``) reads decoded JSON with :func:`json_decimal`, whose
  value equals the number's written form for every number Python writes.

A number that could not be stored today (not finite, or ``inputs.MAX_NUMBER`` or more in
magnitude, from rows written before validation) reads as *no number*: the rules skip it
instead of failing or being swayed by it. Sums are exact for every number of up to 17
significant digits, that is every number a double (a browser's or Python's) carries:
``ARITHMETIC`` keeps 400 digits, and such numbers below ``MAX_NUMBER`` span at most 340.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from django.db.models import Aggregate, BooleanField, DecimalField, Expression

from ..inputs import number_problem
from .jsonpaths import parse_number

ARITHMETIC = decimal.Context(prec=400, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def storable(number: Decimal) -> Decimal | None:
    """``number``, or ``None`` when it is one no input may store (see the module)."""
    return None if number_problem(number) else number


def json_decimal(value: Any) -> Decimal | None:
    """A decoded JSON value as the decimal it was written as; ``None`` for anything that
    is not a storable number (text, booleans, ``inf`` from ``1e400``, huge numbers).

    A float's shortest ``repr`` is how Python (and a browser) writes it into JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float) or number_problem(value):
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def total(numbers: list[Decimal]) -> Decimal:
    """The exact sum of ``numbers``."""
    result = Decimal(0)
    for number in numbers:
        result = ARITHMETIC.add(result, number)
    return result


def at_least(number: Decimal | int | None, threshold: Decimal) -> bool:
    """``number >= threshold``, exactly; ``False`` when there is no number."""
    return number is not None and ARITHMETIC.compare(Decimal(number), threshold) >= 0


def threshold_decimal(value: Any) -> Decimal | None:
    """An editor's threshold (a number, or its text as ``parse_number`` accepts it) as a
    decimal; ``None`` when it is not a storable number."""
    if isinstance(value, str):
        return Decimal(value.strip()) if parse_number(value) is not None else None
    return json_decimal(value)


class DecimalSum(Aggregate):
    """``SUM`` of a :class:`~.jsonpaths.JSONDecimal`, exact on both databases."""

    function = "SUM"
    name = "DecimalSum"
    output_field = DecimalField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # Not SQLite's SUM (doubles), nor Django's CAST(… AS NUMERIC) for decimals.
        return self.as_sql(compiler, connection, function="journeys_decimal_sum")


class DecimalMax(Aggregate):
    """``MAX`` of a :class:`~.jsonpaths.JSONDecimal`, exact on both databases."""

    function = "MAX"
    name = "DecimalMax"
    output_field = DecimalField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="journeys_decimal_max")


class AtLeast(Expression):
    """``expression >= threshold``, compared as decimals (``NULL`` when the expression is:
    a contact without a number is not "at least" anything)."""

    conditional = True

    def __init__(self, expression, threshold: Decimal):
        super().__init__(output_field=BooleanField())
        self.expression = expression
        self.threshold = threshold

    def get_source_expressions(self):
        return [self.expression]

    def set_source_expressions(self, exprs):
        (self.expression,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expression)
        return f"({sql}) >= %s", [*params, self.threshold]

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.expression)
        return f"journeys_decimal_cmp({sql}, %s) >= 0", [*params, str(self.threshold)]


# SQLite functions. Their text arguments come from ``JSONDecimal``: the JSON text of a
# two-element array holding the number twice (``[130.14,130.14]``), which is how
# ``json_extract`` returns a number's digits as written (with one path it returns a
# double); ``JSONDecimal`` has already left out what is not a storable number.


def _number(text: str) -> Decimal:
    return Decimal(text[1 : text.index(",")])


class _SQLiteSum:
    def __init__(self) -> None:
        self.result: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            number = _number(value)
            self.result = number if self.result is None else ARITHMETIC.add(self.result, number)

    def finalize(self) -> str | None:
        return None if self.result is None else str(self.result)


class _SQLiteMax(_SQLiteSum):
    def step(self, value: str | None) -> None:
        if value is not None:
            number = _number(value)
            if self.result is None or number > self.result:
                self.result = number


def _sqlite_compare(left: str | int | None, right: str) -> int | None:
    """-1, 0 or 1 as the decimal ``left`` (an aggregate's text, or a count) is below, at or
    above ``right``; ``NULL`` when ``left`` is."""
    if left is None:
        return None
    return int(ARITHMETIC.compare(Decimal(left), Decimal(right)))


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: give a new SQLite connection the functions above."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("journeys_decimal_cmp", 2, _sqlite_compare, deterministic=True)
    raw.create_aggregate("journeys_decimal_sum", 1, _SQLiteSum)
    raw.create_aggregate("journeys_decimal_max", 1, _SQLiteMax)
