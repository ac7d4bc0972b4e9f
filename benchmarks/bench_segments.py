"""Segment budgets on PostgreSQL: counts and membership at 50k, 100k and 200k contacts
(10 events each), and the compiled SQL against the Python reference on the same data.

Standalone: ``python benchmarks/bench_segments.py`` from the repository root. Creates and
drops its own database (``JOURNEYS_BENCH_DB``, default ``journeys_bench``) on the
PostgreSQL server of ``JOURNEYS_PG_HOST``/``JOURNEYS_PG_PORT``/``JOURNEYS_PG_USER``.
Prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines; nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("JOURNEYS_BENCH_DB", "journeys_bench")
os.environ["JOURNEYS_DB"] = "postgres"
os.environ["JOURNEYS_PG_NAME"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")

from benchmarks.databases import drop_pg_database, recreate_pg_database  # noqa: E402

SIZES = (50_000, 100_000, 200_000)
EVENTS_PER_CONTACT = 10

CONTACTS_SQL = """
INSERT INTO wagtail_journeys_contact (email, first_name, last_name, civility, birth_date,
    phone, locale, timezone, attributes, email_status, sms_opt_in, created_at, updated_at)
SELECT 'c' || g || '@bench.example', 'Ada', 'Bench',
    (ARRAY['mr', 'mrs', 'ms', ''])[1 + g %% 4],
    date '1950-01-01' + (g * 37 %% 20000),
    '', CASE WHEN g %% 3 = 0 THEN 'fr' ELSE 'en' END,
    (ARRAY['UTC', 'Europe/Paris', 'Asia/Tokyo', 'America/New_York', ''])[1 + g %% 5],
    CASE WHEN g %% 6 = 0
        THEN jsonb_build_object('loyalty_points', g * 7919 %% 500, 'referred_by', 'friend')
        ELSE jsonb_build_object('loyalty_points', g * 7919 %% 500) END,
    'subscribed', g %% 4 = 0, now(), now()
FROM generate_series(%(first)s, %(last)s) AS g
"""

# 10 events per contact: 7 page views over the last 60 days (5 of them tagged stephen-king for
# one contact in four), 2 purchases of 0–200 over the last 400 days, 1 email open; spread by
# a fixed arithmetic hash, so every run loads the same data.
EVENTS_SQL = """
INSERT INTO wagtail_journeys_event (name, contact_id, properties, occurred_at, received_at,
    source)
SELECT
    CASE WHEN k <= 7 THEN 'page_view' WHEN k <= 9 THEN 'purchase' ELSE 'email_opened' END,
    c.id,
    CASE
        WHEN k <= 7 THEN jsonb_build_object(
            'page_id', (c.id * k) %% 50,
            'tags', CASE WHEN c.id %% 4 = 0 AND k <= 5
                THEN '["stephen-king", "horror"]'::jsonb ELSE '["classic"]'::jsonb END)
        WHEN k <= 9 THEN jsonb_build_object(
            'amount', ((c.id * 7919 + k * 104729) %% 20000) / 100.0,
            'category', CASE WHEN k = 8 THEN 'thriller' ELSE 'classic' END)
        ELSE jsonb_build_object('email_page_id', 1, 'message_id', c.id)
    END,
    now() - (((c.id * 7919 + k * 104729) %% 100) / 100.0)
        * CASE WHEN k <= 7 THEN 60 ELSE 400 END * interval '1 day',
    now(), 'api'
FROM wagtail_journeys_contact c CROSS JOIN generate_series(1, %(per)s) AS k
WHERE c.id BETWEEN %(first_id)s AND %(last_id)s
"""


def load(first: int, last: int) -> None:
    """Contacts ``first..last`` and their events, then VACUUM ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(CONTACTS_SQL, {"first": first, "last": last})
        cursor.execute(
            "SELECT min(id), max(id) FROM wagtail_journeys_contact WHERE email LIKE %s",
            [f"c{first}@%"],
        )
        first_id = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM wagtail_journeys_contact")
        last_id = cursor.fetchone()[0]
        cursor.execute(
            EVENTS_SQL,
            {"per": EVENTS_PER_CONTACT, "first_id": first_id, "last_id": last_id},
        )
        # what autovacuum does to a live table: statistics, visibility map, hint bits
        cursor.execute("VACUUM ANALYZE wagtail_journeys_contact")
        cursor.execute("VACUUM ANALYZE wagtail_journeys_event")


