"""What the scenario forms offer as the editor types: the event names seen in the event log
and, for one event name, the property names its recent events carry.

Both are bounded and read through the ``(name, occurred_at)`` index of ``Event``: names by
a loose index scan (one index seek per name, at most ``MAX_NAMES``; never a scan of the
log), keys from the ``KEY_SAMPLE`` latest events of the name. Both are cached for
``CACHE_SECONDS``: a name first seen a minute ago may be missing for that long. Event
names and property names are not contact data; values never leave.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache

MAX_NAMES = 200
MAX_KEYS = 100
KEY_SAMPLE = 500
CACHE_SECONDS = 300
NAMES_KEY = "journeys:suggest:names"


def seen_event_names(limit: int = MAX_NAMES) -> list[str]:
    """The first ``limit`` distinct event names in the log, sorted (uncached): one query,
    a loose index scan written as a recursive CTE (each step is ``MIN(name)`` above the
    last, one seek in the ``(name, occurred_at)`` index), on SQLite and PostgreSQL alike."""
    from django.db import connection

    from ..models import Event

    table = connection.ops.quote_name(Event._meta.db_table)
    sql = f"""
        WITH RECURSIVE seen(name, n) AS (
            SELECT (SELECT MIN(name) FROM {table}), 1
            UNION ALL
            SELECT (SELECT MIN(e.name) FROM {table} e WHERE e.name > seen.name), seen.n + 1
            FROM seen WHERE seen.name IS NOT NULL AND seen.n < %s
        )
        SELECT name FROM seen WHERE name IS NOT NULL ORDER BY n
    """  # noqa: S608 (the table name is the model's own; the limit is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def seen_property_keys(name: str, limit: int = MAX_KEYS) -> list[str]:
    """The property names of the latest ``KEY_SAMPLE`` events named ``name`` (uncached)."""
    from ..models import Event

    keys: set[str] = set()
    recent = Event.objects.filter(name=name).order_by("-occurred_at")[:KEY_SAMPLE]
    for properties in recent.values_list("properties", flat=True):
        if isinstance(properties, dict):
            keys.update(str(key) for key in properties)
    return sorted(keys)[:limit]


def event_names() -> list[str]:
    """:func:`seen_event_names`, cached."""
    return _cached(NAMES_KEY, seen_event_names)


def property_keys(name: str) -> list[str]:
    """:func:`seen_property_keys`, cached per event name."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return _cached(f"journeys:suggest:keys:{digest}", lambda: seen_property_keys(name))


def _cached(key: str, compute) -> Any:
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, CACHE_SECONDS)
    return found
