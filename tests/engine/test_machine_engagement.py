"""A machine's open or click (Apple Mail Privacy Protection, a link scanner) fires no
email-engagement trigger, wakes no wait and ends no "did not open" enrolment early."""

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
    human = {"email_page_id": email.pk, "machine": False, "why": "", "first": True}
    assert fire(name, ada, at=T0 + dt.timedelta(minutes=1), **human) == 1
