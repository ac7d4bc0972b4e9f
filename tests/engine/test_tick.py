"""``manage.py journeys_tick`` and ``wagtail_journeys.engine.tick``: one full pass of what the
workers' schedules do, at a chosen time, saying what it left for the next pass."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine import tick
from wagtail_journeys.models import (
    Enrollment,
    Event,
    EventSource,
    SendEmailStep,
    StepRun,
    Visitor,
    WaitStep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def journeys_tick(*args: str) -> str:
    out = io.StringIO()
    call_command("journeys_tick", *args, stdout=out)
    return out.getvalue()


def test_a_cron_only_site_gets_identified_visitors_page_views_on_their_contact():
    """No qcluster: the page views an identified visitor's browser records without the
    contact (its cookie predates the identification) reach the contact, and the scenarios
    that trigger on them, through ``journeys_tick`` alone."""
    make_scenario(
        live_since=None, trigger_kind="page_view", trigger_event="", trigger_page_tag="king"
    )
    ada = make_contact("ada@example.com")
    browser = Visitor.objects.create(id=uuid.uuid4(), contact=ada, identified_at=timezone.now())
    viewed = Event.objects.create(
        name="page_view",
        visitor_id=browser.id,
        properties={"page_id": 3, "tags": ["king"]},
        source=EventSource.PAGE,
        received_at=timezone.now() - dt.timedelta(seconds=10),
    )
    out = journeys_tick()
    assert "events 1, enrolled 1" in out
    viewed.refresh_from_db()
    ada.refresh_from_db()
    assert viewed.contact_id == ada.pk
    assert ada.last_activity_at == viewed.occurred_at
    assert Enrollment.objects.get().contact == ada


def test_now_runs_the_whole_pass_at_that_time():
    scenario = make_scenario()
    add(scenario, WaitStep, amount=3, unit="days")
    add(scenario, SendEmailStep, email=make_email(title="Thanks"))
    Event.objects.create(
        name="purchase",
        contact=make_contact("ada@example.com"),
        occurred_at=T0,
        source=EventSource.API,
        received_at=timezone.now() - dt.timedelta(seconds=10),
    )
    assert "enrolled 1" in journeys_tick("--now", "2026-06-15T12:00:00+02:00")  # T0
    assert mail.outbox == []
    journeys_tick("--now", "2026-06-18T09:59:00Z")
    assert mail.outbox == []
    journeys_tick("--now", "2026-06-18T10:00:00Z")
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


@pytest.mark.parametrize(
    "value, message",
    [
        ("yesterday", "is not an ISO 8601 date and time"),
        ("2026-13-40T10:00:00Z", "is not an ISO 8601 date and time"),
        ("2026-06-15T10:00:00", "has no UTC offset"),
        ("2026-06-15", "has no UTC offset"),
    ],
)
def test_a_bad_now_is_a_clear_command_error(value, message):
    with pytest.raises(CommandError, match=message):
        journeys_tick("--now", value)


def test_events_younger_than_the_settle_delay_are_left_for_the_next_pass_and_said_so():
    make_scenario(live_since=None)
    ada = make_contact()
    fresh = Event.objects.create(name="purchase", contact=ada, source=EventSource.API)
    out = journeys_tick()
    assert "enrolled 0" in out
    assert "1 event(s) younger than 2 s left for the next pass" in out
    Event.objects.filter(pk=fresh.pk).update(received_at=timezone.now() - dt.timedelta(seconds=3))
    out = journeys_tick()
    assert "enrolled 1" in out and "younger than" not in out


def test_the_pass_purges_old_step_runs_once_a_day(settings):
    settings.WAGTAIL_JOURNEYS = {"STEP_RUN_RETENTION_DAYS": 30, "FREQUENCY_CAP": None}
    scenario = make_scenario()
    enrollment = Enrollment.objects.create(contact=make_contact(), scenario=scenario)

    def run(ran_at):
        StepRun.objects.create(
            enrollment=enrollment,
            contact_id=enrollment.contact_id,
            scenario_id=scenario.pk,
            kind="wait",
            outcome="done",
            ran_at=ran_at,
            # written a minute ago (real time): settled, so the pass's rollup reads it
            # before the purge may delete it
            recorded_at=timezone.now() - dt.timedelta(minutes=1),
        )

    run(T0 - dt.timedelta(days=40))
    assert tick(now=T0)["purged"] == 1
    run(T0 - dt.timedelta(days=40))
    assert tick(now=T0 + dt.timedelta(hours=1))["purged"] == 0  # once a day
    assert tick(now=T0 + dt.timedelta(days=1))["purged"] == 1
