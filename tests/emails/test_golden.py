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
