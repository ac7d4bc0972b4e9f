"""A real ``manage.py qcluster`` process consumes the event log.

A visitor browses anonymously, is identified by the shop's server, and keeps browsing
with its old cookie; the worker attaches those later views to the contact and records when
the contact was last active. Once with django-q2's ORM broker, once with Redis.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.utils import timezone

from tests.processes import MANAGE, Process, django_env, wait_for
from wagtail_journeys.models import Contact, Event
from wagtail_journeys.tasks import SCHEDULES

pytestmark = pytest.mark.slow

TASK = "wagtail_journeys.tasks.process_events"
SCHEDULE = "journeys: process events"
REDIS_URL = os.environ.get("JOURNEYS_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def start_cluster(env: dict[str, str], tmp_path) -> Process:
    cluster = Process.manage("qcluster", env=env, log=tmp_path / "qcluster.log")
    wait_for(
        lambda: "] running." in cluster.output(20000) or not cluster.running(),
        timeout=60,
        what="qcluster to start",
    )
    assert cluster.running(), f"qcluster exited:\n{cluster.output()}"
    return cluster


@pytest.fixture
def orm_cluster(transactional_db, django_db_serialized_rollback, tmp_path):
    cluster = start_cluster(django_env(JOURNEYS_BROKER="orm"), tmp_path)
    yield cluster
    # The scheduler also started the scenario pump (85 s): no graceful stop comes in time.
    cluster.stop(grace=2)


@pytest.fixture
def redis_cluster(require_redis, transactional_db, django_db_serialized_rollback, tmp_path):
    import redis

    env = django_env(JOURNEYS_BROKER="redis", JOURNEYS_REDIS_URL=REDIS_URL)
    queue = redis.Redis.from_url(REDIS_URL)
    stale = queue.keys("django_q:journeys:*")
    if stale:
        queue.delete(*stale)
    cluster = start_cluster(env, tmp_path)
    yield cluster, env
    cluster.stop()
    stale = queue.keys("django_q:journeys:*")
    if stale:
        queue.delete(*stale)


def in_django_shell(env: dict[str, str], code: str) -> None:
    """Run ``code`` in ``manage.py shell`` with ``env`` (e.g. to enqueue into Redis)."""
    done = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def browse_then_identify(bookshop_pages, server_token) -> tuple[Contact, str]:
    """Two anonymous views, a server-side identify, one more view with the old cookie.

    Returns the contact and the visitor's id (hex). The last view is recorded without a
    contact: only the worker can attach it.
    """
    browser = Client(HTTP_USER_AGENT=BROWSER)
    assert browser.get("/books/the-shining/").status_code == 200
    assert browser.get("/books/it/").status_code == 200
    token = browser.cookies["journeys_vid"].value
    shop = Client()
    response = shop.post(
        "/journeys/api/identify",
        data=json.dumps({"email": "Reader@Example.com", "visitor": token}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["moved_events"] == 2
    assert browser.get("/books/misery/").status_code == 200
    later = Event.objects.get(name="page_view", properties__path="/books/misery/")
    assert later.contact_id is None
    contact = Contact.objects.get(email="reader@example.com")
    assert contact.last_activity_at is None
    return contact, later.visitor_id.hex


def settled() -> bool:
    """Every event is older than the log reader's settling delay (2 s)."""
    newest = Event.objects.order_by("-received_at").values_list("received_at", flat=True)[0]
    return timezone.now() - newest > dt.timedelta(seconds=2.5)


def activity_applied(contact: Contact, visitor_hex: str) -> bool:
    contact.refresh_from_db()
    views = Event.objects.filter(name="page_view", visitor_id=visitor_hex)
    return contact.last_activity_at is not None and not views.filter(contact=None).exists()


def assert_activity(contact: Contact, visitor_hex: str) -> None:
    views = Event.objects.filter(name="page_view", visitor_id=visitor_hex)
    assert views.count() == 3
    assert set(views.values_list("contact_id", flat=True)) == {contact.pk}
    contact.refresh_from_db()
    assert contact.last_activity_at == max(views.values_list("occurred_at", flat=True))


def test_migrate_creates_the_process_events_schedule(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=SCHEDULE)
    assert schedule.func == TASK == SCHEDULES[SCHEDULE][0]
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.repeats == -1


def test_scheduled_process_events_runs_in_qcluster(orm_cluster, bookshop_pages, server_token):
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    contact, visitor_hex = browse_then_identify(bookshop_pages, server_token)
    wait_for(settled, timeout=10, what="events to settle")
    # What the cluster's sentinel does every 30 s, done now: due schedules become tasks.
    Schedule.objects.filter(name=SCHEDULE).update(next_run=timezone.now() - dt.timedelta(1))
    scheduler()
    assert Schedule.objects.get(name=SCHEDULE).next_run > timezone.now()
    try:
        wait_for(
            lambda: activity_applied(contact, visitor_hex),
            timeout=45,
            interval=0.5,
            what="the scheduled task",
        )
    except TimeoutError:
        pytest.fail(f"process_events did not run:\n{orm_cluster.output()}")
    assert_activity(contact, visitor_hex)


@pytest.mark.redis
def test_process_events_through_redis_broker(redis_cluster, bookshop_pages, server_token):
    cluster, env = redis_cluster
    contact, visitor_hex = browse_then_identify(bookshop_pages, server_token)
    wait_for(settled, timeout=10, what="events to settle")
    in_django_shell(env, f"from django_q.tasks import async_task; async_task({TASK!r})")
    try:
        wait_for(
            lambda: activity_applied(contact, visitor_hex),
            timeout=45,
            interval=0.5,
            what="the task queued in Redis",
        )
    except TimeoutError:
        pytest.fail(f"process_events did not run:\n{cluster.output()}")
    assert_activity(contact, visitor_hex)
