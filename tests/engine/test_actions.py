"""Actions and exits on a real database: update contact, start scenario, audience exit,
hard end, page-view counts, transactional priority."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.models import (
    Enrollment,
    SendEmailStep,
    StartScenarioStep,
    StepRun,
    UpdateContactStep,
    WaitStep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def test_update_contact_tags_attributes_and_a_unique_promo_code():
    scenario = make_scenario()
    add(
        scenario,
        UpdateContactStep,
        add_tags="vip",
        attributes={"tier": "gold"},
        promo_code_prefix="WELCOME",
    )
    ada, bob = make_contact(), make_contact()
    fire("purchase", ada)
    fire("purchase", bob)
    advance_due(now=T0)
    ada.refresh_from_db()
    bob.refresh_from_db()
    assert list(ada.tags.names()) == ["vip"]
    assert ada.attributes["tier"] == "gold"
    assert ada.attributes["promo_code"].startswith("WELCOME-")
    assert ada.attributes["promo_code"] != bob.attributes["promo_code"]


def test_start_scenario_enrols_in_the_other_one_and_the_loop_guard_stops_cycles(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None, "LOOP_DEPTH": 2}
    a = make_scenario(title="A", reentry="always")
    b = make_scenario(title="B", trigger_kind="manual", reentry="always")
    add(a, StartScenarioStep, scenario=b)
    add(b, StartScenarioStep, scenario=a)
    fire("purchase", make_contact())
    for _ in range(5):
        advance_due(now=T0)
    depths = sorted(Enrollment.objects.values_list("scenario__title", "depth"))
    assert depths == [("A", 0), ("A", 2), ("B", 1)]
    assert StepRun.objects.filter(reason__startswith="loop guard").count() == 1


def test_leaving_the_audience_exits_at_the_next_step():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = make_scenario(audience=readers, exit_on_audience_loss=True)
    add(scenario, WaitStep, amount=1, unit="days")
    add(scenario, SendEmailStep, email=make_email())
    ada = make_contact()
    ada.tags.add("reader")
    fire("purchase", ada)
    advance_due(now=T0)
    ada.tags.remove("reader")
    advance_due(now=T0 + dt.timedelta(days=1))
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == ("exited", "no longer in the audience")
    assert mail.outbox == []


def test_hard_end_date_stops_entries_and_ends_active_enrolments():
    scenario = make_scenario(end_at=T0 + dt.timedelta(days=1))
    add(scenario, WaitStep, amount=2, unit="days")
    add(scenario, SendEmailStep, email=make_email())
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=2))
    assert Enrollment.objects.get().end_reason == "the scenario's end date passed"
    assert fire("purchase", make_contact(), at=T0 + dt.timedelta(days=2)) == 0
    assert mail.outbox == []


def test_page_view_trigger_needs_n_views_of_tagged_pages_within_days():
    make_scenario(
        trigger_kind="page_view",
        trigger_event="",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
    )
    ada = make_contact()
    king = {"page_id": 1, "page_type": "shop.bookpage", "tags": ["stephen-king"]}
    other = {"page_id": 2, "page_type": "shop.bookpage", "tags": ["jane-austen"]}
    assert fire("page_view", ada, at=T0 - dt.timedelta(days=40), **king) == 0
    assert fire("page_view", ada, at=T0 - dt.timedelta(days=1), **king) == 0
    assert fire("page_view", ada, at=T0, **other) == 0
    assert fire("page_view", ada, at=T0, **king) == 0  # 2 in 30 days
    assert fire("page_view", ada, at=T0, **king) == 1


def test_transactional_sends_go_to_the_priority_pass_and_skip_quiet_hours(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": ["00:00", "23:59"], "FREQUENCY_CAP": None}
    receipts = make_scenario(trigger_event="order_paid")
    add(receipts, SendEmailStep, email=make_email(title="Receipt"), transactional=True)
    news = make_scenario(trigger_event="purchase")
    add(news, SendEmailStep, email=make_email(title="News"))
    ada = make_contact()
    fire("order_paid", ada)
    fire("purchase", ada)
    assert Enrollment.objects.get(scenario=receipts).priority is True
    assert advance_due(now=T0, priority=True) == 1
    assert len(mail.outbox) == 1
    advance_due(now=T0)
    assert len(mail.outbox) == 1  # the marketing email waits for the end of quiet hours
    assert StepRun.objects.filter(reason="quiet hours").exists()
