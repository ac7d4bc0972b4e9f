"""Exits that take effect when they happen, not when the current wait ends: a goal on any
activity or on a list of events, and leaving the audience (by an event, or by the segment
changing with nothing else happening)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine import tick
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.engine.triggers import process_triggers
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Enrollment, Event, EventSource, SendEmailStep, StepRun, WaitStep

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def arrive(name: str, contact, at: dt.datetime, source=EventSource.API, **properties) -> Event:
    """An event that occurred at ``at`` and has arrived (settled) for the next pass, with
    everything recorded before it (a pass never reads past an event still settling)."""
    event, _ = record_event(
        name, contact=contact, properties=properties, occurred_at=at, source=source
    )
    Event.objects.filter(pk__lte=event.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=1)
    )
    return event


def win_back(**fields):
    """Manual start; "We miss you", wait 14 days, "Last chance"."""
    scenario = make_scenario(title="Win-back", trigger_kind="manual", trigger_event="", **fields)
    add(scenario, SendEmailStep, email=make_email(title="We miss you"))
    add(scenario, WaitStep, amount=14, unit="days")
    add(scenario, SendEmailStep, email=make_email(title="Last chance"))
    return scenario


def on_the_wait(scenario, contact) -> Enrollment:
    enroll(scenario.pk, [contact.pk], now=T0)
    tick(now=T0)
    enrollment = Enrollment.objects.get(scenario=scenario, contact=contact)
    assert enrollment.waiting and len(mail.outbox) == 1
    return enrollment


def test_any_activity_ends_the_wait_within_one_pass():
    scenario = win_back(goal_any_activity=True)
    ada = make_contact()
    on_the_wait(scenario, ada)
    arrive("email_sent", ada, T0 + HOUR, source=EventSource.EMAIL)  # our own doing
    tick(now=T0 + 2 * HOUR)
    assert Enrollment.objects.get().status == "active"
    arrive("page_view", ada, T0 + 3 * HOUR, source=EventSource.PAGE, page_id=7)
    tick(now=T0 + 4 * HOUR)
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == ("converted", "goal: page_view")
    tick(now=T0 + 15 * DAY)
    assert len(mail.outbox) == 1  # no "Last chance"


def test_a_goal_on_a_list_of_events_with_filters():
    scenario = win_back(
        goal_event="purchase, subscription_started", goal_filters={"channel": "shop"}
    )
    ada, bob, cy = make_contact(), make_contact(), make_contact()
    for contact in (ada, bob, cy):
        enroll(scenario.pk, [contact.pk], now=T0)
    tick(now=T0)
    arrive("subscription_started", ada, T0 + HOUR, channel="shop")
    arrive("purchase", bob, T0 + HOUR, channel="shop")
    arrive("purchase", cy, T0 + HOUR, channel="phone")  # the filter does not match
    arrive("page_view", cy, T0 + HOUR, channel="shop")  # not a goal event
    tick(now=T0 + 2 * HOUR)
    ends = dict(Enrollment.objects.values_list("contact_id", "end_reason"))
    assert ends == {ada.pk: "goal: subscription_started", bob.pk: "goal: purchase", cy.pk: ""}


def test_a_returning_customer_leaves_the_audience_and_exits_within_one_pass():
    lapsed = SegmentFactory(
        rules=[
            rule("event", negate=True, event="purchase", filters=[], at_least=1, days=365),
        ]
    )
    scenario = win_back(audience=lapsed, exit_on_audience_loss=True)
    ada, bob = make_contact(), make_contact()
    on_the_wait(scenario, ada)
    enroll(scenario.pk, [bob.pk], now=T0)
    tick(now=T0)
    arrive("purchase", ada, T0 + HOUR)
    process_triggers(now=T0 + 2 * HOUR)  # the pass that reads the event suffices
    statuses = dict(Enrollment.objects.values_list("contact_id", "status"))
    assert statuses == {ada.pk: "exited", bob.pk: "active"}
    enrollment = Enrollment.objects.get(contact=ada)
    assert enrollment.end_reason == "no longer in the audience"
    assert StepRun.objects.filter(
        enrollment=enrollment, outcome="exited", reason="no longer in the audience"
    ).exists()


def test_leaving_the_audience_without_any_event_exits_on_the_next_scheduled_pass():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = win_back(audience=readers, exit_on_audience_loss=True)
    ada, bob = make_contact(), make_contact()
    for contact in (ada, bob):
        contact.tags.add("reader")
    on_the_wait(scenario, ada)
    enroll(scenario.pk, [bob.pk], now=T0)
    ada.tags.remove("reader")
    tick(now=T0 + HOUR)
    statuses = dict(Enrollment.objects.values_list("contact_id", "status"))
    assert statuses == {ada.pk: "exited", bob.pk: "active"}


def test_without_exit_on_audience_loss_leaving_the_audience_changes_nothing():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = win_back(audience=readers)
    ada = make_contact()
    ada.tags.add("reader")
    on_the_wait(scenario, ada)
    ada.tags.remove("reader")
    tick(now=T0 + HOUR)
    assert Enrollment.objects.get().status == "active"
