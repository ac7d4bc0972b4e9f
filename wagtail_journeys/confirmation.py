"""Double opt-in: the confirmation mail, its signed link, and confirming.

With ``DOUBLE_OPT_IN`` on, a form signup of a new address (``tracking.forms``), or an API
identify that asks for it, creates the contact ``pending`` and mails it the confirmation
email (an ``EmailPage`` editors write, ``CONFIRMATION_EMAIL``), whose ``{{ confirm_url }}``
is a link signed for the contact and its address. Following it (``tracking.confirmation``)
subscribes the contact, keeps the proof (``ConsentRecord``), records
``subscription_confirmed`` and ties that browser, and only that one, to the contact.

A pending contact gets at most one confirmation mail per ``CONFIRMATION_RESEND_MINUTES``,
whoever posts its address and however many times: the send is claimed by one conditional
UPDATE of ``Contact.confirmation_sent_at``, so two concurrent posts send one mail.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core import checks, signing
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import conf
from .consent import record_consent
from .events import record_event
from .models import (
    ConsentAction,
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Contact,
    EmailStatus,
    EventSource,
)

logger = logging.getLogger(__name__)

SALT = "wagtail_journeys.confirmation"
DEFAULT_SLUG = "confirm-subscription"


class InvalidLink(Exception):
    """A confirmation link that confirms nothing; ``reason`` says why, for its page."""

    #: forged or altered, expired, or no longer its contact's (deleted, address changed)
    FORGED, EXPIRED, STALE = "forged", "expired", "stale"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _address(email: str) -> str:
    # Keyed, so the link does not reveal the address to a dictionary of hashed addresses.
    return salted_hmac(SALT, email, algorithm="sha256").hexdigest()[:20]


def confirm_token(contact: Contact) -> str:
    """The signed token of ``contact``'s confirmation link: its id and (a keyed hash of)
    its address, timestamped now (the link expires ``CONFIRMATION_LINK_MAX_AGE_HOURS``
    later)."""
    value = f"{contact.pk or 0}.{_address(contact.email or '')}"
    return signing.TimestampSigner(salt=SALT).sign(value)


def confirm_url(contact: Contact, *, root: str | None = None) -> str:
    """The absolute URL of ``contact``'s confirmation link (``{{ confirm_url }}``)."""
    from .emails import links

    return f"{root or links.prefix()}confirm/{confirm_token(contact)}"


#: Where previews and test sends point ``{{ confirm_url }}``: the link page, confirming
#: nobody (a test send must not let an editor confirm a contact's subscription).
SAMPLE_TOKEN = "sample"  # noqa: S105 (not a secret: a token that is no token)


def contact_of(token: str) -> Contact:
    """The contact a confirmation token names; raises ``InvalidLink`` when the token is
    forged or altered, has expired, or its contact is gone or has another address now."""
    if not isinstance(token, str) or len(token) > 200:
        raise InvalidLink(InvalidLink.FORGED)
    max_age = dt.timedelta(hours=conf.get("CONFIRMATION_LINK_MAX_AGE_HOURS"))
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidLink(InvalidLink.EXPIRED) from None
    except signing.BadSignature:
        raise InvalidLink(InvalidLink.FORGED) from None
    pk, _, address = value.partition(".")
    contact = Contact.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if contact is None or _address(contact.email) != address:
        raise InvalidLink(InvalidLink.STALE)
    return contact


def confirmation_email():
    """The live ``EmailPage`` sent to confirm a signup (``CONFIRMATION_EMAIL``, by slug;
    by default ``confirm-subscription``), or ``None``."""
    from .models import EmailPage

    slug = conf.get("CONFIRMATION_EMAIL") or DEFAULT_SLUG
    return EmailPage.objects.live().filter(slug=slug).order_by("path").first()


def request_confirmation(
    contact: Contact,
    *,
    source: ConsentSource | str,
    wording: str = "",
    details: dict[str, Any] | None = None,
    request=None,
) -> bool:
    """Mail ``contact`` the confirmation email if it is ``pending`` and none went out in
    the last ``CONFIRMATION_RESEND_MINUTES``; record the request (``ConsentRecord``
    ``requested``, with the ``wording`` shown and where: ``details``). True when a mail
    is on its way.

    The claim is one conditional UPDATE in the caller's transaction (of concurrent
    requests, one wins); the mail goes when that transaction commits, through the normal
    delivery path, as a transactional ``Message``. A missing confirmation email or a
    failed send is logged, never raised: the contact stays pending, and the claim is
    given back so that a later signup tries again.
    """
    now = timezone.now()
    resend = now - dt.timedelta(minutes=conf.get("CONFIRMATION_RESEND_MINUTES"))
    claimed = (
        Contact.objects.filter(pk=contact.pk, email_status=EmailStatus.PENDING)
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lt=resend))
        .update(confirmation_sent_at=now)
    )
    if not claimed:
        return False
    contact.confirmation_sent_at = now
    record_consent(
        contact,
        action=ConsentAction.REQUESTED,
        source=source,
        wording=wording,
        details=details,
        at=now,
        request=request,  # the person's own request (a form post): its IP as proof, if kept
    )
    transaction.on_commit(lambda: send_confirmation(contact.pk, now))
    return True


