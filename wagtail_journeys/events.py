"""Recording events: the one INSERT every way into the system ends in."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from fnmatch import fnmatchcase
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import CharField
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
    One statement for a new event (no transaction of its own, so none to commit apart
    from the caller's); two for a repeated key.
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
    if _insert(event):
        return event, True
    return _recorded(event.idempotency_key), False


def record_contact_event(
    name: str,
    email: str,
    *,
    properties: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
    source: str = EventSource.API,
    idempotency_key: str | None = None,
) -> tuple[Event, bool] | None:
    """Append one event for the contact with this (normalised) ``email``, read in the same
    statement; return ``(event, created)`` as ``record_event`` does, or ``None`` when no
    contact has this address (nothing is written: create the contact, then
    ``record_event``). An event for a known contact costs one statement."""
    event = Event(
        name=name,
        properties=properties or {},
        occurred_at=occurred_at or timezone.now(),
        source=source,
        idempotency_key=idempotency_key or None,
    )
    if _insert(event, email=email):
        return event, True
    if event.idempotency_key:
        existing = Event.objects.filter(idempotency_key=event.idempotency_key).first()
        if existing is not None:
            return existing, False
    return None


def _recorded(key: str | None) -> Event:
    existing = Event.objects.filter(idempotency_key=key).first() if key else None
    if existing is None:  # the conflict was not on the key: let the caller see it
        raise IntegrityError(f"The event could not be stored (idempotency key {key!r}).")
    return existing


#: The columns ``_insert`` writes, in order (``contact`` last: it may come from a SELECT).
_COLUMNS = (
    "name",
    "visitor_id",
    "properties",
    "occurred_at",
    "received_at",
    "source",
    "idempotency_key",
    "contact",
)


def _insert(event: Event, *, email: str | None = None) -> bool:
    """INSERT ``event`` unless its idempotency key is taken (``ON CONFLICT DO NOTHING``:
    the unique index decides, no SELECT first); set its ``pk`` and return True when a row
    was written. With ``email``, the contact is the one with this address, read by the
    same statement (no row written when there is none).

    On PostgreSQL a concurrent insert of the same key makes this statement wait for that
    transaction, so a False here means the key's event is committed and readable.
    """
    connection = connections[router.db_for_write(Event)]
    if connection.vendor not in ("postgresql", "sqlite") or not (
        connection.features.can_return_columns_from_insert
    ):
        return _insert_with_orm(event, email=email)
    meta = Event._meta
    fields = [meta.get_field(column) for column in _COLUMNS]
    # Text goes in as it is (validated strings); the rest through its field, as save() would.
    values = [
        value
        if isinstance(field, CharField) or value is None
        else field.get_db_prep_save(value, connection)
        for field, value in ((f, getattr(event, f.attname)) for f in fields[:-1])
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(values))
    # Only names from the models' own metadata, quoted, go into the statement.
    if email is None:
        values.append(event.contact_id)
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}, %s)"  # noqa: S608
    else:
        values.append(email)
        contacts = Contact._meta
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns})"  # noqa: S608
            f" SELECT {placeholders}, {quote(contacts.pk.column)}"
            f" FROM {quote(contacts.db_table)} WHERE {quote('email')} = %s"
        )
    sql += f" ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}, {quote(fields[-1].column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk, event.contact_id = row
    event._state.adding = False
    event._state.db = connection.alias
    return True


def _insert_with_orm(event: Event, *, email: str | None) -> bool:
    """``_insert`` for databases without ``INSERT … ON CONFLICT … RETURNING``: the
    contact read first, the insert in a savepoint that a taken key rolls back."""
    if email is not None:
        event.contact_id = Contact.objects.filter(email=email).values_list("pk", flat=True).first()
        if event.contact_id is None:
            return False
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        if not event.idempotency_key:
            raise
        return False
    return True


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
