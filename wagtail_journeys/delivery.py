"""Sending: ``send_email`` (one contact) and ``send_emails`` (a batch on one connection).

Both go through Django's ``EMAIL_BACKEND`` (SMTP, django-anymail… work unchanged), record
one ``Message`` row per contact and an ``email_sent`` event per message sent, and add
``List-Unsubscribe`` (mailto + https) with ``List-Unsubscribe-Post`` (RFC 8058) and a
stable Message-ID. A ``key`` makes a send idempotent: a key already recorded returns its
``Message`` and sends nothing, whoever recorded it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import uuid
from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext_noop

from . import conf
from .emails import links
from .emails.handover import hand_over_all
from .emails.mime import PreparedMail, Skeleton, fast_backend
from .emails.render import compiled_for, fill, held_reason, revision_id_of, segment_ids
from .engine.bulk import insert_rows
from .exceptions import Suppressed
from .models import Contact, EmailStatus, Event, EventSource, Message, MessageStatus

NEVER = {EmailStatus.UNSUBSCRIBED, EmailStatus.BOUNCED, EmailStatus.COMPLAINED}
#: Messages handed to the backend between two commits. A worker killed mid-chunk leaves
#: at most this many ``sending`` rows, which become ``uncertain`` and are never resent.
CHUNK = 20


def stale_after() -> dt.timedelta:
    """How long a ``queued`` message may wait for its worker (``STALE_SEND_SECONDS``)."""
    return dt.timedelta(seconds=conf.get("STALE_SEND_SECONDS"))


def refusal(contact: Contact, *, transactional: bool) -> str | None:
    """Why ``contact`` may not receive this email, or ``None`` when they may."""
    if contact.email_status in NEVER:
        return gettext_noop("contact is %(status)s") % {"status": contact.email_status}
    if contact.email_status == EmailStatus.PENDING and not transactional:
        return gettext_noop("contact has not confirmed their subscription (double opt-in pending)")
    return None


def topic_refusals(email_page, contacts: Sequence[Contact], *, transactional: bool) -> dict:
    """``{contact id: reason}`` for the contacts the email's subscription topic refuses
    (unsubscribed from it, or not opted in to an opt-in topic); one query. Transactional
    sends and emails without a topic refuse nobody here."""
    if transactional or not getattr(email_page, "topic_id", None):
        return {}
    from .topics import refusals

    return refusals(email_page.topic, [c.pk for c in contacts])


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
    scenario_id: int | None = None,
    max_attempts: int | None = None,
) -> Message:
    """Send ``email_page`` to ``contact``; return its ``Message``.

    Raises ``Suppressed`` (nothing recorded) for unsubscribed, bounced or complained
    contacts, and, unless ``transactional``, for pending double opt-in ones and those
    the email's subscription topic refuses (``topics``). ``to`` sends to
    another address (test sends) while personalising for ``contact``. ``max_attempts``
    (default ``SEND_MAX_ATTEMPTS``): 1 for a send nothing will retry, failed at once.
    """
    existing = Message.objects.filter(key=key).first() if key else None
    if existing is not None and existing.status in MessageStatus.final():
        return existing
    reason = refusal(contact, transactional=transactional) or topic_refusals(
        email_page, [contact], transactional=transactional
    ).get(contact.pk)
    if reason and existing is None:
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
        scenario_ids=[scenario_id],
        max_attempts=max_attempts,
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
    revision_id: int | None = None,
    scenario_ids: Sequence[int | None] | None = None,
    max_attempts: int | None = None,
) -> list[Message]:
    """Send one email to many contacts on one connection; one ``Message`` per contact, in
    order. Rows are bulk-created (status ``queued``), handed to the backend in chunks of
    ``CHUNK`` (marked ``sending`` before, ``sent`` or ``failed`` after, with their
    ``email_sent`` events); refused contacts (``refusal``, and for a marketing send those
    the email's subscription topic refuses) get a ``suppressed`` row and no mail.
    A contact for whom a required merge tag (``{{ promo_code|required }}``) is empty gets a
    ``held`` row naming the tag, and no mail.
    Contacts whose key exists get the existing row back, unsent — except one never handed
    to the backend (``deferred`` and due, or ``queued`` for over ``STALE_SEND_SECONDS``
    because its worker died), which is tried again if the contact may still receive it;
    a ``sending`` row that old becomes ``uncertain`` instead. A mail server that cannot
    take the mails for now (connection refused or lost, 4xx) leaves them ``deferred``
    until their next attempt (``SEND_RETRY_DELAYS``), ``failed`` after
    ``SEND_MAX_ATTEMPTS``; nothing is raised (see ``_deliver``). Segment membership is
    read with one query per segment."""
    count = len(contacts)
    keys = list(keys) if keys is not None else [None] * count
    contexts = list(contexts) if contexts is not None else [None] * count
    enrollment_ids = list(enrollment_ids) if enrollment_ids is not None else [None] * count
    step_ids = list(step_ids) if step_ids is not None else [None] * count
    scenario_ids = list(scenario_ids) if scenario_ids is not None else [None] * count
    existing = {m.key: m for m in Message.objects.filter(key__in=[k for k in keys if k]).order_by()}
    revision_id = revision_id or revision_id_of(email_page)
    variants = _variants(email_page, [c.pk for c in contacts])
    off_topic = topic_refusals(email_page, contacts, transactional=transactional)

    def refused(contact: Contact) -> str | None:
        return refusal(contact, transactional=transactional) or off_topic.get(contact.pk)

    from_email = sender(email_page)
    domain = _domain(from_email)
    now = timezone.now()
    rows: list[Message] = []
    todo: list[tuple[int, Message]] = []
    retry: list[tuple[int, Message]] = []
    for i, contact in enumerate(contacts):
        if keys[i] and keys[i] in existing:
            rows.append(existing[keys[i]])
            if _claim(rows[-1], now, refused(contact)):
                retry.append((i, rows[-1]))
            continue
        message_uuid = uuid.uuid4()
        reason = refused(contact)
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
            scenario_id=scenario_ids[i],
            step_id=step_ids[i],
            recipient=(to or contact.email)[:254],
            created_at=now,
        )
        rows.append(message)
        todo.append((len(rows) - 1, message))
    # Compose before inserting, so each row is written once with its subject (and held,
    # not sent, when a required merge tag is empty for its contact).
    connection = connection or get_connection()
    composer = _Composer(email_page, from_email, to, prepared=fast_backend(connection))
    mails = {
        id(m): composer.compose(m, contacts[i])
        for i, m in [*todo, *retry]
        if m.status == MessageStatus.QUEUED
    }
    _hold([m for _, m in retry if m.status == MessageStatus.HELD])
    # The rows that go out are written chunk by chunk as they go, ``sending`` (one write
    # where an insert and an update were: ``_deliver``); the others at once.
    going = [(i, m) for i, m in todo if m.status == MessageStatus.QUEUED]
    _insert(rows, [(i, m) for i, m in todo if m.status != MessageStatus.QUEUED])
    outgoing = [(m, mails[id(m)]) for _, m in [*going, *retry] if m.status == MessageStatus.QUEUED]
    if outgoing:
        _deliver(
            email_page,
            outgoing,
            connection=connection,
            owner=now,
            most=max_attempts,
            unwritten=_Unwritten(rows, going),
        )
    return rows


def send_test(
    email_page,
    contact: Contact,
    *,
    to: str | list[str],
    revision_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    """Send the email as ``contact`` would receive it to ``to`` (editors: one address or
    a few, each getting a mail of their own over one connection), subject prefixed with
    "[Test]", filled with ``context`` (by default the preview's sample of a scenario's
    values). Nothing is recorded: no ``Message``, no event, links untracked (they point
    straight at their targets), and any contact status is allowed. Returns the required
    merge tags that were empty (a real send would be held); the subject says so too."""
    from .emails.preview import sample_context
    from .emails.render import variant_of

    if context is None:
        context = sample_context(email_page)
    compiled = compiled_for(email_page, variant_of(email_page, contact), revision_id=revision_id)
    rendered = fill(compiled, contact, context=context, tracked=False)
    held = f", would be held: {held_reason(rendered.missing)}" if rendered.missing else ""
    mails = []
    for address in [to] if isinstance(to, str) else to:
        mail = EmailMultiAlternatives(
            subject=f"[Test{held}] {rendered.subject}",
            body=rendered.text,
            from_email=sender(email_page),
            to=[address],
        )
        mail.attach_alternative(rendered.html, "text/html")
        mails.append(mail)
    get_connection().send_messages(mails)
    return rendered.missing


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


def _claim(message: Message, now, refused: str | None) -> bool:
    """Take back, for another attempt, a message never handed to the backend: ``deferred``
    whose next attempt is due, or ``queued`` for longer than ``STALE_SEND_SECONDS`` (its
    worker died first). One worker wins the claim (a conditional UPDATE); the row's
    ``created_at`` moves to now. A contact who may no longer receive it gets it
    ``suppressed`` instead; a ``sending`` row that old becomes ``uncertain``."""
    stale = message.created_at < now - stale_after()
    if message.status == MessageStatus.SENDING and stale:
        if Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.UNCERTAIN, error=UNCERTAIN
        ):
            message.status, message.error = MessageStatus.UNCERTAIN, UNCERTAIN
        else:  # its worker was alive after all and settled it meanwhile
            message.refresh_from_db(fields=["status", "error", "sent_at"])
        return False
    if message.status == MessageStatus.DEFERRED:
        if message.next_attempt_at and message.next_attempt_at > now:
            return False
    elif not (message.status == MessageStatus.QUEUED and stale):
        return False
    status = MessageStatus.SUPPRESSED if refused else MessageStatus.QUEUED
    claimed = Message.objects.filter(
        pk=message.pk, status=message.status, created_at=message.created_at
    ).update(status=status, created_at=now, error=refused or "", next_attempt_at=None)
    if claimed:
        message.status, message.created_at, message.error = status, now, refused or ""
        message.next_attempt_at = None
    return bool(claimed) and not refused


def _hold(messages: list[Message]) -> None:
    """Record the ``held`` status of rows taken back for another attempt (new rows are
    inserted held)."""
    for message in messages:
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.HELD, error=message.error, subject=message.subject
        )


UNCERTAIN = gettext_noop(
    "The worker stopped while handing this message to the backend: it may have been sent. "
    "It is not sent again, so that nobody gets it twice."
)


def _insert(rows: list[Message], todo: list[tuple[int, Message]]) -> list[tuple[int, Message]]:
    """Insert the new rows; a key taken meanwhile by another worker yields its row instead
    (and is not ours to send). Returns the ``(position, message)`` pairs we own."""
    new = [m for _, m in todo]
    if not new:
        return []
    try:
        with transaction.atomic():
            insert_rows(new, ids=True)
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


class _Unwritten:
    """New messages of a send not written yet (``send_emails``), with their places in
    the rows it returns: ``_deliver`` writes each chunk's as it hands them over."""

    def __init__(self, rows: list[Message], pairs: list[tuple[int, Message]]):
        self.rows = rows
        self.places = {id(m): i for i, m in pairs}

    def write(self, outgoing: list, status: str) -> list:
        """Insert the messages of ``outgoing`` not written yet, ``status``; return
        ``outgoing`` without those whose key another worker took meanwhile (its row
        takes their place in the rows: theirs to send, not ours)."""
        new = [(self.places.pop(id(m)), m) for m, _ in outgoing if id(m) in self.places]
        if not new:
            return outgoing
        for _, message in new:
            message.status = status
        ours = {id(m) for _, m in _insert(self.rows, new)}
        lost = {id(m) for _, m in new} - ours
        return [pair for pair in outgoing if id(pair[0]) not in lost]

    def __contains__(self, message: Message) -> bool:
        return id(message) in self.places


#: The anymail ``metadata`` key naming the message (its uuid): ESPs hand it back in
#: their webhooks, so feedback finds the message whatever ids the ESP uses.
METADATA_KEY = "journeys_message"


#: Headers whose value is the same for every message of a send (``PreparedMail``).
SHARED_HEADERS = frozenset({"from", "list-unsubscribe-post"})


class _Composer:
    """Builds the personalised ``EmailMultiAlternatives`` of each message of a batch:
    ``prepared`` ones (``emails.mime.PreparedMail``, serialised from one ``Skeleton``
    per send) for Django's own backends, which only want the bytes; Django's class for
    the others (an ESP's backend reads the parts). ``compose_again`` builds one again,
    the same, for the admin."""

    def __init__(self, email_page, from_email: str, to: str | None, *, prepared: bool = False):
        self.email_page, self.from_email, self.to = email_page, from_email, to
        self.skeleton = Skeleton() if prepared else None
        self.root = links.prefix()
        self.key = links.signing_key()
        self.mailto = conf.get("EMAIL_UNSUBSCRIBE_MAILTO") or f"unsubscribe@{_domain(from_email)}"
        self.site_name = getattr(settings, "WAGTAIL_SITE_NAME", "")
        self.compiled: dict[tuple, Any] = {}
        #: A mail shown again (``compose_again``) gets no working confirmation link.
        self.confirming = True

    def compose(
        self, message: Message, contact: Contact, *, today: dt.date | None = None
    ) -> EmailMultiAlternatives:
        variant = tuple(message.variant)
        if variant not in self.compiled:
            self.compiled[variant] = compiled_for(
                self.email_page, variant, revision_id=message.revision_id
            )
        rendered = fill(
            self.compiled[variant],
            contact,
            context=message.context,
            message_uuid=message.uuid,
            root=self.root,
            site_name=self.site_name,
            today=today,
            confirming=self.confirming,
        )
        message.subject = rendered.subject[:998]
        if rendered.missing:
            message.status, message.error = MessageStatus.HELD, held_reason(rendered.missing)
        unsubscribe = links.unsubscribe_url(message.uuid, root=self.root, key=self.key)
        fields = {
            "subject": rendered.subject,
            "body": rendered.text,
            "from_email": self.from_email,
            "to": [self.to or contact.email],
            "headers": {
                "Message-ID": message.message_id,
                "List-Unsubscribe": f"<mailto:{self.mailto}?subject=unsubscribe%20"
                f"{message.uuid.hex}>, <{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
        if self.skeleton is None:
            mail = EmailMultiAlternatives(**fields)
        else:
            mail = PreparedMail(
                **fields,
                skeleton=self.skeleton,
                shared=SHARED_HEADERS,
                pieces={"plain": rendered.text_pieces, "html": rendered.html_pieces},
            )
        mail.attach_alternative(rendered.html, "text/html")
        # django-anymail sends it as the ESP's metadata (other backends ignore it).
        mail.metadata = {METADATA_KEY: message.uuid.hex}
        return mail


def compose_again(message: Message) -> EmailMultiAlternatives:
    """The mail of a recorded ``message`` as ``send_emails`` built it: the same
    revision, segment variant, context, uuid and Message-ID, the From of that revision,
    the address it went to, the day it was sent (``{{ today }}``). What the send did not
    record is read as it is now: the contact's fields, the brand settings, the site's
    tracking URL and secret. Raises ``LookupError`` when its email or revision is gone."""
    from wagtail.models import Revision

    if message.email_page_id is None or message.revision_id is None:
        raise LookupError("the email or its revision was deleted")
    revision = Revision.objects.filter(pk=message.revision_id).first()
    if revision is None:
        raise LookupError("the revision was deleted")
    email_page = revision.as_object()
    composer = _Composer(email_page, sender(email_page), message.recipient or None)
    composer.confirming = False
    sent = message.sent_at or message.created_at
    copy = Message(
        uuid=message.uuid,
        message_id=message.message_id,
        variant=message.variant,
        context=message.context,
        revision_id=message.revision_id,
    )
    return composer.compose(copy, message.contact, today=timezone.localdate(sent))


def _deliver(
    email_page,
    outgoing,
    *,
    connection,
    owner: dt.datetime,
    most: int | None = None,
    unwritten: _Unwritten | None = None,
) -> None:
    """Send composed mails on one connection, ``CHUNK`` at a time: the chunk's rows are
    written ``sending`` (new ones inserted so, ``unwritten``; those taken back for
    another attempt by one UPDATE), handed over, then marked ``sent`` with their
    ``email_sent`` events (one transaction). A worker killed mid-chunk leaves at most
    ``CHUNK`` rows ``sending`` (see ``_claim``); the rest are ``queued`` or not written
    yet, safe to send again (their step runs are still queued: ``outbox.deliver_stale``).

    A message the server refuses for good (5xx, a refused recipient) is ``failed`` at
    once. A temporary failure (``temporary``: the connection cannot be opened or is
    lost, or the server answers 4xx) counts a try of the message(s) it hit
    (``_retry_or_fail``: ``deferred`` until their next attempt, or ``failed`` after the
    last); when it ended the connection (``connection_gone``), the rest is deferred,
    untried, to the same time, and nothing more is sent on this connection.

    Rows are ours while ``created_at`` is ``owner`` (this call's time): one that another
    worker claimed meanwhile (see ``_claim``) is skipped, so it is sent once."""
    connection = connection or get_connection()
    unwritten = unwritten or _Unwritten([], [])
    try:
        opened = connection.open()
    except Exception as exc:  # noqa: BLE001 (every way of not connecting is retried)
        outgoing = unwritten.write(outgoing, MessageStatus.QUEUED)
        _retry_or_fail([m for m, _ in outgoing], exc, owner=owner, most=most, connecting=True)
        return
    start = 0
    try:
        for start in range(0, len(outgoing), CHUNK):
            chunk = outgoing[start : start + CHUNK]
            taken_back = [m.pk for m, _ in chunk if m not in unwritten]
            chunk = unwritten.write(chunk, MessageStatus.SENDING)
            mine = (
                Message.objects.filter(
                    pk__in=taken_back, status=MessageStatus.QUEUED, created_at=owner
                ).update(status=MessageStatus.SENDING)
                if taken_back
                else 0
            )
            if mine < len(taken_back):
                ours = set(
                    Message.objects.filter(
                        pk__in=taken_back, status=MessageStatus.SENDING, created_at=owner
                    ).values_list("pk", flat=True)
                )
                chunk = [(m, mail) for m, mail in chunk if m.pk not in taken_back or m.pk in ours]
            until = _send_chunk(email_page, chunk, connection, owner, most)
            if until is not None:
                rest = unwritten.write(outgoing[start + CHUNK :], MessageStatus.QUEUED)
                _defer([m for m, _ in rest], until, owner)
                opened = True  # a broken connection is closed, the next send reopens it
                break
    finally:
        if opened:
            connection.close()
        # Stopped by an error of ours: the rows not written yet are written ``queued``,
        # as they would have been before the send (unless the database is what failed).
        with contextlib.suppress(DatabaseError):
            unwritten.write(outgoing[start:], MessageStatus.QUEUED)


def _send_chunk(
    email_page, chunk, connection, owner: dt.datetime, most: int | None
) -> dt.datetime | None:
    """Hand one chunk over; returns, after a temporary failure, when the rest is tried
    again (``None`` if the chunk went through)."""
    sent: list[Message] = []
    failed: list[Message] = []
    later: list[tuple[Message, Exception]] = []
    handed = 0
    lost: tuple[Message, Exception] | None = None
    try:
        for _, mail in chunk:
            mail.connection = connection
        # Each mail's outcome in order: None, or the error it met (``hand_over_all``).
        outcomes = hand_over_all(connection, [mail for _, mail in chunk])
        for (message, mail), exc in zip(chunk, outcomes, strict=False):  # ends early if lost
            if exc is not None:
                if temporary(exc) and connection_gone(exc):
                    lost = (message, exc)
                    break
                handed += 1
                if temporary(exc):
                    later.append((message, exc))
                    continue
                message.status, message.attempts = MessageStatus.FAILED, message.attempts + 1
                message.error = (REFUSED % {"error": describe(exc)})[:2000]
                failed.append(message)
                continue
            handed += 1
            message.status = MessageStatus.SENT
            status = getattr(mail, "anymail_status", None)  # django-anymail's backends
            if status is not None and isinstance(status.message_id, str):
                message.esp_message_id = status.message_id[:255]
            sent.append(message)
    finally:
        # Stopped by an error of ours: what was not handed over goes back to queued, for
        # the next pass once STALE_SEND_SECONDS have passed.
        untouched = [m for m, _ in chunk[handed:]]
        with transaction.atomic():
            _mark_sent(email_page, sent)
            for message in failed:
                Message.objects.filter(pk=message.pk).update(
                    status=message.status, error=message.error, attempts=message.attempts
                )
            for message, exc in later:
                _retry_or_fail([message], exc, owner=owner, most=most)
            until = None
            if lost is not None:
                until = _retry_or_fail([lost[0]], lost[1], owner=owner, most=most)
                _defer(untouched[1:], until, owner)
            elif untouched:
                Message.objects.filter(pk__in=[m.pk for m in untouched]).update(
                    status=MessageStatus.QUEUED
                )
    return until


def temporary(exc: Exception) -> bool:
    """Is this backend error about the connection or the moment (try the message again
    later) rather than about the message (``failed`` for good)? A 5xx answer (to the
    message or a recipient) is the message's; a dropped or timed-out connection, or a
    4xx (try later) answer, is temporary. Errors of non-SMTP backends are the message's."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return isinstance(exc, OSError)


def connection_gone(exc: Exception) -> bool:
    """Did this temporary error end the connection (lost, timed out, or ``421`` closing
    it), so nothing more can be sent on it? A ``4xx`` answer to one message (a busy
    mailbox, greylisting) defers that message only."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # smtplib hangs up on a 421
        return any(code == 421 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, OSError)


def describe(exc: Exception) -> str:
    """A backend error as one line: an SMTP answer as ``code text``, refused recipients
    with theirs, anything else as its message (or its type)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return ", ".join(
            f"{address}: {code} {_text(answer)}"
            for address, (code, answer) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return (str(exc) or type(exc).__name__)[:1000]


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


#: Stored reasons (English, shown translated by ``reasons.display``).
REFUSED = gettext_noop("The mail server refused this message: %(error)s")
RETRYING = gettext_noop(
    "The mail server could not take it for now (%(error)s); it is tried again later."
)
NOT_TRIED = gettext_noop(
    "Not tried yet: the mail server failed just before its turn; it is tried again later."
)
GAVE_UP_CONNECTING = gettext_noop(
    "The mail server refused the connection %(count)s times; last error: %(error)s"
)
GAVE_UP = gettext_noop(
    "The mail server did not take the message in %(count)s attempts; last error: %(error)s"
)
REFUSED_CONNECTION = gettext_noop("The mail server refused the connection: %(error)s")
GAVE_UP_ONCE = gettext_noop("The mail server did not take the message: %(error)s")
#: (one attempt only, failed connecting) -> why the message failed
GAVE_UP_TEXTS = {
    (False, False): GAVE_UP,
    (False, True): GAVE_UP_CONNECTING,
    (True, False): GAVE_UP_ONCE,
    (True, True): REFUSED_CONNECTION,
}


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a message waits after its ``attempts``-th try failed for now: the
    ``attempts``-th of ``SEND_RETRY_DELAYS``, the last one repeating."""
    delays = conf.get("SEND_RETRY_DELAYS")
    return dt.timedelta(seconds=delays[min(max(attempts, 1), len(delays)) - 1])


def _retry_or_fail(
    messages: list[Message],
    exc: Exception,
    *,
    owner: dt.datetime,
    most: int | None = None,
    connecting: bool = False,
) -> dt.datetime:
    """Count one try of each of ``messages``, which failed for a temporary reason
    (``exc``): each is ``deferred`` until its next attempt (``retry_delay``), or
    ``failed`` with the reason once it has had ``most`` (``SEND_MAX_ATTEMPTS``). Only rows still
    ours (``created_at`` is ``owner``) are written. Returns the earliest next attempt."""
    now = timezone.now()
    most = most or conf.get("SEND_MAX_ATTEMPTS")
    error = describe(exc)
    groups: dict[tuple, list[int]] = {}
    for message in messages:
        message.attempts += 1
        if message.attempts >= most:
            message.status, message.next_attempt_at = MessageStatus.FAILED, None
            text = GAVE_UP_TEXTS[message.attempts == 1, connecting]
            message.error = (text % {"count": message.attempts, "error": error})[:2000]
        else:
            message.status = MessageStatus.DEFERRED
            message.next_attempt_at = now + retry_delay(message.attempts)
            message.error = (RETRYING % {"error": error})[:2000]
        fields = (message.status, message.attempts, message.next_attempt_at, message.error)
        groups.setdefault(fields, []).append(message.pk)
    for (status, attempts, next_attempt_at, text), ids in groups.items():
        Message.objects.filter(
            pk__in=ids,
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
            created_at=owner,
        ).update(status=status, attempts=attempts, next_attempt_at=next_attempt_at, error=text)
    due = [m.next_attempt_at for m in messages if m.next_attempt_at]
    return min(due) if due else now + retry_delay(most)


def _defer(messages: list[Message], until: dt.datetime, owner: dt.datetime) -> None:
    """Defer messages not tried because the connection failed before their turn: the
    same next attempt as the one that failed, no try counted."""
    if not messages:
        return
    for message in messages:
        message.status, message.next_attempt_at = MessageStatus.DEFERRED, until
        message.error = NOT_TRIED
    Message.objects.filter(
        pk__in=[m.pk for m in messages],
        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
        created_at=owner,
    ).update(status=MessageStatus.DEFERRED, next_attempt_at=until, error=NOT_TRIED)


def _mark_sent(email_page, sent: list[Message]) -> None:
    """One UPDATE for the chunk's sent rows (with the ESP's ids, when an anymail backend
    gave them) and one INSERT of their ``email_sent`` events."""
    if not sent:
        return
    now = timezone.now()
    esp_ids = {m.pk: m.esp_message_id for m in sent if m.esp_message_id}
    extra = {}
    if esp_ids:
        extra["esp_message_id"] = Case(
            *[When(pk=pk, then=Value(esp_id)) for pk, esp_id in esp_ids.items()],
            default=F("esp_message_id"),
        )
    # An ESP's webhook may have told more already (delivered…, while the chunk was sent).
    told = MessageStatus.handed() - {MessageStatus.SENT}
    status = Case(When(status__in=told, then=F("status")), default=Value(MessageStatus.SENT))
    Message.objects.filter(pk__in=[m.pk for m in sent]).update(
        status=status, sent_at=now, error="", attempts=F("attempts") + 1, **extra
    )
    events = []
    for message in sent:
        message.sent_at, message.attempts = now, message.attempts + 1
        events.append(
            Event(
                name="email_sent",
                contact_id=message.contact_id,
                properties=message.event_properties(),
                occurred_at=now,
                received_at=now,
                source=EventSource.EMAIL,
                idempotency_key=f"email_sent:{message.uuid.hex}",
            )
        )
    try:
        with transaction.atomic():
            insert_rows(events)
    except IntegrityError:  # marked sent before (a race): the event is there already
        Event.objects.bulk_create(events, ignore_conflicts=True)
