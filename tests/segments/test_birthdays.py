"""Birthdays in each contact's own timezone, and 29 February in common and leap years."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.models import Contact
from wagtail_journeys.segments import contacts_matching, load_facts, reference_matching
from wagtail_journeys.segments.birthdays import birthday_days, dates_by_timezone, has_birthday_on
from wagtail_journeys.segments.rules.special import BirthdayRuleBlock

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


# Periods: today, this week (Monday to Sunday), this month, in the next N days.


def period_emails(now: dt.datetime, period: str, days: int = 0, timezone: str = "") -> set[str]:
    """The contacts the rule matches in SQL, checked against the Python reference."""
    rules = [rule("birthday", period=period, days=days, timezone=timezone)]
    sql = set(contacts_matching(rules, now=now).values_list("email", flat=True))
    facts = load_facts(Contact.objects.all())
    python = reference_matching(rules, "all", facts, now=now)
    assert set(Contact.objects.filter(pk__in=python).values_list("email", flat=True)) == sql
    return sql


@pytest.fixture
def year_end(db):
    for email, tz, born in [
        ("dec27@x.com", "UTC", dt.date(1990, 12, 27)),
        ("dec28@x.com", "UTC", dt.date(1990, 12, 28)),
        ("jan03@x.com", "UTC", dt.date(1980, 1, 3)),
        ("jan04@x.com", "UTC", dt.date(1980, 1, 4)),
        ("jan04-tokyo@x.com", "Asia/Tokyo", dt.date(1980, 1, 4)),
        ("jan10-tokyo@x.com", "Asia/Tokyo", dt.date(1980, 1, 10)),
        ("jan11-tokyo@x.com", "Asia/Tokyo", dt.date(1980, 1, 11)),
        ("jan03-tokyo@x.com", "Asia/Tokyo", dt.date(1980, 1, 3)),
    ]:
        ContactFactory(email=email, timezone=tz, birth_date=born)


def test_this_week_runs_monday_to_sunday_across_new_year(year_end):
    thursday = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC)  # Friday 1 Jan in Tokyo
    assert period_emails(thursday, "week") == {"dec28@x.com", "jan03@x.com", "jan03-tokyo@x.com"}


def test_this_week_is_each_contacts_own_week(year_end):
    # Sunday 3 Jan 20:00 UTC is Monday 4 Jan in Tokyo: a new week there.
    sunday = dt.datetime(2027, 1, 3, 20, 0, tzinfo=dt.UTC)
    assert period_emails(sunday, "week") == {
        "dec28@x.com",
        "jan03@x.com",
        "jan04-tokyo@x.com",
        "jan10-tokyo@x.com",
    }
    assert period_emails(sunday, "today") == {"jan03@x.com", "jan04-tokyo@x.com"}


def test_in_the_next_n_days_counts_today_and_crosses_new_year(year_end):
    now = dt.datetime(2026, 12, 28, 9, 0, tzinfo=dt.UTC)
    assert period_emails(now, "next_days", days=1) == {"dec28@x.com"}
    assert period_emails(now, "next_days", days=7) == {
        "dec28@x.com",
        "jan03@x.com",
        "jan03-tokyo@x.com",
    }
    assert period_emails(now, "next_days", days=8) == {
        "dec28@x.com",
        "jan03@x.com",
        "jan04@x.com",
        "jan03-tokyo@x.com",
        "jan04-tokyo@x.com",
    }
    assert "dec27@x.com" in period_emails(now, "next_days", days=365)
    assert len(period_emails(now, "next_days", days=366)) == 8


def test_this_month_holds_29_february_in_common_years(people):
    now = dt.datetime(2027, 2, 28, 20, 0, tzinfo=dt.UTC)  # already 1 March in Tokyo
    assert period_emails(now, "month") == {
        "leap-ny@x.com",
        "leap-default@x.com",
        "feb28-ny@x.com",
        "march-tokyo@x.com",
    }
    leap = dt.datetime(2028, 2, 10, 12, 0, tzinfo=dt.UTC)
    assert period_emails(leap, "month") == {
        "leap-ny@x.com",
        "leap-tokyo@x.com",
        "leap-default@x.com",
        "feb28-ny@x.com",
    }


def test_the_next_days_reach_29_february_only_through_28_february(people):
    now = dt.datetime(2027, 2, 27, 12, 0, tzinfo=dt.UTC)
    assert "leap-default@x.com" not in period_emails(now, "next_days", days=1)
    assert "leap-default@x.com" in period_emails(now, "next_days", days=2)
    leap = dt.datetime(2028, 2, 27, 12, 0, tzinfo=dt.UTC)
    assert "leap-default@x.com" not in period_emails(leap, "next_days", days=2)
    assert "leap-default@x.com" in period_emails(leap, "next_days", days=3)


def test_the_sites_time_zone_changes_nothing(year_end, settings):
    """Birth dates are dates: Django's TIME_ZONE (the database session's zone) must not
    move them, only each contact's own timezone does."""
    now = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC)
    expected = period_emails(now, "week")
    for name in ("Pacific/Kiritimati", "America/Adak"):
        settings.TIME_ZONE = name
        assert period_emails(now, "week") == expected
        sunday_noon = dt.datetime(2027, 1, 3, 12, 0, tzinfo=dt.UTC)  # Monday in Kiritimati
        assert period_emails(sunday_noon, "today", timezone="Pacific/Kiritimati") == {
            "jan04@x.com",
            "jan04-tokyo@x.com",
        }


def test_a_rule_saved_before_periods_reads_as_in_exactly_n_days(year_end):
    now = dt.datetime(2026, 12, 28, 9, 0, tzinfo=dt.UTC)
    old = [rule("birthday", days=6)]  # no "period" key, as stored before
    assert set(contacts_matching(old, now=now).values_list("email", flat=True)) == {
        "jan03@x.com",
        "jan03-tokyo@x.com",
    }


def test_in_the_next_0_days_is_refused():
    problems = BirthdayRuleBlock().problems({"period": "next_days", "days": 0})
    assert problems == {"days": "Enter a number of days between 1 and 366."}
