"""Signed tokens of the tracking URLs (open pixel, click redirect, unsubscribe).

A token names a message (its UUID) and, for clicks, a link's index in the compiled
email; it never carries a URL. The redirect target is looked up server-side, so a forged
or altered token is refused (the view answers 404) and cannot redirect anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from functools import lru_cache

from django.conf import settings

from .. import conf

OPEN = 255
UNSUBSCRIBE = 254
MAX_LINKS = 250


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"wagtail_journeys.emails.links:" + secret.encode()).digest()


def signing_key() -> bytes:
    """The key of this site's link tokens (derived from ``SECRET_KEY``)."""
    return _key(settings.SECRET_KEY)


def sign(message_uuid: uuid.UUID, index: int, *, key: bytes | None = None) -> str:
    """The token of link ``index`` (or ``OPEN`` / ``UNSUBSCRIBE``) of one message."""
    payload = message_uuid.bytes + bytes((index,))
    mac = hmac.digest(key or signing_key(), payload, "sha256")[:12]
    return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def unsign(token: str) -> tuple[uuid.UUID, int] | None:
    """``(message uuid, index)`` of a token this server signed, else ``None``."""
    if not isinstance(token, str) or len(token) != 39:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    payload, mac = raw[:17], raw[17:]
    expected = hmac.digest(signing_key(), payload, "sha256")[:12]
    if len(raw) != 29 or not hmac.compare_digest(mac, expected):
        return None
    return uuid.UUID(bytes=payload[:16]), payload[16]


def base_url() -> str:
    """Where tracking URLs point: ``EMAIL_BASE_URL`` or ``WAGTAILADMIN_BASE_URL``."""
    url = conf.get("EMAIL_BASE_URL") or getattr(settings, "WAGTAILADMIN_BASE_URL", "")
    return url.rstrip("/")


def prefix() -> str:
    """The absolute URL of the app's public views, ending in ``/``."""
    from django.urls import get_script_prefix

    return _prefix(base_url(), get_script_prefix())


@lru_cache(maxsize=8)
def _prefix(base: str, script_prefix: str) -> str:
    from django.urls import reverse

    return base + reverse("wagtail_journeys:email_open", args=["x"])[: -len("o/x.gif")]


def click_url(message_uuid: uuid.UUID, index: int, *, root: str | None = None, key=None) -> str:
    return f"{root or prefix()}c/{sign(message_uuid, index, key=key)}"


def open_url(message_uuid: uuid.UUID, *, root: str | None = None, key=None) -> str:
    return f"{root or prefix()}o/{sign(message_uuid, OPEN, key=key)}.gif"


def unsubscribe_url(message_uuid: uuid.UUID, *, root: str | None = None, key=None) -> str:
    return f"{root or prefix()}u/{sign(message_uuid, UNSUBSCRIBE, key=key)}"
