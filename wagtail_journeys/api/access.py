"""Who is calling, and from where: server tokens, browser visitors, origins, body size."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from wagtail.api.v3.auth import BearerTokenAuth
from wagtail.api.v3.errors import problem_response

from .. import conf
from ..exceptions import NotAllowed
from ..inputs import text_problem
from ..tracking import consent
from ..tracking import visitor as visitors
from ..tracking.visitor import VisitorId
from .errors import as_problem, server_error

TRACK_PERMISSION = "wagtail_journeys.track_contacts"
REPORTS_PERMISSION = "wagtail_journeys.view_reports"


class Unauthenticated(NotAllowed):
    status_code = 401


@dataclass(frozen=True)
class Caller:
    """A server holding a token (may name contacts), or a browser with its own visitor id."""

    is_server: bool
    visitor: VisitorId | None = None


#: sha256(token) -> monotonic time until which it is known good. Checking a token and its
#: user's permission costs several queries, more than recording the event itself; a server
#: posting a stream of events reuses the answer for ``API_TOKEN_CACHE_SECONDS``.
_GOOD_TOKENS: dict[str, float] = {}


def server_token(request: HttpRequest) -> bool:
    """True for a valid Bearer token allowed to track; raise for a bad or weak one.

    A revoked token, or a user who lost the permission, is refused within
    ``API_TOKEN_CACHE_SECONDS`` in every process (0 checks every request).
    """
    return token_allows(request, TRACK_PERMISSION)


def reports_token(request: HttpRequest) -> None:
    """Let through a Bearer token whose user may view reports; raise otherwise (401
    without a token or with a bad one, 403 for a token without the permission: a token
    allowed only to track contacts reads no reports)."""
    if not token_allows(request, REPORTS_PERMISSION):
        raise Unauthenticated("Reports need 'Authorization: Bearer <token>'.")


def token_allows(request: HttpRequest, permission: str) -> bool:
    """True for a valid Bearer token whose user has ``permission``; False without an
    ``Authorization`` header; raise for a bad token (401) or a user without it (403).
    The answer is cached per token and permission (``API_TOKEN_CACHE_SECONDS``)."""
    header = request.headers.get("Authorization")
    if not header:
        return False
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization must be 'Bearer <token>'.")
    if text_problem(token):
        raise Unauthenticated("The API token is unknown or revoked.")
    digest = hashlib.sha256(f"{permission}\0{token}".encode()).hexdigest()
    now = time.monotonic()
    if _GOOD_TOKENS.get(digest, 0.0) > now:
        return True
    if not BearerTokenAuth().authenticate(request, token):
        raise Unauthenticated("The API token is unknown or revoked.")
    if not request.user.has_perm(permission):
        raise NotAllowed(f"The token's user lacks the {permission} permission.")
    seconds = conf.get("API_TOKEN_CACHE_SECONDS")
    if seconds:
        if len(_GOOD_TOKENS) > 1000:
            _GOOD_TOKENS.clear()
        _GOOD_TOKENS[digest] = now + seconds
    return True


def resolve_caller(request: HttpRequest, visitor_token: str | None) -> Caller:
    """Decide who calls: a server token, else the browser's signed visitor id.

    A visitor id given in the body must verify (forged ids are refused, not ignored); a
    browser without one falls back to its cookie, and without either is refused. A
    browser is refused too while the site requires consent it has not given.
    """
    visitor = None
    if visitor_token is not None:
        visitor = VisitorId.from_token(visitor_token)
    if server_token(request):
        return Caller(is_server=True, visitor=visitor)
    refuse_without_consent(request)
    if visitor is None:
        cookie = request.COOKIES.get(conf.get("VISITOR_COOKIE_NAME"))
        if not cookie:
            raise Unauthenticated(
                "No visitor id: send the one from GET /journeys/api/visitor, or a server token."
            )
        visitor = VisitorId.from_token(cookie)
    return Caller(is_server=False, visitor=visitor)


CONSENT_REQUIRED = (
    "Tracking needs this visitor's consent: nothing was stored. Record it with "
    "POST /journeys/api/consent (journeys.consent.grant())."
)


def refuse_without_consent(request: HttpRequest) -> None:
    """Raise 403 for a browser whose visitor has not consented, when the site requires it
    (``tracking.consent``)."""
    if not consent.allowed(request):
        raise NotAllowed(CONSENT_REQUIRED)


def _own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def origin_allowed(request: HttpRequest, origin: str) -> bool:
    """An allowed origin, the site's own, or an opaque one the browser says is same-origin.

    ``Origin: null`` (sandboxed frames, ``file:`` and ``data:`` pages) names no site, so it
    is never taken for an allowed one; only ``Sec-Fetch-Site: same-origin`` vouches for it.
    """
    if origin == "null":
        return request.headers.get("Sec-Fetch-Site") == "same-origin"
    if origin in conf.get("CORS_ALLOWED_ORIGINS"):
        return True
    try:
        return origin == _own_origin(request)
    except Exception:  # DisallowedHost and friends: treat as foreign
        return False


def cross_origin(origin: str | None) -> bool:
    """Is ``origin`` another site's origin whose CORS headers may echo it back? Not
    ``null``, nor a value that is no origin at all (unparsable, control characters)."""
    if not origin or origin == "null" or text_problem(origin) or not origin.isprintable():
        return False
    try:
        return bool(urlsplit(origin).netloc)
    except ValueError:  # "http://[" and friends
        return False


def guard(view):
    """Wrap an API view: body size limit, CORS for allowed origins, preflight answers,
    and every error as ``application/problem+json`` (500 included, see ``errors``).

    Browsers on origins not listed in ``CORS_ALLOWED_ORIGINS`` (nor the site's own) get
    403 on every request, so another site cannot post events in a visitor's name.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = guarded(request, *args, **kwargs)
        except Http404 as exc:  # raised outside ninja's handlers (its root view, say)
            return problem_response(status=404, detail=str(exc) or "Not found.")
        except Exception as exc:
            return server_error(request, exc)
        return as_problem(request, response)

    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        batch = request.path.endswith("/batch")
        limit = conf.get("MAX_BATCH_BODY_BYTES" if batch else "MAX_BODY_BYTES")
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            return problem_response(status=400, detail="Content-Length is not a number.")
        if length > limit:
            return problem_response(
                status=413, detail=f"Request body is larger than {limit} bytes."
            )
        origin = request.headers.get("Origin")
        if (
            origin
            and not origin_allowed(request, origin)
            and "Authorization" not in request.headers
        ):
            return problem_response(status=403, detail=f"Origin {origin!a} is not allowed.")
        cross = cross_origin(origin)
        if request.method == "OPTIONS" and cross:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = (
                "Content-Type, Authorization, Idempotency-Key"
            )
            response["Access-Control-Max-Age"] = "600"
        else:
            try:
                too_big = request.method == "POST" and len(request.body) > limit
            except RequestDataTooBig:
                too_big = True
            if too_big:
                return problem_response(
                    status=413, detail=f"Request body is larger than {limit} bytes."
                )
            response = view(request, *args, **kwargs)
        if cross:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
        response["Vary"] = "Origin, Cookie"
        return response

    return wrapper


def remember_visitor(request: HttpRequest, visitor: VisitorId, response: HttpResponse) -> None:
    """Set the visitor cookie on an API response (first-party on the site's own origin)."""
    visitors.remember(request, visitor)
    visitors.set_cookie(request, response)
