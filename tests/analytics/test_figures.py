"""Periods from query strings, and rates that have no value when their base is 0."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wagtail_journeys.analytics.behind import METRICS, contacts_behind
from wagtail_journeys.analytics.figures import MAX_DAYS, MailFigures, Period
from wagtail_journeys.exceptions import InvalidInput


def test_period_defaults_and_bounds():
    today = dt.date(2026, 5, 31)
    assert Period.last_days(30, today) == Period(dt.date(2026, 5, 2), today)
    assert Period.parse("2026-05-01", "2026-05-31") == Period(dt.date(2026, 5, 1), today)
    assert Period.parse("2026-05-31", "2026-05-31").days == 1
    assert Period.parse(None, "2026-05-31", default_days=7).start == dt.date(2026, 5, 25)
    assert Period.parse("", "").days == 30
    assert len(Period(dt.date(2026, 2, 27), dt.date(2026, 3, 2)).each_day()) == 4


@pytest.mark.parametrize(
    "start, end",
    [
        ("2026-02-30", None),
        ("yesterday", None),
        ("2026-5-1", None),
        ("20260501", None),
        ("2026-05-01T00:00", None),
        ("2026-05-01\x00", None),
        ("\ud800", None),
        ("9" * 10_000, None),
        ("2026-06-01", "2026-05-01"),
        ("0001-01-01", "9999-12-31"),
    ],
)
def test_bad_periods_are_refused(start, end):
    with pytest.raises(InvalidInput):
        Period.parse(start, end)


def test_the_longest_period():
    end = dt.date(2026, 1, 1)
    start = end - dt.timedelta(days=MAX_DAYS - 1)
    assert Period.parse(str(start), str(end)).days == MAX_DAYS
    with pytest.raises(InvalidInput):
        Period.parse(str(start - dt.timedelta(days=1)), str(end))


def test_rates_are_none_without_a_base():
    nothing = MailFigures.zero()
    for rate in (
        "delivery_rate",
        "open_rate",
        "click_rate",
        "click_to_open",
        "bounce_rate",
        "complaint_rate",
        "unsubscribe_rate",
        "conversion_rate",
        "revenue_per_send",
    ):
        assert getattr(nothing, rate) is None, rate
    some = MailFigures(sent=200, delivered=190, opened=50, clicked=10, revenue=Decimal("30"))
    assert (some.delivery_rate, some.open_rate, some.click_to_open) == (0.95, 0.25, 0.2)
    assert some.revenue_per_send == Decimal("0.15")
    both = some + MailFigures(sent=100, opened=0)
    assert (both.sent, both.opened, both.open_rate) == (300, 50, 50 / 300)


@pytest.mark.django_db
def test_unknown_metric():
    period = Period.last_days(7)
    with pytest.raises(InvalidInput):
        contacts_behind("revenue", period=period)
    assert set(METRICS) == {
        "sent",
        "delivered",
        "opened",
        "clicked",
        "bounced",
        "complained",
        "unsubscribed",
        "converted",
        "entered",
        "waiting",
        "passed",
        "exited",
    }
    for metric in METRICS:
        assert list(contacts_behind(metric, period=period, scenario_id=1, step_id=2)) == []
