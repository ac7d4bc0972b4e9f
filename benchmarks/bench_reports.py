"""Report budgets on PostgreSQL: a scenario report, an email report and the overview over
rollup rows standing for 1,000,000 messages and 3,000,000 engagement events, and the
first page of the contacts behind a number over 1,000,000 ``Message`` rows.

The rollup rows are generated directly (``generate_series``) with a realistic shape: 20
scenarios of 8 send steps and a split over 365 days, each send step its own email in 3
segment variants (the benchmarked email is sent by step 1 of every scenario), 4 links per
email; about 1.0 M sends and 3.0 M opens and clicks in all (the script prints the sums).
One scenario and one email are real pages, so the reports read their tree and titles.

Standalone: ``python benchmarks/bench_reports.py`` from the repository root. Creates and
drops its own database (``JOURNEYS_BENCH_DB``, default ``journeys_bench_reports``) on the
PostgreSQL server of ``JOURNEYS_PG_HOST``/``JOURNEYS_PG_PORT``/``JOURNEYS_PG_USER``.
Prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines; nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("JOURNEYS_BENCH_DB", "journeys_bench_reports")
os.environ["JOURNEYS_DB"] = "postgres"
os.environ["JOURNEYS_PG_NAME"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")

import statistics  # noqa: E402

from benchmarks.databases import drop_pg_database, recreate_pg_database  # noqa: E402

SCENARIOS, SENDS, DAYS, VARIANTS, LINKS = 20, 8, 365, 3, 4
CONTACTS = 200_000
MESSAGES = 1_000_000
#: Synthetic ids of the scenarios, steps and emails that are not real pages (the real
#: scenario and its steps, and the real email, replace the first of each).
FAKE = 10_000_000

# g: (scenario, send step, day, variant) -> a row; ~ 1,000,000 sends in all:
# 20 * 8 * 365 * 3 = 175,200 rows of 6 sends on average, 3 opens and clicks per send.
MAIL_SQL = """
INSERT INTO wagtail_journeys_mailday (day, email_page_id, scenario_id, step_id, variant,
    sent, delivered, bounced, hard_bounced, rejected, complained, unsubscribed,
    opened, opens, machine_opens, clicked, clicks, machine_clicks, converted, conversions,
    revenue)
SELECT %(end)s::date - d, CASE WHEN k = 0 THEN %(email)s ELSE %(fake)s + s * 100 + k END,
    CASE WHEN s = 0 THEN %(scenario)s ELSE %(fake)s + s END,
    CASE WHEN s = 0 THEN (%(steps)s::int[])[k + 1] ELSE %(fake)s + s * 100 + k END,
    (ARRAY['', '11', '12,13'])[v + 1],
    n, n - n / 40, n / 40, n / 80, 0, (n * 7) / 10000, n / 200,
    (n * 45) / 100, (n * 150) / 100, (n * 80) / 100, (n * 20) / 100, (n * 60) / 100,
    (n * 20) / 100, (n * 2) / 100, (n * 3) / 100, ((n * 2) / 100) * 19.90
FROM generate_series(0, %(scenarios)s - 1) AS s, generate_series(0, %(sends)s - 1) AS k,
    generate_series(0, %(days)s - 1) AS d, generate_series(0, %(variants)s - 1) AS v,
    LATERAL (SELECT 2 + (s * 7919 + k * 104729 + d * 31 + v * 17) %% 9 AS n) AS sizes
"""

LINK_SQL = """
INSERT INTO wagtail_journeys_linkday (day, email_page_id, scenario_id, step_id, link, url,
    clicks, clicked, machine_clicks)
SELECT day, email_page_id, scenario_id, step_id, l, 'https://shop.example/link/' || l,
    (clicks * (l + 1)) / 10, (clicked * (l + 1)) / 10, machine_clicks / 4
FROM (SELECT day, email_page_id, scenario_id, step_id, sum(clicks) AS clicks,
        sum(clicked) AS clicked, sum(machine_clicks) AS machine_clicks
      FROM wagtail_journeys_mailday GROUP BY day, email_page_id, scenario_id, step_id) AS m,
    generate_series(0, %(links)s - 1) AS l
