"""End to end with a real ``qcluster``: an event posted to the API, the right email in the
outbox after the wait, nothing for excluded contacts, and a goal that exits mid-wait; with
django-q2's ORM broker, and on PostgreSQL with the Redis broker too.

The cluster's engine clock runs 14,400× fast (``JOURNEYS_WORKER_CLOCK_SPEED``), so the
one-day wait passes in about 6 seconds without the test sleeping through a day."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.emails.factories import make_contact, make_email
from tests.engine.test_concurrency import recipients
from tests.scenarios.factories import add, make_scenario, site_root
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.models import Enrollment, SendEmailStep, WaitStep
from wagtail_journeys.tasks import ensure_schedules

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parents[2]


def post_event(client, token, email, name):
    response = client.post(
        "/journeys/api/events",
        {"name": name, "email": email},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content


SPEED = 14_400  # the one-day wait passes in 6 s
KICK = (
    "import django; django.setup(); from django_q.tasks import async_task; "
    "async_task('wagtail_journeys.tasks.run_scenarios')"
)
REDIS_URL = os.environ.get("JOURNEYS_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.fixture(
    params=[
        "orm",
        # The scale-out pair: PostgreSQL with the Redis broker.
        pytest.param("redis", marks=[pytest.mark.redis, pytest.mark.postgres]),
    ]
)
def broker_env(request) -> dict[str, str]:
    if request.param == "orm":
        return {}
    import redis

    request.getfixturevalue("require_redis")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return {"JOURNEYS_BROKER": "redis", "JOURNEYS_REDIS_URL": REDIS_URL}


def test_event_in_email_out_after_the_wait(client, server_token, tmp_path, broker_env):
    site_root()
    scenario = make_scenario(title="Welcome", goal_event="unsubscribe_me")
    bought = SegmentFactory(rules=[rule("tags", tags="already-bought")])
    scenario.exclusion = bought
    scenario.save_revision().publish()
    add(scenario, WaitStep, amount=1, unit="days")
    add(scenario, SendEmailStep, email=make_email(title="Welcome", subject="Welcome aboard"))
    make_contact("excluded@example.com").tags.add("already-bought")
    ensure_schedules()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.engine.worker_settings",
        "JOURNEYS_WORKER_DB": connection.settings_dict["NAME"],
        "JOURNEYS_WORKER_OUTBOX": str(tmp_path),
        "JOURNEYS_WORKER_STALE": "0",
        "JOURNEYS_WORKER_CLOCK_SPEED": str(SPEED),
        "PYTHONPATH": str(ROOT),
        **broker_env,
    }
    cluster = subprocess.Popen(
        [sys.executable, str(ROOT / "example_site" / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # The cluster's scheduler first looks at the schedules 30 s after it starts (the
    # schedules themselves are tested in tests/test_qcluster.py): hand it the pump now,
    # through the broker, as the scheduler would.
    subprocess.run([sys.executable, "-c", KICK], cwd=ROOT, env=env, check=True, timeout=60)
    try:
        for email in ("ada@example.com", "excluded@example.com", "quitter@example.com"):
            post_event(client, server_token, email, "purchase")
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if Enrollment.objects.filter(contact__email="quitter@example.com").exists():
                break
            time.sleep(1)
        post_event(client, server_token, "quitter@example.com", "unsubscribe_me")
        while time.monotonic() < deadline and not recipients(tmp_path):
            time.sleep(1)
        settled = {"ada@example.com": "completed", "quitter@example.com": "converted"}
        while time.monotonic() < deadline and settled != dict(
            Enrollment.objects.values_list("contact__email", "status")
        ):
            time.sleep(0.5)
    finally:
        # The outcome is in the database by now; a graceful stop would wait for the
        # running pump (up to 85 s), so give it a moment (2 s) and then kill it.
        cluster.terminate()
        try:
            _, err = cluster.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)  # the master and its workers
            _, err = cluster.communicate()
    assert dict(recipients(tmp_path)) == {"ada@example.com": 1}, err[-3000:]
    statuses = dict(Enrollment.objects.values_list("contact__email", "status"))
    assert statuses == {"ada@example.com": "completed", "quitter@example.com": "converted"}
