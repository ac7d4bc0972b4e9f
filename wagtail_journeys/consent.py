"""Recording consent, and the hash that remembers an erased address.

``record_consent`` is the one way a consent or withdrawal is kept (``ConsentRecord``):
forms, the API, imports, the admin, unsubscribe links, the preference centre and
confirmation links all call it, in the transaction that changes the contact.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import ConsentAction, ConsentChannel, ConsentRecord, ConsentSource, Contact, Topic


def record_consent(
    contact: Contact | int,
    *,
    action: ConsentAction | str,
    source: ConsentSource | str,
    channel: ConsentChannel | str = ConsentChannel.EMAIL,
    topic: Topic | None = None,
    wording: str = "",
    details: dict[str, Any] | None = None,
    at=None,
    request=None,
) -> ConsentRecord:
    """Keep one consent (``granted``), withdrawal (``withdrawn``) or confirmation request
    (``requested``) of ``contact``, with the wording the person was shown. ``topic`` None
    means every marketing mail of the channel. With the ``request`` it came in, and
    ``IP_ADDRESSES = "truncated"``, its client's address is kept truncated in
    ``details["ip"]`` (``privacy.truncate_ip``); with ``"none"`` (the default), never."""
    details = dict(details or {})
    if request is not None:
        from . import conf
        from .privacy import truncate_ip

        ip = truncate_ip(request.META.get("REMOTE_ADDR"))
        if ip and conf.get("IP_ADDRESSES") == "truncated":
            details["ip"] = ip
    return ConsentRecord.objects.create(
        contact_id=contact if isinstance(contact, int) else contact.pk,
        action=action,
        source=source,
        channel=channel,
        topic=topic,
        topic_name=topic.name if topic is not None else "",
        wording=wording[:5000],
        details=details,
        recorded_at=at or timezone.now(),
    )


def suppression_hash(email: str) -> str:
    """The keyed hash a ``Suppression`` keeps of a (normalised) address: HMAC-SHA256 with
    a key derived from ``SUPPRESSION_HASH_KEY`` (default ``SECRET_KEY``: set it before
    rotating the secret key, or earlier hashes stop matching). The table alone does not
    reveal who asked to be forgotten."""
    from .contacts import normalize_email

    return hmac.new(_suppression_key(), normalize_email(email).encode(), "sha256").hexdigest()


def suppression_hashes(emails) -> dict[str, str]:
    """``{suppression_hash(email): email}`` for addresses already normalised (a batch's
    or an import's): the key derived once, the addresses not validated again."""
    key = _suppression_key()
    return {hmac.new(key, email.encode(), "sha256").hexdigest(): email for email in emails}


def _suppression_key() -> bytes:
    from . import conf

    secret = conf.get("SUPPRESSION_HASH_KEY") or settings.SECRET_KEY
    return hashlib.sha256(b"wagtail_journeys.suppression:" + secret.encode()).digest()


def action_for_status(status: str) -> ConsentAction:
    """The consent action a new email status stands for: ``subscribed`` is consent,
    ``pending`` a confirmation requested, any other (unsubscribed, bounced, complained)
    the end of marketing mail."""
    from .models import EmailStatus

    if status == EmailStatus.SUBSCRIBED:
        return ConsentAction.GRANTED
    if status == EmailStatus.PENDING:
        return ConsentAction.REQUESTED
    return ConsentAction.WITHDRAWN


def status_record(
    contact_id: int,
    status: str,
    *,
    source: ConsentSource | str,
    previous: str | None = None,
    wording: str = "",
    details: dict[str, Any] | None = None,
    at=None,
) -> ConsentRecord:
    """An unsaved ``ConsentRecord`` of a change of ``email_status`` to ``status`` (the
    email channel, every topic), for callers that write many at once (``bulk_create``)."""
    facts = {"email_status": status, **({"previous": previous} if previous else {})}
    return ConsentRecord(
        contact_id=contact_id,
        channel=ConsentChannel.EMAIL,
        action=action_for_status(status),
        source=source,
        wording=wording[:5000],
        details={**facts, **(details or {})},
        recorded_at=at or timezone.now(),
    )


def sms_record(
    contact_id: int,
    opted_in: bool,
    *,
    source: ConsentSource | str,
    wording: str = "",
    details: dict[str, Any] | None = None,
    at=None,
) -> ConsentRecord:
    """An unsaved ``ConsentRecord`` of an SMS opt-in (``True``) or opt-out."""
    return ConsentRecord(
        contact_id=contact_id,
        channel=ConsentChannel.SMS,
        action=ConsentAction.GRANTED if opted_in else ConsentAction.WITHDRAWN,
        source=source,
        wording=wording[:5000],
        details={"sms_opt_in": opted_in, **(details or {})},
        recorded_at=at or timezone.now(),
    )


def record_changes(
    contact: Contact,
    changed: dict[str, Any],
    *,
    source: ConsentSource | str,
    wording: str = "",
    details: dict[str, Any] | None = None,
) -> list[ConsentRecord]:
    """Keep a record of each consent field in ``changed`` (``{field: previous value}``,
    previous ``None`` for a new contact): ``email_status`` and ``sms_opt_in``, read as
    they are now on ``contact``. Other fields are ignored. One INSERT; call it in the
    transaction that saved the contact."""
    now = timezone.now()
    records = []
    if "email_status" in changed:
        records.append(
            status_record(
                contact.pk,
                contact.email_status,
                source=source,
                previous=changed["email_status"],
                wording=wording,
                details=details,
                at=now,
            )
        )
    if "sms_opt_in" in changed:
        records.append(
            sms_record(
                contact.pk,
                bool(contact.sms_opt_in),
                source=source,
                wording=wording,
                details=details,
                at=now,
            )
        )
    return ConsentRecord.objects.bulk_create(records) if records else []
