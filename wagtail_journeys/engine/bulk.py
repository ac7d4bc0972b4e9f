"""Writing many rows' new values with few statements."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router, transaction


def update_by_values(rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of ``rows`` (all of one model) with one UPDATE per distinct tuple of
    values: rows moved by the same step at the same time share one, far cheaper than a
    per-row ``CASE`` (``bulk_update``). The UPDATEs commit together."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, f) for f in fields), []).append(row.pk)
    if not groups:
        return
    model = type(rows[0])
    with transaction.atomic():
        for values, ids in groups.items():
            model._default_manager.filter(pk__in=ids).update(
                **dict(zip(fields, values, strict=True))
            )


#: Field types whose values psycopg adapts as Django would prepare them (``insert_rows``).
PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


AUTO_TYPES = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})


def insert_rows(rows: Sequence[models.Model], *, ids: bool = False) -> None:
    """Insert new ``rows`` (all of one model, without primary keys yet, which the
    database numbers) as ``bulk_create`` would; with ``ids``, they
    get their primary keys. On PostgreSQL the rows go in one ``COPY``, their values
    adapted by psycopg's C dumpers rather than prepared field by field by Django (which
    was most of a broadcast's CPU), the keys drawn first from the table's sequence in one
    query; JSON fields are still prepared by Django. A model with a field of another type,
    and other databases, use ``bulk_create``. Runs in the caller's transaction; a unique
    key taken raises ``IntegrityError``, as ``bulk_create`` does."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[router.db_for_write(model)]
    fields = model._meta.concrete_fields
    if (
        connection.vendor != "postgresql"
        or model._meta.pk.get_internal_type() not in AUTO_TYPES
        or any(row.pk is not None for row in rows)
        or any(f.get_internal_type() not in PLAIN_TYPES | {"JSONField"} for f in fields)
    ):
        model._default_manager.bulk_create(rows, batch_size=2000)
        return
    if ids:
        _draw_ids(connection, model, rows)
    else:
        fields = [f for f in fields if not f.primary_key]
    json = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    stamped = [
        i
        for i, f in enumerate(fields)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                for i in stamped:  # auto_now(_add): set on the row, as Django's save does
                    fields[i].pre_save(row, True)
                values = [getattr(row, name) for name in names]
                for i in json:
                    values[i] = fields[i].get_db_prep_save(values[i], connection)
                copy.write_row(values)
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias


def _draw_ids(connection, model: type[models.Model], rows: Sequence[models.Model]) -> None:
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), pk, len(rows)],
        )
        for row, (value,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = value
