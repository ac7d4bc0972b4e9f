"""Batches from servers: many events, or many contacts, in one request.

What analytics pipelines (Segment, RudderStack, PostHog) send: up to ``BATCH_MAX_ITEMS``
items, each validated on its own, so one bad item is reported and the others are kept.
Events are inserted with one statement per batch (idempotency keys checked with one query
first); contacts are upserted the way a CSV import is (``importer``): one read of the batch's
addresses, one insert, one update. Each item gets its result, in the order sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from . import conf
from .consent import status_record
from .contact_rows import ContactRow
from .contacts import apply_fields, normalize_email, upsert_contact
from .events import (
    record_event,
    validate_event_name,
    validate_occurred_at,
    validate_properties,
)
from .exceptions import Erased, InvalidInput, InvalidVisitor
from .importer import ImportReport, _insert_contacts, _write_batch
from .inputs import clean_text
from .models import ConsentRecord, ConsentSource, Contact, Event, EventSource
from .privacy import erased_among
from .tracking.visitor import VisitorId

#: Items per batch request (bodies are limited by ``MAX_BATCH_BODY_BYTES`` too).
BATCH_MAX_ITEMS = 500


@dataclass
class ItemResult:
    index: int
    status: str  # stored, duplicate, rejected (events); created, updated, unchanged, rejected
    id: int | None = None
    error: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _rejected(index: int, exc: Exception) -> ItemResult:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        return ItemResult(index, "rejected", error=first.get("msg", "invalid"), field=field)
    return ItemResult(index, "rejected", error=str(exc), field=getattr(exc, "field", None))


def _validated(schema: type[BaseModel], index: int, item: Any):
    if not isinstance(item, dict):
        raise InvalidInput(f"Item {index} is not a JSON object.", field=str(index))
    return schema.model_validate(item)


@dataclass
class _Pending:
    index: int
    event: Event
    email: str | None


def record_events(items: list[Any], schema: type[BaseModel]) -> list[ItemResult]:
    """Store a server's batch of events (``schema``: the API's event item); return one
    result per item, in order. Stored events cost one INSERT for the whole batch."""
    results: dict[int, ItemResult] = {}
    pending: list[_Pending] = []
    max_age = dt.timedelta(days=conf.get("MAX_EVENT_AGE_DAYS"))
    now = timezone.now()
    emails: dict[str, str] = {}  # as sent -> normalised: a batch names few people
    for index, item in enumerate(items):
        try:
            data = _validated(schema, index, item)
            name = validate_event_name(data.name)
            properties = validate_properties(data.properties)
            occurred_at = validate_occurred_at(data.occurred_at, max_age=max_age)
            email = None
            if data.email is not None:
                email = emails.get(data.email) or emails.setdefault(
                    data.email, normalize_email(data.email)
                )
            visitor = VisitorId.from_token(data.visitor) if data.visitor is not None else None
            if email is None and visitor is None:
                raise InvalidInput("Name the contact (email) or the visitor.", field="email")
            key = data.idempotency_key or None  # checked storable by the schema
        except (ValidationError, InvalidInput, InvalidVisitor) as exc:
            results[index] = _rejected(index, exc)
            continue
        event = Event(
            name=name,
            contact_id=visitor.contact_id if visitor and email is None else None,
            visitor_id=visitor.uuid if visitor else None,
            properties=properties,
            occurred_at=occurred_at or now,
            received_at=now,
            source=EventSource.API,
            idempotency_key=key,
        )
        pending.append(_Pending(index, event, email))
    erased = erased_among({p.email for p in pending if p.email})
    if erased:  # SUPPRESS_ERASED: an erased address names no contact, and gets none
        for p in pending:
            if p.email in erased:
                results[p.index] = _rejected(p.index, Erased())
        pending = [p for p in pending if p.email not in erased]

    # Idempotency: keys already stored, and a key repeated within the batch, store nothing.
    keys = {p.event.idempotency_key for p in pending if p.event.idempotency_key}
    known: dict[str, int] = dict(
        Event.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "pk")
        if keys
        else []
    )
    first_of: dict[str, _Pending] = {}
    fresh: list[_Pending] = []
    repeats: list[tuple[_Pending, _Pending]] = []
    for p in pending:
        key = p.event.idempotency_key
        if key and key in known:
            results[p.index] = ItemResult(p.index, "duplicate", id=known[key])
        elif key and key in first_of:
            repeats.append((p, first_of[key]))
        else:
            if key:
                first_of[key] = p
            fresh.append(p)

    _attach_contacts(fresh)
    try:
        with transaction.atomic():
            _insert_events([p.event for p in fresh])
    except IntegrityError:
        # Another request stored one of these keys since the check: one by one, each
        # insert deciding stored or duplicate for itself.
        for p in fresh:
            p.event.pk = None
            p.event._state.adding = True
            stored, created = record_event(
                p.event.name,
                contact=p.event.contact_id,
                visitor_id=p.event.visitor_id,
                properties=p.event.properties,
                occurred_at=p.event.occurred_at,
                source=EventSource.API,
                idempotency_key=p.event.idempotency_key,
            )
            p.event = stored
            results[p.index] = ItemResult(
                p.index, "stored" if created else "duplicate", id=stored.pk
            )
    for p in fresh:
        results.setdefault(p.index, ItemResult(p.index, "stored", id=p.event.pk))
    for p, first in repeats:
        results[p.index] = ItemResult(p.index, "duplicate", id=first.event.pk)
    return [results[i] for i in sorted(results)]


#: The columns a batch inserts, in order (``id`` comes back from RETURNING).
_EVENT_COLUMNS = (
    "name",
    "contact",
    "visitor_id",
    "properties",
    "occurred_at",
    "received_at",
    "source",
    "idempotency_key",
)


def _insert_events(events: list[Event]) -> None:
    """INSERT the events with multi-row statements returning their ids, in order (as
    ``bulk_create`` does, without compiling a query and preparing each value through its
    field: text is stored as it is, the received time prepared once for the batch)."""
    if not events:
        return
    connection = connections[router.db_for_write(Event)]
    if connection.vendor == "postgresql":
        _insert_events_unnest(events, connection)
        return
    fields = [Event._meta.get_field(name) for name in _EVENT_COLUMNS]
    quote = connection.ops.quote_name
    width = len(fields)
    # PostgreSQL has no parameter limit Django knows of (None); 65535 is its protocol's.
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(len(events), limit // width))
    received = fields[5].get_db_prep_save(events[0].received_at, connection)
    prepared: dict[int, Any] = {}

    def when(value: dt.datetime) -> Any:
        key = id(value)
        if key not in prepared:
            prepared[key] = fields[4].get_db_prep_save(value, connection)
        return prepared[key]

    properties, visitor = fields[3], fields[2]
    with connection.cursor() as cursor:
        for start in range(0, len(events), per_statement):
            chunk = events[start : start + per_statement]
            values = []
            for event in chunk:
                values += (
                    event.name,
                    event.contact_id,
                    visitor.get_db_prep_save(event.visitor_id, connection)
                    if event.visitor_id
                    else None,
                    properties.get_db_prep_save(event.properties, connection),
                    when(event.occurred_at),
                    received,
                    event.source,
                    event.idempotency_key,
                )
            row = "({})".format(", ".join(["%s"] * width))
            # Only names from the model's own metadata, quoted, go into the statement.
            sql = "INSERT INTO {} ({}) VALUES {} RETURNING {}".format(  # noqa: S608
                quote(Event._meta.db_table),
                ", ".join(quote(f.column) for f in fields),
                ", ".join([row] * len(chunk)),
                quote(Event._meta.pk.column),
            )
            cursor.execute(sql, values)
            for event, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                event.pk = pk
                event._state.adding = False


def _insert_events_unnest(events: list[Event], connection) -> None:
    """``_insert_events`` on PostgreSQL: one ``INSERT … SELECT FROM unnest(arrays)`` with a
    parameter per column, not per value (as Django's own ``bulk_create`` does there): a
    statement of 4,000 placeholders is parsed again by psycopg for every batch, which cost
    a third of a batch's CPU."""
    meta = Event._meta
    fields = [meta.get_field(name) for name in _EVENT_COLUMNS]
    quote = connection.ops.quote_name
    properties = fields[3]
    columns = {
        "name": ([e.name for e in events], "text"),
        "contact": ([e.contact_id for e in events], "bigint"),
        "visitor": ([e.visitor_id for e in events], "uuid"),
        "properties": (
            [properties.get_db_prep_save(e.properties, connection) for e in events],
            "jsonb",
        ),
        "occurred": ([e.occurred_at for e in events], "timestamptz"),
        "source": ([e.source for e in events], "text"),
        "key": ([e.idempotency_key for e in events], "text"),
    }
    # Only names from the model's own metadata, quoted, go into the statement.
    sql = (  # noqa: S608
        "INSERT INTO {} ({}) SELECT name, contact, visitor, properties, occurred,"
        " %s::timestamptz, source, key FROM unnest({}) AS item({}) RETURNING {}"
    ).format(
        quote(meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(f"%s::{kind}[]" for _, kind in columns.values()),
        ", ".join(columns),
        quote(meta.pk.column),
    )
    values = [events[0].received_at, *(column for column, _ in columns.values())]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        for event, (pk,) in zip(events, cursor.fetchall(), strict=True):
            event.pk = pk
            event._state.adding = False


#: Where the consent records of contacts an events batch creates say they came from.
VIA = {"via": "events/batch"}


def _attach_contacts(pending: list[_Pending]) -> None:
    """Set each event's contact from its email: known contacts read with one query, the
    unknown ones created in one insert, each with the consent record of its email status
    (source API), as ``POST /events`` keeps for a contact it creates."""
    emails = {p.email for p in pending if p.email}
    if not emails:
        return
    ids = dict(Contact.objects.filter(email__in=emails).values_list("email", "pk"))
    missing = sorted(emails - set(ids))
    if missing:
        status = conf.get("DEFAULT_EMAIL_STATUS")
        now = timezone.now()
        try:
            with transaction.atomic():
                _insert_contacts(
                    [Contact(email=email, email_status=status) for email in missing], now
                )
                created = dict(Contact.objects.filter(email__in=missing).values_list("email", "pk"))
                ConsentRecord.objects.bulk_create(
                    status_record(pk, status, source=ConsentSource.API, details=VIA, at=now)
                    for pk in created.values()
                )
            ids.update(created)
        except IntegrityError:  # one was created meanwhile: the slow, race-safe way
            for email in missing:
                contact, _ = upsert_contact(
                    email, consent_source=ConsentSource.API, consent_details=VIA
                )
                ids[email] = contact.pk
    for p in pending:
        if p.email:
            p.event.contact_id = ids[p.email]


def upsert_contacts(items: list[Any], schema: type[BaseModel]) -> list[ItemResult]:
    """Create or update a server's batch of contacts (``schema``: the API's contact item);
    return one result per item, in order. Fields given are set, attributes merged, tags
    added, ``email_status`` changed only when given: as ``upsert_contact`` does, in one
    transaction for the batch (``importer``)."""
    results: dict[int, ItemResult] = {}
    rows: list[ContactRow] = []
    for index, item in enumerate(items):
        try:
            data = _validated(schema, index, item)
            email = normalize_email(data.email)
            fields = data.model_dump(
                exclude={"email", "attributes", "tags", "double_opt_in", "consent_wording"},
                exclude_none=True,
            )
            attributes = validate_properties(data.attributes, field="attributes")
            # The same checks as one upsert (choices, time zone, lengths), on a scratch row.
            apply_fields(Contact(email=email), fields, attributes=attributes)
            tags = [clean_text(t, field="tags").strip()[:100] for t in data.tags if t.strip()]
        except (ValidationError, InvalidInput) as exc:
            results[index] = _rejected(index, exc)
            continue
        rows.append(ContactRow(index, email, fields, attributes, tags))
    erased = erased_among({row.email for row in rows})
    if erased:  # SUPPRESS_ERASED: rejected with the reason, the others written
        for row in rows:
            if row.email in erased:
                results[row.line] = _rejected(row.line, Erased())
        rows = [row for row in rows if row.email not in erased]
    outcomes: list[str] = []
    if rows:
        for attempt in range(2):
            outcomes = []
            try:
                with transaction.atomic():
                    _write_batch(
                        rows,
                        set(),
                        ImportReport(),
                        False,
                        {"via": "contacts/batch"},
                        outcomes=outcomes,
                        consent_source=ConsentSource.API,
                    )
                break
            except IntegrityError:
                if attempt:  # created concurrently twice in a row: give up loudly
                    raise
        ids = dict(
            Contact.objects.filter(email__in={row.email for row in rows}).values_list("email", "pk")
        )
        for row, outcome in zip(rows, outcomes, strict=True):
            results[row.line] = ItemResult(row.line, outcome, id=ids[row.email])
    return [results[i] for i in sorted(results)]
