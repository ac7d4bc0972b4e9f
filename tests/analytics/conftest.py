"""Fixtures of the report tests: a scenario the engine really runs."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.analytics import counts
from tests.analytics.counts import signup
from tests.emails.factories import make_contact, make_email, text
from tests.engine.test_engine import T0
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine import tick
from wagtail_journeys.models import (
    Branch,
    NotifyStep,
    SendEmailStep,
    SplitStep,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together

LINKS = "<p><a href='https://shop.example/a'>a</a> <a href='https://shop.example/b'>b</a></p>"


@pytest.fixture(autouse=True)
def engine_settings(settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": None,
        "FREQUENCY_CAP": None,
        # the sends happen now (real time): a person's click seconds later is a person's
        "MACHINE_CLICK_SECONDS": 0,
        "MACHINE_BURST_SECONDS": 0,
    }


@pytest.fixture
def journey(email_site):
    """A scenario: signup → an A/B split (two emails) → a note to the team → a day → a
    last email with two links → a week; its goal is a purchase. Twelve contacts run through it."""
    scenario = make_scenario(title="Welcome", trigger_event="signup", goal_event="purchase")
    a, b = make_email(title="A"), make_email(title="B")
    last = make_email([text(LINKS)], title="Last")
    with publishing_together():
        split = add(scenario, SplitStep, title="A/B")
        arms = [add(split, Branch, title=t, percent=50) for t in ("A", "B")]
        add(arms[0], SendEmailStep, email=a)
        add(arms[1], SendEmailStep, email=b)
    add(scenario, NotifyStep, notify_email="team@staff.example", message="A signup")
    add(scenario, WaitStep, mode="duration", amount=1, unit="days")
    add(scenario, SendEmailStep, email=last)
    add(scenario, WaitStep, mode="duration", amount=7, unit="days")  # time to buy
    contacts = [make_contact(f"reader{i}@example.com") for i in range(12)]
    for contact in contacts:
        signup(contact)
    counts.settle_everything()
    tick(now=T0)
    tick(now=T0 + dt.timedelta(days=1))
    return scenario, split, arms, last, contacts
