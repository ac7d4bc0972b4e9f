"""What each unit of work costs the database, for sizing a PostgreSQL server
(``docs/how-to/scale-out.md``): queries, transactions and rows per event (the server path
of ``POST /journeys/api/events``), per contact-step (condition and wait) and per send
(a personalised 32 KB email), and the PostgreSQL backend's CPU per 1,000 of each.

In one process on a fresh PostgreSQL test database: the work goes through Django's test
client or the engine, queries are counted by Django, transactions and rows by
``pg_stat_database`` (flushed with ``pg_stat_force_next_flush()``), and the backend's CPU
is read from ``/proc`` of its process (PostgreSQL on this machine). The CPU of the Django
process per unit is printed beside it. Wall-clock rates are not the point here (see
``bench_events_api.py``, ``bench_engine.py`` and ``bench_send.py`` for those).

    JOURNEYS_DB=postgres python benchmarks/bench_database_load.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["JOURNEYS_DB"] = "postgres"

from benchmarks.bench_engine import contacts, due, scenario_with, steps_due  # noqa: E402

EVENTS = int(os.environ.get("BENCH_LOAD_EVENTS", "2000"))
STEPS = int(os.environ.get("BENCH_LOAD_CONTACTS", "5000"))
SENDS = int(os.environ.get("BENCH_LOAD_SENDS", "500"))


class Meter:
    """Queries (Django), transactions and rows (``pg_stat_database``), backend CPU
    (``/proc``) and this process's CPU, between ``start`` and ``stop``."""

    STATS = (
        "xact_commit",
        "tup_returned",
        "tup_fetched",
        "tup_inserted",
        "tup_updated",
        "tup_deleted",
    )

    def __init__(self):
        from django.db import connection

        self.connection = connection

    def _stats(self) -> dict[str, float]:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                f"SELECT {', '.join(self.STATS)}, pg_backend_pid() FROM pg_stat_database "  # noqa: S608
                "WHERE datname = current_database()"
            )
            *values, pid = cursor.fetchone()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        return {**dict(zip(self.STATS, values, strict=True)), "backend_cpu": backend}

    def _count(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self.queries = 0
        self.before = self._stats()
        self.cpu = time.process_time()
        self.wrapper = self.connection.execute_wrapper(self._count)
        self.wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self.wrapper.__exit__(*exc)
        self.cpu = time.process_time() - self.cpu
        after = self._stats()
        # The meter's own three statements per reading are not the work's.
        self.delta = {k: after[k] - self.before[k] for k in after}
        self.delta["xact_commit"] -= 3

    def report(self, name: str, units: int, unit: str) -> None:
        d = self.delta
        lines = {
            "queries": (self.queries / units, "queries"),
            "transactions": (d["xact_commit"] / units, "commits"),
            "rows_written": (
                (d["tup_inserted"] + d["tup_updated"] + d["tup_deleted"]) / units,
                "rows",
            ),
            "rows_read": ((d["tup_returned"] + d["tup_fetched"]) / units, "rows"),
            "postgres_cpu": (1000 * d["backend_cpu"] / units, "ms"),
            "django_cpu": (1000 * self.cpu / units, "ms"),
        }
        for key, (value, what) in lines.items():
            print(f"bench db_load_{name}_{key}: {value:,.3f} {what} per {unit} (budget n/a)")
        detail = {k: round(v) for k, v in d.items() if k != "backend_cpu"}
        print(f"  {name}: {units:,} {unit}s; pg_stat_database {json.dumps(detail)}", flush=True)


def bench_events(count: int) -> None:
    """Server events (token, contact by email, idempotency key) through the test client."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client
    from wagtail.models import APIToken

    user = get_user_model().objects.create_user("bench-load", password="x")
    user.user_permissions.add(Permission.objects.get(codename="track_contacts"))
    token = APIToken.create_token(user=user, name="bench")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    emails = [f"reader{n % 200}@example.com" for n in range(count)]

    def post(n: int) -> None:
        body = {
            "name": "purchase",
            "email": emails[n],
            "properties": {"category": "thriller", "amount": 12.5},
            "idempotency_key": f"order-{n}",
        }
        response = client.post("/journeys/api/events", body, content_type="application/json")
        assert response.status_code in (200, 201, 202), response.content

    for n in range(200):  # the contacts exist, as on a site in use
        post(n)
    with Meter() as meter:
        for n in range(200, count):
            post(n)
    meter.report("event", count - 200, "event")


def bench_steps(count: int) -> None:
    """Condition (rules) → branch → wait, advanced in batches: two steps per contact."""

    from wagtail_journeys.engine.advance import advance_due

    now = steps_due(count)
    with Meter() as meter:
        advance_due(now=now, max_batches=10_000)
    meter.report("step", 2 * count, "contact-step")


def bench_sends(count: int) -> None:
    """A send step (a personalised 32 KB email) to ``count`` due contacts."""
    from django.core import mail
    from django.test.utils import override_settings
    from django.utils import timezone

    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.models import SendEmailStep

    scenario, (step,) = scenario_with((SendEmailStep, {"email": "new"}))
    ids = contacts(count, "sends")
    now = timezone.now()
    due(scenario, step, ids, now)
    with override_settings(
        EMAIL_BACKEND="benchmarks.bench_engine.SerialisingLocmemBackend",
        WAGTAIL_JOURNEYS={"QUIET_HOURS": None, "FREQUENCY_CAP": None},
    ):
        mail.outbox = []
        with Meter() as meter:
            advance_due(now=now, max_batches=10_000)
        assert len(mail.outbox) == count, len(mail.outbox)
    meter.report("send", count, "send")


def main() -> int:
    import django

    django.setup()
    from django.db import connection

    from benchmarks.databases import postgres_reachable

    if not postgres_reachable():
        print("PostgreSQL unreachable: skipped")
        return 0
    print(f"  load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        bench_events(EVENTS)
        bench_steps(STEPS)
        bench_sends(SENDS)
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    print(f"  load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
