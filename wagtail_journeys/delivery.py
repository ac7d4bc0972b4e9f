"""Sending: ``send_email`` (one contact) and ``send_emails`` (a batch on one connection).

Both go through Django's ``EMAIL_BACKEND`` (SMTP, django-anymail… work unchanged), record
one ``Message`` row per contact and an ``email_sent`` event per message sent, and add
``List-Unsubscribe`` (mailto + https) with ``List-Unsubscribe-Post`` (RFC 8058) and a
stable Message-ID. A ``key`` makes a send idempotent: a key already recorded returns its
``Message`` and sends nothing, whoever recorded it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf
from .emails import links
from .emails.render import compiled_for, fill, revision_id_of, segment_ids
from .exceptions import Suppressed
from .models import Contact, EmailStatus, Event, EventSource, Message, MessageStatus

NEVER = {EmailStatus.UNSUBSCRIBED, EmailStatus.BOUNCED, EmailStatus.COMPLAINED}


def refusal(contact: Contact, *, transactional: bool) -> str | None:
    """Why ``contact`` may not receive this email, or ``None`` when they may."""
    if contact.email_status in NEVER:
        return f"contact is {contact.email_status}"
    if contact.email_status == EmailStatus.PENDING and not transactional:
        return "contact has not confirmed their subscription (double opt-in pending)"
    return None


def sender(email_page) -> str:
    """The From header: the page's override, else ``DEFAULT_FROM_EMAIL``."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((email_page.from_name or name, email_page.from_email or address))


def _domain(from_email: str) -> str:
    return conf.get("EMAIL_MESSAGE_ID_DOMAIN") or parseaddr(from_email)[1].rpartition("@")[2]


def send_email(
    email_page,
    contact: Contact,
    *,
    context: dict[str, Any] | None = None,
    key: str | None = None,
    transactional: bool = False,
    connection=None,
    to: str | None = None,
    enrollment_id: int | None = None,
    step_id: int | None = None,
) -> Message:
    """Send ``email_page`` to ``contact``; return its ``Message``.

    Raises ``Suppressed`` (nothing recorded) for unsubscribed, bounced or complained
    contacts, and for pending double opt-in ones unless ``transactional``. ``to`` sends to
    another address (test sends) while personalising for ``contact``.
    """
    if key:
        existing = Message.objects.filter(key=key).first()
        if existing is not None:
            return existing
    reason = refusal(contact, transactional=transactional)
    if reason:
        raise Suppressed(f"{contact.email}: {reason}.")
    return send_emails(
        email_page,
        [contact],
        keys=[key],
        context=context,
        transactional=transactional,
        connection=connection,
        to=to,
        enrollment_ids=[enrollment_id],
        step_ids=[step_id],
    )[0]


def send_emails(
    email_page,
    contacts: Sequence[Contact],
    *,
    keys: Sequence[str | None] | None = None,
    context: dict[str, Any] | None = None,
    contexts: Sequence[dict[str, Any] | None] | None = None,
    transactional: bool = False,
    connection=None,
    to: str | None = None,
    enrollment_ids: Sequence[int | None] | None = None,
    step_ids: Sequence[int | None] | None = None,
) -> list[Message]:
    """Send one email to many contacts on one connection; one ``Message`` per contact, in
    order. Rows are bulk-created (status ``queued``), then marked ``sent`` or ``failed``;
    refused contacts get a ``suppressed`` row and no mail. Contacts whose key exists get
    the existing row back. Segment membership is read with one query per segment."""
    count = len(contacts)
    keys = list(keys) if keys is not None else [None] * count
    contexts = list(contexts) if contexts is not None else [None] * count
    enrollment_ids = list(enrollment_ids) if enrollment_ids is not None else [None] * count
    step_ids = list(step_ids) if step_ids is not None else [None] * count
    existing = {m.key: m for m in Message.objects.filter(key__in=[k for k in keys if k]).order_by()}
    revision_id = revision_id_of(email_page)
    variants = _variants(email_page, [c.pk for c in contacts])
    from_email = sender(email_page)
    domain = _domain(from_email)
    now = timezone.now()
    rows: list[Message] = []
    todo: list[tuple[int, Message]] = []
    for i, contact in enumerate(contacts):
        if keys[i] and keys[i] in existing:
            rows.append(existing[keys[i]])
            continue
        message_uuid = uuid.uuid4()
        reason = refusal(contact, transactional=transactional)
        merged = {**(context or {}), **(contexts[i] or {})}
        message = Message(
            key=keys[i] or None,
            uuid=message_uuid,
            contact=contact,
            email_page_id=email_page.pk,
            revision_id=revision_id,
            status=MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED,
            error=reason or "",
            message_id=f"<{message_uuid.hex}@{domain}>",
            variant=list(variants.get(contact.pk, ())),
            context=merged,
            transactional=transactional,
            enrollment_id=enrollment_ids[i],
            step_id=step_ids[i],
            created_at=now,
        )
        rows.append(message)
        todo.append((len(rows) - 1, message))
    mine = _insert(rows, todo)
    outgoing = [(m, contacts[i]) for i, m in mine if m.status == MessageStatus.QUEUED]
    if outgoing:
        _deliver(email_page, outgoing, from_email=from_email, connection=connection, to=to)
    return rows


