"""``/events``, ``/identify``, ``/visitor`` and ``/consent``: the tracking endpoints."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from .. import conf, confirmation
from ..contacts import get_or_create_contact, known_contact, normalize_email, upsert_contact
from ..contacts import identify as identify_visitor
from ..events import (
    record_contact_event,
    record_event,
    validate_browser_event,
    validate_event_name,
    validate_occurred_at,
    validate_properties,
)
from ..exceptions import InvalidInput, NotAllowed
from ..inputs import clean_text
from ..models import ConsentSource, EmailStatus, EventSource
from ..tracking import consent
from ..tracking import visitor as visitors
from ..tracking.visitor import VisitorId
from .access import refuse_without_consent, remember_visitor, resolve_caller, server_token
from .openapi import documented
from .schemas import (
    ConsentIn,
    ConsentOut,
    EventIn,
    EventOut,
    IdentifyIn,
    IdentifyOut,
    VisitorOut,
)

router = Router(tags=["tracking"])


@router.post(
    "/events",
    response={200: EventOut, 201: EventOut},
    url_name="events",
    summary="Record an event",
    operation_id="events_create",
    openapi_extra=documented(
        400, 401, 403, 409, 413, 422, security=("ServerToken", "VisitorCookie"), anonymous=True
    ),
)
def create_event(request: HttpRequest, response: HttpResponse, payload: EventIn):
    """Record one event for a contact (server token + `email`) or a visitor.

    201 when stored, 200 when the idempotency key was already recorded (nothing stored).
    Browsers may post only the names `BROWSER_EVENTS` allows (403 otherwise).
    """
    caller = resolve_caller(request, payload.visitor)
    name = validate_event_name(payload.name)
    if not caller.is_server:
        validate_browser_event(name)
    properties = validate_properties(payload.properties)
    key = payload.idempotency_key
    if key is None and request.headers.get("Idempotency-Key"):
        key = clean_text(request.headers["Idempotency-Key"], field="Idempotency-Key header")
        if len(key) > 150:
            raise InvalidInput(
                "The Idempotency-Key header is longer than 150 characters.",
                field="Idempotency-Key header",
            )
    visitor = caller.visitor
    if caller.is_server:
        max_age = dt.timedelta(days=conf.get("MAX_EVENT_AGE_DAYS"))
        occurred_at = validate_occurred_at(payload.occurred_at, max_age=max_age)
        if payload.email is not None:
            event, created = _record_for_email(
                name, normalize_email(payload.email), visitor, properties, occurred_at, key
            )
            return Status(201 if created else 200, EventOut(id=event.pk, created=created))
        if visitor is None:
            raise InvalidInput("Name the contact (email) or the visitor.", field="email")
    else:
        if payload.email is not None:
            raise NotAllowed(
                "Browsers may not name a contact by email; identify through a form post."
            )
        max_age = dt.timedelta(seconds=conf.get("BROWSER_MAX_EVENT_AGE_SECONDS"))
        occurred_at = validate_occurred_at(payload.occurred_at, max_age=max_age)
        if key is not None:
            # Scoped to the visitor, so one browser cannot pre-empt another's keys.
            key = f"v:{visitor.uuid.hex}:{key}"
    event, created = record_event(
        name,
        contact=visitor.contact_id,
        visitor_id=visitor.uuid,
        properties=properties,
        occurred_at=occurred_at,
        source=EventSource.API if caller.is_server else EventSource.BEACON,
        idempotency_key=key,
    )
    return Status(201 if created else 200, EventOut(id=event.pk, created=created))


def _record_for_email(name, email, visitor, properties, occurred_at, key):
    """A server's event for the contact with this address: one statement when the contact
    is known; else the contact is created (its consent record kept, source API) first."""
    fields = {"properties": properties, "occurred_at": occurred_at, "idempotency_key": key}
    if visitor is None:
        recorded = record_contact_event(name, email, source=EventSource.API, **fields)
        if recorded is not None:
            return recorded
    contact = (
        known_contact(email)
        or upsert_contact(
            email, consent_source=ConsentSource.API, consent_details={"via": "event"}
        )[0]
    )
    return record_event(
        name,
        contact=contact,
        visitor_id=visitor.uuid if visitor else None,
        source=EventSource.API,
        **fields,
    )


@router.post(
    "/identify",
    response=IdentifyOut,
    url_name="identify",
    summary="Identify a contact (server token only)",
    operation_id="identify",
    openapi_extra=documented(400, 401, 403, 409, 413, 422, security=("ServerToken",)),
)
def identify(request: HttpRequest, response: HttpResponse, payload: IdentifyIn):
    """Upsert the contact with this email and tie the given visitor to it.

    Server tokens only: a browser attaches an email to itself through a form the site
    controls, never directly (anyone could otherwise enrol a stranger's address).
    With `double_opt_in`, the address is an unverified signup: see that field.
    """
    visitor = VisitorId.from_token(payload.visitor) if payload.visitor is not None else None
    if not server_token(request):
        raise NotAllowed("Identify needs a server token; browsers identify through forms.")
    fields = payload.model_dump(
        exclude={"email", "visitor", "attributes", "tags", "double_opt_in", "consent_wording"},
        exclude_none=True,
    )
    validate_properties(payload.attributes, field="attributes")
    if payload.double_opt_in:
        return _signup(payload, fields)
    contact, created = upsert_contact(
        payload.email,
        fields,
        attributes=payload.attributes,
        tags=payload.tags,
        consent_source=ConsentSource.API,
        consent_wording=payload.consent_wording or "",
        consent_details={"via": "identify"},
    )
    moved = 0
    token = None
    if visitor is not None:
        moved = identify_visitor(visitor.uuid, contact)
        token = VisitorId(visitor.uuid, contact.pk).token
    return IdentifyOut(
        contact_id=contact.pk,
        created=created,
        visitor=token,
        moved_events=moved,
        email_status=contact.email_status,
    )


def _signup(payload: IdentifyIn, fields: dict) -> IdentifyOut:
    """``identify`` with ``double_opt_in``: an unverified claim, as a form post is (a new
    contact ``pending``, an existing one untouched, no visitor tied), and the
    confirmation mail when the contact is pending."""
    if "email_status" in fields:
        raise InvalidInput(
            "email_status may not be given with double_opt_in: the confirmation sets it.",
            field="email_status",
        )
    with transaction.atomic():
        contact, created = get_or_create_contact(
            payload.email, {**fields, "email_status": EmailStatus.PENDING}
        )
        if created and (payload.attributes or payload.tags):
            contact, _ = upsert_contact(
                contact.email, attributes=payload.attributes, tags=payload.tags
            )
        sent = confirmation.request_confirmation(
            contact, source=ConsentSource.API, wording=payload.consent_wording or ""
        )
    return IdentifyOut(
        contact_id=contact.pk,
        created=created,
        email_status=contact.email_status,
        confirmation_sent=sent,
    )


@router.get(
    "/visitor",
    response=VisitorOut,
    url_name="visitor",
    summary="Get this browser's signed visitor id",
    operation_id="visitor",
    openapi_extra=documented(400, 403, 413, security=("VisitorCookie",), anonymous=True),
)
def visitor(request: HttpRequest, response: HttpResponse):
    """Return the visitor id in the cookie, or issue one (and set the cookie).

    403 while the site requires consent (`TRACKING_CONSENT_REQUIRED`) that this browser
    has not given: no id is issued and no cookie set.
    """
    refuse_without_consent(request)
    current = visitors.from_request(request)
    if current is None:
        current = VisitorId.new()
        remember_visitor(request, current, response)
    return VisitorOut(visitor=current.token)


def _consent_out(request: HttpRequest, token: str | None = None) -> ConsentOut:
    return ConsentOut(required=consent.required(), status=consent.status(request), visitor=token)


@router.get(
    "/consent",
    response=ConsentOut,
    url_name="consent_status",
    summary="This browser's tracking consent",
    operation_id="consent_status",
    openapi_extra=documented(400, 403, 413, security=(), anonymous=True),
)
def consent_status(request: HttpRequest, response: HttpResponse):
    """Whether the site requires consent before tracking, and this browser's choice
    (`granted`, `denied`, or `unknown` before it chose or once its choice expired)."""
    return _consent_out(request)


@router.post(
    "/consent",
    response=ConsentOut,
    url_name="consent",
    summary="Grant or withdraw this browser's tracking consent",
    operation_id="consent_update",
    openapi_extra=documented(400, 403, 413, 422, security=(), anonymous=True),
)
def consent_update(request: HttpRequest, response: HttpResponse, payload: ConsentIn):
    """Record the visitor's choice in the consent cookie (`CONSENT_COOKIE_NAME`).

    `granted: true` sets it to granted and issues the visitor id (returned, and set as
    the visitor cookie); `granted: false` sets it to denied and deletes the visitor
    cookie. When the browser's visitor cookie names a contact, the change is kept as the
    contact's consent record (channel `tracking`, source `banner`, with `wording`).
    """
    wording = payload.wording or ""
    current = None
    if payload.granted:
        consent.grant(request, response, wording=wording)
        current = visitors.ensure(request)
        visitors.set_cookie(request, response)
    else:
        consent.withdraw(request, response, wording=wording)
    return _consent_out(request, current.token if current is not None else None)
