"""Waits, windows and quiet hours in the contact's timezone, across DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from wagtail_journeys.engine import timing

PARIS, TOKYO, NEW_YORK = (
    ZoneInfo("Europe/Paris"),
    ZoneInfo("Asia/Tokyo"),
    ZoneInfo("America/New_York"),
)


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_a_day_wait_keeps_the_local_time_across_the_dst_change():
    # Saturday 28 March 2026 09:00 Paris (UTC+1); DST starts on the 29th.
    start = dt.datetime(2026, 3, 28, 9, 0, tzinfo=PARIS).astimezone(dt.UTC)
    end = timing.after(start, 1, "days", PARIS)
    assert end.astimezone(PARIS).hour == 9
    assert end - start == dt.timedelta(hours=23)
    assert timing.after(start, 24, "hours", PARIS) - start == dt.timedelta(hours=24)


def test_window_waits_for_the_next_weekday_morning_locally():
    friday_evening = dt.datetime(2026, 6, 19, 19, 0, tzinfo=PARIS).astimezone(dt.UTC)
    opens = timing.next_window(friday_evening, PARIS, [0, 1, 2, 3, 4], dt.time(9), dt.time(18))
    assert opens.astimezone(PARIS) == dt.datetime(2026, 6, 22, 9, 0, tzinfo=PARIS)
    inside = utc(2026, 6, 22, 10, 0)  # Monday 12:00 Paris
    assert timing.next_window(inside, PARIS, [0], dt.time(9), dt.time(18)) == inside


def test_quiet_hours_span_midnight_and_differ_by_timezone():
    at = utc(2026, 6, 15, 21, 0)  # 23:00 Paris, 06:00 Tokyo next day
    assert timing.quiet_until(at, PARIS, dt.time(21), dt.time(8)) == utc(2026, 6, 16, 6, 0)
    assert timing.quiet_until(at, TOKYO, dt.time(21), dt.time(8)) == utc(2026, 6, 15, 23, 0)
    assert timing.quiet_until(utc(2026, 6, 15, 12), PARIS, dt.time(21), dt.time(8)) is None


def test_a_time_skipped_by_dst_moves_forward():
    # 02:30 does not exist in New York on 8 March 2026.
    gap = timing._local(dt.date(2026, 3, 8), dt.time(2, 30), NEW_YORK)
    assert gap.astimezone(NEW_YORK).hour == 3


def test_recurring_broadcast_occurrences():
    first = utc(2026, 1, 31, 9)
    assert timing.latest_occurrence(first, "once", utc(2026, 1, 1)) is None
    assert timing.latest_occurrence(first, "weekly", utc(2026, 2, 15, 10)) == utc(2026, 2, 14, 9)
    assert timing.latest_occurrence(first, "monthly", utc(2026, 3, 5)) == utc(2026, 1, 31, 9)
    assert timing.latest_occurrence(first, "monthly", utc(2026, 3, 31, 9)) == utc(2026, 3, 31, 9)
