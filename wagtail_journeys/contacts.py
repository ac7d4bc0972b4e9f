"""Creating, updating and identifying contacts.

``upsert_contact`` is the single way contacts are written from outside (API, forms,
imports), so the same validation applies everywhere and consent is never changed by
accident.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, Max, Min, Value, When
from django.utils import timezone

from . import conf
from .exceptions import Erased, InvalidInput
from .inputs import clean_object, clean_text
from .models import Contact, Event, Visitor
from .models.events import MACHINE_REPLIES, is_activity
from .workers import stopping

#: Fields an upsert may set, with the attribute they land in.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "civility",
    "birth_date",
    "phone",
    "locale",
    "timezone",
    "email_status",
    "sms_opt_in",
)


def normalize_email(value: str) -> str:
    """Return the canonical form of an address: trimmed and lower-cased.

    Raises ``InvalidInput`` when it is not an email address (or not storable text).
    """
    if not isinstance(value, str):
        raise InvalidInput("Email must be a string.", field="email")
    email = clean_text(value, field="email").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput(f"{value!r} is not a valid email address.", field="email") from exc
    if len(email) > 254:
        raise InvalidInput("Email is longer than 254 characters.", field="email")
    return email


def _validated(contact: Contact) -> None:
    try:
        contact.full_clean(exclude=["email"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{field}: {' '.join(messages)}", field=field) from exc


def apply_fields(
    contact: Contact,
    fields: Mapping[str, Any],
    *,
    attributes: Mapping[str, Any] | None = None,
) -> list[str]:
    """Copy known fields onto ``contact`` (validated, unsaved); return the changed names.

    Text must be storable and attributes a storable JSON object (``inputs``: no NUL, no
    lone surrogates, bounded numbers and depth); anything else raises ``InvalidInput``
    naming the field, before the contact is touched.
    """
    changed = []
    for name in CONTACT_FIELDS:
        if name in fields and fields[name] is not None:
            value = fields[name]
            if isinstance(value, str):
                clean_text(value, field=name)
            if name == "birth_date" and isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError as exc:
                    raise InvalidInput(
                        f"birth_date: {value!r} is not a date (YYYY-MM-DD).", field="birth_date"
                    ) from exc
            if getattr(contact, name) != value:
                setattr(contact, name, value)
                changed.append(name)
    if attributes:
        if not isinstance(attributes, Mapping):
            raise InvalidInput("attributes must be an object.", field="attributes")
        clean_object(dict(attributes), field="attributes")
        merged = {**(contact.attributes or {}), **attributes}
        if merged != contact.attributes:
            contact.attributes = merged
            changed.append("attributes")
    _validated(contact)
    return changed


def upsert_contact(
    email: str,
    fields: Mapping[str, Any] | None = None,
    *,
    attributes: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    consent_source: str | None = None,
    consent_wording: str = "",
    consent_details: Mapping[str, Any] | None = None,
) -> tuple[Contact, bool]:
    """Create or update the contact with this address; return ``(contact, created)``.

    Only the fields given are changed; attributes are merged key by key and tags added.
    ``email_status`` of an existing contact changes only when passed explicitly. The
    whole upsert is one transaction: an invalid value writes nothing. With
    ``consent_source`` (``ConsentSource``), a new contact's email status and SMS opt-in,
    and a change of either, are kept as consent records with ``consent_wording`` (what
    the person agreed to) in the same transaction. A new address
    that was erased is refused (``Erased``) while ``SUPPRESS_ERASED`` is on.
    """
    email = normalize_email(email)
    fields = dict(fields or {})
    tags = [clean_text(t, field="tags").strip()[:100] for t in tags if t and t.strip()]
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(email=email).first()
        created = contact is None
        if created:
            refuse_erased(email)
            contact = Contact(email=email, email_status=conf.get("DEFAULT_EMAIL_STATUS"))
        previous = {"email_status": contact.email_status, "sms_opt_in": contact.sms_opt_in}
        changed = apply_fields(contact, fields, attributes=attributes)
        if created:
            try:
                with transaction.atomic():
                    contact.save()
            except IntegrityError:
                # Created by a concurrent request since our read: update that one instead.
                contact = Contact.objects.select_for_update().get(email=email)
                created = False
                previous = {"email_status": contact.email_status, "sms_opt_in": contact.sms_opt_in}
                changed = apply_fields(contact, fields, attributes=attributes)
        if not created and changed:
            contact.save(update_fields=[*changed, "updated_at"])
        if tags:
            contact.tags.add(*tags)
        if consent_source:
            _record_consent(
                contact,
                created,
                changed,
                fields,
                previous,
                consent_source,
                consent_wording,
                consent_details,
            )
    return contact, created


def refuse_erased(email: str) -> None:
    """Raise ``Erased`` for an address that was erased while ``SUPPRESS_ERASED`` is on
    (``privacy``); no query while it is off."""
    from .privacy import is_suppressed

    if is_suppressed(email):
        raise Erased()


def _record_consent(contact, created, changed, fields, previous, source, wording, details):
    """The consent records of an upsert: a new contact's status (and SMS opt-in, when
    given), an existing one's changes."""
    from .consent import record_changes

    if created:
        consent = {"email_status": None}
        if fields.get("sms_opt_in") is not None:
            consent["sms_opt_in"] = None
    else:
        consent = {
            name: previous[name] for name in ("email_status", "sms_opt_in") if name in changed
        }
    if consent:
        record_changes(
            contact, consent, source=source, wording=wording, details=dict(details or {})
        )