"""

# Per scenario and day: entered, converted (scenario), each step's sent/skipped/deferred,
# the split's two arms (done and converted), exits and completions.
STEP_SQL = """
INSERT INTO wagtail_journeys_stepday (day, scenario_id, step_id, branch_id, outcome, count,
    revenue)
SELECT %(end)s::date - d, sc, step, branch, outcome, 1 + (sc * 31 + step + d * 7) %% 50, 0
FROM generate_series(0, %(days)s - 1) AS d,
    LATERAL (SELECT CASE WHEN s = 0 THEN %(scenario)s ELSE %(fake)s + s END AS sc, s
             FROM generate_series(0, %(scenarios)s - 1) AS s) AS scenarios,
    LATERAL (
        SELECT 0 AS step, 0 AS branch, o AS outcome
        FROM unnest(ARRAY['entered', 'converted', 'exited', 'completed']) AS o
        UNION ALL
        SELECT CASE WHEN s = 0 THEN (%(steps)s::int[])[k + 1] ELSE %(fake)s + s * 100 + k END,
            0, o
        FROM generate_series(0, %(sends)s - 1) AS k,
            unnest(ARRAY['sent', 'skipped', 'deferred']) AS o
        UNION ALL
        SELECT CASE WHEN s = 0 THEN %(split)s ELSE %(fake)s + s * 100 + 99 END,
            CASE WHEN s = 0 THEN (%(arms)s::int[])[a + 1] ELSE %(fake)s + s * 100 + 90 + a END,
            o
        FROM generate_series(0, 1) AS a, unnest(ARRAY['done', 'converted']) AS o
    ) AS rows
"""

MESSAGES_SQL = """
INSERT INTO wagtail_journeys_message (uuid, contact_id, email_page_id, subject, status,
    message_id, variant, context, error, transactional, scenario_id, step_id, recipient,
    esp_message_id, created_at, sent_at, delivered_at, opened_at, clicked_at, open_count,
    click_count, machine_open_count, machine_click_count, bounce_type, revenue)
SELECT gen_random_uuid(), %(first_contact)s + g %% %(contacts)s,
    CASE WHEN g %% 8 = 0 THEN %(email)s END, 'Hello', 'delivered',
    '<' || g || '@bench.example>', '[]'::jsonb, '{}'::jsonb, '', false,
    CASE WHEN g %% 20 = 0 THEN %(scenario)s ELSE %(fake)s + g %% 20 END, NULL, '', '',
    t, t, t + interval '1 minute',
    CASE WHEN g %% 100 < 45 THEN t + interval '2 hours' END,
    CASE WHEN g %% 100 < 9 THEN t + interval '3 hours' END,
    CASE WHEN g %% 100 < 45 THEN 2 ELSE 0 END, CASE WHEN g %% 100 < 9 THEN 3 ELSE 0 END,
    0, 0, '', 0
FROM generate_series(1, %(messages)s) AS g,
    LATERAL (
        SELECT now() - ((g::bigint * 7919) %% (%(days)s * 1440)) * interval '1 minute' AS t
    ) AS x
"""


CONTACTS_SQL = """
INSERT INTO wagtail_journeys_contact (email, first_name, last_name, civility, phone, locale,
    timezone, attributes, email_status, sms_opt_in, created_at, updated_at)
SELECT 'c' || g || '@bench.example', 'Ada', 'Bench', '', '', 'en', 'UTC', '{}'::jsonb,
    'subscribed', false, now() - g * interval '1 minute', now()
