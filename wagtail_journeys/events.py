"""Recording events: the one INSERT every way into the system ends in."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from fnmatch import fnmatchcase
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf
from .exceptions import InvalidInput, NotAllowed
from .inputs import clean_object
from .models import Contact, Event, EventSource

EVENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}")


def validate_event_name(name: str) -> str:
    """Event names are short identifiers such as ``purchase`` or ``cart.updated``."""
    if not isinstance(name, str) or not EVENT_NAME.fullmatch(name):
        raise InvalidInput(
            "Event name must be 1-100 characters of letters, digits, '_', '.', ':' or '-',"
            " starting with a letter or digit.",
            field="name",
        )
    return name


def browser_may_post(name: str) -> bool:
    """Is ``name`` one of the events ``BROWSER_EVENTS`` lets browsers post (exact names or
    shell-style patterns such as ``video.*``, case-sensitive)?"""
    return any(fnmatchcase(name, pattern) for pattern in conf.get("BROWSER_EVENTS"))


def validate_browser_event(name: str) -> str:
    """Refuse (``NotAllowed``, 403) an event a browser may not post: anyone can script a
    browser, so purchases and other commerce must come from a server holding a token."""
    if not browser_may_post(name):
        raise NotAllowed(
            f"Browsers may not post {name!r} events: send them from your server with an API"
            " token (the BROWSER_EVENTS setting lists what browsers may post)."
        )
    return name


def validate_properties(value: Any, *, field: str = "properties") -> dict[str, Any]:
    """Properties are a storable JSON object (see ``inputs``): bounded depth and numbers,
    no NUL characters or lone surrogates anywhere."""
    return clean_object(value, field=field)


def validate_occurred_at(value: dt.datetime | None, *, max_age: dt.timedelta) -> dt.datetime:
    """An event time must carry a timezone, not lie in the future, nor be older than allowed."""
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise InvalidInput(
            "occurred_at must include a timezone offset (e.g. 2026-05-01T10:00:00Z).",
            field="occurred_at",
        )
    if value > now + dt.timedelta(seconds=conf.get("MAX_CLOCK_SKEW_SECONDS")):
        raise InvalidInput("occurred_at is in the future.", field="occurred_at")
    if value < now - max_age:
        raise InvalidInput(
            f"occurred_at is older than {max_age.days or max_age.seconds // 3600} "
            f"{'days' if max_age.days else 'hours'}.",
            field="occurred_at",
        )
    return value


def record_event(
    name: str,
    *,
    contact: Contact | int | None = None,
    visitor_id: uuid.UUID | None = None,
    properties: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
    source: str = EventSource.API,
    idempotency_key: str | None = None,
) -> tuple[Event, bool]:
    """Append one event; return ``(event, created)``.

    With an ``idempotency_key`` that was already recorded, nothing is written and the
    original event is returned with ``created=False``. Callers validate outside input
    first (``validate_event_name``, ``validate_occurred_at``); this function trusts them.
    """
    contact_id = contact.pk if isinstance(contact, Contact) else contact
    event = Event(
        name=name,
        contact_id=contact_id,
        visitor_id=visitor_id,
        properties=properties or {},
        occurred_at=occurred_at or timezone.now(),
        source=source,
        idempotency_key=idempotency_key or None,
    )
    if not event.idempotency_key:
        event.save(force_insert=True)
        return event, True
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        existing = Event.objects.filter(idempotency_key=event.idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return event, True


#: How old (by ``received_at``, real time) an event must be before a batch reads it: ids
#: are allocated before commit, so a fresh id can still be followed by a smaller one that
#: commits later; reading only settled events never skips it.
SETTLE = dt.timedelta(seconds=2)


def last_settled(stamps: list[tuple[int, dt.datetime]], settle: dt.timedelta) -> int | None:
    """The id up to which a cursor may move over these ``(id, arrival)`` rows (oldest id
    first): the last of the settled rows before the first that is still settling, or
    ``None``. A row that settled before a smaller id did never carries the cursor past
    it: the engine's own rows take their time before they are inserted (``email_sent``
    after a send that took seconds), and a page view committed meanwhile has a smaller
    id but a younger arrival; reading by arrival alone skipped it for good. A row that
    arrived further ahead than ``MAX_CLOCK_SKEW_SECONDS`` (its writer's clock is wrong)
    counts as settled: waiting for it would hold up every reader of the log."""
    now = timezone.now()
    cutoff, ahead = now - settle, now + dt.timedelta(seconds=conf.get("MAX_CLOCK_SKEW_SECONDS"))
    last = None
    for pk, stamp in stamps:
        if cutoff < stamp <= ahead:
            break
        last = pk
    return last


#: The cursor of the scenario triggers in the event log (``engine.triggers``).
TRIGGER_CURSOR = "scenarios"


def read_batch(cursor: str, *, limit: int, settle: dt.timedelta = SETTLE):
    """Lock the named cursor and return ``(cursor_row, events after it)``, oldest first.

    Call inside ``transaction.atomic()``; save ``cursor_row.position`` there too, so a batch
    that fails is read again. Events younger than ``settle`` wait for the next pass (see
    ``SETTLE``; ``last_settled``). Each event comes with its ``source``, so rules on trust
    need no query.
    """
    from .models import EventCursor

    EventCursor.objects.get_or_create(name=cursor)
    row = EventCursor.objects.select_for_update().get(name=cursor)
    events = list(
        Event.objects.filter(id__gt=row.position)
        .order_by("id")
        .only("id", "contact_id", "visitor_id", "name", "occurred_at", "source", "received_at")[
            :limit
        ]
    )
    last = last_settled([(e.pk, e.received_at) for e in events], settle)
    return row, [e for e in events if last is not None and e.pk <= last]


def settling(*cursors: str, settle: dt.timedelta = SETTLE) -> int:
    """How many events past the slowest of these cursors are too young to be read yet
    (they wait for the next pass). One query."""
    from .models import EventCursor

    positions = dict(EventCursor.objects.filter(name__in=cursors).values_list("name", "position"))
    start = min(positions.get(name, 0) for name in cursors) if cursors else 0
    return Event.objects.filter(id__gt=start, received_at__gt=timezone.now() - settle).count()
