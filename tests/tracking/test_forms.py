"""Wagtail form pages identify whoever submits them."""

from __future__ import annotations

import pytest

from wagtail_journeys.models import Contact, EmailStatus, Event, Visitor
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db


def test_newsletter_signup_identifies_visitor(client, bookshop_pages):
    client.get("/books/the-shining/")
    visitor = VisitorId.from_token(client.cookies["journeys_vid"].value)
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "Zoe@Example.com"})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name) == ("zoe@example.com", "Zoé")
    assert Visitor.objects.get(pk=visitor.uuid).contact == contact
    # the earlier anonymous page view moved to the contact
    assert Event.objects.get(name="page_view").contact == contact
    submitted = Event.objects.get(name="form_submitted")
    assert submitted.contact == contact
    assert submitted.properties["form"] == "newsletter"
    assert (
        submitted.properties["page_id"] == bookshop_pages.get_children().get(slug="newsletter").pk
    )
    # the cookie now carries the contact: the next page view is attributed at once
    assert VisitorId.from_token(response.cookies["journeys_vid"].value).contact_id == contact.pk
    client.get("/books/it/")
    assert Event.objects.filter(name="page_view", contact=contact).count() == 2


def test_resubmission_does_not_resubscribe(client, bookshop_pages):
    Contact.objects.create(email="zoe@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    client.post("/white-paper/", {"name": "Zoé", "email": "zoe@example.com", "company": "ACME"})
    assert Contact.objects.get().email_status == EmailStatus.UNSUBSCRIBED
    assert Event.objects.filter(name="form_submitted").count() == 1


def test_invalid_form_records_nothing(client, bookshop_pages):
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "not an email"})
    assert response.status_code == 200  # the form re-rendered with its error
    assert Contact.objects.count() == 0
    assert Event.objects.filter(name="form_submitted").count() == 0


def test_contact_data_is_escaped_on_the_landing_page(client, bookshop_pages):
    response = client.post(
        "/newsletter/", {"first_name": "<script>alert(1)</script>", "email": "x@example.com"}
    )
    assert b"<script>alert(1)</script>" not in response.content
    assert Contact.objects.get().first_name == "<script>alert(1)</script>"