def send_confirmation(contact_id: int, claimed_at: dt.datetime) -> bool:
    """Send the confirmation email claimed at ``claimed_at`` (its ``Message`` key names
    the claim, so a retry sends it once). Logs and gives the claim back on failure."""
    from .delivery import send_email
    from .models import MessageStatus

    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None or contact.email_status != EmailStatus.PENDING:
        return False
    page = confirmation_email()
    message = None
    if page is None:
        logger.error(
            "Double opt-in: no live confirmation email (slug %r); contact %s stays pending "
            "and was sent nothing. Publish the email (see manage.py check).",
            conf.get("CONFIRMATION_EMAIL") or DEFAULT_SLUG,
            contact_id,
        )
    else:
        try:
            message = send_email(
                page,
                contact,
                key=f"confirmation:{contact_id}:{claimed_at.timestamp():.6f}",
                transactional=True,
                max_attempts=1,  # nothing retries it: the claim is given back instead
            )
        except Exception:
            logger.exception(
                "Double opt-in: the confirmation mail to contact %s failed", contact_id
            )
        else:
            if message.status not in MessageStatus.handed():
                logger.error(
                    "Double opt-in: the confirmation mail to contact %s was not sent (%s: %s)",
                    contact_id,
                    message.status,
                    message.error,
                )
                message = None
    if message is None:
        Contact.objects.filter(pk=contact_id, confirmation_sent_at=claimed_at).update(
            confirmation_sent_at=None
        )
        return False
    return True


def confirm(contact: Contact, *, at: dt.datetime | None = None, request=None) -> bool:
    """Subscribe a ``pending`` contact that followed its confirmation link: status
    ``subscribed``, ``confirmed_at``, the consent (``granted``, source ``confirmation``,
    with the wording and place of the latest request) and ``subscription_confirmed``,
    in one transaction. True if it was pending; any other contact is left as it is."""
    now = at or timezone.now()
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, email_status=EmailStatus.PENDING).update(
            email_status=EmailStatus.SUBSCRIBED, confirmed_at=now, updated_at=now
        )
        if not changed:
            return False
        contact.email_status, contact.confirmed_at = EmailStatus.SUBSCRIBED, now
        asked = (
            ConsentRecord.objects.filter(
                contact=contact, channel=ConsentChannel.EMAIL, action=ConsentAction.REQUESTED
            )
            .order_by("-recorded_at", "-id")
            .first()
        )
        details = dict(asked.details) if asked else {}
        details["requested"] = asked.recorded_at.isoformat() if asked else None
        details["requested_through"] = asked.source if asked else None
        record_consent(
            contact,
            action=ConsentAction.GRANTED,
            source=ConsentSource.CONFIRMATION,
            wording=asked.wording if asked else "",
            details={k: v for k, v in details.items() if k != "ip"},
            at=now,
            request=request,  # the click's own request: its IP as proof, if kept
        )
        properties = {key: details[key] for key in ("page_id", "form", "title") if key in details}
        properties["through"] = details["requested_through"] or ""
        record_event(
            "subscription_confirmed",
            contact=contact,
            properties=properties,
            occurred_at=now,
            source=EventSource.EMAIL,
            idempotency_key=f"subscription_confirmed:{contact.pk}:{now.timestamp():.6f}",
        )
    return True


@checks.register(checks.Tags.compatibility)
def check_confirmation_email(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: with ``DOUBLE_OPT_IN`` on, the confirmation email exists, is live and
    shows ``{{ confirm_url }}``. Skipped while the database has no tables yet."""
    if not conf.get("DOUBLE_OPT_IN"):
        return []
    slug = conf.get("CONFIRMATION_EMAIL") or DEFAULT_SLUG
    try:
        page = confirmation_email()
    except DatabaseError:
        return []  # before migrate: nothing to check yet
    if page is None:
        return [
            checks.Warning(
                f"DOUBLE_OPT_IN is on, but no live email has the slug {slug!r}: signups stay "
                "pending and nobody is sent a confirmation link.",
                hint="Write and publish an email with that slug, showing {{ confirm_url }} "
                "(or set WAGTAIL_JOURNEYS['CONFIRMATION_EMAIL'] to its slug).",
                id="journeys.W010",
            )
        ]
    if "confirm_url" not in str(page.body.raw_data):
        return [
            checks.Warning(
                f"The confirmation email {slug!r} does not show {{{{ confirm_url }}}}: "
                "nobody it is sent to can confirm.",
                hint="Add a button or a link whose address is {{ confirm_url }}.",
                id="journeys.W011",
            )
        ]
    return []
