"""The ``NinjaAPI`` instance, its JSON parser and error handlers."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja.parser import Parser
from wagtail.api.v3.errors import problem_response, register_exception_handlers

from ..exceptions import InvalidInput, JourneysError
from .batch import router as batch_router
from .openapi import DocumentedAPI, SwaggerFromStatic
from .privacy import router as privacy_router
from .reports import router as reports_router
from .scenarios import router as scenarios_router
from .tracking import router as tracking_router


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(Parser):
    """Plain JSON only: no NaN/Infinity (PostgreSQL's jsonb refuses them), any content type.

    Any content type is accepted because ``navigator.sendBeacon`` posts ``text/plain`` to
    stay a CORS-simple request.
    """

    def parse_body(self, request: HttpRequest):
        return json.loads(request.body, parse_constant=_reject_constant)


api = DocumentedAPI(
    title="wagtail-journeys API",
    version="1.0.0",
    description=(
        "Record events and identify contacts from servers (Bearer token of a Wagtail API "
        "token whose user has the `wagtail_journeys.track_contacts` permission) or from "
        "browsers (a signed visitor id issued by `GET /journeys/api/visitor`), which may "
        "post only the events the `BROWSER_EVENTS` setting allows and, where the site "
        "requires it, only once their visitor consented (`POST /journeys/api/consent`). "
        "Reports are read with a token whose user has `wagtail_journeys.view_reports`; a "
        "contact's data is read with `wagtail_journeys.export_contacts` and erased with "
        "`wagtail_journeys.delete_contact`. Every error is an RFC 7807 "
        "`application/problem+json` body."
    ),
    urls_namespace="api",
    parser=StrictJSONParser(),
    openapi_url="/openapi.json",
    docs_url="/docs/",
    docs=SwaggerFromStatic(),
)
register_exception_handlers(api)


@api.exception_handler(JourneysError)
def journeys_error(request: HttpRequest, exc: JourneysError):
    errors = None
    if isinstance(exc, InvalidInput) and exc.field:
        errors = [{"loc": ["body", exc.field], "msg": str(exc), "type": "invalid"}]
    return problem_response(status=exc.status_code, detail=str(exc), errors=errors)


api.add_router("/", tracking_router)
api.add_router("/", batch_router)
api.add_router("/", scenarios_router)
api.add_router("/", reports_router)
api.add_router("/", privacy_router)
