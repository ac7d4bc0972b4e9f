"""Preview modes of ``EmailPage``: one per segment the email refers to, everyone else, a
sample contact (``preview_contact`` field or ``?contact=<email>``) and plain text.

The preview shows the subject and preheader above the body; MJML and merge-tag errors are
shown to the editor instead of the email. A real contact is shown only to users who may
see contacts (``wagtail_journeys.permissions``); anyone else gets the made-up sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .. import conf
from ..exceptions import EmailNotReady
from .compiler import compile_email
from .mergetags import BUILTINS, EVENT_PREFIX, Scope
from .render import fill, held_reason, segment_ids, variant_of

SAMPLE, TEXT = "contact", "text"
NO_IMAGES, DARK = "no-images", "dark"
#: Gmail shows the first 102 KB of a message's HTML, then "[Message clipped] View entire
#: message": what follows (the unsubscribe link too) is hidden.
GMAIL_CLIP_BYTES = 102 * 1024
IMG_SRC = re.compile(r"(<img\b[^>]*?)\s(?:src|srcset)=(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
#: What clients that invert light emails (Gmail's and Outlook's apps) roughly do; images
#: are inverted back, as those clients leave them alone.
DARK_STYLE = (
    '<style data-journeys-preview="dark">html{background:#fff;filter:invert(1) '
    "hue-rotate(180deg)}img,[style*=background-image]{filter:invert(1) hue-rotate(180deg)}"
    "</style>"
)


def preview_modes(page) -> list[tuple[str, str]]:
    modes = [("", _("Everyone (no segment)"))]
    ids = segment_ids(page)
    if ids:
        from ..models import Segment

        names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))
        modes += [(f"segment-{pk}", _("Segment: %s") % names.get(pk, pk)) for pk in ids]
    modes += [
        (SAMPLE, _("A sample contact")),
        (NO_IMAGES, _("Images off")),
        (DARK, _("Dark mode (approximation)")),
        (TEXT, _("Plain text")),
    ]
    return modes


def without_images(html: str) -> str:
    """The email as a client that blocks images shows it: each image's alt text in its
    place (the browser draws an ``<img>`` without a source as its alt text)."""
    while True:
        stripped = IMG_SRC.sub(r"\1", html)
        if stripped == html:
            return html
        html = stripped


def in_dark_mode(html: str) -> str:
    """The email as a client that inverts light emails roughly shows it."""
    head = html.find("</head>")
    return html[:head] + DARK_STYLE + html[head:] if head >= 0 else DARK_STYLE + html


def clipped_size(html: str) -> int:
    """The HTML's size in bytes when Gmail would clip it, else 0."""
    size = len(html.encode())
    return size if size > GMAIL_CLIP_BYTES else 0


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


#: Made-up trigger-event properties for previews, by property name.
SAMPLE_EVENT = {
    "amount": "42.50",
    "total": "42.50",
    "currency": "EUR",
    "order_id": "10425",
    "quantity": 2,
    "sku": "BK-0042",
    "product": "The Shining",
    "title": "The Shining",
    "name": "The Shining",
    "author": "Stephen King",
    "category": "thriller",
    "genre": "thriller",
    "form": "newsletter",
}
SAMPLE_CODE = "7F3A9C21D0"  # ten hex digits, as an Update-contact step draws them
#: Made-up items for an "Items from the trigger event" block (a cart's).
SAMPLE_ITEMS = [
    {"name": "The Shining", "price": "9.90", "quantity": 1, "url": "https://www.example.com/"},
    {"name": "Misery", "price": "12.50", "quantity": 2, "url": "https://www.example.com/"},
]


def _names_used(page) -> list[str]:
    """The merge-tag names the email's subject, preheader and body use, in order."""
    import json

    from .mergetags import TAG

    source = " ".join(
        [page.subject or "", page.preheader or "", json.dumps(list(page.body.raw_data))]
    )
    names = [(match[1] or "").split("|")[0].strip() for match in TAG.finditer(source)]
    return list(dict.fromkeys(name for name in names if name))


def _scenarios_sending(page) -> list:
    """The scenarios with a step that sends this email (their trees, for their config)."""
    from ..models import ScenarioPage, SendEmailStep

    if page is None or page.pk is None:
        return []
    paths = list(SendEmailStep.objects.filter(email_id=page.pk).values_list("path", flat=True))
    if not paths:
        return []
    return [
        s
        for s in ScenarioPage.objects.only("pk", "path", "trigger_filters")
        if any(path.startswith(s.path) for path in paths)
    ]


