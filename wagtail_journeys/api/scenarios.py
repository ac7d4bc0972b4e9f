"""``POST /scenarios/{id}/start``: a server starts a scenario for a contact."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from ..contacts import upsert_contact
from ..engine import clock
from ..engine.enroll import enroll
from ..exceptions import NotAllowed, NotFound
from ..models import ScenarioPage
from .access import server_token

router = Router(tags=["scenarios"])


class StartIn(Schema):
    email: str
    context: dict = {}


class StartOut(Schema):
    enrollment_id: int | None
    started: bool


@router.post(
    "/scenarios/{scenario_id}/start",
    response={200: StartOut, 201: StartOut},
    url_name="scenario_start",
    summary="Start a scenario for a contact (server token only)",
    operation_id="scenario_start",
)
def start_scenario(
    request: HttpRequest, response: HttpResponse, scenario_id: int, payload: StartIn
):
    """Enrol the contact (created if new) in a live scenario, subject to its entry rules.
    ``context`` holds the enrolment's values: its emails show them as ``{{ name }}``.

    201 with the enrolment when started; 200 with ``started: false`` when the entry rules
    or re-entry policy keep the contact out."""
    if not server_token(request):
        raise NotAllowed("Starting a scenario needs a server token.")
    if not ScenarioPage.objects.live().filter(pk=scenario_id).exists():
        raise NotFound(f"No live scenario {scenario_id}.")
    from ..events import validate_properties

    context = validate_properties(payload.context, field="context")
    with transaction.atomic():
        contact, _ = upsert_contact(payload.email)
        rows = enroll(scenario_id, [contact.pk], now=clock.now(), context={"values": context})
    if rows:
        return Status(201, StartOut(enrollment_id=rows[0].pk, started=True))
    return Status(200, StartOut(enrollment_id=None, started=False))
