"""Copy a whole site's database into a new one: the move from SQLite to PostgreSQL
(``manage.py journeys_move_database``, see ``docs/how-to/scale-out.md``).

Every table of every installed app is copied row for row with its primary keys (pages,
revisions, content types, permissions, images and documents, contacts, events,
enrolments, step runs, messages, consent records, django-q2's schedules and queue), so
foreign keys, generic relations and the engine's cursors over the event log mean the same
on both sides. Values go through each field's own conversions (from the source's storage
to Python, then to the target's), never through ``save()``: no signal fires, no
``auto_now`` date moves. The source is only read, in one transaction (a consistent
snapshot); the target is written in one transaction, so a failure leaves it as it was.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.db.migrations.recorder import MigrationRecorder

#: What ``migrate`` itself puts in a new database (content types, permissions, Wagtail's
#: root and welcome pages, site, locale, root collection, default groups and workflow,
#: the django-q2 schedules, the reports' cursor of enrolments): a target holding only
#: these is new, and they are replaced by the source's own rows.
MADE_BY_MIGRATE = frozenset(
    {
        "wagtail_journeys.eventcursor",
        "contenttypes.contenttype",
        "auth.permission",
        "auth.group",
        "auth.group_permissions",
        "django_q.schedule",
        "wagtailcore.collection",
        "wagtailcore.groupapprovaltask",
        "wagtailcore.groupapprovaltask_groups",
        "wagtailcore.groupcollectionpermission",
        "wagtailcore.grouppagepermission",
        "wagtailcore.locale",
        "wagtailcore.page",
        "wagtailcore.site",
        "wagtailcore.task",
        "wagtailcore.workflow",
        "wagtailcore.workflowpage",
        "wagtailcore.workflowtask",
    }
)
#: Wagtail's migrations create a root page and a welcome page.
PAGES_MADE_BY_MIGRATE = 2
#: Not copied: the database search backend's index has other columns on each database
#: (full-text tables on SQLite, ``tsvector`` on PostgreSQL). ``manage.py update_index``
#: rebuilds it on the new database.
NOT_COPIED = frozenset({"wagtailsearch.indexentry", "wagtailsearch.sqliteftsindexentry"})

#: Rows per batch of a table with a ``BinaryField`` (a contacts import keeps its file).
BINARY_BATCH_SIZE = 10

URL_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


class MoveError(Exception):
    """The move cannot start or did not complete; the target was left as it was."""


@dataclass
class TableCount:
    """Rows of one table in the source and, after the copy, in the target."""

    label: str
    table: str
    source: int
    target: int = 0


def settings_from_url(url: str) -> dict:
    """Django ``DATABASES`` settings from ``postgres://user:password@host:port/name``
    (query parameters become ``OPTIONS``, e.g. ``?sslmode=require``) or
    ``sqlite:////absolute/path.sqlite3``."""
    parts = urllib.parse.urlsplit(url)
    engine = URL_ENGINES.get(parts.scheme)
    if engine is None:
        schemes = ", ".join(sorted(URL_ENGINES))
        raise MoveError(f"Unknown database URL scheme {parts.scheme!r} (known: {schemes}).")
    if engine.endswith("sqlite3"):
        # sqlite:////absolute/path or sqlite:///relative/path, as dj-database-url reads them
        path = urllib.parse.unquote(parts.path)[1:]
        if not path or path == "/":
            raise MoveError("A SQLite URL names a file: sqlite:////absolute/path.sqlite3.")
        return {"ENGINE": engine, "NAME": path}
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    if not name:
        raise MoveError(f"The URL {redact(url)} names no database (…/NAME at its end).")
    return {
        "ENGINE": engine,
        "NAME": name,
        "USER": urllib.parse.unquote(parts.username or ""),
        "PASSWORD": urllib.parse.unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(urllib.parse.parse_qsl(parts.query)),
    }


