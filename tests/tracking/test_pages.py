"""The before_serve_page hook: one INSERT per page view, never a broken page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from tests.factories import ContactFactory
from wagtail_journeys.models import Event, EventSource
from wagtail_journeys.tasks import process_events
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db


def test_page_view_recorded_with_page_details(client, bookshop_pages):
    response = client.get("/books/the-shining/", HTTP_REFERER="https://search.example/?q=king")
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.name == "page_view"
    assert event.source == EventSource.PAGE
    assert event.properties["page_type"] == "shop.bookpage"
    assert event.properties["tags"] == ["horror", "stephen-king"]
    assert event.properties["path"] == "/books/the-shining/"
    assert event.properties["referrer"] == "https://search.example/?q=king"
    cookie = response.cookies["journeys_vid"]
    assert VisitorId.from_token(cookie.value).uuid == event.visitor_id
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_same_visitor_across_views(client, bookshop_pages):
    client.get("/books/the-shining/")
    second = client.get("/books/it/")
    assert "journeys_vid" not in second.cookies  # not re-sent once set
    assert Event.objects.values("visitor_id").distinct().count() == 1


def test_one_insert_per_view(client, bookshop_pages):
    client.get("/books/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/books/the-shining/")
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert len(writes) == 1 and "wagtail_journeys_event" in writes[0]


def test_retagging_a_page_shows_in_views_once_published(client, bookshop_pages):
    from example_site.shop.models import BookPage

    client.get("/books/it/")
    book = BookPage.objects.get(slug="it")
    book.tags.add("clowns")
    book.save_revision().publish()
    client.get("/books/it/")
    first, second = Event.objects.order_by("id")
    assert "clowns" not in first.properties["tags"]
    assert "clowns" in second.properties["tags"]


def test_identified_cookie_attributes_view_to_contact(client, bookshop_pages):
    contact = ContactFactory()
    client.cookies["journeys_vid"] = VisitorId(VisitorId.new().uuid, contact.pk).token
    client.get("/books/it/")
    assert Event.objects.get().contact == contact


def test_cookie_of_deleted_contact_still_records_anonymously(client, bookshop_pages):
    contact = ContactFactory()
    client.cookies["journeys_vid"] = VisitorId(VisitorId.new().uuid, contact.pk).token
    contact.delete()
    response = client.get("/books/it/")
    assert response.status_code == 200
    # the activity batch clears the stale contact id and keeps the view
    Event.objects.update(received_at=timezone.now() - dt.timedelta(minutes=1))
    assert process_events() == 1
    event = Event.objects.get()
    assert event.contact_id is None and event.visitor_id is not None


def test_forged_cookie_is_replaced_not_trusted(client, bookshop_pages):
    client.cookies["journeys_vid"] = "deadbeef.1:forged"
    response = client.get("/books/it/")
    assert response.status_code == 200
    fresh = VisitorId.from_token(response.cookies["journeys_vid"].value)
    assert Event.objects.get().visitor_id == fresh.uuid


@pytest.mark.parametrize(
    "agent",
    ["Googlebot/2.1 (+http://www.google.com/bot.html)", "Mozilla/5.0 (compatible; bingbot/2.0)"],
)
def test_robots_are_not_tracked(client, bookshop_pages, agent):
    assert client.get("/books/it/", HTTP_USER_AGENT=agent).status_code == 200
    assert Event.objects.count() == 0


def test_head_requests_are_not_views(client, bookshop_pages):
    client.head("/books/it/")
    assert Event.objects.count() == 0


@override_settings(WAGTAIL_JOURNEYS={"TRACK_PAGE_VIEWS": False})
def test_tracking_can_be_switched_off(client, bookshop_pages):
    client.get("/books/it/")
    assert Event.objects.count() == 0


def test_a_failure_to_record_never_breaks_the_page(client, bookshop_pages, monkeypatch, caplog):
    from wagtail_journeys.tracking import pages

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(pages, "record_event", broken)
    response = client.get("/books/it/")
    assert response.status_code == 200
    assert "could not record a page view" in caplog.text


def test_tracking_snippet_is_the_same_for_everyone(client, bookshop_pages):
    """No visitor id in the HTML: a cached page must not hand one visitor's id to others."""
    first = client.get("/books/it/")
    token = first.cookies["journeys_vid"].value
    html = first.content.decode()
    assert token not in html and "data-visitor" not in html
    assert 'data-endpoint="/journeys/api"' in html
    assert "/static/wagtail_journeys/js/tracking.js" in html
    client.cookies.clear()
    second = client.get("/books/it/")
    assert second.cookies["journeys_vid"].value != token
    snippet = [line for line in html.splitlines() if "tracking.js" in line]
    assert snippet == [
        line for line in second.content.decode().splitlines() if "tracking.js" in line
    ]
