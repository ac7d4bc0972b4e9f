"""``GET /contacts/{email}/data`` and ``DELETE /contacts/{email}``: a person's rights of
access and erasure, for a server holding a token whose user may export (read) or delete
(erase) contacts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Schema
from pydantic import Field

from ..contacts import normalize_email
from ..exceptions import NotFound
from ..models import Contact
from ..privacy import erase_contact, export_contact_json
from .access import Unauthenticated, token_allows
from .openapi import documented

router = Router(tags=["privacy"])

EXPORT_PERMISSION = "wagtail_journeys.export_contacts"
ERASE_PERMISSION = "wagtail_journeys.delete_contact"

PROBLEMS = {
    403: "A token whose user lacks the permission: `wagtail_journeys.export_contacts` to "
    "read a contact's data, `wagtail_journeys.delete_contact` to erase one.",
    404: "No contact has this address.",
    422: "The address is not a valid email address.",
}
EmailPath = Path(..., max_length=254, description="The contact's email address.")


def _contact(request: HttpRequest, email: str, permission: str) -> Contact:
    if not token_allows(request, permission):
        raise Unauthenticated("This needs 'Authorization: Bearer <token>'.")
    contact = Contact.objects.filter(email=normalize_email(email)).first()
    if contact is None:
        raise NotFound("No contact has this address.")
    return contact


class ErasureOut(Schema):
    contact_id: int
    deleted: dict[str, int] = Field(description="Rows deleted, by kind.")
    scrubbed: dict[str, int] = Field(
        description="Rows kept with the address or the contact taken out, by kind."
    )
    suppressed: bool = Field(
        description="True when the address's keyed hash was kept (`SUPPRESS_ERASED`): "
        "imports, upserts and signups of it are refused."
    )


def _with_data(extra: dict) -> dict:
    """The export's 200: a JSON object (its shape is in the privacy how-to)."""
    extra["responses"][200] = {
        "description": "Everything the app keeps about the contact: profile, consents, "
        "topic choices, visitors, events, messages, enrolments with their step runs, promo "
        "codes, form submissions.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return extra


@router.get(
    "/contacts/{email}/data",
    url_name="contact_data",
    summary="Export a contact's data (right of access)",
    operation_id="contact_data",
    openapi_extra=_with_data(
        documented(400, 401, 403, 404, 413, 422, security=("ServerToken",), problems=PROBLEMS)
    ),
)
def contact_data(request: HttpRequest, email: str = EmailPath):
    """The contact's data as one JSON object (the admin's *Download data (JSON)*)."""
    contact = _contact(request, email, EXPORT_PERMISSION)
    body = "".join(export_contact_json(contact))
    return HttpResponse(body, content_type="application/json")


@router.delete(
    "/contacts/{email}",
    response=ErasureOut,
    url_name="contact_erase",
    summary="Erase a contact (right to erasure)",
    operation_id="contact_erase",
    openapi_extra=documented(
        400, 401, 403, 404, 413, 422, security=("ServerToken",), problems=PROBLEMS
    ),
)
def contact_erase(request: HttpRequest, email: str = EmailPath):
    """Delete the contact and every row naming it, scrub what stays, keep the reports'
    totals (see the privacy how-to). Not undoable."""
    contact = _contact(request, email, ERASE_PERMISSION)
    return erase_contact(contact, by=request.user).as_dict()
