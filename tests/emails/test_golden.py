"""Golden files of the demo emails as a known contact receives them.

Regenerate after an intended change of the templates with ``JOURNEYS_UPDATE_GOLDEN=1``
and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from wagtail_journeys.emails import links
from wagtail_journeys.emails.render import compiled_for, fill, link_target
from wagtail_journeys.models import Contact, EmailPage, Segment

GOLDEN = Path(__file__).parent / "golden"
SLUGS = [
    "welcome",
    "complementary-product",
    "summer-selection",
    "birthday",
    "abandoned-cart",
    "win-back",
    "white-paper-follow-up",
]
MESSAGE = uuid.UUID("00000000-0000-4000-8000-000000000001")
CONTACT = Contact(first_name="Chloé", last_name="Martin", email="chloe@example.com", civility="mrs")
CONTEXT = {"promo_code": "WELCOME-7Q2", "cart_url": "https://shop.example/cart/42"}


def check(path: Path, actual: str) -> None:
    if os.environ.get("JOURNEYS_UPDATE_GOLDEN") or not path.exists():
        path.write_text(actual)
    assert actual == path.read_text(), f"{path.name} changed (JOURNEYS_UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("slug", SLUGS)
def test_demo_email_matches_golden_file(bookshop_emails, slug, monkeypatch, settings):
    settings.SECRET_KEY = "golden-files"
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: dt.date(2026, 7, 14))
    page = EmailPage.objects.get(slug=slug)
    variant = (Segment.objects.get(slug="mrs").pk,)
    compiled = compiled_for(page, variant)
    rendered = fill(compiled, CONTACT, context=CONTEXT, message_uuid=MESSAGE)

    tree = lxml_html.document_fromstring(rendered.html)  # well-formed enough for lxml
    anchors = list(tree.iter("a"))
    assert anchors
    for anchor in anchors:
        parts = urlsplit(anchor.get("href"))
        assert parts.netloc == "localhost:8000"
        kind, token = re.fullmatch(r"/journeys/([cu])/(.+)", parts.path).groups()
        assert links.unsign(token)[0] == MESSAGE
    targets = [link_target(compiled, i, CONTACT, CONTEXT) for i in range(len(compiled.links))]
    assert all(t.startswith(("http://", "https://")) for t in targets)

    check(GOLDEN / f"{slug}.html", rendered.html)
    check(
        GOLDEN / f"{slug}.txt",
        f"Subject: {rendered.subject}\nPreheader: {rendered.preheader}\n\n{rendered.text}",
    )
    check(GOLDEN / f"{slug}.links", "\n".join(targets) + "\n")


BRAND = {
    "primary_color": "#7c2d12",
    "button_text_color": "#fefce8",
    "text_color": "#1c1917",
    "heading_color": "#431407",
    "accent_color": "#ecfccb",
    "background_color": "#fafaf9",
    "content_background_color": "#fffbeb",
    "font_family": "'Source Sans 3', Verdana, sans-serif",
    "heading_font_family": "'Playfair Display', Georgia, 'Times New Roman', serif",
    "footer_text": "The Bookshop & Co — since 1912",
    "postal_address": "12 rue des Livres\n75005 Paris",
}


def test_brand_settings_match_golden_file(bookshop_emails, monkeypatch, settings):
    """A brand of its own (fonts with spaces, colours, footer) goes into the email as
    CSS: the heading font is quoted, not HTML-escaped, so headings use it."""
    from wagtail.models import Site

    from wagtail_journeys.emails.render import forget_compiled
    from wagtail_journeys.models import BrandSettings

    settings.SECRET_KEY = "golden-files"
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: dt.date(2026, 7, 14))
    brand = BrandSettings.for_site(Site.objects.get(is_default_site=True))
    for name, value in BRAND.items():
        setattr(brand, name, value)
    brand.full_clean()
    brand.save()
    forget_compiled()
    page = EmailPage.objects.get(slug="welcome")
    compiled = compiled_for(page, (Segment.objects.get(slug="mrs").pk,))
    rendered = fill(compiled, CONTACT, context=CONTEXT, message_uuid=MESSAGE)

    assert "&#x27;" not in rendered.html and "&amp;#x27;" not in rendered.html
    heading_css = "'Playfair Display', Georgia, 'Times New Roman', serif"
    assert f"h1, h2, h3 {{ font-family: {heading_css}; }}" in rendered.html
    tree = lxml_html.document_fromstring(rendered.html)
    heading = tree.xpath("//h1|//h2")[0]
    assert f"font-family:{heading_css}" in heading.get("style").replace('"', "'")  # inlined
    assert "font-family:'Source Sans 3', Verdana, sans-serif" in rendered.html
    for colour in ("#7c2d12", "#fefce8", "#431407", "#fafaf9", "#fffbeb"):
        assert colour in rendered.html
    assert "The Bookshop &amp; Co — since 1912" in rendered.html
    check(GOLDEN / "welcome-brand.html", rendered.html)


@pytest.mark.parametrize(
    "stack, css",
    [
        ("Georgia, 'Times New Roman', serif", "Georgia, 'Times New Roman', serif"),
        ('"Playfair Display", SERIF', "'Playfair Display', serif"),
        ("Arial; } body { background: url(x)", "sans-serif"),
        ("Arial, </style><script>", "Arial"),
        ("", "sans-serif"),
    ],
)
def test_font_stacks_become_css_never_markup(stack, css):
    from wagtail_journeys.emails.brand import css_font_stack

    assert css_font_stack(stack) == css
