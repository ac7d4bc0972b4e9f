"""Every error of the API is an RFC 7807 ``application/problem+json`` body.

Domain errors and validation errors are mapped by the API's exception handlers; what they
do not reach is shaped here: an unexpected exception (a 500, logged and signalled as Django
would), the database unreachable (a 503 with ``Retry-After``: the caller tries again with
the same ``Idempotency-Key``), an unknown path under the API, and the bare responses
Django or ninja build themselves (405 with its ``Allow`` header, say).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signals
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.utils.log import log_response
from wagtail.api.v3.errors import PROBLEM_JSON, problem_response

NOT_FOUND_NAME = "not_found"


#: Seconds a caller is asked to wait when the database cannot be reached.
RETRY_AFTER = 5


def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A 500 problem for an exception nothing handled, reported as Django reports its own:
    ``got_request_exception`` (error trackers listen to it) and the ``django.request``
    log with the traceback. The database unreachable or restarting (``OperationalError``,
    ``InterfaceError``: nothing was stored) is a 503 with ``Retry-After`` instead."""
    signals.got_request_exception.send(sender=None, request=request)
    status, detail = 500, "The server failed to handle this request; the error was logged."
    if isinstance(exc, OperationalError | InterfaceError):
        status = 503
        detail = "The database is unavailable for now; nothing was stored. Try again later."
    if settings.DEBUG:
        detail = f"{type(exc).__name__}: {exc}"
    response = problem_response(status=status, detail=detail)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER)
    log_response(
        "%s: %s",
        response.reason_phrase,
        request.path,
        response=response,
        request=request,
        exception=exc,
    )
    return response


def as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response`` itself unless it is an error in another shape: then the same status as
    a problem, with the same headers (``Allow`` of a 405, CORS) and cookies."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(PROBLEM_JSON):
        return response
    detail = ""
    if response.status_code == 405 and response.has_header("Allow"):
        detail = f"{request.method} is not allowed here; use {response['Allow']}."
    problem = problem_response(status=response.status_code, detail=detail)
    for header, value in response.items():
        if header.lower() not in ("content-type", "content-length"):
            problem[header] = value
    problem.cookies = response.cookies
    return problem


def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """The API's catch-all: 404 as a problem, or, like ``APPEND_SLASH``, a redirect of a
    GET to the same path with a slash when that is an endpoint (``/docs`` → ``/docs/``)."""
    path = request.path
    if request.method in ("GET", "HEAD") and settings.APPEND_SLASH and not path.endswith("/"):
        try:
            match = resolve(f"{path}/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.url_name != NOT_FOUND_NAME:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return problem_response(status=404, detail=f"No API endpoint at {path}.")
