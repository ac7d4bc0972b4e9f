"""Delivery feedback from ESPs, through django-anymail's ``tracking`` signal.

django-anymail's webhook views (Amazon SES, Brevo, Mailgun, Mailjet, Postmark, SendGrid,
SparkPost…) check the ESP's signature or basic auth and send one normalised
``AnymailTrackingEvent`` per ESP event; ``on_tracking`` (connected in ``apps.py`` when
anymail is installed) turns each into what the message and the contact learn:

================  ==================  ==============================================
anymail event     recorded event      message, contact
================  ==================  ==============================================
delivered         ``email_delivered``  ``delivered`` (``delivered_at``)
bounced           ``email_bounced``    ``bounced`` (``bounced_at``, ``bounce_type``);
                                       a hard bounce suppresses the contact at once
                                       (``bounced``), soft ones at ``SOFT_BOUNCE_LIMIT``
complained        ``email_complained`` ``complained``; the contact too, at once
rejected, failed  ``email_rejected``   ``rejected``; the contact is suppressed when the
                                       ESP refused the address for a bounce, an invalid
                                       address, a complaint or an unsubscribe
unsubscribed      ``unsubscribed``     ``unsubscribed_at``; the contact unsubscribed
================  ==================  ==============================================

Opens and clicks an ESP reports are not recorded: the app's own pixel and redirect
already count them, with the machine rules of ``tracking.machines``. Deferrals, queued,
sent and the rest are ignored. An event is recorded once per ESP event (its
``event_id``, or what identifies it when the ESP gives none): webhooks are retried, and
a retry changes nothing twice. Feedback about a message the app did not send (a
password reset through the same ESP) is ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import conf
from ..consent import status_record
from ..delivery import METADATA_KEY
from ..events import record_event
from ..models import (
    ConsentRecord,
    ConsentSource,
    Contact,
    EmailStatus,
    Event,
    EventSource,
    Message,
    MessageStatus,
)
from ..models.messages import BounceType

logger = logging.getLogger(__name__)

#: How strong each piece of news is: a weaker one never replaces a stronger status.
RANK = {
    MessageStatus.SENT: 0,
    MessageStatus.DELIVERED: 1,
    MessageStatus.REJECTED: 2,
    MessageStatus.BOUNCED: 3,
    MessageStatus.COMPLAINED: 4,
}
#: Statuses news may replace besides weaker ones: the message did leave after all.
BEFORE_SENT = (MessageStatus.SENDING, MessageStatus.UNCERTAIN)
#: anymail's reject reasons that tell the address is unusable, and how.
REFUSED_ADDRESS = {
    "bounced": EmailStatus.BOUNCED,
    "invalid": EmailStatus.BOUNCED,
    "spam": EmailStatus.COMPLAINED,
    "unsubscribed": EmailStatus.UNSUBSCRIBED,
}
DETAIL_LENGTH = 300


@dataclass(frozen=True)
class Feedback:
    """What one ESP event means for its message (pure, see ``feedback_of``)."""

    event: str  # the event recorded
    status: str = ""  # the message's new status ("" keeps it)
    stamp: str = ""  # the message's time field to set
    bounce: str = ""  # "hard" or "soft"
    reason: str = ""  # anymail's normalised reject reason
    suppress: str = ""  # the contact's email status to set at once ("" none)


def _raw(esp_event: Any, *path: str) -> Any:
    """``esp_event[path…]`` or ``None`` (ESP payloads are dicts or QueryDicts)."""
    value = esp_event
    for key in path:
        if not hasattr(value, "get"):
            return None
        value = value.get(key)
    return value


def bounce_kind(
    esp_name: str, esp_event: Any, reject_reason: str | None, mta_response: str | None
) -> str:
    """``"hard"`` (the address will never work) or ``"soft"`` (full mailbox, greylisting,
    an outage: the ESP gave up for now). anymail reports both as ``bounced``; the ESPs
    that tell them apart say so in their own payload, read here. Otherwise an invalid
    address is hard, an SMTP 4xx answer soft, anything else hard."""
    esp = (esp_name or "").lower()
    if esp == "postmark":
        return BounceType.HARD if _raw(esp_event, "Type") == "HardBounce" else BounceType.SOFT
    if esp == "mailgun":
        severity = _raw(esp_event, "event-data", "severity")
        if severity in ("permanent", "temporary"):
            return BounceType.HARD if severity == "permanent" else BounceType.SOFT
    if esp == "amazon ses":
        kind = _raw(esp_event, "bounce", "bounceType")
        if kind:
            return BounceType.HARD if kind == "Permanent" else BounceType.SOFT
    if esp in ("brevo", "sendinblue"):
        kind = _raw(esp_event, "event")
        if kind in ("hard_bounce", "invalid_email", "soft_bounce"):
            return BounceType.SOFT if kind == "soft_bounce" else BounceType.HARD
    if esp == "sendgrid" and _raw(esp_event, "type") in ("bounce", "blocked"):
        return BounceType.SOFT if _raw(esp_event, "type") == "blocked" else BounceType.HARD
    if esp == "mailjet" and isinstance(_raw(esp_event, "hard_bounce"), bool):
        return BounceType.HARD if _raw(esp_event, "hard_bounce") else BounceType.SOFT
    if reject_reason == "invalid":
        return BounceType.HARD
    answer = (mta_response or "").strip()
    if answer[:1] == "4" or " 4." in answer[:20]:
        return BounceType.SOFT
    return BounceType.HARD


def feedback_of(
    event_type: str,
    reject_reason: str | None,
    *,
    esp_name: str = "",
    esp_event: Any = None,
    mta_response: str | None = None,
) -> Feedback | None:
    """What an anymail tracking event (its ``event_type`` and ``reject_reason``) means
    for its message, or ``None`` when it means nothing here (opens and clicks: our own
    pixel and redirect count them; deferrals, queued, sent…)."""
    reason = reject_reason or ""
    if event_type == "delivered":
        return Feedback("email_delivered", MessageStatus.DELIVERED, "delivered_at")
    if event_type == "bounced":
        kind = bounce_kind(esp_name, esp_event, reject_reason, mta_response)
        suppress = EmailStatus.BOUNCED if kind == BounceType.HARD else ""
        return Feedback(
            "email_bounced", MessageStatus.BOUNCED, "bounced_at", kind, reason, suppress
        )
    if event_type == "complained":
        return Feedback(
            "email_complained",
            MessageStatus.COMPLAINED,
            "complained_at",
            reason=reason,
            suppress=EmailStatus.COMPLAINED,
        )
    if event_type in ("rejected", "failed"):
        reason = reason or event_type
        return Feedback(
            "email_rejected",
            MessageStatus.REJECTED,
            reason=reason,
            suppress=REFUSED_ADDRESS.get(reason, ""),
        )
    if event_type == "unsubscribed":
        return Feedback("unsubscribed", stamp="unsubscribed_at", suppress=EmailStatus.UNSUBSCRIBED)
    return None


def idempotency_key(event: Any, esp_name: str, name: str) -> str:
    """One key per ESP event: its ``event_id`` when the ESP gives one (Postmark gives
    one for bounces only, Brevo none), else what identifies it (message, recipient,
    type and time)."""
    parts = [
        esp_name,
        name,
        str(event.event_id or ""),
        str(event.message_id or ""),
        str(event.recipient or "").lower(),
        event.timestamp.isoformat() if event.timestamp else "",
        str(_raw(event.esp_event, "RecordType") or _raw(event.esp_event, "event") or ""),
    ]
    if event.event_id:
        parts = parts[:3] + [parts[4]]  # one SES notification covers several recipients
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return f"esp:{digest}"


def _storable(text: Any, limit: int = DETAIL_LENGTH) -> str:
    """ESP text, made storable (no NUL, no lone surrogate) and short."""
    if not isinstance(text, str):
        return ""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit]


def find_message(event: Any) -> Message | None:
    """The message an ESP event is about: by the uuid the app sent as anymail metadata,
    else by the ESP's id recorded at send time, else by the Message-ID header."""
    fields = ("pk", "uuid", "contact_id", "email_page_id", "message_id")
    fields += ("scenario_id", "step_id", "variant", "recipient", "status")
    metadata = event.metadata if isinstance(event.metadata, Mapping) else {}
    hexed = metadata.get(METADATA_KEY)
    if isinstance(hexed, str):
        try:
            found = Message.objects.filter(uuid=uuid.UUID(hexed)).only(*fields).first()
        except ValueError:
            found = None
        if found is not None:
            return found
    esp_id = event.message_id if isinstance(event.message_id, str) else ""
    if not esp_id:
        return None
    bare = esp_id.strip().strip("<>")
    if not bare:
        return None
    return (
        Message.objects.filter(
            Q(esp_message_id__in={esp_id, bare}) | Q(message_id__in={f"<{bare}>", bare})
        )
        .only(*fields)
        .first()
    )


