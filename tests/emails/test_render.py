"""Compile once, personalise many: what a contact receives, escaped and tracked."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from tests.emails.factories import button, make_contact, make_email, text
from wagtail_journeys.emails import links, render_for
from wagtail_journeys.emails.compiler import compile_source
from wagtail_journeys.emails.render import compiled_for
from wagtail_journeys.exceptions import EmailNotReady

XSS = "<script>alert(1)</script>"


def hrefs(document: str) -> list[str]:
    return [a.get("href") for a in lxml_html.document_fromstring(document).iter("a")]


@pytest.fixture
def email(email_site):
    return make_email(
        [
            {"type": "heading", "value": {"text": "Hi {{ contact.first_name }}", "level": "h1"}},
            text("<p><a href='https://shop.example/p?e={{ contact.email|urlencode }}'>it</a></p>"),
            button("Go", "https://shop.example/go"),
        ],
        subject="For {{ contact.first_name }}",
        preheader="Dear {{ contact.last_name }}",
    )


def test_contact_values_are_escaped_in_html_and_plain_in_text(email):
    contact = make_contact(first_name=XSS, last_name='"quoted"')
    rendered = render_for(email, contact)
    assert rendered.subject == f"For {XSS}"
    assert rendered.preheader == 'Dear "quoted"'
    assert XSS not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert f"Hi {XSS}" in rendered.text
    tree = lxml_html.document_fromstring(rendered.html)
    assert not tree.xpath("//script")


def test_every_link_is_tracked_and_signed(email):
    contact = make_contact(email="a+b@example.com")
    rendered = render_for(email, contact)
    found = hrefs(rendered.html)
    assert len(found) >= 4  # logo/site name, text link, button, unsubscribe, preferences
    for href in found:
        path = urlsplit(href).path
        assert re.fullmatch(r"/journeys/[cu]/[A-Za-z0-9_-]{39}", path), href
        assert links.unsign(path.rsplit("/", 1)[1]) is not None
    assert "shop.example" not in rendered.html
    assert "/journeys/o/" in rendered.html  # the open pixel


def test_untracked_render_fills_merge_tags_inside_hrefs(email):
    rendered = render_for(email, make_contact(email="a+b@example.com"), tracked=False)
    assert "https://shop.example/p?e=a%2Bb%40example.com" in hrefs(rendered.html)


def test_compiled_once_per_revision_then_new_content_after_publish(email):
    first = compiled_for(email)
    assert compiled_for(email) is first
    email.subject = "Changed {{ contact.first_name }}"
    email.save_revision().publish()
    email.refresh_from_db()
    assert render_for(email, make_contact(first_name="Bo")).subject == "Changed Bo"


def test_mjml_errors_are_raised_not_swallowed():
    with pytest.raises(EmailNotReady, match="MJML error"):
        compile_source("s", "", "<mjml><mj-body><mj-section>")


def test_html_is_a_full_document_without_web_fonts(email):
    rendered = render_for(email, make_contact())
    assert rendered.html.lower().startswith("<!doctype html>")
    assert "fonts.googleapis.com" not in rendered.html
    assert lxml_html.document_fromstring(rendered.html).find("body") is not None


def test_untracked_links_never_carry_script_urls(email_site):
    page = make_email([button("Go", "{{ contact.attributes.site }}")])
    contact = make_contact(attributes={"site": "javascript:alert(1)"})
    assert "javascript:" not in render_for(page, contact, tracked=False).html
