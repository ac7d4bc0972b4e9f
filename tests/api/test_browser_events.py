"""Browsers may post only the events ``BROWSER_EVENTS`` names: a scripted beacon cannot
record a purchase that spend segments would count. Servers post anything; the page-view
hook and form posts are not browser API calls and are unaffected."""

from __future__ import annotations

import json

import pytest

from wagtail_journeys import conf
from wagtail_journeys.models import Contact, Event, EventSource
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db
URL = "/journeys/api/events"


def beacon(client, name: str, properties: dict | None = None, *, visitor: str | None = None):
    """What ``journeys.track`` sends: text/plain JSON with the signed visitor id."""
    body = {"name": name, "properties": properties or {}}
    if visitor:
        body["visitor"] = visitor
    return client.post(URL, data=json.dumps(body), content_type="text/plain")


@pytest.mark.parametrize(
    ("name", "properties"),
    [
        ("purchase", {"amount": 10000}),
        ("order.completed", {"total": 10000}),
        ("refund", {}),
        ("form_submitted", {"form": "newsletter"}),
        ("email_clicked", {}),
        ("Page_view", {}),  # names are case-sensitive
    ],
)
def test_a_browser_cannot_post_commerce_or_other_unlisted_events(client, name, properties):
    client.get("/journeys/api/visitor")
    response = beacon(client, name, properties)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "BROWSER_EVENTS" in response.json()["detail"]
    assert not Event.objects.exists()


def test_an_identified_browser_cannot_post_a_purchase_for_its_contact(client):
    contact = Contact.objects.create(email="ann@example.com")
    token = VisitorId(VisitorId.new().uuid, contact.pk).token
    assert beacon(client, "purchase", {"amount": 10000}, visitor=token).status_code == 403
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "name", ["page_view", "cart.updated", "cart_updated", "video.played", "ui.menu_opened"]
)
def test_page_and_ui_interactions_are_allowed_by_default(client, name):
    client.get("/journeys/api/visitor")
    assert beacon(client, name, {"page_id": 1}).status_code == 201
    assert Event.objects.get().source == EventSource.BEACON


def test_a_server_token_may_post_a_purchase(client, server_token):
    response = client.post(
        URL,
        data=json.dumps(
            {"name": "purchase", "email": "a@example.com", "properties": {"amount": 9}}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
    )
    assert response.status_code == 201
    assert Event.objects.get().source == EventSource.API


def test_the_setting_names_exact_events_and_patterns(client, settings):
    settings.WAGTAIL_JOURNEYS = {"BROWSER_EVENTS": ["quiz.*", "newsletter_opened"]}
    client.get("/journeys/api/visitor")
    assert beacon(client, "quiz.answered").status_code == 201
    assert beacon(client, "newsletter_opened").status_code == 201
    assert beacon(client, "page_view").status_code == 403
    assert beacon(client, "quiz").status_code == 403
    assert sorted(Event.objects.values_list("name", flat=True)) == [
        "newsletter_opened",
        "quiz.answered",
    ]


def test_an_empty_list_closes_the_beacon_but_not_page_views_or_forms(
    client, settings, bookshop_pages
):
    settings.WAGTAIL_JOURNEYS = {"BROWSER_EVENTS": []}
    client.get("/books/the-shining/")  # the page hook records the view on the server
    assert beacon(client, "page_view").status_code == 403
    client.post("/newsletter/", {"first_name": "Zoé", "email": "zoe@example.com"})
    assert sorted(Event.objects.values_list("name", "source")) == [
        ("form_submitted", EventSource.FORM),
        ("page_view", EventSource.PAGE),
    ]


@pytest.mark.parametrize("value", ["page_view", ["purchase order"], [1], ["a" * 101], [""]])
def test_a_bad_setting_fails_the_system_check(settings, value):
    settings.WAGTAIL_JOURNEYS = {"BROWSER_EVENTS": value}
    assert any("BROWSER_EVENTS" in error.msg for error in conf.check_settings())


def test_the_default_setting_passes_the_system_check(settings):
    settings.WAGTAIL_JOURNEYS = {}
    assert conf.check_settings() == []
    assert "purchase" not in conf.get("BROWSER_EVENTS")