def _update_message(message: Message, feedback: Feedback, at: dt.datetime) -> None:
    changes: dict[str, Any] = {}
    if feedback.status:
        weaker = [s for s, rank in RANK.items() if rank < RANK[feedback.status]]
        changes["status"] = Case(
            When(status__in=[*weaker, *BEFORE_SENT], then=Value(feedback.status)),
            default=F("status"),
        )
    if feedback.stamp:
        changes[feedback.stamp] = Coalesce(feedback.stamp, Value(at))
    if feedback.bounce == BounceType.HARD:
        changes["bounce_type"] = Value(BounceType.HARD)
    elif feedback.bounce:
        changes["bounce_type"] = Case(
            When(bounce_type="", then=Value(feedback.bounce)), default=F("bounce_type")
        )
    if changes:
        Message.objects.filter(pk=message.pk).update(**changes)


def _suppress(message: Message, feedback: Feedback, at: dt.datetime) -> str:
    """Set the contact's email status as the feedback requires; return it ("" none).
    Only the address the message went to is suppressed (a contact who changed address
    since keeps the new one), and a weaker reason never replaces a stronger one. A
    change is kept as a consent record (source ``esp``)."""
    status = feedback.suppress
    if not status and feedback.bounce == BounceType.SOFT:
        limit = conf.get("SOFT_BOUNCE_LIMIT")
        if limit is not None:
            recent = Message.objects.filter(
                contact_id=message.contact_id,
                bounce_type=BounceType.SOFT,
                bounced_at__gte=at - dt.timedelta(days=limit["days"]),
            ).count()
            status = EmailStatus.BOUNCED if recent >= limit["bounces"] else ""
    if not status:
        return ""
    stronger = {
        EmailStatus.COMPLAINED: [EmailStatus.COMPLAINED],
        EmailStatus.BOUNCED: [EmailStatus.COMPLAINED, EmailStatus.BOUNCED],
        EmailStatus.UNSUBSCRIBED: [
            EmailStatus.COMPLAINED,
            EmailStatus.BOUNCED,
            EmailStatus.UNSUBSCRIBED,
        ],
    }[status]
    contacts = Contact.objects.filter(pk=message.contact_id).exclude(email_status__in=stronger)
    if message.recipient:
        contacts = contacts.filter(email__iexact=message.recipient)
    if not contacts.update(email_status=status):
        return ""
    details = {"message": message.uuid.hex, "event": feedback.event}
    if feedback.reason:
        details["reason"] = feedback.reason
    ConsentRecord.objects.bulk_create(
        [
            status_record(
                message.contact_id, status, source=ConsentSource.ESP, details=details, at=at
            )
        ]
    )
    return status


