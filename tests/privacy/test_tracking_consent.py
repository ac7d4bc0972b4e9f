"""Consent before tracking, door by door: with ``TRACKING_CONSENT_REQUIRED``, an
unconsented visitor gets no cookie and leaves no event or visitor row, whichever way it
comes in (page hook, ``/visitor``, browser ``/events``, form post, email click); once it
consents through ``/consent`` (or a site's own view) it is tracked, and after withdrawing
it is not. Without the setting, tracking is as it always was."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from django.core import mail, signing
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from wagtail_journeys.delivery import send_email
from wagtail_journeys.models import (
    ConsentRecord,
    Contact,
    Event,
    Message,
    Visitor,
)
from wagtail_journeys.tracking import consent
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
CONSENT_API = "/journeys/api/consent"
WORDING = "We record the pages you visit, with a cookie. Accept?"


@pytest.fixture
def client():
    return Client(headers={"User-Agent": BROWSER})


@pytest.fixture
def required(settings):
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "TRACKING_CONSENT_REQUIRED": True}


def post_json(client, path: str, body: dict, **extra):
    return client.post(path, json.dumps(body), content_type="text/plain", **extra)


def beacon(client, token: str | None = None):
    body = {"name": "cart.updated", "properties": {"items": 1}}
    if token:
        body["visitor"] = token
    return post_json(client, "/journeys/api/events", body)


def grant(client, wording: str = WORDING):
    response = post_json(client, CONSENT_API, {"granted": True, "wording": wording})
    assert response.status_code == 200, response.content
    return response


def withdraw(client):
    response = post_json(client, CONSENT_API, {"granted": False})
    assert response.status_code == 200, response.content
    return response


def nothing_stored():
    return not Event.objects.exists() and not Visitor.objects.exists()


# Without the setting: today's behaviour.


def test_without_the_setting_tracking_needs_no_consent(client, bookshop_pages):
    response = client.get("/books/the-shining/")
    assert "journeys_vid" in response.cookies
    assert Event.objects.get().name == "page_view"
    token = client.cookies["journeys_vid"].value
    assert beacon(client, token).status_code == 201
    assert client.get(CONSENT_API).json() == {
        "required": False,
        "status": "unknown",
        "visitor": None,
    }
    assert 'data-consent="required"' not in response.content.decode()


# The unconsented side of every door.


def test_the_page_hook_stores_nothing_and_sets_no_cookie(client, bookshop_pages, required):
    response = client.get("/books/the-shining/")
    assert response.status_code == 200
    assert not response.cookies
    assert nothing_stored()
    # the script is told to wait for consent
    assert 'data-consent="required"' in response.content.decode()


def test_a_visitor_cookie_from_before_is_neither_read_nor_renewed(client, bookshop_pages, required):
    client.cookies["journeys_vid"] = VisitorId.new().token
    response = client.get("/books/the-shining/")
    assert response.status_code == 200
    assert "journeys_vid" not in response.cookies
    assert nothing_stored()


def test_the_visitor_endpoint_refuses_to_issue_an_id(client, bookshop_pages, required):
    response = client.get("/journeys/api/visitor")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "consent" in response.json()["detail"]
    assert not response.cookies


def test_browser_events_are_refused_with_or_without_a_genuine_id(client, required):
    token = VisitorId.new().token
    assert beacon(client, token).status_code == 403
    client.cookies["journeys_vid"] = token
    response = beacon(client)
    assert response.status_code == 403
    assert "consent" in response.json()["detail"]
    assert not response.cookies
    assert nothing_stored()


def test_server_token_calls_are_not_browser_tracking(client, required, server_token):
    response = post_json(
        client,
        "/journeys/api/events",
        {"name": "purchase", "email": "ann@example.com"},
        headers={"Authorization": f"Bearer {server_token}"},
    )
    assert response.status_code == 201
    assert Event.objects.get().contact.email == "ann@example.com"


def test_a_form_post_counts_for_its_contact_but_tracks_no_browser(client, bookshop_pages, required):
    response = client.post("/newsletter/", {"first_name": "Zoé", "email": "zoe@example.com"})
    assert response.status_code == 200
    assert "journeys_vid" not in response.cookies
    contact = Contact.objects.get()
    assert contact.first_name == "Zoé"
    submitted = Event.objects.get()
    assert (submitted.name, submitted.contact, submitted.visitor_id) == (
        "form_submitted",
        contact,
        None,
    )
    assert not Visitor.objects.exists()


@pytest.fixture
def sent(email_site):
    """A message with one tracked link, sent an hour ago (a click seconds after the send
    is a link scanner's)."""
    page = make_email([text("<p><a href='https://shop.example/offer'>offer</a></p>")])
    message = send_email(page, make_contact(first_name="Zoé"))
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - dt.timedelta(hours=1))
    html = mail.outbox[0].alternatives[0].content
    (click,) = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"[^>]*>offer<', html)
    return message, click


