"""Preview modes of ``EmailPage``: one per segment the email refers to, everyone else, a
sample contact (``preview_contact`` field or ``?contact=<email>``) and plain text.

The preview shows the subject and preheader above the body; MJML and merge-tag errors are
shown to the editor instead of the email. A real contact is shown only to users who may
see contacts (``wagtail_journeys.permissions``); anyone else gets the made-up sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Sample:
    """Who a preview or a test is personalised for, and why it is not the contact asked
    for (``note``, empty when it is, or when none was asked for)."""

    contact: Any
    note: str = ""


def made_up_contact():
    """The sample contact shown when no real one may be or can be (never saved)."""
    from ..models import Contact

    return Contact(first_name="Alex", last_name="Sample", email="alex@example.com")


def choose_sample(email: str | None, *, allowed: bool) -> Sample:
    """The contact with the address ``email`` when ``allowed`` (the caller's right to use
    real contacts' data) and it exists, else the made-up one.

    Without the right, the answer is the same whether the address exists or not: no
    lookup is made, and the note says only that real contacts are not shown.
    """
    from ..models import Contact

    email = (email or "").strip().lower()
    if not email:
        return Sample(made_up_contact())
    if not allowed:
        return Sample(
            made_up_contact(),
            _("A made-up sample contact: you may not see real contacts' data."),
        )
    contact = Contact.objects.filter(email=email).first()
    if contact is None:
        return Sample(
            made_up_contact(),
            _("No contact has the address %(email)s: a made-up sample contact instead.")
            % {"email": email},
        )
    return Sample(contact)


def preview_sample(page, request: HttpRequest) -> Sample:
    """The sample of a preview request: ``?contact=`` or the page's ``preview_contact``,
    real only for a user who may see contacts."""
    from ..permissions import can_see_contacts

    email = request.GET.get("contact") or page.preview_contact
    return choose_sample(email, allowed=can_see_contacts(getattr(request, "user", None)))


def sample_contact(page, request: HttpRequest):
    """The contact a preview shows (see ``preview_sample``): a real one only for a user
    who may see contacts, else a made-up one (never saved)."""
    return preview_sample(page, request).contact


def sample_context() -> dict[str, str]:
    """What the caller's context would hold (a voucher code…), shown as ``[name]``."""
    return {name: f"[{name}]" for name in conf.get("EMAIL_CONTEXT_VARIABLES")}


def serve_preview(page, request: HttpRequest, mode_name: str):
    sample = preview_sample(page, request)
    contact = sample.contact
    if mode_name.startswith("segment-") and mode_name[8:].isdigit():
        variant: tuple[int, ...] = (int(mode_name[8:]),)
    elif mode_name in (SAMPLE, TEXT):
        variant = variant_of(page, contact)
    else:
        variant = ()
    context = {"page": page, "mode": mode_name, "contact": contact, "plain": mode_name == TEXT}
    context["sample_note"] = sample.note
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
