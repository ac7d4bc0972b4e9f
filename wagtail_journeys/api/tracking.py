"""``/events``, ``/identify`` and ``/visitor``: the three tracking endpoints."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from .. import conf
from ..contacts import identify as identify_visitor
from ..contacts import known_contact, upsert_contact
from ..events import (
    record_event,
    validate_browser_event,
    validate_event_name,
    validate_occurred_at,
    validate_properties,
)
from ..exceptions import InvalidInput, NotAllowed
from ..inputs import clean_text
from ..models import EventSource
from ..tracking import visitor as visitors
from ..tracking.visitor import VisitorId
from .access import remember_visitor, resolve_caller, server_token
from .openapi import documented
from .schemas import EventIn, EventOut, IdentifyIn, IdentifyOut, VisitorOut

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
    contact = None
    if caller.is_server:
        max_age = dt.timedelta(days=conf.get("MAX_EVENT_AGE_DAYS"))
        occurred_at = validate_occurred_at(payload.occurred_at, max_age=max_age)
        if payload.email is not None:
            contact = known_contact(payload.email) or upsert_contact(payload.email)[0]
        elif caller.visitor is None:
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
            key = f"v:{caller.visitor.uuid.hex}:{key}"
    visitor = caller.visitor
    event, created = record_event(
        name,
        contact=contact if contact is not None else (visitor.contact_id if visitor else None),
        visitor_id=visitor.uuid if visitor else None,
        properties=properties,
        occurred_at=occurred_at,
        source=EventSource.API if caller.is_server else EventSource.BEACON,
        idempotency_key=key,
    )
    return Status(201 if created else 200, EventOut(id=event.pk, created=created))


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
    """
    visitor = VisitorId.from_token(payload.visitor) if payload.visitor is not None else None
    if not server_token(request):
        raise NotAllowed("Identify needs a server token; browsers identify through forms.")
    fields = payload.model_dump(
        exclude={"email", "visitor", "attributes", "tags"}, exclude_none=True
    )
    validate_properties(payload.attributes, field="attributes")
    contact, created = upsert_contact(
        payload.email, fields, attributes=payload.attributes, tags=payload.tags
    )
    moved = 0
    token = None
    if visitor is not None:
        moved = identify_visitor(visitor.uuid, contact)
        token = VisitorId(visitor.uuid, contact.pk).token
    return IdentifyOut(contact_id=contact.pk, created=created, visitor=token, moved_events=moved)


@router.get(
    "/visitor",
    response=VisitorOut,
    url_name="visitor",
    summary="Get this browser's signed visitor id",
    operation_id="visitor",
    openapi_extra=documented(400, 403, 413, security=("VisitorCookie",), anonymous=True),
)
def visitor(request: HttpRequest, response: HttpResponse):
    """Return the visitor id in the cookie, or issue one (and set the cookie)."""
    current = visitors.from_request(request)
    if current is None:
        current = VisitorId.new()
        remember_visitor(request, current, response)
    return VisitorOut(visitor=current.token)
