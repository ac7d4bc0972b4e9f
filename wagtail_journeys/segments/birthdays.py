"""Which birthdays fall on a given local day, in each contact's own timezone.

A contact born on 29 February celebrates on 28 February in years without one (the
convention of most calendars and of ``dateutil``'s ``relativedelta``): they are never
skipped and never counted twice.
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


def dates_by_timezone(
    now: dt.datetime, days: int, names: Iterable[str], default: str
) -> dict[dt.date, list[str]]:
    """Group timezone names (as stored on contacts) by the local date that is "in ``days``
    days" there. At most three dates exist at any instant, so the result is small."""
    groups: dict[dt.date, list[str]] = defaultdict(list)
    for name in sorted(set(names)):
        groups[target_date(now, resolve_timezone(name, default), days)].append(name)
    return dict(groups)
