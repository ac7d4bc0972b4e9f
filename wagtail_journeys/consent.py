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
    from . import conf
    from .contacts import normalize_email

    secret = conf.get("SUPPRESSION_HASH_KEY") or settings.SECRET_KEY
    key = hashlib.sha256(b"wagtail_journeys.suppression:" + secret.encode()).digest()
    return hmac.new(key, normalize_email(email).encode(), hashlib.sha256).hexdigest()
