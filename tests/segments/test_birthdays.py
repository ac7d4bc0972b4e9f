"""Birthdays in each contact's own timezone, and 29 February in common and leap years."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.segments import contacts_matching
from wagtail_journeys.segments.birthdays import birthday_days, dates_by_timezone, has_birthday_on

from .factories import ContactFactory, rule

FEB29 = dt.date(2000, 2, 29)


def test_29_february_celebrates_on_28_february_in_common_years_only():
    assert has_birthday_on(FEB29, dt.date(2027, 2, 28))
    assert not has_birthday_on(FEB29, dt.date(2027, 3, 1))
    assert not has_birthday_on(FEB29, dt.date(2028, 2, 28))
    assert has_birthday_on(FEB29, dt.date(2028, 2, 29))
    assert birthday_days(dt.date(2028, 2, 28)) == [(2, 28)]
    assert not has_birthday_on(None, dt.date(2028, 2, 29))


def test_timezones_are_grouped_by_their_local_date():
    now = dt.datetime(2027, 2, 28, 20, 0, tzinfo=dt.UTC)
    groups = dates_by_timezone(now, 0, ["Asia/Tokyo", "America/New_York", "", "Bad/Zone"], "UTC")
    assert groups == {
        dt.date(2027, 3, 1): ["Asia/Tokyo"],
        dt.date(2027, 2, 28): ["", "America/New_York", "Bad/Zone"],
    }


def birthday_emails(now: dt.datetime, days: int = 0, timezone: str = "") -> set[str]:
    rules = [rule("birthday", days=days, timezone=timezone)]
    return set(contacts_matching(rules, now=now).values_list("email", flat=True))


@pytest.fixture
def people(db):
    for email, tz, born in [
        ("leap-ny@x.com", "America/New_York", FEB29),
        ("leap-tokyo@x.com", "Asia/Tokyo", FEB29),
        ("leap-default@x.com", "", FEB29),
        ("march-tokyo@x.com", "Asia/Tokyo", dt.date(1990, 3, 1)),
        ("march-ny@x.com", "America/New_York", dt.date(1990, 3, 1)),
        ("feb28-ny@x.com", "America/New_York", dt.date(1985, 2, 28)),
        ("nobody@x.com", "Asia/Tokyo", None),
    ]:
        ContactFactory(email=email, timezone=tz, birth_date=born)


def test_birthday_today_in_a_common_year(people):
    # 20:00 UTC on 28 Feb 2027: still the 28th in New York, already 1 March in Tokyo.
    now = dt.datetime(2027, 2, 28, 20, 0, tzinfo=dt.UTC)
    assert birthday_emails(now) == {
        "leap-ny@x.com",
        "leap-default@x.com",
        "feb28-ny@x.com",
        "march-tokyo@x.com",
    }


def test_birthday_today_in_a_leap_year(people):
    now = dt.datetime(2028, 2, 28, 20, 0, tzinfo=dt.UTC)  # 29 Feb in Tokyo, 28 in New York
    assert birthday_emails(now) == {"leap-tokyo@x.com", "feb28-ny@x.com"}


def test_birthday_in_n_days_and_with_a_fixed_timezone(people):
    now = dt.datetime(2027, 2, 27, 3, 0, tzinfo=dt.UTC)  # 26 Feb 22:00 in New York
    assert birthday_emails(now, days=1) == {"leap-tokyo@x.com", "leap-default@x.com"}
    assert birthday_emails(now, days=2) == {
        "leap-ny@x.com",
        "feb28-ny@x.com",
        "march-tokyo@x.com",
    }
    everyone_in_tokyo = birthday_emails(now, days=2, timezone="Asia/Tokyo")
    assert everyone_in_tokyo == {"march-tokyo@x.com", "march-ny@x.com"}


def test_empty_timezone_uses_the_site_default(people, settings):
    settings.WAGTAIL_JOURNEYS = {"DEFAULT_TIMEZONE": "Asia/Tokyo"}
    ContactFactory(email="march-default@x.com", timezone="", birth_date=dt.date(1970, 3, 1))
    now = dt.datetime(2027, 2, 28, 20, 0, tzinfo=dt.UTC)  # 1 March in Tokyo
    matching = birthday_emails(now)
    assert "march-default@x.com" in matching
    assert "leap-default@x.com" not in matching
