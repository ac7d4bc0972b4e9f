"""A machine's open or click (Apple Mail Privacy Protection, a link scanner) fires no
email-engagement trigger and ends no "did not open" enrolment early; of a person's opens
and clicks, the message's first fires the trigger (each one is recorded)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.scenarios.factories import make_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


@pytest.mark.parametrize("kind", ["opened", "clicked"])
def test_a_machines_engagement_fires_no_engagement_trigger(kind):
    email = make_email(title="Newsletter")
    make_scenario(
        live_since=T0,
        trigger_kind="email_engagement",
        trigger_event="",
        engagement_email=email,
        engagement_kind=kind,
    )
    ada = make_contact()
    name = f"email_{kind}"
    machine = {"email_page_id": email.pk, "machine": True, "why": "apple_mpp"}
    assert fire(name, ada, at=T0, **machine) == 0
    again = {"email_page_id": email.pk, "machine": False, "why": "", "first": False}
    assert fire(name, ada, at=T0 + dt.timedelta(minutes=1), **again) == 0  # not the first
    human = {**again, "first": True}
    assert fire(name, ada, at=T0 + dt.timedelta(minutes=2), **human) == 1


def test_apples_proxy_fetching_the_pixel_is_not_an_open_for_did_not_open():
    from django.core import mail

    from tests.scenarios.factories import add
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.triggers import match_events
    from wagtail_journeys.events import record_event
    from wagtail_journeys.models import SendEmailStep

    newsletter = make_email(title="Newsletter")
    scenario = make_scenario(
        trigger_kind="email_engagement",
        engagement_email=newsletter,
        engagement_kind="not_opened",
        engagement_days=3,
    )
    add(scenario, SendEmailStep, email=make_email(title="Reminder"))
    apple = make_contact("apple@example.com")
    sent_at = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    sent, _ = record_event(
        "email_sent",
        contact=apple,
        properties={"email_page_id": newsletter.pk},
        occurred_at=sent_at,
    )
    match_events([sent], now=sent_at)
    record_event(
        "email_opened",
        contact=apple,
        properties={"email_page_id": newsletter.pk, "machine": True, "why": "apple_mpp"},
        occurred_at=sent_at + dt.timedelta(minutes=1),
    )
    advance_due(now=sent_at + dt.timedelta(days=3))
    assert [m.to[0] for m in mail.outbox] == [apple.email]
