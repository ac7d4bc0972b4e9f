"""Preview modes of ``EmailPage``: one per segment the email refers to, everyone else, a
sample contact (``preview_contact`` field or ``?contact=<email>``) and plain text.

The preview shows the subject and preheader above the body; MJML and merge-tag errors are
shown to the editor instead of the email.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .. import conf
from ..exceptions import EmailNotReady
from .compiler import compile_email
from .render import fill, segment_ids, variant_of

SAMPLE, TEXT = "contact", "text"


def preview_modes(page) -> list[tuple[str, str]]:
    modes = [("", _("Everyone (no segment)"))]
    ids = segment_ids(page)
    if ids:
        from ..models import Segment

        names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
        modes += [(f"segment-{pk}", _("Segment: %s") % names.get(pk, pk)) for pk in ids]
    modes += [(SAMPLE, _("A sample contact")), (TEXT, _("Plain text"))]
    return modes


def sample_contact(page, request: HttpRequest):
    """The contact named by ``?contact=`` or the page's ``preview_contact``, else a
    made-up one (never saved)."""
    from ..models import Contact

    email = (request.GET.get("contact") or page.preview_contact or "").strip().lower()
    contact = Contact.objects.filter(email=email).first() if email else None
    return contact or Contact(first_name="Alex", last_name="Sample", email="alex@example.com")


def sample_context() -> dict[str, str]:
    """What the caller's context would hold (a voucher code…), shown as ``[name]``."""
    return {name: f"[{name}]" for name in conf.get("EMAIL_CONTEXT_VARIABLES")}


def serve_preview(page, request: HttpRequest, mode_name: str):
    contact = sample_contact(page, request)
    if mode_name.startswith("segment-") and mode_name[8:].isdigit():
        variant: tuple[int, ...] = (int(mode_name[8:]),)
    elif mode_name in (SAMPLE, TEXT):
        variant = variant_of(page, contact)
    else:
        variant = ()
    context = {"page": page, "mode": mode_name, "contact": contact, "plain": mode_name == TEXT}
    try:
        # Previews show unsaved edits: compile the object as given, never from the cache.
        rendered = fill(
            compile_email(page, variant), contact, context=sample_context(), tracked=False
        )
    except EmailNotReady as exc:
        context["error"] = str(exc)
    else:
        context["email"] = rendered
    return TemplateResponse(request, "wagtail_journeys/emails/preview.html", context)