def _variants(email_page, contact_ids: list[int]) -> dict[int, tuple[int, ...]]:
    ids = segment_ids(email_page)
    if not ids:
        return {}
    from .models import Segment

    members: dict[int, list[int]] = {}
    for segment in Segment.objects.filter(pk__in=ids).order_by("pk"):
        for contact_id in (
            segment.contacts().filter(pk__in=contact_ids).values_list("pk", flat=True)
        ):
            members.setdefault(contact_id, []).append(segment.pk)
    return {k: tuple(sorted(v)) for k, v in members.items()}


def _insert(rows: list[Message], todo: list[tuple[int, Message]]) -> list[tuple[int, Message]]:
    """Insert the new rows; a key taken meanwhile by another worker yields its row instead
    (and is not ours to send). Returns the ``(position, message)`` pairs we own."""
    new = [m for _, m in todo]
    if not new:
        return []
    try:
        with transaction.atomic():
            Message.objects.bulk_create(new)
        return todo
    except IntegrityError:
        pass
    mine = []
    for position, message in todo:
        try:
            with transaction.atomic():
                message.save(force_insert=True)
            mine.append((position, message))
        except IntegrityError:
            rows[position] = Message.objects.get(key=message.key)
    return mine


def _deliver(email_page, outgoing, *, from_email: str, connection, to: str | None) -> None:
    root = links.prefix()
    mailto = conf.get("EMAIL_UNSUBSCRIBE_MAILTO") or f"unsubscribe@{_domain(from_email)}"
    site_name = getattr(settings, "WAGTAIL_SITE_NAME", "")
    compiled_cache: dict[tuple, Any] = {}
    connection = connection or get_connection()
    opened = connection.open()
    sent, failed, events = [], [], []
    try:
        for message, contact in outgoing:
            variant = tuple(message.variant)
            if variant not in compiled_cache:
                compiled_cache[variant] = compiled_for(email_page, variant)
            rendered = fill(
                compiled_cache[variant],
                contact,
                context=message.context,
                message_uuid=message.uuid,
                root=root,
                site_name=site_name,
            )
            message.subject = rendered.subject[:998]
            unsubscribe = links.unsubscribe_url(message.uuid, root=root)
            mail = EmailMultiAlternatives(
                subject=rendered.subject,
                body=rendered.text,
                from_email=from_email,
                to=[to or contact.email],
                headers={
                    "Message-ID": message.message_id,
                    "List-Unsubscribe": f"<mailto:{mailto}?subject=unsubscribe%20"
                    f"{message.uuid.hex}>, <{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                connection=connection,
            )
            mail.attach_alternative(rendered.html, "text/html")
            try:
                connection.send_messages([mail])
            except Exception as exc:  # noqa: BLE001 (any backend error fails this message)
                message.status, message.error = MessageStatus.FAILED, str(exc)[:2000]
                failed.append(message)
                continue
            message.status, message.sent_at = MessageStatus.SENT, timezone.now()
            sent.append(message)
            events.append(
                Event(
                    name="email_sent",
                    contact_id=contact.pk,
                    properties={"email_page_id": email_page.pk, "message_id": message.message_id},
                    occurred_at=message.sent_at,
                    received_at=message.sent_at,
                    source=EventSource.EMAIL,
                    idempotency_key=f"email_sent:{message.uuid.hex}",
                )
            )
    finally:
        if opened:
            connection.close()
        Message.objects.bulk_update(
            sent + failed, ["status", "sent_at", "error", "subject"], batch_size=500
        )
        Event.objects.bulk_create(events, ignore_conflicts=True)
