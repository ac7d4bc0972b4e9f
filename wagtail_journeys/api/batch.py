"""``/events/batch`` and ``/contacts/batch``: bulk ingestion for servers (``ingest``)."""

from __future__ import annotations

from collections import Counter

from django.http import HttpRequest, HttpResponse
from ninja import Router

from .. import ingest
from ..exceptions import NotAllowed
from .access import Unauthenticated, server_token
from .openapi import documented
from .schemas import (
    ContactBatchIn,
    ContactBatchOut,
    ContactIn,
    EventBatchIn,
    EventBatchOut,
    EventFields,
)

router = Router(tags=["batches"])

BATCH_PROBLEMS = {
    401: "No token, or a token that is unknown, revoked or not `Bearer`: batches are for "
    "servers only.",
    403: "A token without the `wagtail_journeys.track_contacts` permission, or a browser.",
    413: "The body is larger than `MAX_BATCH_BODY_BYTES` (1 MB by default).",
    422: "The body is not an object with a list of 1 to 500 items. Items themselves are "
    "never a 422: each bad one is reported as `rejected` in the results.",
}


def _servers_only(request: HttpRequest) -> None:
    if not server_token(request):
        if request.COOKIES or request.headers.get("Origin"):
            raise NotAllowed("Batches need a server token; browsers post one event at a time.")
        raise Unauthenticated("Batches need 'Authorization: Bearer <token>'.")


def _summary(results: list[ingest.ItemResult]) -> tuple[Counter, list[dict]]:
    """How many items ended in each status, and each item's result as the answer lists it."""
    return Counter(result.status for result in results), [r.as_dict() for r in results]


@router.post(
    "/events/batch",
    response=EventBatchOut,
    url_name="events_batch",
    summary="Record a batch of events (server token only)",
    operation_id="events_batch",
    openapi_extra=documented(
        400, 401, 403, 413, 422, security=("ServerToken",), problems=BATCH_PROBLEMS
    ),
)
def events_batch(request: HttpRequest, response: HttpResponse, payload: EventBatchIn):
    """Record up to 500 events in one request (at most `MAX_BATCH_BODY_BYTES`).

    Each item is an event as `POST /events` takes it from a server (`email` or `visitor`
    names who did it; `idempotency_key` per item). Each gets its result, in order:
    `stored` (with its id), `duplicate` (its key was already recorded, or repeated earlier
    in the batch: the stored event's id) or `rejected` (with the reason and the field);
    a rejected item never affects the others. Retrying a whole batch with keys is safe.
    """
    _servers_only(request)
    counts, results = _summary(ingest.record_events(payload.events, EventFields))
    return EventBatchOut(
        stored=counts["stored"],
        duplicates=counts["duplicate"],
        rejected=counts["rejected"],
        results=results,
    )


@router.post(
    "/contacts/batch",
    response=ContactBatchOut,
    url_name="contacts_batch",
    summary="Create or update a batch of contacts (server token only)",
    operation_id="contacts_batch",
    openapi_extra=documented(
        400, 401, 403, 413, 422, security=("ServerToken",), problems=BATCH_PROBLEMS
    ),
)
def contacts_batch(request: HttpRequest, response: HttpResponse, payload: ContactBatchIn):
    """Create or update up to 500 contacts in one request, by email.

    As `POST /identify` does for one: the fields given are set, `attributes` merged key by
    key, `tags` added, `email_status` changed only when given. Each item gets its result,
    in order: `created`, `updated`, `unchanged` (with the contact's id) or `rejected`
    (with the reason and the field). An address repeated in the batch is upserted in
    order, the later item's fields winning.
    """
    _servers_only(request)
    counts, results = _summary(ingest.upsert_contacts(payload.contacts, ContactIn))
    return ContactBatchOut(
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        results=results,
    )