def sample_context(page=None) -> dict:
    """Realistic stand-ins for a scenario's values, for previews and test sends (the
    engine fills the real ones, see ``engine.values``): a promo code shaped like those
    the scenarios sending this email issue (their Update-contact step's prefix), the
    ``event.<property>`` values the email names (the trigger's own filter value when it
    has one, else a made-up one), and the ``EMAIL_CONTEXT_VARIABLES``. Never a real
    contact's data."""
    from ..models import UpdateContactStep
    from .links import base_url

    scenarios = _scenarios_sending(page)
    prefix = "PROMO"
    for scenario in scenarios:
        found = (
            UpdateContactStep.objects.filter(path__startswith=scenario.path)
            .exclude(promo_code_prefix="")
            .values_list("promo_code_prefix", flat=True)
            .first()
        )
        if found:
            prefix = found
            break
    root = base_url().rstrip("/") or "https://www.example.com"
    values: dict = {
        name: f"{root}/{name[:-4].replace('_', '-')}/" if name.endswith("_url") else name.upper()
        for name in conf.get("EMAIL_CONTEXT_VARIABLES")
    }
    values.pop("voucher_code", None)  # the older name of promo_code
    values["promo_code"] = f"{prefix}-{SAMPLE_CODE}"
    if page is not None:
        filters: dict = {}
        for scenario in scenarios:
            for key, value in (scenario.trigger_filters or {}).items():
                value = value[0] if isinstance(value, list) and value else value
                filters.setdefault(key, value)
        keys = [n[len(EVENT_PREFIX) :] for n in _names_used(page) if n.startswith(EVENT_PREFIX)]
        values["event"] = {
            key: filters.get(key, SAMPLE_EVENT.get(key, key.replace("_", " "))) for key in keys
        }
        for block in _item_blocks(list(page.body.raw_data)):
            values["event"][block.get("list_name") or "items"] = SAMPLE_ITEMS
    return values


def sample_values(page, context: dict) -> list[tuple[str, object]]:
    """``(merge tag name, sample value)`` of the scenario values the email uses, for the
    preview to say which values are samples."""
    scope = Scope(None, context, {})
    return [
        (name, scope.lookup(name))
        for name in _names_used(page)
        if not name.startswith("contact.") and name not in BUILTINS
    ]


def _item_blocks(data) -> list[dict]:
    """The values of the body's "Items from the trigger event" blocks."""
    if isinstance(data, list):
        return [found for value in data for found in _item_blocks(value)]
    if not isinstance(data, dict):
        return []
    if data.get("type") == "trigger_items" and isinstance(data.get("value"), dict):
        return [data["value"]]
    return [found for value in data.values() for found in _item_blocks(value)]


def _texts(data) -> list[str]:
    """Every text in a body's raw data (where editors write merge tags)."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [text for value in data.values() for text in _texts(value)]
    if isinstance(data, list):
        return [text for value in data for text in _texts(value)]
    return []


def empty_tags(page, contact, context: dict) -> list[str]:
    """The ``{{ … }}`` tags of the email that show nothing for this contact (a fallback,
    ``default("there")``, would help), for the preview to warn about. A tag naming a loop's
    item is left out: it is filled per item."""
    import html

    from .mergetags import TAG, MergeTagError, render

    urls = dict.fromkeys(("unsubscribe_url", "preferences_url", "confirm_url", "site_name"), "x")
    scope = Scope(contact, context, urls)
    sources = [page.subject or "", page.preheader or "", *_texts(list(page.body.raw_data))]
    found: list[str] = []
    for source in sources:
        for match in TAG.finditer(html.unescape(source)):
            if match[1] is None:
                continue
            tag = "{{ " + " ".join(match[1].split()) + " }}"
            if tag in found:
                continue
            try:
                shown, _ = render(tag, scope)
            except MergeTagError:
                continue
            if not shown.strip():
                found.append(tag)
    return found


def serve_preview(page, request: HttpRequest, mode_name: str):
    sample = preview_sample(page, request)
    contact = sample.contact
    if mode_name.startswith("segment-") and mode_name[8:].isdigit():
        variant: tuple[int, ...] = (int(mode_name[8:]),)
    elif mode_name in (SAMPLE, TEXT, NO_IMAGES, DARK):
        variant = variant_of(page, contact)
    else:
        variant = ()
    context = {"page": page, "mode": mode_name, "contact": contact, "plain": mode_name == TEXT}
    context["sample_note"] = sample.note
    values = sample_context(page)
    context["samples"], context["held_reason"] = sample_values(page, values), ""
    try:
        # Previews show unsaved edits: compile the object as given, never from the cache.
        rendered = fill(compile_email(page, variant), contact, context=values, tracked=False)
        context["held_reason"] = held_reason(rendered.missing)
        context["empty_tags"] = empty_tags(page, contact, values)
    except EmailNotReady as exc:
        context["error"] = str(exc)
    else:
        context["email"] = rendered
        html = rendered.html
        context["clipped_kb"] = -(-clipped_size(html) // 1024)
        if mode_name == NO_IMAGES:
            html = without_images(html)
        elif mode_name == DARK:
            html = in_dark_mode(html)
        context["body_html"] = html
    return TemplateResponse(request, "wagtail_journeys/emails/preview.html", context)