def record_feedback(event: Any, esp_name: str) -> Event | None:
    """Apply one anymail tracking event: record its event (once per ESP event), move the
    message's status and times, suppress the contact if it must be; all in one
    transaction. Returns the recorded event, or ``None`` when there was nothing to do
    (ignored type, unknown message, or a retry of an event already recorded)."""
    feedback = feedback_of(
        str(event.event_type or ""),
        event.reject_reason,
        esp_name=esp_name,
        esp_event=event.esp_event,
        mta_response=event.mta_response if isinstance(event.mta_response, str) else None,
    )
    if feedback is None:
        return None
    message = find_message(event)
    if message is None:
        logger.info("%s %s for a message wagtail-journeys did not send", esp_name, feedback.event)
        return None
    now = timezone.now()
    at = event.timestamp if isinstance(event.timestamp, dt.datetime) else now
    at = min(at if timezone.is_aware(at) else now, now)
    extra: dict[str, Any] = {"esp": _storable(esp_name, 50)}
    if feedback.event != "unsubscribed" and feedback.event != "email_delivered":
        extra["reason"] = feedback.reason
        extra["detail"] = _storable(event.mta_response or event.description)
    if feedback.bounce:
        extra["bounce"] = feedback.bounce
    with transaction.atomic():
        if feedback.event == "unsubscribed":  # news only if the contact was subscribed
            _update_message(message, feedback, at)
            if not _suppress(message, feedback, at):
                return None
        recorded, created = record_event(
            feedback.event,
            contact=message.contact_id,
            properties=message.event_properties(**extra),
            occurred_at=at,
            source=EventSource.EMAIL,
            idempotency_key=idempotency_key(event, esp_name, feedback.event),
        )
        if not created or feedback.event == "unsubscribed":
            return recorded if created else None
        _update_message(message, feedback, at)
        _suppress(message, feedback, at)
    return recorded


def on_tracking(sender, event, esp_name: str, **kwargs) -> None:
    """Receiver of ``anymail.signals.tracking`` (see ``record_feedback``)."""
    record_feedback(event, esp_name)


def connect() -> bool:
    """Connect ``on_tracking`` to anymail's tracking signal when django-anymail is
    installed; True if it is. Without it, nothing changes (SMTP sends as before)."""
    try:
        from anymail.signals import tracking
    except ImportError:
        return False
    tracking.connect(on_tracking, dispatch_uid="journeys-esp-feedback")
    return True
