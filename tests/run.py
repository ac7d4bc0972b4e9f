"""Run the suite: all of it on SQLite, then on PostgreSQL (when reachable) the tests whose
outcome may depend on the database.

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
import subprocess
import sys
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
    "tests/api/test_events.py",  # inserts, idempotency keys, batches
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
    "tests/emails/test_segments.py",  # each contact's variant chosen by segment SQL
    "tests/test_admin_contacts.py",  # listing filters: date ranges, tags, search
    "tests/test_admin_contact_input.py",  # values the database cannot store, as form errors
    "tests/test_qcluster.py",  # the event log's locked cursor under a real cluster
)
#: Tests with these markers run in the PostgreSQL pass wherever they are.
POSTGRES_MARKERS = ("postgres", "redis")
NO_TESTS_COLLECTED = 5  # pytest's exit code


def pytest(env: dict[str, str], *args: str) -> int:
    command = [sys.executable, "-m", "pytest", *args, *sys.argv[1:]]
    print("+", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def main() -> int:
    required = os.environ.get("JOURNEYS_REQUIRE_SERVICES") == "1"
    pg, redis = postgres_reachable(), redis_reachable()
    print(f"services: postgres={'up' if pg else 'down'} redis={'up' if redis else 'down'}")
    if required and not (pg and redis):
        print("JOURNEYS_REQUIRE_SERVICES=1 but a service is unreachable", file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items() if k not in ("JOURNEYS_DB",)}
    status = pytest({**base, "JOURNEYS_DB": "sqlite"}, "-m", "not postgres")
    if pg:
        postgres = {**base, "JOURNEYS_DB": "postgres"}
        selected = pytest(postgres, "--postgres-pass", "-m", "not browser")
        if selected == NO_TESTS_COLLECTED:  # the tests asked for are not database-sensitive
            selected = 0
        status = selected or status
    return status


if __name__ == "__main__":
    sys.exit(main())
