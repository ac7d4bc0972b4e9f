"""Public views of sent emails: open pixel, signed click redirect, unsubscribe.

Every view starts from a signed token (``emails.links``); a forged or altered token is a
404. The click target is looked up from the message's compiled email, never read from the
URL, so these views cannot be used as an open redirect.

Following a tracked link is the proof a browser acts for the message's contact (the link
was mailed to that contact), so the click ties the browser to the contact: its visitor
cookie is set on the redirect. The open pixel (loaded by mail clients and proxies) and
the unsubscribe page (someone leaving should not be tracked for it) tie nothing.
"""

from __future__ import annotations

import base64
import logging

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ..emails import links
from ..emails.render import compiled_for, link_target
from ..events import record_event
from ..models import Contact, EmailStatus, EventSource, Message
from . import visitor as visitors

logger = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _message(token: str, *, index: int | None = None) -> tuple[Message, int]:
    found = links.unsign(token)
    if found is None or (index is not None and found[1] != index):
        raise Http404
    message = Message.objects.select_related("contact", "email_page").filter(uuid=found[0]).first()
    if message is None:
        raise Http404
    return message, found[1]


def _properties(message: Message, **extra) -> dict:
    return {"email_page_id": message.email_page_id, "message_id": message.message_id, **extra}


@never_cache
@require_GET
def email_open(request: HttpRequest, token: str) -> HttpResponse:
    """A 1×1 GIF; records ``email_opened`` once per message."""
    message, _ = _message(token, index=links.OPEN)
    record_event(
        "email_opened",
        contact=message.contact_id,
        properties=_properties(message),
        source=EventSource.EMAIL,
        idempotency_key=f"email_opened:{message.uuid.hex}",
    )
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    """Redirect to the link's target; records ``email_clicked`` once per message and link
    and ties the browser to the message's contact."""
    message, index = _message(token)
    if index >= links.MAX_LINKS or message.email_page is None or message.revision_id is None:
        raise Http404
    compiled = compiled_for(
        message.email_page, tuple(message.variant), revision_id=message.revision_id
    )
    target = link_target(compiled, index, message.contact, message.context)
    if not target or not target.startswith(("http://", "https://")):
        raise Http404
    record_event(
        "email_clicked",
        contact=message.contact_id,
        properties=_properties(message, url=target),
        source=EventSource.EMAIL,
        idempotency_key=f"email_clicked:{message.uuid.hex}:{index}",
    )
    response = HttpResponseRedirect(target)
    try:
        visitors.tie(request, message.contact)
        visitors.set_cookie(request, response)
    except Exception:
        logger.exception("wagtail-journeys could not tie a clicking browser to its contact")
    return response


def unsubscribe_contact(message: Message) -> bool:
    """Unsubscribe the message's contact; record ``unsubscribed`` once. True if changed."""
    with transaction.atomic():
        changed = (
            Contact.objects.filter(pk=message.contact_id)
            .exclude(email_status=EmailStatus.UNSUBSCRIBED)
            .update(email_status=EmailStatus.UNSUBSCRIBED)
        )
        if changed:
            record_event(
                "unsubscribed",
                contact=message.contact_id,
                properties=_properties(message),
                source=EventSource.EMAIL,
                idempotency_key=f"unsubscribed:{message.uuid.hex}",
            )
    return bool(changed)


@csrf_exempt  # RFC 8058 one-click POSTs come from mail providers, without a CSRF token.
@never_cache
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirmation and preference page. POST: unsubscribe at once (one click);
    ``resubscribe`` in the form body subscribes again from the preference page."""
    message, _ = _message(token, index=links.UNSUBSCRIBE)
    contact = message.contact
    done = False
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            Contact.objects.filter(pk=contact.pk, email_status=EmailStatus.UNSUBSCRIBED).update(
                email_status=EmailStatus.SUBSCRIBED
            )
        else:
            unsubscribe_contact(message)
            done = True
        contact.refresh_from_db(fields=["email_status"])
    return render(
        request,
        "wagtail_journeys/emails/unsubscribe.html",
        {
            "contact": contact,
            "token": token,
            "done": done,
            "subscribed": contact.email_status == EmailStatus.SUBSCRIBED,
        },
    )
