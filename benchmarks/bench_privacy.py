"""Access and erasure benchmarks: prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines.

One contact with 100,000 events (page views, sends, opens, clicks, purchases), 500
messages, an enrolment with 1,000 step runs and a browser, among 200 other contacts with
50,000 events; the rollup has read all but the last 1,000 of the contact's events
(about a minute's worth) and none of its step runs (the erasure counts those first).
``export_contact_json`` as the admin and the API send it (median of 3), then
``erase_contact`` (once: it is not repeatable). With no arguments (``make bench``): on
PostgreSQL (when reachable) and on SQLite, each in its own process.

    JOURNEYS_DB=postgres python benchmarks/bench_privacy.py run [--events 100000]

Each run creates a fresh test database (``test_<name>``), measures, and drops it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# Its own SQLite files, apart from a test run's.
os.environ["JOURNEYS_TEST_TMP"] = os.path.join(os.environ.get("JOURNEYS_TEST_TMP", "/tmp"), "bench")
os.makedirs(os.environ["JOURNEYS_TEST_TMP"], exist_ok=True)

MESSAGES = 500
RUNS = 1_000
OTHERS = 200
OTHER_EVENTS = 50_000
#: The contact's events the rollup has not read yet: about a minute's worth (it runs
#: every minute); the erasure counts them first.
UNREAD = 1_000


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:.2f} {unit} (budget {budget})", flush=True)


def load(events: int):
    """The contact and its history; the other contacts' events as noise."""
    from django.utils import timezone
    from wagtail.models import Page

    from wagtail_journeys.analytics.rollup import EVENTS_CURSOR
    from wagtail_journeys.models import (
        Contact,
        EmailIndexPage,
        EmailPage,
        Enrollment,
        Event,
        EventCursor,
        EventSource,
        Message,
        MessageStatus,
        ScenarioIndexPage,
        ScenarioPage,
        StepRun,
        Visitor,
    )

    root = Page.get_first_root_node()
    index = root.add_child(instance=EmailIndexPage(title="Emails", slug="bench-emails"))
    emails = [
        index.add_child(instance=EmailPage(title=f"Email {n}", slug=f"email-{n}", subject="Hi"))
        for n in range(10)
    ]
    scenarios = root.add_child(instance=ScenarioIndexPage(title="Scenarios", slug="bench-sc"))
    scenario = scenarios.add_child(
        instance=ScenarioPage(title="Welcome", slug="welcome", trigger_event="signup")
    )
    contact = Contact.objects.create(
        email="reader@example.com", first_name="Ann", last_name="Example", attributes={"a": 1}
    )
    contact.tags.add("thriller")
    visitor = Visitor.objects.create(contact=contact)
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(
            contact=contact,
            email_page=emails[i % 10],
            subject=f"Hello Ann {i}",
            recipient=contact.email,
            status=MessageStatus.SENT,
            context={"values": {"cart_url": "https://shop.test/cart"}},
            created_at=now - dt.timedelta(hours=i),
        )
        for i in range(MESSAGES)
    )
    message_ids = [m.pk for m in Message.objects.filter(contact=contact).order_by("pk")]

    def mail(i: int) -> dict:
        return {
            "email_page_id": emails[i % 10].pk,
            "message": message_ids[i % MESSAGES],
            "scenario_id": scenario.pk,
            "step_id": 0,
            "variant": [],
            "first": i % 3 == 0,
        }

    kinds = [
        ("page_view", EventSource.PAGE, lambda i: {"page_id": emails[i % 10].pk, "path": "/b/"}),
        ("email_sent", EventSource.EMAIL, mail),
        ("email_opened", EventSource.EMAIL, mail),
        ("email_clicked", EventSource.EMAIL, lambda i: {**mail(i), "link": 0, "url": "https://x"}),
        ("purchase", EventSource.API, lambda i: {"amount": 12.5, "currency": "EUR"}),
    ]
    Event.objects.bulk_create(
        (
            Event(
                name=kinds[i % 5][0],
                source=kinds[i % 5][1],
                properties=kinds[i % 5][2](i),
                contact=contact,
                visitor_id=visitor.pk if i % 5 == 0 else None,
                occurred_at=now - dt.timedelta(seconds=events - i),
            )
            for i in range(events)
        ),
        batch_size=5000,
    )
    others = Contact.objects.bulk_create(Contact(email=f"o{n}@example.com") for n in range(OTHERS))
    Event.objects.bulk_create(
        (
            Event(
                name="page_view",
                source=EventSource.PAGE,
                contact=others[i % OTHERS],
                visitor_id=uuid.uuid4(),
                properties={"path": "/"},
            )
            for i in range(OTHER_EVENTS)
        ),
        batch_size=5000,
    )
    enrollment = Enrollment.objects.create(contact=contact, scenario=scenario)
    StepRun.objects.bulk_create(
        (
            StepRun(
                enrollment=enrollment,
                contact_id=contact.pk,
                scenario_id=scenario.pk,
                step_id=0,
                kind="condition",
                outcome="done",
            )
            for _ in range(RUNS)
        ),
        batch_size=2000,
    )
    ids = list(Event.objects.filter(contact=contact).order_by("pk").values_list("pk", flat=True))
    EventCursor.objects.update_or_create(
        name=EVENTS_CURSOR, defaults={"position": ids[-UNREAD - 1]}
    )
    del messages
    return contact


def bench_privacy(events: int) -> None:
    from django.db import connection

    from wagtail_journeys.models import Contact, Event
    from wagtail_journeys.privacy import erase_contact, export_contact_json

    contact = load(events)
    vendor = connection.vendor
    runs, size = [], 0
    for _ in range(3):
        started = time.perf_counter()
        body = "".join(export_contact_json(Contact.objects.get(pk=contact.pk)))
        runs.append(time.perf_counter() - started)
        size = len(body)
    assert len(json.loads(body)["events"]) == events
    report(
        f"export_contact_{events // 1000}k_events" + ("" if vendor == "sqlite" else f"_{vendor}"),
        statistics.median(runs),
        "s",
        "≤ 2 s",
    )
    print(f"   (export: {size / 1e6:.1f} MB of JSON)", flush=True)
    started = time.perf_counter()
    erasure = erase_contact(Contact.objects.get(pk=contact.pk))
    elapsed = time.perf_counter() - started
    assert erasure.deleted["events"] == events, erasure.deleted
    assert not Event.objects.filter(contact_id=contact.pk).exists()
    assert Event.objects.count() == OTHER_EVENTS
    report(
        f"erase_contact_{events // 1000}k_events" + ("" if vendor == "sqlite" else f"_{vendor}"),
        elapsed,
        "s",
        "≤ 5 s",
    )


def main() -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from databases import main_on_each_database

    return main_on_each_database(__file__, bench_privacy, databases=("sqlite", "postgres"))


if __name__ == "__main__":
    sys.exit(main())
