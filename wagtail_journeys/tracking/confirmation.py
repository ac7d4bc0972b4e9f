"""The confirmation link of double opt-in: ``/journeys/confirm/<token>``.

GET shows a page with a button and changes nothing: mail providers' link scanners and
antivirus proxies fetch every link of a mail, and a GET that confirmed would let them
subscribe an address nobody confirmed. The person's click POSTs the form, which confirms
(``confirmation.confirm``) and ties that browser to the contact: it has shown it reads
the contact's mail. A forged or altered link is a 404 page, an expired one or one for
an address changed since a 410 page; never an error of ours.

The page is ``wagtail_journeys/confirm.html``: a site overrides it with its own template
of that name (its blocks ``title`` and ``content``, or a whole page of its own).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import confirmation
from ..emails.languages import language_of
from ..models import EmailStatus
from . import visitor as visitors

logger = logging.getLogger(__name__)

TEMPLATE = "wagtail_journeys/confirm.html"
STATUS = {
    confirmation.InvalidLink.FORGED: 404,
    confirmation.InvalidLink.EXPIRED: 410,
    confirmation.InvalidLink.STALE: 410,
}


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_subscription(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the page asking to confirm. POST: confirm, tie the browser, say so."""
    try:
        contact = confirmation.contact_of(token)
    except confirmation.InvalidLink as exc:
        return render(request, TEMPLATE, {"invalid": exc.reason}, status=STATUS[exc.reason])
    state = "ask"
    if request.method == "POST":
        if confirmation.confirm(contact, request=request):
            state = "confirmed"
        elif contact.email_status == EmailStatus.SUBSCRIBED:
            state = "already"
        else:
            state = "closed"
    elif contact.email_status == EmailStatus.SUBSCRIBED:
        state = "already"
    elif contact.email_status != EmailStatus.PENDING:
        state = "closed"  # unsubscribed, bounced or complained: a link does not undo it
    with translation.override(language_of(contact)):  # the language of the contact's mail
        response = render(request, TEMPLATE, {"contact": contact, "state": state})
    if request.method == "POST" and state in ("confirmed", "already"):
        try:
            visitors.tie(request, contact)
            visitors.set_cookie(request, response)
        except Exception:
            logger.exception("wagtail-journeys could not tie a confirming browser to its contact")
    return response
