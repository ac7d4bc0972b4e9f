"""Which birthdays fall on a given local day or period, in each contact's own timezone.

A contact born on 29 February celebrates on 28 February in years without one (the
convention of most calendars and of ``dateutil``'s ``relativedelta``): they are never
skipped and never counted twice.

A period ("this week", "in the next N days"...) is a list of local dates; the birthdays it
holds are a set of (month, day) pairs, which the SQL side reads as a few ranges of
``month * 100 + day`` (:func:`month_day_runs`), the Python side as set membership.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable


def resolve_timezone(name: str, default: str) -> zoneinfo.ZoneInfo:
    """``name`` as a timezone; empty or unknown names fall back to ``default``, then UTC."""
    for candidate in (name, default):
        if candidate:
            try:
                return zoneinfo.ZoneInfo(candidate)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


def target_date(now: dt.datetime, tz: zoneinfo.ZoneInfo, days: int) -> dt.date:
    """The local date ``days`` days after today, today being ``now`` seen in ``tz``."""
    return now.astimezone(tz).date() + dt.timedelta(days=days)


def birthday_days(day: dt.date) -> list[tuple[int, int]]:
    """The (month, day) of birth dates whose birthday is ``day``.

    28 February of a common year also stands for 29 February.
    """
    days = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        days.append((2, 29))
    return days


def has_birthday_on(birth_date: dt.date | None, day: dt.date) -> bool:
    """Is ``day`` the birthday of someone born on ``birth_date``?"""
    if birth_date is None:
        return False
    return (birth_date.month, birth_date.day) in birthday_days(day)


#: The periods of the birthday rule: today, in exactly N days, this week (ISO: Monday to
#: Sunday, the same for every user whatever their language), this month, and the N days
#: starting today.
TODAY, IN_DAYS, WEEK, MONTH, NEXT_DAYS = "today", "in_days", "week", "month", "next_days"
PERIODS = (TODAY, IN_DAYS, WEEK, MONTH, NEXT_DAYS)
#: Every ``month * 100 + day`` of a leap year, in calendar order.
CALENDAR = [
    month * 100 + day
    for month in range(1, 13)
    for day in range(1, calendar.monthrange(2000, month)[1] + 1)
]


def period_dates(period: str, today: dt.date, days: int) -> list[dt.date]:
    """The local dates of ``period`` seen from the local date ``today``; ``days`` is the N of
    "in exactly N days" and "in the next N days" (today included, so N = 1 is today)."""
    if period == IN_DAYS:
        return [today + dt.timedelta(days=days)]
    if period == WEEK:
        monday = today - dt.timedelta(days=today.weekday())
        return [monday + dt.timedelta(days=i) for i in range(7)]
    if period == MONTH:
        length = calendar.monthrange(today.year, today.month)[1]
        return [today.replace(day=day) for day in range(1, length + 1)]
    if period == NEXT_DAYS:
        return [today + dt.timedelta(days=i) for i in range(days)]
    return [today]


def birthdays_on(dates: Iterable[dt.date]) -> frozenset[tuple[int, int]]:
    """The (month, day) of birth dates whose birthday is one of ``dates``."""
    return frozenset(pair for day in dates for pair in birthday_days(day))


def has_birthday_in(birth_date: dt.date | None, dates: Iterable[dt.date]) -> bool:
    """Is one of ``dates`` the birthday of someone born on ``birth_date``?"""
    if birth_date is None:
        return False
    return (birth_date.month, birth_date.day) in birthdays_on(dates)


def month_day_runs(pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``pairs`` as inclusive ranges of ``month * 100 + day`` with nothing else in between:
    every birth date in a range is in ``pairs``, and every pair is in a range (at most one
    range per contiguous stretch of the calendar, so a week across New Year is two)."""
    wanted = {month * 100 + day for month, day in pairs}
    runs: list[tuple[int, int]] = []
    start = previous = None
    for md in CALENDAR:
        if md in wanted:
            if start is None:
                start = md
            previous = md
        elif start is not None:
            runs.append((start, previous))
            start = None
    if start is not None:
        runs.append((start, previous))
    return runs


def dates_by_timezone(
    now: dt.datetime, days: int, names: Iterable[str], default: str
) -> dict[dt.date, list[str]]:
    """Group timezone names (as stored on contacts) by the local date that is "in ``days``
    days" there. At most three dates exist at any instant, so the result is small."""
    groups: dict[dt.date, list[str]] = defaultdict(list)
    for name in sorted(set(names)):
        groups[target_date(now, resolve_timezone(name, default), days)].append(name)
    return dict(groups)
