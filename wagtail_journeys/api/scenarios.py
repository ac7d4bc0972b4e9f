"""``POST /scenarios/{id}/start``: a server starts a scenario for a contact."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Status

from ..contacts import upsert_contact
from ..engine import clock
from ..engine.enroll import enroll
from ..events import validate_properties
from ..exceptions import NotAllowed, NotFound
from ..models import ConsentSource, ScenarioPage
from .access import server_token
from .openapi import documented
from .schemas import StartIn, StartOut

router = Router(tags=["scenarios"])

#: The largest id any database stores (a signed 64-bit integer): a larger one names no
#: scenario, and SQLite cannot even compare it.
MAX_ID = 2**63 - 1


@router.post(
    "/scenarios/{scenario_id}/start",
    response={200: StartOut, 201: StartOut},
    url_name="scenario_start",
    summary="Start a scenario for a contact (server token only)",
    operation_id="scenario_start",
    openapi_extra=documented(400, 401, 403, 404, 409, 413, 422, security=("ServerToken",)),
)
def start_scenario(
    request: HttpRequest,
    response: HttpResponse,
    payload: StartIn,
    scenario_id: int = Path(..., ge=1, le=MAX_ID, description="The scenario page's id."),
):
    """Enrol the contact (created if new) in a live scenario, subject to its entry rules.
    ``context`` holds the enrolment's values: its emails show them as ``{{ name }}``.

    201 with the enrolment when started; 200 with ``started: false`` when the entry rules
    or re-entry policy keep the contact out."""
    if not server_token(request):
        raise NotAllowed("Starting a scenario needs a server token.")
    if not ScenarioPage.objects.live().filter(pk=scenario_id).exists():
        raise NotFound(f"No live scenario {scenario_id}.")
    context = validate_properties(payload.context, field="context")
    with transaction.atomic():
        contact, _ = upsert_contact(
            payload.email,
            consent_source=ConsentSource.API,
            consent_details={"via": "start", "scenario": scenario_id},
        )
        rows = enroll(scenario_id, [contact.pk], now=clock.now(), context={"values": context})
    if rows:
        return Status(201, StartOut(enrollment_id=rows[0].pk, started=True))
    return Status(200, StartOut(enrollment_id=None, started=False))
