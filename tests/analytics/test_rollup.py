"""The report tables after real sends: a scenario run by the engine's pass (``tick``),
opens and clicks through the tracking views, ESP feedback through anymail's Postmark
webhook, an unsubscribe and purchases. Every total of ``MailDay``, ``LinkDay`` and
``StepDay`` equals what the raw rows say; a second pass changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.analytics import counts
from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0
from tests.tracking.test_emails import BROWSER
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.engine import tick
from wagtail_journeys.models import (
    Enrollment,
    Event,
    EventSource,
    MailDay,
    Message,
    SendEmailStep,
    StepRun,
)
from wagtail_journeys.tracking.engagement import unsubscribe_contact

pytestmark = pytest.mark.django_db

LINKS = "<p><a href='https://shop.example/a'>a</a> <a href='https://shop.example/b'>b</a></p>"
SCANNER = "python-requests/2.31"  # a link scanner (tracking.machines)
APPLE_PROXY = "Mozilla/5.0"  # Apple Mail Privacy Protection fetching the pixel


def engage(last) -> list[Message]:
    """Opens and clicks, human and machine, through the tracking views."""
    person, apple, scanner = (
        Client(headers={"User-Agent": ua}) for ua in (BROWSER, APPLE_PROXY, SCANNER)
    )
    first_email = Message.objects.exclude(email_page=last).order_by("pk").first()
    assert person.get(counts.links_of(first_email)[0]).status_code == 200
    messages = list(Message.objects.filter(email_page=last).order_by("pk"))
    for i, message in enumerate(messages):
        pixel, clicks = counts.links_of(message)
        if i % 2 == 0:
            assert apple.get(pixel).status_code == 200  # a machine's open
        if i % 3 == 0:
            assert person.get(pixel).status_code == 200
        if i % 4 == 0:
            assert scanner.get(clicks[0]).status_code == 302  # a scanner follows a link
        if i < 5:
            assert person.get(clicks[i % 2]).status_code == 302
        if i == 0:
            assert person.get(clicks[1]).status_code == 302  # a second click, another link
    return messages


def esp_feedback(client, messages: list[Message]) -> None:
    """Delivered, a hard bounce and a spam complaint, through anymail's Postmark webhook."""
    pytest.importorskip("anymail")
    from tests.tracking.test_esp_webhooks import post_postmark, postmark

    for message in messages[:8]:
        assert post_postmark(client, postmark("Delivery", message)).status_code == 200
    assert post_postmark(client, postmark("Bounce", messages[8])).status_code == 200
    complaint = postmark("SpamComplaint", messages[9], ID=42, Type="SpamComplaint", TypeCode=512)
    assert post_postmark(client, complaint).status_code == 200


def test_every_report_total_equals_the_raw_rows(journey, client, settings):
    from tests.tracking.test_esp_webhooks import SECRET

    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    scenario, split, arms, last, contacts = journey
    assert Message.objects.filter(sent_at__isnull=False).count() == 24  # A or B, then Last
    messages = engage(last)
    esp_feedback(client, messages)
    unsubscribe_contact(messages[10], timezone.now())
    # purchases with an amount: two by people who clicked, from a server; one by a
    # contact who never engaged (a conversion of the scenario, of no message); one by a
    # clicker from a browser (a conversion without revenue: anyone can script a browser)
    buyers = [
        (messages[0].contact, EventSource.API),
        (messages[1].contact, EventSource.API),
        (messages[11].contact, EventSource.API),
        (messages[3].contact, EventSource.BEACON),
    ]
    for contact, source in buyers:
        Event.objects.create(
            name="purchase",
            contact=contact,
            properties={"amount": "25.50"},
            source=source,
            occurred_at=timezone.now(),
        )
    counts.settle_everything()
    tick(now=T0 + dt.timedelta(days=1, hours=1))  # goals reached (step runs "converted")
    counts.settle_everything()
    tick(now=T0 + dt.timedelta(days=1, hours=1))  # and counted

    assert counts.rolled_mail() == counts.expected_mail()
    assert counts.rolled_links() == counts.expected_links()
    assert counts.rolled_steps() == counts.expected_steps()
    # the same figures the way a marketer reads them
    totals = counts.rolled_mail()
    key = (last.pk, scenario.pk, SendEmailStep.objects.get(email=last).pk, "")
    assert totals[key]["sent"] == 12 and totals[key]["converted"] == 3
    assert totals[key]["revenue"] == Decimal("51.00")
    assert totals[key]["hard_bounced"] == 1 and totals[key]["complained"] == 1
    steps = counts.rolled_steps()
    assert steps[(scenario.pk, 0, 0, "entered")][0] == Enrollment.objects.count() == 12
    converted = Enrollment.objects.filter(status="converted")
    assert steps[(scenario.pk, 0, 0, "converted")] == (converted.count(), Decimal("76.50"))
    assert converted.count() == 4
    for arm in arms:
        took = [e for e in Enrollment.objects.all() if e.context["arms"][str(split.pk)] == arm.pk]
        assert steps[(scenario.pk, split.pk, arm.pk, "done")][0] == len(took)
        won = sum(e.status == "converted" for e in took)
        assert steps.get((scenario.pk, split.pk, arm.pk, "converted"), (0,))[0] == won

    before = counts.tables()
    assert rollup_pass(settle=dt.timedelta(0)) == {"events": 0, "runs": 0}
    assert counts.tables() == before  # idempotent: nothing counted twice


