"""Conversions: credited to the last message a person opened or clicked within
``ATTRIBUTION_DAYS`` before the event; revenue only from a server; each counted once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.analytics import counts
from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import make_scenario
from wagtail_journeys.analytics.conversions import Row, credited
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.delivery import send_email
from wagtail_journeys.models import Event, EventSource, MailDay, Message
from wagtail_journeys.models.events import revenue_of
from wagtail_journeys.tracking.engagement import record_click, record_open
from wagtail_journeys.tracking.machines import HUMAN, Verdict

pytestmark = pytest.mark.django_db

OPENED = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
APPLE = Verdict(True, "apple_mpp")


def buy(contact, at, *, amount="40.00", source=EventSource.API, name="purchase") -> Event:
    return Event.objects.create(
        name=name, contact=contact, properties={"amount": amount}, source=source, occurred_at=at
    )


def roll() -> None:
    counts.settle_everything()
    rollup_pass()


def mail_totals() -> dict:
    return {
        name: sum(getattr(row, name) for row in MailDay.objects.all())
        for name in ("converted", "conversions", "revenue")
    }


@pytest.fixture
def message(email_site):
    return send_email(make_email(title="Spring sale"), make_contact())


def test_the_window_includes_its_last_instant_and_not_one_second_more(message):
    record_open(message, HUMAN, OPENED)
    contact = message.contact
    buy(contact, OPENED + dt.timedelta(days=5))  # the window's edge: in
    buy(contact, OPENED + dt.timedelta(days=5, seconds=1))  # one second out
    roll()
    message.refresh_from_db()
    assert message.converted_at == OPENED + dt.timedelta(days=5)
    assert message.revenue == Decimal("40.00")
    assert mail_totals() == {"converted": 1, "conversions": 1, "revenue": Decimal("40.00")}


def test_a_purchase_before_the_open_is_not_credited_to_it(message):
    record_open(message, HUMAN, OPENED)
    buy(message.contact, OPENED - dt.timedelta(minutes=1))
    roll()
    assert mail_totals()["conversions"] == 0
    assert Message.objects.get(pk=message.pk).converted_at is None


def test_machine_opens_and_clicks_credit_nothing(message):
    record_open(message, APPLE, OPENED)
    record_click(message, 0, "https://shop.example/a", Verdict(True, "scanner"), OPENED)
    buy(message.contact, OPENED + dt.timedelta(hours=1))
    roll()
    assert mail_totals()["conversions"] == 0


def test_a_browsers_amount_is_a_conversion_without_revenue(message, settings):
    settings.WAGTAIL_JOURNEYS = {"CONVERSION_EVENTS": ["purchase", "signup"]}
    record_click(message, 0, "https://shop.example/a", HUMAN, OPENED)
    buy(message.contact, OPENED + dt.timedelta(hours=1), source=EventSource.BEACON, name="signup")
    roll()
    message.refresh_from_db()
    assert message.converted_at is not None and message.revenue == 0
    assert mail_totals() == {"converted": 1, "conversions": 1, "revenue": Decimal("0")}


def test_the_last_message_engaged_with_gets_the_credit_and_each_conversion_counts(email_site):
    contact = make_contact()
    first = send_email(make_email(title="One"), contact)
    second = send_email(make_email(title="Two"), contact)
    record_open(first, HUMAN, OPENED)
    record_open(second, HUMAN, OPENED + dt.timedelta(hours=1))
    record_open(first, APPLE, OPENED + dt.timedelta(hours=2))  # a machine: no credit
    buy(contact, OPENED + dt.timedelta(hours=3), amount=19.99)
    buy(contact, OPENED + dt.timedelta(hours=4), amount="5")
    roll()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.converted_at is None and first.revenue == 0
    assert second.converted_at == OPENED + dt.timedelta(hours=3)
    assert second.revenue == Decimal("24.99")
    row = MailDay.objects.get(email_page_id=second.email_page_id, conversions__gt=0)
    assert (row.converted, row.conversions, row.revenue) == (1, 2, Decimal("24.99"))
    assert counts.rolled_mail() == counts.expected_mail()


def test_a_goal_event_converts_for_its_own_scenarios_messages_only(email_site):
    """``newsletter_signup`` is the goal of a scenario: it converts that scenario's
    message, not a message sent outside it."""
    goal = make_scenario(goal_event="newsletter_signup")
    contact = make_contact()
    outside = send_email(make_email(title="Outside"), contact)
    record_open(outside, HUMAN, OPENED)
    buy(contact, OPENED + dt.timedelta(hours=1), name="newsletter_signup")
    roll()
    assert mail_totals()["conversions"] == 0
    inside = send_email(make_email(title="Inside"), contact)
    Message.objects.filter(pk=inside.pk).update(scenario_id=goal.pk)
    inside.refresh_from_db()
    record_open(inside, HUMAN, OPENED + dt.timedelta(hours=2))
    buy(contact, OPENED + dt.timedelta(hours=3), name="newsletter_signup")
    roll()
    assert mail_totals() == {"converted": 1, "conversions": 1, "revenue": Decimal("40.00")}


@pytest.mark.parametrize(
    "amount, source, revenue",
    [
        (12.345, EventSource.API, Decimal("12.35")),
        ("7.5", EventSource.IMPORT, Decimal("7.50")),
        (10, EventSource.FORM, Decimal("0")),  # a browser's
        (10, EventSource.BEACON, Decimal("0")),
        ("NaN", EventSource.API, Decimal("0")),
        ("Infinity", EventSource.API, Decimal("0")),
        (1e300, EventSource.API, Decimal("0")),  # beyond inputs.MAX_NUMBER
        (-5, EventSource.API, Decimal("0")),
        (True, EventSource.API, Decimal("0")),
        ("12 euros", EventSource.API, Decimal("0")),
        ({"value": 3}, EventSource.API, Decimal("0")),
        (None, EventSource.API, Decimal("0")),
    ],
)
def test_revenue_is_a_servers_finite_bounded_amount(amount, source, revenue):
    assert revenue_of({"amount": amount}, source) == revenue


def test_credit_is_pure_over_sorted_engagements():
    t = OPENED
    engaged = [(t, 1, {"message": 1}), (t + dt.timedelta(days=1), 2, {"message": 2})]
    window = dt.timedelta(days=5)

    def at(when):
        return Row(9, "purchase", 1, when, "api", {})

    assert credited(at(t - dt.timedelta(seconds=1)), engaged, window) is None
    assert credited(at(t), engaged, window) == {"message": 1}
    assert credited(at(t + dt.timedelta(days=3)), engaged, window) == {"message": 2}
    assert credited(at(t + dt.timedelta(days=6)), engaged, window) == {"message": 2}
    assert credited(at(t + dt.timedelta(days=6, seconds=1)), engaged, window) is None
