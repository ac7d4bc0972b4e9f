"""Run the suite: all of it on SQLite and, at the same time, on PostgreSQL (when reachable)
the tests whose outcome may depend on the database.

The PostgreSQL pass (``pytest --postgres-pass``, see ``tests/conftest.py``) runs the paths
in ``POSTGRES_PASS`` below, plus every test marked ``postgres`` or ``redis`` wherever it
lives, minus the browser tests. That is what SQL, transactions and locks decide: the
engine and scenarios (exactly once, ``SKIP LOCKED``, cursors, enrolments), segments
(compiled rules, JSON lookups, dates and time zones), events and tracking (inserts,
idempotency keys), identify, contact upserts, imports, delivery (``Message`` keys and
unique constraints) and the qcluster runs. The others (email rendering, merge tags, email
pages in the admin, SMTP, SMS, CORS, settings, docs, install, browsers) run on SQLite
only: nothing in them depends on more than the ORM's portable surface. A new
database-sensitive test goes under one of these paths or into the list (one for
PostgreSQL only carries the ``postgres`` marker).

``JOURNEYS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns an unreachable PostgreSQL or
Redis into a failure instead of a skip. Extra arguments go to pytest, in both passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import postgres_reachable, redis_reachable  # noqa: E402

#: What the PostgreSQL pass runs (paths from the repository root), and why.
POSTGRES_PASS = (
    "tests/engine",  # exactly-once sends, SKIP LOCKED, claims, dates in SQL, qcluster
    "tests/scenarios",  # publishing compiles plans into rows; enrolments started once
    "tests/segments",  # compiled SQL rules, JSON lookups, dates and time zones, counts
    "tests/tracking",  # one INSERT per page view; idempotent opens, clicks and form posts
    "tests/privacy",  # consent gates, double opt-in, topics, erasure leaves no trace per database
    "tests/api/test_events.py",  # inserts, idempotency keys, batches
    "tests/api/test_batch.py",  # bulk inserts, keys checked in one query, per-item results
    "tests/api/test_identify.py",  # anonymous history moved to the contact in one UPDATE
    "tests/api/test_storable_input.py",  # NUL, surrogates, huge numbers and ids per database
    "tests/api/test_hypothesis.py",  # hostile input strategies against the API, per database
    "tests/api/test_schemathesis.py",  # the OpenAPI document against the real API
    "tests/test_api_scenarios.py",  # a scenario started once per contact
    "tests/test_contacts.py",  # upserts under row locks, activity batches
    "tests/test_import.py",  # raw executemany INSERTs, ignore_conflicts, upserts
    "tests/test_contact_rows.py",  # hostile cells (NUL, surrogates) refused before any INSERT
    "tests/test_admin_contacts_export.py",  # stored control characters and formulas exported
    "tests/test_delivery.py",  # Message keys, unique constraints, claims of stale rows
    "tests/test_delivery_retries.py",  # deferred sends claimed once when due, per database
    "tests/emails/test_segments.py",  # each contact's variant chosen by segment SQL
    "tests/test_admin_contacts.py",  # listing filters: date ranges, tags, search
    "tests/test_admin_contact_profile.py",  # every segment in one CASE query, bounded queries
    "tests/test_admin_contacts_import.py",  # the file as a BinaryField, the engine's upserts
    "tests/test_admin_messages.py",  # message filters (fates, dates), titles in one query
    "tests/test_admin_contact_input.py",  # values the database cannot store, as form errors
    "tests/test_qcluster.py",  # the event log's locked cursor under a real cluster
    "tests/test_schema.py",  # the indexes each database has after migrate
    "tests/analytics",  # rollup upserts (ON CONFLICT), locked cursors, days in TIME_ZONE; reports
    "tests/api/test_reports_api.py",  # the reports API: ids, dates and tokens per database
    "tests/test_admin_reports.py",  # reports over real sends and rollups; ids past bigint
)
#: Tests with these markers run in the PostgreSQL pass wherever they are.
POSTGRES_MARKERS = ("postgres", "redis")
NO_TESTS_COLLECTED = 5  # pytest's exit code
REDIS = "redis://127.0.0.1:6379/{db}"  # each pass its own database (they run at once)


def pytest(env: dict[str, str], *args: str, log=None) -> subprocess.Popen:
    """Start one pytest pass; its output goes to ``log`` (a file) or to ours."""
    # The slowest tests of each pass are listed at its end: the suite's time is watched.
    command = [sys.executable, "-m", "pytest", "--durations=15", *args, *sys.argv[1:]]
    print("+", " ".join(command), flush=True)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def main() -> int:
    """Both passes at once when PostgreSQL is up (each is mostly one busy process: two
    cores finish both in the time of the longer), each with its own Redis database; the
    PostgreSQL pass streams, the SQLite pass's output follows it."""
    required = os.environ.get("JOURNEYS_REQUIRE_SERVICES") == "1"
    pg, redis = postgres_reachable(), redis_reachable()
    print(f"services: postgres={'up' if pg else 'down'} redis={'up' if redis else 'down'}")
    if required and not (pg and redis):
        print("JOURNEYS_REQUIRE_SERVICES=1 but a service is unreachable", file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items() if k not in ("JOURNEYS_DB",)}
    sqlite = {**base, "JOURNEYS_DB": "sqlite", "JOURNEYS_TEST_REDIS_URL": REDIS.format(db=1)}
    if not pg:
        return pytest(sqlite, "-m", "not postgres").wait()
    postgres = {**base, "JOURNEYS_DB": "postgres", "JOURNEYS_TEST_REDIS_URL": REDIS.format(db=2)}
    with tempfile.TemporaryFile("w+") as log:
        first = pytest(sqlite, "-m", "not postgres", log=log)
        selected = pytest(postgres, "--postgres-pass", "-m", "not browser").wait()
        status = first.wait()
        log.seek(0)
        print("\n== the SQLite pass", flush=True)
        shutil.copyfileobj(log, sys.stdout)
    if selected == NO_TESTS_COLLECTED:  # the tests asked for are not database-sensitive
        selected = 0
    return selected or status


if __name__ == "__main__":
    sys.exit(main())
