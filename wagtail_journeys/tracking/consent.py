"""Consent before tracking: the one gate every tracking path asks.

When ``TRACKING_CONSENT_REQUIRED`` is on, nothing about a visitor is stored or set (no
visitor cookie, no page view, no beacon event, no visitor id on a form's event) until
``allowed(request)`` says the visitor consented. The choice lives in a first-party cookie
(``CONSENT_COOKIE_NAME``) whose value is ``granted`` or ``denied``, signed with a timestamp
by the server (``granted:<time>:<signature>``): a value the server did not sign, or older
than ``CONSENT_COOKIE_AGE``, means no consent. The cookie is readable by scripts, so the
JS API can answer ``journeys.consent.status()`` without a request; reading it grants
nothing, and writing it by hand cannot forge the signature.

``grant`` and ``withdraw`` set the choice on a response, for a site whose banner posts to
its own view; the JS API calls ``POST /journeys/api/consent``, which uses them too. Both
keep an identified visitor's change of mind as its contact's ``ConsentRecord``. Storing
the choice itself needs no consent (it is what the visitor asked for), and a refusal is
kept so the banner does not ask again on every page.
"""

from __future__ import annotations

import time
from typing import Literal

from django.core import signing
from django.http import HttpRequest, HttpResponse

from .. import conf
from ..consent import record_consent
from ..inputs import text_problem
from ..models import ConsentAction, ConsentChannel, ConsentSource, Contact

GRANTED = "granted"
DENIED = "denied"
UNKNOWN = "unknown"
Status = Literal["granted", "denied", "unknown"]

_SALT = "wagtail_journeys.tracking_consent"
#: A signed value is ``granted:`` or ``denied:``, a base62 time and a 43-character
#: signature: anything longer is not one this server issued.
_MAX_COOKIE_LENGTH = 100


#: Verified cookie values -> (choice, signed at): a visitor sends the same value on every
#: page, and checking its signature costs several times the rest of the check, so each
#: value is verified once per process; its age is checked on every request. Bounded.
_VERIFIED: dict[str, tuple[str, int]] = {}
_VERIFIED_MAX = 10000


def _verified(value: str) -> tuple[str, int] | None:
    """The choice and signing time of a consent cookie value this server signed."""
    known = _VERIFIED.get(value)
    if known is not None:
        return known
    try:
        signing.TimestampSigner(salt=_SALT).unsign(value)
        head, _, _ = value.rpartition(":")
        choice, _, signed_at = head.rpartition(":")
        known = (choice, signing.b62_decode(signed_at))
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[value] = known
    return known


def status(request: HttpRequest) -> Status:
    """The visitor's recorded choice: ``granted``, ``denied``, or ``unknown`` (none yet,
    or a cookie that is forged, malformed or older than ``CONSENT_COOKIE_AGE``). Never
    raises; no query."""
    current = getattr(request, "journeys_consent", None)
    if current is not None:
        return current
    value = request.COOKIES.get(conf.get("CONSENT_COOKIE_NAME"))
    found: Status = UNKNOWN
    if value and len(value) <= _MAX_COOKIE_LENGTH:
        known = _verified(value)
        if (
            known is not None
            and known[0] in (GRANTED, DENIED)
            and time.time() - known[1] <= conf.get("CONSENT_COOKIE_AGE")
        ):
            found = known[0]
    request.journeys_consent = found
    return found


def required() -> bool:
    """Does tracking wait for consent on this site (``TRACKING_CONSENT_REQUIRED``)?"""
    return conf.get("TRACKING_CONSENT_REQUIRED")


def allowed(request: HttpRequest | None) -> bool:
    """May this request's visitor be tracked (a cookie set, an event stored for it)?

    True when consent is not required, else only when the consent cookie says
    ``granted`` (or ``grant`` was called during this request). A request-less caller
    (``None``: a task, a shell) tracks no browser and is allowed only when consent is not
    required. Costs no query; the answer is kept on the request.
    """
    if not conf.get("TRACKING_CONSENT_REQUIRED"):
        return True
    return request is not None and status(request) == GRANTED


def cookie_value(choice: Status) -> str:
    """The signed consent cookie value of ``choice`` (``granted:<time>:<signature>``)."""
    return signing.TimestampSigner(salt=_SALT).sign(choice)


def _set_choice(request: HttpRequest, response: HttpResponse, choice: Status) -> None:
    request.journeys_consent = choice
    response.set_cookie(
        conf.get("CONSENT_COOKIE_NAME"),
        cookie_value(choice),
        max_age=conf.get("CONSENT_COOKIE_AGE"),
        secure=conf.get("VISITOR_COOKIE_SECURE") or request.is_secure(),
        httponly=False,  # journeys.consent.status() reads it; it holds no identifier
        samesite=conf.get("VISITOR_COOKIE_SAMESITE"),
    )


def _keep_record(request: HttpRequest, visitor, action: ConsentAction, wording: str) -> None:
    """Keep an identified visitor's change of mind as its contact's consent record (the
    contact may have been erased since its cookie was signed: then no one to keep it for)."""
    if visitor is None or visitor.contact_id is None:
        return
    if not Contact.objects.filter(pk=visitor.contact_id).exists():
        return
    details = {"visitor": visitor.uuid.hex}
    page = request.headers.get("Referer", "")
    if page and not text_problem(page):
        details["page"] = page[:500]
    record_consent(
        visitor.contact_id,
        action=action,
        source=ConsentSource.BANNER,
        channel=ConsentChannel.TRACKING,
        wording=wording,
        details=details,
        request=request,
    )


def grant(request: HttpRequest, response: HttpResponse, *, wording: str = "") -> None:
    """Record the visitor's consent to tracking on ``response`` (the consent cookie);
    the rest of this request may track it (``allowed`` is True from now on).

    When the browser's visitor cookie names a contact and consent was not granted
    already, the contact's consent record is kept (channel ``tracking``, source
    ``banner``, with ``wording``: what the visitor was shown). Costs a query only then.
    """
    from . import visitor as visitors  # it asks this module first: imported late

    was_granted = status(request) == GRANTED
    _set_choice(request, response, GRANTED)
    if not was_granted:
        _keep_record(request, visitors.from_request(request), ConsentAction.GRANTED, wording)


def withdraw(request: HttpRequest, response: HttpResponse, *, wording: str = "") -> None:
    """Record the visitor's refusal or withdrawal on ``response``: the consent cookie
    says ``denied`` and the visitor cookie is deleted, so the browser is no longer known.
    Events already recorded stay (erasing them is the contact's right of erasure).

    Withdrawing a consent that was granted to a browser whose visitor cookie names a
    contact keeps the contact's consent record, as ``grant`` does.
    """
    from . import visitor as visitors  # it asks this module first: imported late

    if status(request) == GRANTED:
        _keep_record(request, visitors.from_request(request), ConsentAction.WITHDRAWN, wording)
    _set_choice(request, response, DENIED)
    request.journeys_visitor = None
    request.journeys_visitor_changed = False
    response.delete_cookie(
        conf.get("VISITOR_COOKIE_NAME"), samesite=conf.get("VISITOR_COOKIE_SAMESITE")
    )