def get_or_create_contact(
    email: str, fields: Mapping[str, Any] | None = None
) -> tuple[Contact, bool]:
    """The contact with this address, created from ``fields`` if there is none; return
    ``(contact, created)``. An existing contact is returned untouched: this is how input
    that proves nothing about its sender (a public form post) may add a contact, never
    change one. A new address that was erased is refused (``Erased``) while
    ``SUPPRESS_ERASED`` is on.
    """
    email = normalize_email(email)
    contact = Contact.objects.filter(email=email).first()
    if contact is not None:
        return contact, False
    refuse_erased(email)
    contact = Contact(email=email, email_status=conf.get("DEFAULT_EMAIL_STATUS"))
    apply_fields(contact, fields or {})
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        # Created by a concurrent request since our read: that one is left as it is.
        return Contact.objects.get(email=email), False
    return contact, True


def known_contact(email: str) -> Contact | None:
    """The contact with this address, read without a transaction (the common case of an
    event for a known contact costs one indexed SELECT); ``None`` when there is none yet."""
    return Contact.objects.filter(email=normalize_email(email)).only("pk").first()


def identify(visitor_id: uuid.UUID, contact: Contact) -> int:
    """Tie an anonymous visitor to ``contact`` and move its past events to it.

    The scenario triggers skip an anonymous event (it has no contact to enrol). When
    some of the moved events were read so already, a ``visitor_identified`` event names
    them and the triggers read them once more, as the contact's: three books viewed
    before signing up count as three views, whether the worker read them before or after
    the signup. The trigger cursor is locked meanwhile (a batch in flight ends first), so
    every moved event is read as the contact's exactly once.

    Idempotent. Returns how many anonymous events were moved.
    """
    from .events import TRIGGER_CURSOR, record_event
    from .models import EventCursor, EventSource
    from .models.events import IDENTIFIED

    now = timezone.now()
    with transaction.atomic():
        seen = (
            EventCursor.objects.select_for_update()
            .filter(name=TRIGGER_CURSOR)
            .values_list("position", flat=True)
            .first()
        ) or 0
        visitor, _ = Visitor.objects.get_or_create(id=visitor_id)
        if visitor.contact_id != contact.pk:
            visitor.contact = contact
            visitor.identified_at = now
            visitor.save(update_fields=["contact", "identified_at"])
        anonymous = Event.objects.filter(visitor_id=visitor_id, contact__isnull=True)
        read = anonymous.filter(pk__lte=seen).aggregate(first=Min("pk"), last=Max("pk"))
        moved = anonymous.update(contact=contact)
        if moved and read["last"] is not None:
            record_event(
                IDENTIFIED,
                contact=contact,
                properties={"visitor": str(visitor_id), **read},
                occurred_at=now,
                source=EventSource.SYSTEM,
            )
    return moved


