"""Triggers checked on a schedule: segment entered, birthdays and anniversaries at a local
time in each contact's timezone, and broadcasts (one-off or recurring) to a segment."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo

from django.db import transaction

from .. import conf
from ..models import Contact, Enrollment, EventCursor, ScenarioPage
from ..scenarios.loading import current_plan
from . import clock, timing
from .enroll import enroll
from .exits import exit_lost_audience

CHUNK = 2000


def _timezones() -> dict[str, zoneinfo.ZoneInfo]:
    """Every timezone name contacts use ('' is the site default)."""
    out = {}
    default = conf.get("DEFAULT_TIMEZONE")
    for name in Contact.objects.values_list("timezone", flat=True).distinct():
        try:
            out[name] = zoneinfo.ZoneInfo(name or default)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            out[name] = zoneinfo.ZoneInfo(default)
    return out


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def enroll_anniversaries(scenario: ScenarioPage, now: dt.datetime) -> int:
    """Birthday/anniversary: contacts whose local date is the day, once the local time has
    come; once a year each (no enrolment of theirs started in the last 300 days)."""
    plan = current_plan(scenario.pk)
    if plan is None or not plan.trigger["time"]:
        return 0
    at = timing.parse_hhmm(plan.trigger["time"])
    field = "birth_date" if plan.trigger["kind"] == "birthday" else "created_at"
    created = 0
    for name, tz in _timezones().items():
        local = now.astimezone(tz)
        if local.time() < at:
            continue
        day = local.date()
        days = [(day.month, day.day)]
        if (day.month, day.day) == (2, 28) and not _leap(day.year):
            days.append((2, 29))
        ids: list[int] = []
        for month, mday in days:
            rows = Contact.objects.filter(
                **{
                    "timezone": name,
                    f"{field}__month": month,
                    f"{field}__day": mday,
                }
            )
            if field == "created_at":
                rows = rows.filter(created_at__year__lt=day.year)
            ids += list(rows.values_list("pk", flat=True))
        recent = set(
            Enrollment.objects.filter(
                scenario_id=scenario.pk,
                contact_id__in=ids,
                started_at__gt=now - dt.timedelta(days=300),
            ).values_list("contact_id", flat=True)
        )
        for chunk in _chunks([i for i in ids if i not in recent]):
            created += len(enroll(scenario.pk, chunk, now=now))
    return created


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def enroll_segment(scenario: ScenarioPage, now: dt.datetime) -> int:
    """Segment entered: contacts who joined the segment since the last check enter (per
    the entry rules); those who left are forgotten, so joining again is a new entry.

    The members seen are kept in ``SegmentTriggerMember``; the diff is two set queries in
    the database, whatever the segment's size. The first check of a segment records its
    members without enrolling them, unless the scenario also takes current members. The
    cursor ``segment:<id>`` (locked) holds the segment the members belong to."""
    from ..models import Segment, SegmentTriggerMember

    plan = current_plan(scenario.pk)
    segment_id = plan.trigger.get("segment_id") if plan else None
    segment = Segment.objects.filter(pk=segment_id).first() if segment_id else None
    if segment is None:
        return 0
    with transaction.atomic():
        EventCursor.objects.get_or_create(name=f"segment:{scenario.pk}")
        cursor = EventCursor.objects.select_for_update().get(name=f"segment:{scenario.pk}")
        seen = SegmentTriggerMember.objects.filter(scenario_id=scenario.pk)
        first = cursor.position != segment.pk
        if first:
            seen.delete()
        current = segment.contacts()
        entered = list(
            current.exclude(pk__in=seen.values("contact_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        seen.exclude(contact_id__in=current.values("pk")).delete()
        SegmentTriggerMember.objects.bulk_create(
            [
                SegmentTriggerMember(scenario_id=scenario.pk, contact_id=i, since=now)
                for i in entered
            ],
            batch_size=CHUNK,
        )
        cursor.position = segment.pk
        cursor.save(update_fields=["position", "updated_at"])
        if first and not plan.trigger.get("segment_existing"):
            return 0
        return sum(len(enroll(scenario.pk, chunk, now=now)) for chunk in _chunks(entered))


def enroll_broadcast(scenario: ScenarioPage, now: dt.datetime) -> int:
    """A broadcast's due occurrence enrols its whole segment once, ``CHUNK`` contacts a
    transaction, so the first mails leave while the rest of a large segment is enrolled.

    The cursor ``broadcast:<id>`` remembers the last occurrence enrolled in full; while
    one is being enrolled, ``broadcast:<id>:<occurrence>`` remembers the last contact
    (by id) it reached, moved in the transaction of each chunk. Each chunk locks the
    first cursor and goes on after the second: a worker that stopped half-way (killed,
    or told to stop: it ends after its chunk) or a second worker at once never enrols a
    contact twice, and the next pass enrols the rest. The segment is read once per pass;
    a contact who joins it while the occurrence is being enrolled is enrolled if the
    chunks have not gone past their id (new contacts have higher ids)."""
    from ..models import Segment
    from ..workers import stopping

    plan = current_plan(scenario.pk)
    if plan is None or not plan.trigger["broadcast_at"]:
        return 0
    first = dt.datetime.fromisoformat(plan.trigger["broadcast_at"])
    occurrence = timing.latest_occurrence(first, plan.trigger["every"], now)
    if occurrence is None:
        return 0
    stamp = int(occurrence.timestamp())
    name = f"broadcast:{scenario.pk}"
    EventCursor.objects.get_or_create(name=name)
    if EventCursor.objects.filter(name=name, position__gte=stamp).exists():
        return 0
    if plan.trigger["segment_id"]:
        segment = Segment.objects.filter(pk=plan.trigger["segment_id"]).first()
        contacts = segment.contacts() if segment else Contact.objects.none()
    else:
        contacts = Contact.objects.all()
    ids = list(contacts.order_by("pk").values_list("pk", flat=True))
    created = 0
    while True:
        with transaction.atomic():
            cursor = EventCursor.objects.select_for_update().get(name=name)
            if cursor.position >= stamp:
                return created
            reached, _ = EventCursor.objects.get_or_create(name=f"{name}:{stamp}")
            start = bisect.bisect_right(ids, reached.position)
            chunk = ids[start : start + CHUNK]
            if not chunk:  # all enrolled: the occurrence is done
                cursor.position = stamp
                cursor.save(update_fields=["position", "updated_at"])
                reached.delete()
                return created
            created += len(enroll(scenario.pk, chunk, now=now, context={"broadcast": stamp}))
            reached.position = chunk[-1]
            reached.save(update_fields=["position", "updated_at"])
        if stopping.is_set():  # a qcluster worker told to stop: the next pass goes on
            return created


def evaluate_scheduled_triggers(*, now: dt.datetime | None = None) -> int:
    """Run every live scenario's scheduled trigger once (but those whose Plan failed the
    checker), then end the enrolments of contacts no longer in the audience of scenarios
    that exit on it (``exits.exit_lost_audience``: segments change with time alone);
    return enrolments created."""
    now = now or clock.now()
    created = 0
    kinds = {
        "birthday": enroll_anniversaries,
        "anniversary": enroll_anniversaries,
        "segment_entered": enroll_segment,
        "broadcast": enroll_broadcast,
    }
    for scenario in ScenarioPage.objects.live().filter(trigger_kind__in=kinds):
        plan = current_plan(scenario.pk)
        if plan is not None and plan.errors:
            continue  # held by the checker: its members and broadcasts wait for the fix
        if scenario.trigger_kind == "broadcast":  # commits a chunk at a time itself
            created += enroll_broadcast(scenario, now)
            continue
        with transaction.atomic():
            created += kinds[scenario.trigger_kind](scenario, now)
    exit_lost_audience(now=now)
    return created