def redact(url: str) -> str:
    """``url`` without its password, to print."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def connect(spec: str) -> str:
    """The connection alias for ``spec``: an alias of ``DATABASES``, or a URL (see
    ``settings_from_url``) registered under a new alias for this process."""
    if spec in connections.settings:
        return spec
    if "://" not in spec:
        aliases = ", ".join(connections.settings)
        raise MoveError(
            f"{spec!r} is neither an alias of DATABASES ({aliases}) nor a database URL "
            "such as postgres://user@host:5432/name."
        )
    alias = f"journeys_move_{len(connections.settings)}"
    configured = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {}, alias: settings_from_url(spec)}
    )
    connections.settings[alias] = configured[alias]
    return alias


def _identity(alias: str) -> tuple:
    settings_dict = connections[alias].settings_dict
    return tuple(str(settings_dict.get(key) or "") for key in ("ENGINE", "NAME", "HOST", "PORT"))


def copied_models(target: str) -> list[type[models.Model]]:
    """Every table's model (many-to-many tables included) that the move copies into
    ``target``: concrete, managed, not swapped out, routed there."""
    chosen = []
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed or opts.label_lower in NOT_COPIED:
            continue
        if router.allow_migrate_model(target, model):
            chosen.append(model)
    return chosen


def count_rows(alias: str, model: type[models.Model]) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {connections[alias].ops.quote_name(model._meta.db_table)}"  # noqa: S608
        )
        return cursor.fetchone()[0]


def check_schemas(source: str, target: str) -> None:
    """Both databases at the same migrations, or a ``MoveError`` saying which to run."""
    applied = {}
    for alias in (source, target):
        connection = connections[alias]
        recorder = MigrationRecorder(connection)
        if not recorder.has_table():
            applied[alias] = set()
        else:
            applied[alias] = set(recorder.applied_migrations())
    if not applied[target]:
        raise MoveError(
            "The target database has no tables: run `manage.py migrate` with the settings "
            "that point at it first (e.g. JOURNEYS_DB=postgres manage.py migrate)."
        )
    missing = sorted(applied[source] - applied[target])
    extra = sorted(applied[target] - applied[source])
    if missing or extra:
        first = "{}.{}".format(*(missing or extra)[0])
        where = "target" if missing else "source"
        raise MoveError(
            f"The databases are not at the same migrations ({len(missing)} applied to the "
            f"source only, {len(extra)} to the target only; first: {first}): run "
            f"`manage.py migrate` on the {where} with this code first."
        )


def occupied_tables(target: str, models_: list[type[models.Model]]) -> list[tuple[str, int]]:
    """Tables of ``target`` holding rows that ``migrate`` did not put there: signs of a
    site in use, which the move would overwrite."""
    found = []
    for model in models_:
        label = model._meta.label_lower
        rows = count_rows(target, model)
        if label == "wagtailcore.page":
            if rows > PAGES_MADE_BY_MIGRATE:
                found.append((model._meta.db_table, rows))
        elif rows and label not in MADE_BY_MIGRATE:
            found.append((model._meta.db_table, rows))
    return found


def copy_model(
    model: type[models.Model], source: str, target: str, batch_size: int
) -> Iterator[int]:
    """Copy one table in primary-key order, ``batch_size`` rows per INSERT batch (a few
    for tables with files in them, such as uploaded imports); yields the number of rows
    of each batch."""
    opts = model._meta
    fields = [f for f in opts.local_concrete_fields if not getattr(f, "generated", False)]
    if any(isinstance(f, models.BinaryField) for f in fields):
        batch_size = min(batch_size, BINARY_BATCH_SIZE)
    connection = connections[target]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    pk_index = fields.index(opts.pk)
    rows = (
        model._base_manager.using(source)
        .order_by(opts.pk.attname)
        .values_list(*(f.attname for f in fields))
    )
    last = None
    while True:
        batch = list((rows if last is None else rows.filter(pk__gt=last))[:batch_size])
        if not batch:
            return
        values = [
            [
                field.get_db_prep_save(value, connection=connection)
                for field, value in zip(fields, row, strict=True)
            ]
            for row in batch
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, values)
        last = batch[-1][pk_index]
        yield len(batch)


def move(
    source: str,
    target: str,
    *,
    batch_size: int = 2000,
    replace: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[TableCount]:
    """Copy every table of ``source`` into ``target`` (both aliases), then set the
    target's sequences past the copied ids and compare the row counts of every table.

    Refuses (``MoveError``) when the schemas differ or, unless ``replace``, when the
    target holds data of its own. Reads ``source`` in one transaction and never writes
    to it; writes ``target`` in one transaction (all or nothing). ``on_progress(done,
    total)`` is called after each batch. Returns the counts, table by table.
    """
    if _identity(source) == _identity(target):
        raise MoveError("The source and the target are the same database.")
    check_schemas(source, target)
    chosen = copied_models(target)
    if not replace:
        occupied = occupied_tables(target, chosen)
        if occupied:
            listed = ", ".join(f"{table} ({rows:,} rows)" for table, rows in occupied[:5])
            more = f" and {len(occupied) - 5} more" if len(occupied) > 5 else ""
            raise MoveError(
                f"The target database holds data: {listed}{more}. Move into a new, "
                "migrated database, or pass --replace to delete what it holds."
            )
    target_connection = connections[target]
    with transaction.atomic(using=source), transaction.atomic(using=target):
        counts = [
            TableCount(m._meta.label_lower, m._meta.db_table, count_rows(source, m)) for m in chosen
        ]
        total = sum(c.source for c in counts)
        with target_connection.cursor() as cursor:
            if target_connection.vendor == "postgresql":
                # Foreign keys are checked at the commit, once every table is there.
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            tables = [m._meta.db_table for m in chosen]
            for statement in target_connection.ops.sql_flush(
                no_style(), tables, allow_cascade=True
            ):
                cursor.execute(statement)
        done = 0
        for model, count in zip(chosen, counts, strict=True):
            if not count.source:
                continue
            for copied in copy_model(model, source, target, batch_size):
                done += copied
                if on_progress:
                    on_progress(done, total)
        with target_connection.cursor() as cursor:
            for statement in target_connection.ops.sequence_reset_sql(no_style(), chosen):
                cursor.execute(statement)
        for model, count in zip(chosen, counts, strict=True):
            count.target = count_rows(target, model)
        different = [c for c in counts if c.source != c.target]
        if different:
            listed = ", ".join(f"{c.table} {c.source:,} → {c.target:,}" for c in different)
            raise MoveError(f"Row counts differ after the copy ({listed}): nothing was kept.")
    return counts