def test_a_click_is_recorded_for_the_message_but_ties_no_browser(client, sent, required):
    message, click = sent
    response = client.get(click)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/offer"
    assert not response.cookies
    event = Event.objects.get(name="email_clicked")
    assert (event.contact_id, event.visitor_id) == (message.contact_id, None)
    assert not Visitor.objects.exists()


def test_a_click_after_consent_ties_the_browser(client, sent, required):
    message, click = sent
    grant(client)
    response = client.get(click)
    assert VisitorId.from_token(response.cookies["journeys_vid"].value).contact_id == (
        message.contact_id
    )


# Hostile consent cookies are no consent, never an error.


def forged_key(choice: str) -> str:
    return signing.TimestampSigner(key="another-site", salt=consent._SALT).sign(choice)


def expired(choice: str) -> str:
    class Then(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 200 * 24 * 3600)

    return Then(salt=consent._SALT).sign(choice)


HOSTILE = {
    "plain": lambda: "granted",
    "truthy": lambda: "1",
    "forged signature": lambda: "granted:1vX0aB:" + "A" * 43,
    "another key": lambda: forged_key("granted"),
    "another salt": lambda: signing.TimestampSigner(salt="x").sign("granted"),
    "older than CONSENT_COOKIE_AGE": lambda: expired("granted"),
    "signed but not a choice": lambda: consent.cookie_value("yes"),
    "denied": lambda: consent.cookie_value("denied"),
    "huge": lambda: consent.cookie_value("granted") + "x" * 4000,
    "not ascii": lambda: "gränted:é:ü",
    "empty": lambda: "",
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_consent_cookie_is_no_consent(client, bookshop_pages, required, kind):
    client.cookies["journeys_consent"] = HOSTILE[kind]()
    assert client.get("/books/the-shining/").status_code == 200
    assert client.get("/journeys/api/visitor").status_code == 403
    assert beacon(client, VisitorId.new().token).status_code == 403
    assert nothing_stored()
    assert client.get(CONSENT_API).json()["status"] == ("denied" if kind == "denied" else "unknown")


def test_hostile_consent_input_is_a_422(client, required):
    for body in (
        {},
        {"granted": "yes"},
        {"granted": True, "extra": 1},
        {"granted": True, "wording": "x" * 5001},
        {"granted": True, "wording": "a\x00b"},
    ):
        response = post_json(client, CONSENT_API, body)
        assert response.status_code == 422, body
        assert not response.cookies
    assert (
        post_json(
            client, CONSENT_API, {"granted": True}, HTTP_ORIGIN="https://evil.example"
        ).status_code
        == 403
    )


# Consent given, then withdrawn.


def test_after_consent_every_door_tracks_and_after_withdrawal_none(
    client, bookshop_pages, required
):
    response = grant(client)
    assert response.json()["required"] is True
    assert response.json()["status"] == "granted"
    cookie = response.cookies["journeys_consent"]
    assert cookie.value.startswith("granted:")
    assert not cookie["httponly"]  # journeys.consent.status() reads it
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 180 * 24 * 3600
    visitor = VisitorId.from_token(response.json()["visitor"])
    assert response.cookies["journeys_vid"].value == visitor.token

    client.get("/books/the-shining/")
    assert client.get("/journeys/api/visitor").json()["visitor"] == visitor.token
    assert beacon(client, visitor.token).status_code == 201
    assert beacon(client).status_code == 201
    assert sorted(Event.objects.values_list("name", "visitor_id")) == [
        ("cart.updated", visitor.uuid),
        ("cart.updated", visitor.uuid),
        ("page_view", visitor.uuid),
    ]

    response = withdraw(client)
    assert response.json() == {"required": True, "status": "denied", "visitor": None}
    assert response.cookies["journeys_vid"]["max-age"] == 0  # deleted
    assert response.cookies["journeys_consent"].value.startswith("denied:")
    before = Event.objects.count()
    page = client.get("/books/dune/")
    assert "journeys_vid" not in page.cookies
    assert beacon(client, visitor.token).status_code == 403
    assert client.get("/journeys/api/visitor").status_code == 403
    assert Event.objects.count() == before


def test_an_identified_visitor_s_choices_are_kept_as_consent_records(
    client, bookshop_pages, required
):
    grant(client)
    assert not ConsentRecord.objects.exists()  # an anonymous visitor: no one to keep it for
    client.post("/newsletter/", {"first_name": "Zoé", "email": "zoe@example.com"})
    contact = Contact.objects.get()
    assert VisitorId.from_token(client.cookies["journeys_vid"].value).contact_id == contact.pk

    withdraw(client)  # kept for the contact; the browser is anonymous again
    grant(client)
    # a browser whose cookie (from before it refused) names the contact
    client.cookies["journeys_vid"] = VisitorId(VisitorId.new().uuid, contact.pk).token
    client.cookies["journeys_consent"] = consent.cookie_value("denied")
    grant(client, wording="Accept cookies?")
    grant(client)  # granted already: nothing changes, nothing is kept
    # The signup's own record (email, form) is the form's business: only tracking here.
    records = list(
        ConsentRecord.objects.filter(channel="tracking")
        .order_by("id")
        .values_list("contact", "channel", "source", "action", "wording")
    )
    assert records == [
        (contact.pk, "tracking", "banner", "withdrawn", ""),
        (contact.pk, "tracking", "banner", "granted", "Accept cookies?"),
    ]


def test_a_cookie_naming_an_erased_contact_keeps_no_record(client, required):
    contact = Contact.objects.create(email="gone@example.com")
    client.cookies["journeys_vid"] = VisitorId(VisitorId.new().uuid, contact.pk).token
    contact.delete()
    assert grant(client).json()["status"] == "granted"
    assert not ConsentRecord.objects.exists()


# The server helpers, for a banner that posts to the site's own view.


def test_server_helpers_grant_and_withdraw(required):
    factory = RequestFactory()
    request = factory.post("/cookies/")
    assert not consent.allowed(request)
    response = HttpResponse()
    consent.grant(request, response)
    assert consent.allowed(request)  # the rest of the request may track
    later = factory.get(
        "/", HTTP_COOKIE=f"journeys_consent={response.cookies['journeys_consent'].value}"
    )
    assert consent.allowed(later) and consent.status(later) == "granted"

    response = HttpResponse()
    consent.withdraw(later, response)
    assert not consent.allowed(later)
    assert response.cookies["journeys_vid"]["max-age"] == 0
    after = factory.get(
        "/", HTTP_COOKIE=f"journeys_consent={response.cookies['journeys_consent'].value}"
    )
    assert consent.status(after) == "denied" and not consent.allowed(after)


def test_the_example_site_requires_consent():
    from example_site import settings

    assert settings.WAGTAIL_JOURNEYS["TRACKING_CONSENT_REQUIRED"] is True


def test_server_helpers_keep_an_identified_visitor_s_choices(required):
    contact = Contact.objects.create(email="zoe@example.com")
    visitor = VisitorId(VisitorId.new().uuid, contact.pk)
    factory = RequestFactory()

    request = factory.post("/cookies/", HTTP_REFERER="https://shop.example/books/")
    request.COOKIES["journeys_vid"] = visitor.token
    consent.grant(request, HttpResponse(), wording="Cookies?")
    request = factory.post("/cookies/")
    request.COOKIES.update(
        {"journeys_vid": visitor.token, "journeys_consent": consent.cookie_value("granted")}
    )
    consent.withdraw(request, HttpResponse())
    records = ConsentRecord.objects.order_by("id")
    assert list(records.values_list("action", "source", "channel", "wording")) == [
        ("granted", "banner", "tracking", "Cookies?"),
        ("withdrawn", "banner", "tracking", ""),
    ]
    assert records[0].details == {
        "visitor": visitor.uuid.hex,
        "page": "https://shop.example/books/",
    }
