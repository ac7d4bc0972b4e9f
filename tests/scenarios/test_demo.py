"""The demo scenarios: created once, checked clean of errors, the loop found and guarded."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from wagtail_journeys.models import ScenarioPage
from wagtail_journeys.scenarios.report import check_all

pytestmark = pytest.mark.django_db


def test_demo_scenarios_are_idempotent_and_have_no_errors():
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    assert ScenarioPage.objects.live().count() == 7
    problems = check_all()
    assert [p for _, p in problems if p.level == "error"] == []
    loops = [p.message for _, p in problems if p.code == "loop"]
    assert len(loops) == 1
    assert "Newsletter signup" in loops[0] and "White-paper download" in loops[0]
    assert "guarded" in loops[0]
    out = io.StringIO()
    call_command("journeys_check", stdout=out)
    assert "0 error(s)" in out.getvalue()


def test_a_first_pass_after_the_demo_enrols_nobody_for_its_history():
    """The demo's contacts come with months of back-dated purchases and page views: none of
    them is newer than the scenarios, so the first worker pass mails no "Welcome"."""
    import datetime as dt

    from django.core import mail
    from django.utils import timezone

    from tests.conftest import journeys_demo
    from wagtail_journeys.engine import tick
    from wagtail_journeys.models import Enrollment, Event

    journeys_demo(contacts=12)
    assert Event.objects.filter(name="purchase").count() > 5
    Event.objects.update(received_at=timezone.now() - dt.timedelta(minutes=1))
    tick()
    driven_by_events = Enrollment.objects.filter(
        scenario__trigger_kind__in=["event", "page_view", "email_engagement"]
    )
    assert list(driven_by_events.values_list("scenario__title", flat=True)) == []
    assert not [m for m in mail.outbox if m.subject.startswith("Welcome")]


def _buy(contact, now):
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.triggers import match_events
    from wagtail_journeys.events import record_event

    event, _ = record_event(
        "purchase", contact=contact, properties={"category": "thriller"}, occurred_at=now
    )
    match_events([event], now=now)
    advance_due(now=now)


def test_the_demo_welcome_subject_goes_out_with_the_issued_promo_code(settings):
    from django.core import mail
    from django.utils import timezone

    from example_site.shop.demo_scenarios import create_scenarios
    from tests.conftest import journeys_demo
    from tests.emails.factories import make_contact
    from wagtail_journeys.models import EmailPage

    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}
    create_scenarios(journeys_demo(pages_only=True))  # no seed emails: the scenarios' own
    assert EmailPage.objects.get(slug="welcome").subject == "Welcome! Here is {{ promo_code }}"
    ada = make_contact("ada@example.com")
    _buy(ada, timezone.now())
    ada.refresh_from_db()
    code = ada.attributes["promo_code"]
    assert code.startswith("WELCOME-")
    assert [m.subject for m in mail.outbox] == [f"Welcome! Here is {code}"]
