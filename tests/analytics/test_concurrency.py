"""Passes running at once on several workers (threads, each with its own connection)
count every event and step run once: the cursor row is locked for each batch and moves
in the transaction that adds the counts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests.analytics import counts
from tests.emails.factories import make_contact
from tests.scenarios.factories import make_scenario
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.models import Enrollment, Event, EventSource, MailDay, StepDay, StepRun

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
WORKERS = 4
EVENTS = 3000
RUNS = 1000


def test_concurrent_passes_count_each_row_once():
    contact = make_contact()
    scenario = make_scenario()
    enrollment = Enrollment.objects.create(contact=contact, scenario=scenario)
    past = timezone.now() - dt.timedelta(minutes=1)
    Event.objects.bulk_create(
        Event(
            name="email_opened" if i % 3 else "email_clicked",
            contact=contact,
            properties={
                "email_page_id": 1 + i % 4,
                "message": i,
                "link": i % 2,
                "first": i % 5 == 0,
                "machine": i % 7 == 0,
            },
            source=EventSource.EMAIL,
            received_at=past,
        )
        for i in range(EVENTS)
    )
    StepRun.objects.bulk_create(
        StepRun(
            enrollment=enrollment,
            contact_id=contact.pk,
            scenario_id=scenario.pk,
            step_id=i % 3,
            outcome="done",
            recorded_at=past,
        )
        for i in range(RUNS)
    )
    barrier = threading.Barrier(WORKERS)
    errors, read = [], []

    def work():
        try:
            barrier.wait()
            read.append(rollup_pass(batch=100, max_batches=1000))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(r["events"] for r in read) == EVENTS
    assert sum(r["runs"] for r in read) == RUNS
    assert len([r for r in read if r["events"]]) > 1  # they did share the work
    totals = {
        name: sum(getattr(row, name) for row in MailDay.objects.all())
        for name in ("opens", "machine_opens", "opened", "clicks", "machine_clicks", "clicked")
    }
    events = Event.objects.all()
    human = events.exclude(properties__machine=True)
    assert totals == {
        "opens": human.filter(name="email_opened").count(),
        "machine_opens": events.filter(name="email_opened", properties__machine=True).count(),
        "opened": human.filter(name="email_opened", properties__first=True).count(),
        "clicks": human.filter(name="email_clicked").count(),
        "machine_clicks": events.filter(name="email_clicked", properties__machine=True).count(),
        "clicked": human.filter(name="email_clicked", properties__first=True).count(),
    }
    assert counts.rolled_links() == counts.expected_links()
    assert sum(StepDay.objects.values_list("count", flat=True)) == RUNS
    assert counts.rolled_steps() == counts.expected_steps()
