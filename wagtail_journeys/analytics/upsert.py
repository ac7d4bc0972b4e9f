"""Adding counts into rollup rows: one ``INSERT … ON CONFLICT DO UPDATE`` per chunk.

PostgreSQL and SQLite (3.24+) share the syntax: a row whose key exists gets the new
counts added (``x = x + EXCLUDED.x``), never read first, so the caller's transaction is
the only thing that makes a batch count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, models

#: Rows per statement: well under both databases' limits on parameters (21 columns).
CHUNK = 1000


def add_counts(
    model: type[models.Model],
    key: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    add: Sequence[str],
    replace: Sequence[str] = (),
) -> int:
    """Insert ``rows`` (dicts of ``key`` + ``add`` + ``replace`` fields) into ``model``'s
    table; where a row with the same ``key`` exists, add the ``add`` fields into it and
    overwrite the ``replace`` ones. Returns how many rows were given."""
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in (*key, *add, *replace)]
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in key)
    updates = [
        f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}"
        for c in (meta.get_field(name).column for name in add)
    ] + [
        f"{quote(c)} = EXCLUDED.{quote(c)}"
        for c in (meta.get_field(name).column for name in replace)
    ]
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    rows = list(rows)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            params = [f.get_db_prep_save(row[f.name], connection) for row in chunk for f in fields]
            # Identifiers are the model's own, quoted by the backend; values are parameters.
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                + ", ".join([placeholder] * len(chunk))
                + f" ON CONFLICT ({conflict}) DO UPDATE SET {', '.join(updates)}"
            )
            cursor.execute(sql, params)
    return len(rows)