FROM generate_series(1, %(contacts)s) AS g
"""


def timed(function, repeat: int = 5) -> float:
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


def real_pages():
    """One published scenario (8 send steps, then a split with two arms) and its email."""
    from wagtail.models import Page

    from wagtail_journeys.models import (
        Branch,
        EmailIndexPage,
        EmailPage,
        ScenarioIndexPage,
        ScenarioPage,
        SendEmailStep,
        SplitStep,
        UpdateContactStep,
    )
    from wagtail_journeys.scenarios.guard import publishing_together

    root = Page.objects.filter(depth=2).first() or Page.get_first_root_node()

    def child(parent, page, publish=True):
        parent.add_child(instance=page)
        revision = page.save_revision()
        if publish:
            revision.publish()
        return page

    emails = child(root, EmailIndexPage(title="Bench emails", slug="bench-emails"))
    email = child(emails, EmailPage(title="Bench welcome", slug="bench-welcome", subject="Hi"))
    index = child(root, ScenarioIndexPage(title="Bench scenarios", slug="bench-scenarios"))
    scenario = child(index, ScenarioPage(title="Bench", slug="bench", trigger_event="signup"))
    steps = [
        child(scenario, SendEmailStep(title=f"Send {i}", slug=f"send-{i}", email=email)).pk
        for i in range(SENDS)
    ]
    with publishing_together():
        split = child(scenario, SplitStep(title="Split", slug="split", live=False), False)
        arms = []
        for name in ("a", "b"):
            arm = child(split, Branch(title=name, slug=name, percent=50, live=False), False)
            child(arm, UpdateContactStep(title=f"Tag {name}", slug=f"tag-{name}", add_tags=name))
            arm.get_latest_revision().publish()
            arms.append(arm.pk)
        split.get_latest_revision().publish()
    return scenario.pk, email.pk, steps, split.pk, arms


def load(scenario: int, email: int, steps: list[int], split: int, arms: list[int]) -> None:
    from django.db import connection
    from django.utils import timezone

    params = {
        "end": timezone.localdate(),
        "email": email,
        "scenario": scenario,
        "steps": steps,
        "split": split,
        "arms": arms,
        "fake": FAKE,
        "scenarios": SCENARIOS,
        "sends": SENDS,
        "days": DAYS,
        "variants": VARIANTS,
        "links": LINKS,
    }
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(MAIL_SQL, params)
        cursor.execute(LINK_SQL, params)
        cursor.execute(STEP_SQL, params)
        cursor.execute(CONTACTS_SQL, {"contacts": CONTACTS})
        cursor.execute("SELECT min(id) FROM wagtail_journeys_contact")
        params.update(first_contact=cursor.fetchone()[0], contacts=CONTACTS, messages=MESSAGES)
        cursor.execute(MESSAGES_SQL, params)
        for table in ("mailday", "linkday", "stepday", "contact", "message"):
            cursor.execute(f"VACUUM ANALYZE wagtail_journeys_{table}")
        cursor.execute(
            "SELECT count(*), sum(sent), sum(opens + machine_opens + clicks + machine_clicks)"
            " FROM wagtail_journeys_mailday"
        )
        rows, sends, engagement = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM wagtail_journeys_linkday")
        links = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM wagtail_journeys_stepday")
        step_rows = cursor.fetchone()[0]
    print(
        f"  (loaded in {time.perf_counter() - start:.0f} s: {rows} MailDay rows for {sends} "
        f"sends and {engagement} opens and clicks, {links} LinkDay rows, {step_rows} "
        f"StepDay rows, {MESSAGES} messages to {CONTACTS} contacts)",
        flush=True,
    )


def measure(scenario: int, email: int) -> None:
    from wagtail_journeys.analytics.behind import contacts_behind
    from wagtail_journeys.analytics.figures import Period
    from wagtail_journeys.analytics.reports import email_report, overview, scenario_report

    year, month = Period.last_days(DAYS), Period.last_days(30)
    ms = 1000
    report(
        "scenario_report",
        timed(lambda: scenario_report(scenario, year)) * ms,
        "ms",
        "500 ms",
    )
    report("email_report", timed(lambda: email_report(email, year)) * ms, "ms", "500 ms")
    report("overview", timed(lambda: overview(month)) * ms, "ms", "500 ms")
    report("overview_year", timed(lambda: overview(year)) * ms, "ms")

    def first_page(metric: str, **filters):
        def page():
            rows = contacts_behind(metric, period=month, **filters)
            return rows.count(), list(rows[:50])

        return page

    report(
        "contacts_behind first page",
        timed(first_page("opened", email_id=email)) * ms,
        "ms",
        "500 ms",
    )
    report(
        "contacts_behind_scenario first page",
        timed(first_page("clicked", scenario_id=scenario)) * ms,
        "ms",
    )
    print(f"  ({contacts_behind('opened', period=month, email_id=email).count()} contacts)")


def main() -> None:
    recreate_pg_database(BENCH_DB)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        pages = real_pages()
        load(*pages)
        measure(pages[0], pages[1])
    finally:
        drop_pg_database(BENCH_DB)


if __name__ == "__main__":
    main()
