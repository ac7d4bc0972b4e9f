"""The scenario forms' suggestions on PostgreSQL: the event names seen in a log of
2,000,000 events (40 names), and the property names of one event, uncached, beside the
plain ``SELECT DISTINCT name`` they avoid.

Standalone: ``python benchmarks/bench_suggestions.py`` from the repository root. Creates and
drops its own database (``JOURNEYS_BENCH_SUGGESTIONS_DB``, default
``journeys_bench_suggestions``) on
the PostgreSQL server of ``JOURNEYS_PG_HOST``/``JOURNEYS_PG_PORT``/``JOURNEYS_PG_USER``.
Prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines; nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.bench_segments import admin_connection, report, timed  # noqa: E402

BENCH_DB = os.environ.get("JOURNEYS_BENCH_SUGGESTIONS_DB", "journeys_bench_suggestions")
os.environ["JOURNEYS_DB"] = "postgres"
os.environ["JOURNEYS_PG_NAME"] = BENCH_DB  # (importing bench_segments set its own)

EVENTS = 2_000_000
NAMES = 40

EVENTS_SQL = """
INSERT INTO wagtail_journeys_event (name, properties, occurred_at, received_at, source)
SELECT 'event_' || lpad((g %% %(names)s)::text, 2, '0'),
    jsonb_build_object('amount', g %% 100, 'k' || (g %% 7), g),
    now() - (g %% 86400) * interval '1 minute', now(), 'api'
FROM generate_series(1, %(events)s) AS g
"""


def main() -> None:
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        from wagtail_journeys.scenarios.suggestions import seen_event_names, seen_property_keys

        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(EVENTS_SQL, {"names": NAMES, "events": EVENTS})
            cursor.execute("VACUUM ANALYZE wagtail_journeys_event")
        print(f"  (loaded {EVENTS:,} events in {time.perf_counter() - start:.0f} s)", flush=True)

        names = seen_event_names()
        assert len(names) == NAMES, names
        report("suggest_event_names_2m", timed(seen_event_names) * 1000, "ms", "≤ 50 ms")
        keys = seen_property_keys("event_07")
        assert "amount" in keys, keys
        report(
            "suggest_property_keys_2m",
            timed(lambda: seen_property_keys("event_07")) * 1000,
            "ms",
            "≤ 50 ms",
        )

        def distinct():
            with connection.cursor() as cursor:
                cursor.execute("SELECT DISTINCT name FROM wagtail_journeys_event")
                cursor.fetchall()

        report("suggest_plain_distinct_2m", timed(distinct, repeat=1) * 1000, "ms")
        connections.close_all()
    finally:
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
