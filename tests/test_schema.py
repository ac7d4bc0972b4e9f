"""The app's tables carry no index that another makes redundant: every index is written
on each insert (and on each update that moves an indexed column), so one whose columns
lead another index is paid for on every row and serves no query the other does not.
Migration 0024 drops those of foreign keys without rebuilding the tables, on SQLite too."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

#: (table, index name, key columns in order, partial, unique) of the app's tables.
INDEXES = """
SELECT t.relname, i.relname, array_agg(a.attname ORDER BY k.n), x.indpred IS NOT NULL,
       x.indisunique
FROM pg_index x
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree'
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE t.relname LIKE 'wagtail\\_journeys\\_%%' AND x.indexprs IS NULL
GROUP BY t.relname, i.relname, x.indpred, x.indisunique
"""


@pytest.mark.postgres
def test_no_index_is_the_leading_part_of_another():
    with connection.cursor() as cursor:
        cursor.execute(INDEXES)
        indexes = cursor.fetchall()
    redundant = [
        f"{table}: {name} {columns} leads {other} {wider}"
        for table, name, columns, partial, unique in indexes
        if not partial and not unique  # a unique or partial index says more than its columns
        for table2, other, wider, partial2, _ in indexes
        if table2 == table
        and other != name
        and not partial2
        and len(wider) > len(columns)
        and wider[: len(columns)] == columns
    ]
    assert redundant == [], "\n".join(redundant)


def test_the_foreign_keys_are_served_by_the_wider_index_alone():
    """After ``migrate`` (SQLite and PostgreSQL alike): none of the foreign keys of
    migration 0024 has an index of its own, and an index leads with each."""
    from django.apps import apps

    migration = importlib.import_module("wagtail_journeys.migrations.0024_fk_indexes")
    with connection.cursor() as cursor:
        for model_name, field_name in migration.FIELDS:
            model = apps.get_model("wagtail_journeys", model_name)
            column = model._meta.get_field(field_name).column
            found = connection.introspection.get_constraints(cursor, model._meta.db_table)
            indexes = [c["columns"] for c in found.values() if c["index"] or c["unique"]]
            assert [column] not in indexes, (model_name, field_name)
            assert any(columns[0] == column for columns in indexes), (model_name, indexes)
