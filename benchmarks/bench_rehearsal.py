"""Rehearsal budget on PostgreSQL: the Stephen King journey rehearsed over 30 days of
2,000,000 events from 200,000 contacts (≤ 60 s, ≤ 500 MB).

Standalone: ``python benchmarks/bench_rehearsal.py [--contacts 200000] [--small]`` from the
repository root. Creates and drops its own database (``JOURNEYS_BENCH_DB``, default
``journeys_rehearsal_bench``) on the PostgreSQL server of ``JOURNEYS_PG_HOST``/
``JOURNEYS_PG_PORT``/``JOURNEYS_PG_USER``. The rows are made in SQL (``generate_series``),
ten events per contact, with ids in time order as a live log has them. ``--small`` also
rehearses over the first 200,000 events alone (three days: nobody is past the wait yet);
``--contacts 20000`` gives 200,000 events over the whole 30 days. Prints
``bench NAME: VALUE UNIT (budget BUDGET)`` lines (the memory is the process's peak
resident size, Django included); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("JOURNEYS_BENCH_DB", "journeys_rehearsal_bench")
os.environ["JOURNEYS_DB"] = "postgres"
os.environ["JOURNEYS_PG_NAME"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")

from benchmarks.databases import drop_pg_database, recreate_pg_database  # noqa: E402

CONTACTS_SQL = """
INSERT INTO wagtail_journeys_contact (email, first_name, last_name, civility, birth_date,
    phone, locale, timezone, attributes, email_status, sms_opt_in, created_at, updated_at)
SELECT 'c' || g || '@bench.example', 'Ada', 'Bench', '', NULL, '', 'en',
    (ARRAY['UTC', 'Europe/Paris', 'Asia/Tokyo', 'America/New_York', ''])[1 + g %% 5],
    '{}'::jsonb, CASE WHEN g %% 20 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, false,
    now(), now()
FROM generate_series(1, %(contacts)s) AS g
"""

# Ten events per contact over the last 30 days: 7 page views (5 of them of Stephen King
# pages for one contact in four), 2 purchases (a thriller for one in three), 1 email
# open; times spread by a fixed arithmetic hash, inserted in time order (ids follow time).
EVENTS_SQL = """
INSERT INTO wagtail_journeys_event (name, contact_id, properties, occurred_at, received_at,
    source)
SELECT name, contact_id, properties, at, at, source FROM (
    SELECT
        CASE WHEN k <= 7 THEN 'page_view' WHEN k <= 9 THEN 'purchase'
            ELSE 'email_opened' END AS name,
        c.id AS contact_id,
        CASE
            WHEN k <= 7 THEN jsonb_build_object(
                'page_id', (c.id * k) %% 50,
                'tags', CASE WHEN c.id %% 4 = 0 AND k <= 5
                    THEN '["stephen-king", "horror"]'::jsonb ELSE '["classic"]'::jsonb END)
            WHEN k <= 9 THEN jsonb_build_object(
                'amount', ((c.id * 7919 + k * 104729) %% 20000) / 100.0,
                'category', CASE WHEN c.id %% 3 = 0 AND k = 9 THEN 'thriller'
                    ELSE 'classic' END)
            ELSE jsonb_build_object('email_page_id', 1, 'message_id', c.id)
        END AS properties,
        %(now)s - (((c.id * CASE WHEN k <= 7 THEN 7919 ELSE 15485863 END + k * 104729)
            %% 100000) / 100000.0) * interval '30 days' AS at,
        CASE WHEN k <= 7 THEN 'page' ELSE 'api' END AS source
    FROM wagtail_journeys_contact c CROSS JOIN generate_series(1, 10) AS k
) AS log ORDER BY at
"""


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:,.1f} {unit} (budget {budget})", flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(contacts: int, now) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(CONTACTS_SQL, {"contacts": contacts})
        cursor.execute(EVENTS_SQL, {"now": now})
        cursor.execute("VACUUM ANALYZE wagtail_journeys_contact")
        cursor.execute("VACUUM ANALYZE wagtail_journeys_event")


def king_journey():
    """The issue's journey, as a draft: viewed 3 Stephen King pages → wait 3 days →
    unless they bought a thriller → "Best of Stephen King"; goal: a purchase."""
    from tests.emails.factories import make_email
    from tests.scenarios.factories import add, scenario_index
    from wagtail_journeys.models import (
        Branch,
        ConditionStep,
        ExitStep,
        ScenarioPage,
        SendEmailStep,
        WaitStep,
    )

    scenario = add(
        scenario_index(),
        ScenarioPage,
        publish=False,
        title="Stephen King readers",
        trigger_kind="page_view",
        trigger_event="",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
        goal_event="purchase",
        goal_filters={"category": "thriller"},
    )
    add(scenario, WaitStep, publish=False, mode="duration", amount=3, unit="days")
    condition = add(scenario, ConditionStep, publish=False, title="Bought a thriller?")
    thriller = {"key": "category", "operator": "equals", "value": "thriller"}
    bought = add(
        condition,
        Branch,
        publish=False,
        title="bought one",
        rules=[
            {
                "type": "event",
                "value": {
                    "negate": False,
                    "event": "purchase",
                    "at_least": 1,
                    "days": 30,
                    "filters": [thriller],
                },
            }
        ],
    )
    add(bought, ExitStep, publish=False)
    other = add(condition, Branch, publish=False, title="else", is_else=True)
    add(other, SendEmailStep, publish=False, email=make_email(title="Best of Stephen King"))
    return scenario


def rehearse_over(scenario, start, end, label: str, events: int, tick: int | None) -> None:
    import datetime as dt

    from wagtail_journeys.engine.rehearsal import TICK, rehearse

    began, cpu = time.perf_counter(), time.process_time()
    step = dt.timedelta(minutes=tick) if tick else TICK
    result = rehearse(scenario, start=start, end=end, tick=step)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    report(f"rehearsal {label} events", seconds, "s", "60 s")
    print(f"  ({cpu:.1f} s of it on this process's CPU; load average {os.getloadavg()[0]:.1f})")
    report(f"rehearsal {label} events peak memory", peak_mb(), "MB", "500 MB")
    print(
        f"  ({events:,} events in the period, {result.events_read:,} read by the journey; "
        f"{result.entered:,} entered, {result.sent:,} emails, {result.converted:,} "
        f"converted, {result.active:,} still inside)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--small", action="store_true", help="also over 200,000 events")
    parser.add_argument("--tick", type=int, help="minutes between passes (default: TICK)")
    args = parser.parse_args()
    recreate_pg_database(BENCH_DB)
    try:
        import datetime as dt

        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        from wagtail_journeys.models import Event

        call_command("migrate", verbosity=0)
        now = timezone.now().replace(second=0, microsecond=0)
        start = now - dt.timedelta(days=30)
        began = time.perf_counter()
        load(args.contacts, now)
        total = Event.objects.count()
        print(
            f"  (loaded {args.contacts:,} contacts and {total:,} events in "
            f"{time.perf_counter() - began:.0f} s)",
            flush=True,
        )
        scenario = king_journey()
        if args.small:
            small_end = Event.objects.order_by("id").values_list("occurred_at", flat=True)[
                min(200_000, total) - 1
            ]
            rehearse_over(scenario, start, small_end, "200k", 200_000, args.tick)
        label = f"{total / 1_000_000:g}M" if total >= 1_000_000 else f"{total // 1000}k"
        rehearse_over(scenario, start, now, label, total, args.tick)
    finally:
        drop_pg_database(BENCH_DB)


if __name__ == "__main__":
    main()
