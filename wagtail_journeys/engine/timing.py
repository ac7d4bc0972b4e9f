"""Time arithmetic for waits, windows, quiet hours and local dates. Pure functions of an
aware ``now`` and a ``ZoneInfo``: daylight-saving changes are handled by the zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}


def parse_hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def after(now: dt.datetime, amount: int, unit: str, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """``now`` plus a duration. Days and weeks are calendar days in the contact's timezone
    (a 1-day wait at 9:00 ends at 9:00 local, across a DST change); minutes and hours are
    elapsed time."""
    if unit in ("days", "weeks"):
        local = now.astimezone(tz)
        days = amount * (7 if unit == "weeks" else 1)
        naive = local.replace(tzinfo=None) + dt.timedelta(days=days)
        return naive.replace(tzinfo=tz).astimezone(dt.UTC)
    return now + dt.timedelta(seconds=amount * UNITS[unit])


def _local(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """That local wall-clock time as UTC; a time skipped by DST moves forward an hour."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    back = aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:  # in the spring-forward gap
        aware = (naive + dt.timedelta(hours=1)).replace(tzinfo=tz)
    return aware.astimezone(dt.UTC)


def next_window(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, weekdays: list[int], start: dt.time, end: dt.time
) -> dt.datetime:
    """The first moment at or after ``now`` inside the window (local weekdays, start-end)."""
    local = now.astimezone(tz)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in weekdays:
            continue
        opens, closes = _local(day, start, tz), _local(day, end, tz)
        if now < opens:
            return opens
        if now < closes:
            return now
    raise ValueError("the window is empty")


def quiet_until(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, start: dt.time, end: dt.time
) -> dt.datetime | None:
    """When quiet hours (local ``start``-``end``, may span midnight) end, or ``None`` if
    ``now`` is outside them."""
    local = now.astimezone(tz)
    t = local.time()
    if start <= end:
        inside = start <= t < end
        ends_on = local.date()
    else:
        inside = t >= start or t < end
        ends_on = local.date() + dt.timedelta(days=1) if t >= start else local.date()
    return _local(ends_on, end, tz) if inside else None


def local_occurrence(day: dt.date, year: int) -> dt.date:
    """This year's date of an anniversary; 29 February falls on 28 February off leap years."""
    try:
        return day.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


def latest_occurrence(first: dt.datetime, every: str, now: dt.datetime) -> dt.datetime | None:
    """The last time a broadcast starting at ``first`` repeating ``every`` was due by ``now``."""
    if now < first:
        return None
    if every == "once":
        return first
    if every in ("daily", "weekly"):
        step = dt.timedelta(days=1 if every == "daily" else 7)
        return first + step * ((now - first) // step)
    months = (now.year - first.year) * 12 + now.month - first.month
    while months >= 0:
        year, month = (
            first.year + (first.month - 1 + months) // 12,
            (first.month - 1 + months) % 12 + 1,
        )
        try:
            candidate = first.replace(year=year, month=month)
        except ValueError:
            months -= 1
            continue
        if candidate <= now:
            return candidate
        months -= 1
    return None
