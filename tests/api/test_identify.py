"""POST /journeys/api/identify: server tokens only; anonymous history moves to the contact."""

from __future__ import annotations

import json

import pytest

from wagtail_journeys.models import Contact, EmailStatus, Event, Visitor
from wagtail_journeys.tracking.visitor import VisitorId

URL = "/journeys/api/identify"
pytestmark = pytest.mark.django_db


def identify(client, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_merges_visitor_history_into_contact(client, server_token, bookshop_pages):
    client.get("/books/the-shining/")
    client.get("/books/it/")
    visitor = VisitorId.from_token(client.cookies["journeys_vid"].value)
    assert Event.objects.filter(visitor_id=visitor.uuid, contact=None).count() == 2

    response = identify(
        client,
        {
            "email": "Reader@Example.com",
            "visitor": visitor.token,
            "first_name": "Ann",
            "civility": "mrs",
            "birth_date": "1990-02-28",
            "timezone": "Asia/Tokyo",
            "attributes": {"plan": "gold"},
            "tags": ["horror"],
        },
        token=server_token,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["contact_id"])
    assert (contact.email, contact.first_name, contact.timezone) == (
        "reader@example.com",
        "Ann",
        "Asia/Tokyo",
    )
    assert contact.attributes == {"plan": "gold"}
    assert list(contact.tags.names()) == ["horror"]
    assert body["moved_events"] == 2
    assert Event.objects.filter(contact=contact, name="page_view").count() == 2
    assert Visitor.objects.get(pk=visitor.uuid).contact == contact
    # the returned visitor id now carries the contact, so later page views are attributed
    assert VisitorId.from_token(body["visitor"]).contact_id == contact.pk


def test_upsert_merges_attributes_and_keeps_consent(client, server_token):
    contact = Contact.objects.create(
        email="a@example.com",
        email_status=EmailStatus.UNSUBSCRIBED,
        attributes={"a": 1, "b": 2},
    )
    identify(client, {"email": "a@example.com", "attributes": {"b": 3}}, server_token)
    contact.refresh_from_db()
    assert contact.attributes == {"a": 1, "b": 3}
    assert contact.email_status == EmailStatus.UNSUBSCRIBED


def test_explicit_consent_change_is_applied(client, server_token):
    Contact.objects.create(email="a@example.com")
    identify(client, {"email": "a@example.com", "email_status": "unsubscribed"}, server_token)
    assert Contact.objects.get().email_status == EmailStatus.UNSUBSCRIBED


def test_browser_cannot_identify(client):
    client.get("/journeys/api/visitor")
    response = identify(client, {"email": "stranger@example.com"})
    assert response.status_code == 403
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nope"},
        {"email": "a@example.com", "timezone": "Mars/Olympus"},
        {"email": "a@example.com", "birth_date": "1990-02-30"},
        {"email": "a@example.com", "civility": "king"},
        {"email": "a@example.com", "attributes": ["not", "an", "object"]},
        {"email": "a@example.com", "tags": "horror"},
        {"email": "a@example.com", "first_name": "x" * 151},
        {"email": "a@example.com", "visitor": "forged:sig"},
        {"email": "a@example.com", "surprise": True},
        {},
    ],
)
def test_bad_input_writes_nothing(client, server_token, body):
    response = identify(client, body, server_token)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/problem+json"
    assert Contact.objects.count() == 0


def test_openapi_document_lists_the_endpoints(client):
    paths = client.get("/journeys/api/openapi.json").json()["paths"]
    assert {"/journeys/api/events", "/journeys/api/identify", "/journeys/api/visitor"} <= set(paths)