def timed(function, repeat: int = 3) -> float:
    """Median wall time of ``function()`` in seconds, after one warm-up run."""
    function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def report(name: str, value: float, unit: str, budget: str | None = None) -> None:
    suffix = f" (budget {budget})" if budget else ""
    print(f"bench {name}: {value:.3g} {unit}{suffix}", flush=True)


def segments():
    from wagtail_journeys.models import Segment

    def rule(kind: str, **value) -> dict:
        return {"type": kind, "value": {"negate": False, **value}}

    king = {"key": "tags", "operator": "contains", "value": "stephen-king"}
    attribute = Segment.objects.create(
        name="Misters with points",
        slug="attribute",
        rules=[
            rule("civility", civility=["mr"]),
            rule("attribute", key="loyalty_points", operator="greater", value="250"),
        ],
    )
    birthday = Segment.objects.create(
        name="Birthday today", slug="birthday", rules=[rule("birthday", days=0, timezone="")]
    )
    spend_and_views = Segment.objects.create(
        name="Spenders reading Stephen King",
        slug="spend-and-views",
        rules=[
            rule(
                "event_total",
                function="sum",
                property="amount",
                event="purchase",
                filters=[],
                at_least=200.0,
                days=365,
            ),
            rule("event", event="page_view", at_least=3, days=30, filters=[king]),
        ],
    )
    return attribute, spend_and_views, birthday


def measure(size: int, attribute, spend_and_views, birthday, now) -> None:
    from wagtail_journeys.models import Contact

    label = f"{size // 1000}k"
    budgets = size == SIZES[-1]
    seconds = timed(lambda: attribute.count(now=now))
    report(f"segment_attribute_count_{label}", seconds, "s", "0.5 s" if budgets else None)
    seconds = timed(lambda: spend_and_views.count(now=now))
    report(f"segment_spend_and_views_count_{label}", seconds, "s", "3 s" if budgets else None)
    seconds = timed(lambda: birthday.count(now=now))
    report(f"segment_birthday_count_{label}", seconds, "s")
    ids = list(Contact.objects.order_by("?").values_list("id", flat=True)[:200])
    people = list(Contact.objects.filter(id__in=ids))
    spend_and_views.contains(people[0])
    start = time.perf_counter()
    for person in people:
        spend_and_views.contains(person)  # compiles the rules at each call
    per_call = (time.perf_counter() - start) / len(people) * 1000
    report(f"segment_contains_{label}", per_call, "ms", "5 ms" if budgets else None)
    start = time.perf_counter()
    for person in people:
        spend_and_views.contains(person, now=now)  # a batch: compiled once for its ``now``
    per_call = (time.perf_counter() - start) / len(people) * 1000
    report(f"segment_contains_batch_{label}", per_call, "ms")
    print(f"  ({attribute.count(now=now)} and {spend_and_views.count(now=now)} members)")


def compare_with_reference(segment, now) -> None:
    """Compiled SQL vs the Python reference on the same contacts (the first 20,000)."""
    from wagtail_journeys.models import Contact
    from wagtail_journeys.segments import load_facts, reference_matching

    contacts = Contact.objects.filter(id__in=Contact.objects.order_by("id").values("id")[:20000])
    sql_ids: set[int] = set()

    def by_sql():
        sql_ids.clear()
        sql_ids.update(contacts.filter(segment.compile(now=now)).values_list("id", flat=True))

    sql = timed(by_sql, repeat=3)
    start = time.perf_counter()
    facts = load_facts(contacts)
    loaded = time.perf_counter() - start
    python_ids = reference_matching(segment.rules, segment.match, facts, now=now)
    python = time.perf_counter() - start
    assert python_ids == sql_ids, "the SQL and the Python reference disagree"
    print(
        f"  (20k contacts: SQL {sql * 1000:.0f} ms, Python {python:.1f} s of which loading "
        f"{loaded:.1f} s; {len(sql_ids)} members, same set)"
    )
    report("segment_sql_vs_python_ratio", python / sql, "x")


def main() -> None:
    recreate_pg_database(BENCH_DB)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        call_command("migrate", verbosity=0)
        attribute, spend_and_views, birthday = segments()
        now = timezone.now()
        loaded = 0
        for size in SIZES:
            start = time.perf_counter()
            load(loaded + 1, size)
            print(
                f"  (loaded contacts {loaded + 1}..{size} and their events in "
                f"{time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            loaded = size
            measure(size, attribute, spend_and_views, birthday, now)
            if size == SIZES[0]:
                compare_with_reference(spend_and_views, now)
    finally:
        drop_pg_database(BENCH_DB)


if __name__ == "__main__":
    main()
