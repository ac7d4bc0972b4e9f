"""Keeping raw rows to a bounded age: step runs, events and messages.

Every step a contact takes is logged (conditions, waits and splits included), so a busy
base writes millions of rows a month. Runs older than ``STEP_RUN_RETENTION_DAYS`` are
deleted, oldest first, in chunks; runs still ``queued`` (a send not delivered yet) are
kept whatever their age, and so are runs the rollup has not read yet (past its cursor,
``analytics.rollup``): purging never changes a report. Enrolments, each contact's place
in a scenario and the scenario's *entered* record, are not purged by age: only an
erasure deletes them, after counting those the rollup has not read yet.

Events and messages hold personal data, so a site may keep them only so long (GDPR's
storage limitation): events that occurred more than ``EVENT_RETENTION_DAYS`` ago are
deleted once every reader of the log has passed them (the rollup, contact activity and
the scenario triggers: their cursors), so no report changes and no trigger misses one;
messages created more than ``MESSAGE_RETENTION_DAYS`` ago are deleted unless still
``queued`` or ``sending`` (delivery still needs those). ``None`` keeps them all (the
default). Enrolments keep what they need of their trigger event in their own context.

With double opt-in, a signup that is never confirmed gave no consent to be kept: a
contact still ``pending`` ``UNCONFIRMED_CONTACT_DAYS`` (30) after it was created and after
its last confirmation mail is erased (``privacy.erase_contact``, with no suppression: the
person may sign up again), unless a server vouched for it since (an API or import event:
a customer, not only a signup).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from .. import conf
from ..models import (
    Contact,
    EmailStatus,
    Event,
    EventCursor,
    EventSource,
    Message,
    MessageStatus,
    StepRun,
)
from . import clock

CHUNK = 10_000


def purge_step_runs(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete expired step runs; return how many. ``None`` retention keeps them all."""
    days = conf.get("STEP_RUN_RETENTION_DAYS")
    if days is None:
        return 0
    from ..analytics.rollup import runs_read_up_to

    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    read = runs_read_up_to()
    deleted = 0
    while True:
        # Oldest first along the primary key: each chunk is found at the start of the
        # index, with no index on ran_at needed.
        ids = list(
            StepRun.objects.filter(ran_at__lt=cutoff, id__lte=read)
            .exclude(outcome="queued")
            .order_by("id")
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        deleted += StepRun.objects.filter(pk__in=ids).delete()[0]


def _delete_in_chunks(queryset, chunk: int) -> int:
    """Delete the rows of ``queryset`` oldest first along the primary key, ``chunk`` at
    a time (each chunk its own short statement: no long lock on a busy table)."""
    deleted = 0
    while True:
        ids = list(queryset.order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def events_read_by_all() -> int:
    """The id of the last event every reader of the log has passed: the rollup, contact
    activity and the scenario triggers (0 while one of them never ran)."""
    from ..analytics.rollup import EVENTS_CURSOR
    from ..contacts import ACTIVITY_CURSOR
    from .triggers import CURSOR

    names = (EVENTS_CURSOR, ACTIVITY_CURSOR, CURSOR)
    positions = dict(EventCursor.objects.filter(name__in=names).values_list("name", "position"))
    return min(positions.get(name, 0) for name in names)


def purge_events(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete the events that occurred more than ``EVENT_RETENTION_DAYS`` ago and that
    every reader of the log has passed; return how many. ``None`` keeps them all."""
    days = conf.get("EVENT_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    expired = Event.objects.filter(id__lte=events_read_by_all(), occurred_at__lt=cutoff)
    return _delete_in_chunks(expired, chunk)


def purge_messages(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete the messages created more than ``MESSAGE_RETENTION_DAYS`` ago, but those
    delivery still needs (``queued``, ``sending``, ``deferred``); return how many.
    ``None`` keeps them all. Their opens, clicks and the rest are counted in the reports
    already (from the events); their tracking and unsubscribe links stop working."""
    days = conf.get("MESSAGE_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    expired = Message.objects.filter(created_at__lt=cutoff).exclude(
        status__in=(MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.DEFERRED)
    )
    return _delete_in_chunks(expired, chunk)


def purge_unconfirmed(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Erase up to ``limit`` contacts still ``pending`` ``UNCONFIRMED_CONTACT_DAYS`` after
    their signup and their last confirmation mail, that no API call or import vouched for
    (see the module's docstring); return how many. ``None`` keeps them all."""
    days = conf.get("UNCONFIRMED_CONTACT_DAYS")
    if days is None:
        return 0
    from ..privacy import erase_contact

    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    vouched = Event.objects.filter(source__in=(EventSource.API, EventSource.IMPORT))
    stale = (
        Contact.objects.filter(
            email_status=EmailStatus.PENDING, confirmed_at__isnull=True, created_at__lt=cutoff
        )
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lt=cutoff))
        .exclude(pk__in=vouched.filter(contact_id__isnull=False).values("contact_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    erased = 0
    for pk in list(stale):
        erase_contact(pk, suppress=False)
        erased += 1
    return erased


def _first_today(name: str, now: dt.datetime) -> bool:
    """True once per UTC day for the named purge (its cursor keeps the day of the last)."""
    today = now.astimezone(dt.UTC).date().toordinal()
    with transaction.atomic():
        EventCursor.objects.get_or_create(name=name)
        cursor = EventCursor.objects.select_for_update().get(name=name)
        if cursor.position >= today:
            return False
        cursor.position = today
        cursor.save(update_fields=["position", "updated_at"])
    return True


def purge_step_runs_daily(*, now: dt.datetime | None = None) -> int:
    """``purge_step_runs`` at most once per UTC day, for passes run more often than that
    (``journeys_tick`` from cron): the cursor ``purge:step_runs`` keeps the day of the
    last purge. Returns how many runs were deleted."""
    now = now or clock.now()
    return purge_step_runs(now=now) if _first_today("purge:step_runs", now) else 0


def purge_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """``purge_events``, ``purge_messages`` and ``purge_unconfirmed``; return how many
    of each were deleted."""
    return {
        "events": purge_events(now=now),
        "messages": purge_messages(now=now),
        "unconfirmed": purge_unconfirmed(now=now),
    }


def purge_expired_daily(*, now: dt.datetime | None = None) -> dict[str, int]:
    """``purge_expired`` at most once per UTC day (the cursor ``purge:expired``)."""
    now = now or clock.now()
    if not _first_today("purge:expired", now):
        return {"events": 0, "messages": 0, "unconfirmed": 0}
    return purge_expired(now=now)
