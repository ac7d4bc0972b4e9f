"""Factories of emails: real ``EmailPage``s with real revisions under an ``EmailIndexPage``."""

from __future__ import annotations

import itertools

from wagtail.models import Page

from wagtail_journeys.models import Contact, EmailIndexPage, EmailPage

_serial = itertools.count(1)


def email_index() -> EmailIndexPage:
    index = EmailIndexPage.objects.first()
    if index is None:
        parent = Page.objects.filter(depth=2).first() or Page.get_first_root_node()
        index = EmailIndexPage(title="Emails", slug="emails")
        parent.add_child(instance=index)
        index.save_revision().publish()
    return index


def text(value: str) -> dict:
    return {"type": "text", "value": value}


def button(label: str, url: str) -> dict:
    return {"type": "button", "value": {"text": label, "url": url, "page": None}}


def make_email(body: list | None = None, *, publish: bool = True, **fields) -> EmailPage:
    """An email with a revision (published unless ``publish=False``)."""
    n = next(_serial)
    fields.setdefault("title", f"Email {n}")
    fields.setdefault("slug", f"email-{n}")
    fields.setdefault("subject", 'Hello {{ contact.first_name|default("there") }}')
    page = EmailPage(body=body or [text("<p>Hi {{ contact.first_name }}</p>")], **fields)
    email_index().add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
        page.refresh_from_db()
    return page


def make_contact(email: str = "", **fields) -> Contact:
    n = next(_serial)
    fields.setdefault("first_name", "Ada")
    return Contact.objects.create(email=email or f"contact{n}@example.com", **fields)
