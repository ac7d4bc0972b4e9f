"""Public views of sent emails: open pixel and signed click redirect (the unsubscribe
and preference page is ``tracking.preferences``).

Every view starts from a signed token (``emails.links``); a forged or altered token is a
404. The click target is looked up from the message's compiled email, never read from the
URL, so these views cannot be used as an open redirect.

Following a tracked link is the proof a browser acts for the message's contact (the link
was mailed to that contact), so a person's click ties the browser to the contact: its
visitor cookie is set on the redirect (a link scanner's is not: ``tracking.machines``).
The open pixel (loaded by mail clients and proxies) and the unsubscribe page (someone
leaving should not be tracked for it) tie nothing. Opens and clicks are recorded by
``tracking.engagement``.
"""

from __future__ import annotations

import base64
import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..emails import links
from ..emails.render import compiled_for, link_target
from ..models import Message
from . import engagement, machines
from . import visitor as visitors

logger = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


#: What the open pixel reads of its message (no join: the pixel stays one small SELECT).
OPEN_FIELDS = (
    "pk",
    "uuid",
    "contact_id",
    "email_page_id",
    "message_id",
    "scenario_id",
    "step_id",
    "variant",
)


def _found(token: str, index: int | None = None) -> tuple:
    found = links.unsign(token)
    if found is None or (index is not None and found[1] != index):
        raise Http404
    return found


def _message(token: str, *, index: int | None = None) -> tuple[Message, int]:
    found = _found(token, index)
    message = Message.objects.select_related("contact", "email_page").filter(uuid=found[0]).first()
    if message is None:
        raise Http404
    return message, found[1]


def _client(request: HttpRequest) -> tuple[str, str, str | None]:
    """The request facts ``tracking.machines`` reads: method, user agent, address
    (``REMOTE_ADDR``: behind a reverse proxy, have it set the client's)."""
    return (
        request.method or "GET",
        request.headers.get("User-Agent", ""),
        request.META.get("REMOTE_ADDR"),
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def email_open(request: HttpRequest, token: str) -> HttpResponse:
    """A 1×1 GIF; records ``email_opened`` (every open, at most one per message and
    minute), a machine's flagged (``tracking.machines``)."""
    found = _found(token, links.OPEN)
    message = Message.objects.filter(uuid=found[0]).only(*OPEN_FIELDS).first()
    if message is None:
        raise Http404
    method, agent, ip = _client(request)
    verdict = machines.classify_open(method, agent, ip, machines.from_settings())
    engagement.record_open(message, verdict, timezone.now())
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "HEAD"])
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    """Redirect to the link's target; records ``email_clicked`` (every click, with the
    link's index and target; a machine's flagged) and, for a person's click, ties the
    browser to the message's contact (only with the visitor's consent where the site
    requires it: ``visitor.tie`` asks ``consent.allowed``)."""
    message, index = _message(token)
    if index >= links.MAX_LINKS or message.email_page is None or message.revision_id is None:
        raise Http404
    compiled = compiled_for(
        message.email_page, tuple(message.variant), revision_id=message.revision_id
    )
    target = link_target(compiled, index, message.contact, message.context)
    if not target or not target.startswith(("http://", "https://")):
        raise Http404
    now = timezone.now()
    method, agent, _ = _client(request)
    verdict = machines.classify_click(
        method,
        agent,
        now=now,
        sent_at=message.sent_at,
        last_click_at=message.last_click_at,
        rules=machines.from_settings(),
    )
    engagement.record_click(message, index, target, verdict, now)
    response = HttpResponseRedirect(target)
    if verdict.machine:  # a scanner's cookie jar is not the contact's browser
        return response
    try:
        visitors.tie(request, message.contact)
        visitors.set_cookie(request, response)
    except Exception:
        logger.exception("wagtail-journeys could not tie a clicking browser to its contact")
    return response