def test_step_runs_are_read_once_settled_and_counted_as_they_were_then(journey):
    """A fresh step run waits for a later pass (``RUN_SETTLE``); a send counted while
    ``queued`` (as sent) is not counted again when it becomes ``sent``."""
    scenario, *_ = journey
    rollup_pass(settle=dt.timedelta(0))
    run = StepRun.objects.filter(outcome="sent").first()
    key = (scenario.pk, run.step_id, 0, "sent")
    before = counts.rolled_steps()[key][0]
    fresh = StepRun.objects.create(
        enrollment_id=run.enrollment_id,
        contact_id=run.contact_id,
        scenario_id=scenario.pk,
        step_id=run.step_id,
        kind="send_email",
        outcome="queued",
        ran_at=T0,
    )
    assert rollup_pass() == {"events": 0, "runs": 0}  # written just now: not yet
    StepRun.objects.filter(pk=fresh.pk).update(recorded_at=timezone.now() - dt.timedelta(minutes=1))
    assert rollup_pass() == {"events": 0, "runs": 1}
    assert counts.rolled_steps()[key][0] == before + 1
    StepRun.objects.filter(pk=fresh.pk).update(outcome="sent")
    assert rollup_pass(settle=dt.timedelta(0)) == {"events": 0, "runs": 0}
    assert counts.rolled_steps()[key][0] == before + 1


def test_days_are_local_dates_in_time_zone(settings, email_site):
    """An open at 23:30 UTC on June 15 is June 16 in Paris."""
    from wagtail_journeys.delivery import send_email

    settings.TIME_ZONE = "Europe/Paris"
    message = send_email(make_email(), make_contact())
    late = dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC)
    Event.objects.create(
        name="email_opened",
        contact_id=message.contact_id,
        properties=message.event_properties(first=True, machine=False, why=""),
        occurred_at=late,
        source=EventSource.EMAIL,
    )
    counts.settle_everything()
    rollup_pass()
    row = MailDay.objects.get(opened=1)
    assert row.day == dt.date(2026, 6, 16)


def test_events_not_recorded_by_the_app_move_no_report(email_site):
    """An API client posting ``email_opened`` or ``email_sent`` with made-up (or hostile)
    properties counts nothing: only the app's own records (source ``email``) do."""
    contact = make_contact()
    for props in (
        {"email_page_id": 5, "first": True, "machine": False},
        {"email_page_id": "x" * 500, "variant": [{"a": 1}], "link": -1},
        {"email_page_id": 2**70, "scenario_id": True, "step_id": None},
    ):
        for name in ("email_sent", "email_opened", "email_clicked", "unsubscribed"):
            Event.objects.create(name=name, contact=contact, properties=props, source="api")
    counts.settle_everything()
    assert rollup_pass()["events"] == 12
    assert not MailDay.objects.exists()


def test_hostile_properties_on_the_apps_own_events_are_stored_as_none(email_site):
    """Ids that are not positive integers become 0, a variant of anything but ids is
    dropped, a link that is not an index is not a link: the pass never fails on them."""
    contact = make_contact()
    for props in (
        {"email_page_id": "x" * 500, "variant": [{"a": 1}, 3, "2"], "link": -1, "first": True},
        {
            "email_page_id": 2**70,
            "scenario_id": True,
            "step_id": None,
            "link": 2**40,
            "variant": [3],
        },
    ):
        Event.objects.create(
            name="email_clicked", contact=contact, properties=props, source="email"
        )
    counts.settle_everything()
    rollup_pass()
    (row,) = MailDay.objects.all()
    assert (row.email_page_id, row.scenario_id, row.step_id, row.variant) == (0, 0, 0, "3")
    assert (row.clicks, row.clicked) == (2, 1)
    assert not counts.rolled_links()
