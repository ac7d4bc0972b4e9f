"""Signed visitor ids, issued by the server and held in a first-party cookie.

A visitor token is ``<uuid hex>[.<contact id>]`` signed with the project's SECRET_KEY, so a
browser can present only an id the server gave it, and the contact it was identified as
(if any) travels with it: recording a page view stays a single INSERT.

Every function here asks ``consent.allowed`` first: without the visitor's consent (when
the site requires it) no visitor is read, issued, tied or sent in a cookie.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest, HttpResponse

from .. import conf
from ..contacts import identify
from ..exceptions import InvalidVisitor
from ..models import Contact, Visitor
from . import consent

_SIGNER = signing.Signer(salt="wagtail_journeys.visitor")


@dataclass(frozen=True)
class VisitorId:
    """A visitor's id and, once identified, its contact's primary key."""

    uuid: uuid.UUID
    contact_id: int | None = None

    @classmethod
    def new(cls) -> VisitorId:
        return cls(uuid.uuid4())

    @property
    def token(self) -> str:
        """The signed form, for the cookie and the beacon."""
        value = self.uuid.hex if self.contact_id is None else f"{self.uuid.hex}.{self.contact_id}"
        return _SIGNER.sign(value)

    @classmethod
    def from_token(cls, token: str) -> VisitorId:
        """Parse a signed token; raise ``InvalidVisitor`` when it is forged or malformed."""
        if not isinstance(token, str) or len(token) > 200:
            raise InvalidVisitor("Visitor id is not one this server issued.")
        try:
            value = _SIGNER.unsign(token)
            hex_id, _, contact = value.partition(".")
            return cls(uuid.UUID(hex=hex_id), int(contact) if contact else None)
        except (signing.BadSignature, ValueError) as exc:
            raise InvalidVisitor("Visitor id is not one this server issued.") from exc


def from_request(request: HttpRequest) -> VisitorId | None:
    """The visitor of this request: the one set during this request, else the cookie's;
    None without consent (a cookie left from before is not read)."""
    current = getattr(request, "journeys_visitor", None)
    if current is not None:
        return current
    if not consent.allowed(request):
        return None
    token = request.COOKIES.get(conf.get("VISITOR_COOKIE_NAME"))
    if not token:
        return None
    try:
        return VisitorId.from_token(token)
    except InvalidVisitor:
        return None


def ensure(request: HttpRequest) -> VisitorId | None:
    """The visitor of this request, issuing a new id (sent by ``set_cookie``) if needed;
    None without consent."""
    if not consent.allowed(request):
        return None
    visitor = from_request(request)
    if visitor is None:
        visitor = VisitorId.new()
        remember(request, visitor)
    else:
        request.journeys_visitor = visitor
    return visitor


def remember(request: HttpRequest, visitor: VisitorId) -> None:
    """Make ``visitor`` this request's visitor and have its cookie (re)sent on the response."""
    if not consent.allowed(request):
        return
    request.journeys_visitor = visitor
    request.journeys_visitor_changed = True


def tie(request: HttpRequest, contact: Contact) -> VisitorId | None:
    """Tie this request's browser to ``contact``, for a browser that has shown it acts for
    that contact (its post created the contact, or it followed a signed link from an
    email the contact was sent). Never call it on a claim alone (an address typed into a
    form): that would hand the contact's identity to whoever typed it.

    An anonymous visitor is identified (its history moves to the contact); a visitor tied
    to another contact stays that contact's, and the browser gets a new visitor id. The
    cookie is (re)sent by ``set_cookie``. Idempotent; costs no query when the browser is
    already tied to ``contact``. Without consent nothing is tied and None is returned:
    the browser stays unknown.
    """
    if not consent.allowed(request):
        return None
    current = from_request(request)
    if current is not None and current.contact_id == contact.pk:
        request.journeys_visitor = current
        return current
    if (
        current is None
        or current.contact_id is not None
        or Visitor.objects.filter(pk=current.uuid, contact__isnull=False)
        .exclude(contact=contact)
        .exists()
    ):
        current = VisitorId.new()
    identify(current.uuid, contact)
    tied = VisitorId(current.uuid, contact.pk)
    remember(request, tied)
    return tied


def set_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Send the visitor cookie if this request issued or changed the visitor id (and the
    visitor consented, when consent is required)."""
    if getattr(request, "journeys_visitor_changed", False) and consent.allowed(request):
        response.set_cookie(
            conf.get("VISITOR_COOKIE_NAME"),
            request.journeys_visitor.token,
            max_age=conf.get("VISITOR_COOKIE_AGE"),
            secure=conf.get("VISITOR_COOKIE_SECURE") or request.is_secure(),
            httponly=True,
            samesite=conf.get("VISITOR_COOKIE_SAMESITE"),
        )
    return response
