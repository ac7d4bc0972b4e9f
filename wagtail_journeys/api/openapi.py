"""The OpenAPI document's error responses and security schemes, and its docs page.

django-ninja documents what a view returns; the errors (always RFC 7807
``application/problem+json``) and the two ways of calling (a server's Bearer token, a
browser's signed visitor id) are declared here once, so every operation lists the statuses
it can answer and the docs page has an Authorize button. The docs page loads Swagger UI
from this package's static files, never from a CDN.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from wagtail.api.v3.errors import PROBLEM_JSON, ProblemDetail

from .. import conf

PROBLEM_REF = "#/components/schemas/Problem"

#: What each error status means on this API (the docs' error table, per operation).
PROBLEMS: dict[int, str] = {
    400: "Malformed JSON (NaN and Infinity included) or a bad `Content-Length`.",
    401: "No visitor id and no token, or a token that is unknown, revoked or not `Bearer`.",
    403: "A forged visitor id, a token without the `wagtail_journeys.track_contacts` "
    "permission, an origin not in `CORS_ALLOWED_ORIGINS`, or what this caller may not do "
    "(a browser naming a contact, identifying, or posting an event `BROWSER_EVENTS` does "
    "not list; a browser tracked without its visitor's consent while "
    "`TRACKING_CONSENT_REQUIRED` is on).",
    404: "No live scenario has this id.",
    409: "The address was erased at its owner's request and `SUPPRESS_ERASED` keeps it out.",
    413: "The body is larger than `MAX_BODY_BYTES`.",
    422: "The input does not fit the schema or cannot be stored: wrong types or unknown "
    "fields, NUL characters or lone surrogates, numbers too large, nesting too deep, a bad "
    "email, event name or time.",
}

#: The ways of calling the API, as OpenAPI security schemes (``VisitorCookie``'s cookie
#: name is the ``VISITOR_COOKIE_NAME`` setting's).
SERVER_TOKEN = {
    "type": "http",
    "scheme": "bearer",
    "description": "A Wagtail API token whose user has the "
    "`wagtail_journeys.track_contacts` permission: servers only.",
}
REPORTS_TOKEN = {
    "type": "http",
    "scheme": "bearer",
    "description": "A Wagtail API token whose user has the "
    "`wagtail_journeys.view_reports` permission: read-only reports.",
}
VISITOR_COOKIE_DESCRIPTION = (
    "A browser's signed visitor id, issued by `GET /journeys/api/visitor` (the cookie is "
    "sent by the browser itself; the id may also go in the body's `visitor` field)."
)


def documented(
    *statuses: int,
    security: tuple[str, ...],
    anonymous: bool = False,
    problems: dict[int, str] | None = None,
) -> dict:
    """``openapi_extra`` for an operation: the error statuses it can answer (each an
    ``application/problem+json`` body, described by ``problems`` or ``PROBLEMS``) and the
    security schemes it accepts (``anonymous``: none at all is also accepted)."""
    problems = {**PROBLEMS, **(problems or {})}
    responses = {
        status: {
            "description": problems[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }
    requirements: list[dict[str, list]] = [{name: []} for name in security]
    if anonymous:
        requirements.append({})
    return {"responses": responses, "security": requirements}


class SwaggerFromStatic(Swagger):
    """Swagger UI served from this package's static files: ninja's own template loads them
    from a CDN unless ``ninja`` is in ``INSTALLED_APPS``, which a site need not add."""

    template = "wagtail_journeys/api/docs.html"
    default_settings = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,  # Swagger UI's default posts the document to swagger.io
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, self.template, {"api": api, "swagger_settings": settings})


class DocumentedAPI(NinjaAPI):
    """A ``NinjaAPI`` whose document carries the problem schema and the security schemes
    that ``documented`` refers to."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {})
        problem = ProblemDetail.model_json_schema()
        problem.update(title="Problem", description="An RFC 7807 problem: every error of this API.")
        components.setdefault("schemas", {})["Problem"] = problem
        components["securitySchemes"] = {
            "ServerToken": SERVER_TOKEN,
            "ReportsToken": REPORTS_TOKEN,
            "VisitorCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": conf.get("VISITOR_COOKIE_NAME"),
                "description": VISITOR_COOKIE_DESCRIPTION,
            },
        }
        return schema