def apply_activity(events: Iterable[Event]) -> int:
    """Attach identified visitors' events to their contact and bump ``last_activity_at``.

    Only the contact's activity moves ``last_activity_at`` (``models.events.is_activity``:
    not ``email_sent``, the same events as the *Inactive* segment rule). One batch of the
    event log in, a handful of queries out (no per-event query). Returns how many
    contacts were touched.
    """
    events = list(events)
    orphan_visitors = {e.visitor_id for e in events if e.contact_id is None and e.visitor_id}
    if orphan_visitors:
        owners = dict(
            Visitor.objects.filter(id__in=orphan_visitors, contact__isnull=False).values_list(
                "id", "contact_id"
            )
        )
        if owners:
            Event.objects.filter(
                visitor_id__in=owners, contact__isnull=True, id__lte=events[-1].pk
            ).update(
                contact_id=Case(
                    *(When(visitor_id=v, then=Value(c)) for v, c in owners.items()),
                    output_field=BigIntegerField(),
                )
            )
        for event in events:
            if event.contact_id is None and event.visitor_id in owners:
                event.contact_id = owners[event.visitor_id]
    named = {e.contact_id for e in events if e.contact_id}
    if named:
        gone = named - set(Contact.objects.filter(pk__in=named).values_list("pk", flat=True))
        if gone:
            # A stale cookie named a contact deleted since: keep the event, anonymously.
            Event.objects.filter(contact_id__in=gone, id__lte=events[-1].pk).update(contact=None)
            for event in events:
                if event.contact_id in gone:
                    event.contact_id = None
    # Opens and clicks may be a machine's (``is_machine``): read their properties only.
    replies = [e.pk for e in events if e.contact_id and e.name in MACHINE_REPLIES]
    props = dict(Event.objects.filter(pk__in=replies).values_list("pk", "properties"))
    latest: dict[int, dt.datetime] = {}
    for event in events:
        if not event.contact_id or not is_activity(event.name, event.source, props.get(event.pk)):
            continue
        if event.contact_id not in latest or event.occurred_at > latest[event.contact_id]:
            latest[event.contact_id] = event.occurred_at
    if not latest:
        return 0
    contacts = list(Contact.objects.filter(pk__in=latest).only("pk", "last_activity_at"))
    stale = []
    for contact in contacts:
        seen = latest[contact.pk]
        if contact.last_activity_at is None or contact.last_activity_at < seen:
            contact.last_activity_at = seen
            stale.append(contact)
    Contact.objects.bulk_update(stale, ["last_activity_at"], batch_size=500)
    return len(stale)


#: The event-log cursor of contact activity (``process_activity``).
ACTIVITY_CURSOR = "activity"


def process_activity(max_batches: int = 50) -> int:
    """Consume the event log from the ``activity`` cursor with ``apply_activity``; return
    the events processed.

    Safe to run concurrently: the cursor row is locked for each batch, so two workers
    never process the same batch.
    """
    from .events import read_batch

    done = 0
    for _ in range(max_batches):
        if stopping.is_set():  # a qcluster worker told to stop (workers.py)
            break
        with transaction.atomic():
            cursor, events = read_batch(ACTIVITY_CURSOR, limit=conf.get("EVENT_BATCH_SIZE"))
            if not events:
                break
            apply_activity(events)
            cursor.position = events[-1].pk
            cursor.save(update_fields=["position", "updated_at"])
        done += len(events)
    return done
