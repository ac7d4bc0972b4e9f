"""The public views of sent emails: open pixel, signed click redirect, unsubscribe."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from wagtail_journeys.delivery import send_email
from wagtail_journeys.emails import links
from wagtail_journeys.models import EmailStatus, Event, Message

#: A person's browser (opens and clicks without one are a machine's: tracking.machines).
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)


@pytest.fixture
def client():
    return Client(headers={"User-Agent": BROWSER})


@pytest.fixture
def sent(email_site):
    """A message sent an hour ago (a click seconds after the send is a link scanner's)."""
    page = make_email(
        [text("<p><a href='https://shop.example/p?u={{ contact.first_name|urlencode }}'>a</a></p>")]
    )
    contact = make_contact(first_name="Zoé")
    message = send_email(page, contact)
    message.sent_at = timezone.now() - dt.timedelta(hours=1)
    Message.objects.filter(pk=message.pk).update(sent_at=message.sent_at)
    html = mail.outbox[0].alternatives[0].content
    return message, html


def path_of(html: str, kind: str) -> str:
    return re.search(rf'http://localhost:8000(/journeys/{kind}/[^"]+)"', html)[1]


def test_open_pixel_records_one_open_a_minute(client, sent):
    message, html = sent
    url = path_of(html, "o")
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    (event,) = Event.objects.filter(name="email_opened")
    assert event.contact_id == message.contact_id
    assert event.properties == {
        "email_page_id": message.email_page_id,
        "message_id": message.message_id,
        "message": message.pk,
        "scenario_id": None,
        "step_id": None,
        "variant": [],
        "first": True,
        "machine": False,
        "why": "",
    }


def test_click_redirects_to_the_personalised_target(client, sent):
    message, html = sent
    clicks = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)
    targets = [client.get(url)["Location"] for url in clicks]
    assert "https://shop.example/p?u=Zo%C3%A9" in targets
    event = Event.objects.filter(
        name="email_clicked", properties__url="https://shop.example/p?u=Zo%C3%A9"
    ).get()
    assert event.properties["message_id"] == message.message_id


def test_forged_or_altered_tokens_are_404(client, sent):
    message, html = sent
    url = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)[0]
    token = url.rsplit("/", 1)[1]
    altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    assert client.get(f"/journeys/c/{altered}").status_code == 404
    assert client.get("/journeys/c/https%3A%2F%2Fevil.example").status_code == 404
    assert client.get(f"/journeys/c/{links.sign(message.uuid, 200)}").status_code == 404
    assert client.get(f"/journeys/o/{token}.gif").status_code == 404  # a click token
    assert not Event.objects.filter(name="email_clicked").exists()


def form_token(page) -> str:
    return re.search(rb'name="form_token" value="([^"]+)"', page.content)[1].decode()


def test_unsubscribe_get_confirms_and_post_unsubscribes(client, sent):
    message, html = sent
    url = path_of(html, "u")
    page = client.get(url)
    assert page.status_code == 200 and b"Unsubscribe" in page.content
    message.contact.refresh_from_db()
    assert message.contact.email_status == EmailStatus.SUBSCRIBED
    client.post(url, {"action": "unsubscribe_all", "form_token": form_token(page)})
    message.contact.refresh_from_db()
    assert message.contact.email_status == EmailStatus.UNSUBSCRIBED
    assert Event.objects.filter(name="unsubscribed", contact=message.contact).count() == 1
    client.post(url, {"action": "resubscribe", "form_token": form_token(page)})
    message.contact.refresh_from_db()
    assert message.contact.email_status == EmailStatus.SUBSCRIBED


def test_one_click_unsubscribe_from_the_header(client, sent):
    message, _ = sent
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    url = re.search(r"<http://localhost:8000(/journeys/u/[^>]+)>", header)[1]
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    message.contact.refresh_from_db()
    assert message.contact.email_status == EmailStatus.UNSUBSCRIBED


def test_following_a_tracked_link_ties_the_browser_to_the_messages_contact(
    client, sent, bookshop_pages
):
    from wagtail_journeys.models import Visitor
    from wagtail_journeys.tracking.visitor import VisitorId

    message, html = sent
    client.get("/books/the-shining/")  # anonymous before the click
    before = VisitorId.from_token(client.cookies["journeys_vid"].value)
    url = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)[0]
    response = client.get(url)
    assert response.status_code == 302
    bound = VisitorId.from_token(response.cookies["journeys_vid"].value)
    assert bound == VisitorId(before.uuid, message.contact_id)
    assert Visitor.objects.get(pk=before.uuid).contact_id == message.contact_id
    # the anonymous page view moved to the contact, and the next one is attributed at once
    client.get("/books/it/")
    assert Event.objects.filter(name="page_view", contact=message.contact).count() == 2


def test_a_tracked_link_gives_a_browser_tied_to_another_contact_a_new_visitor(client, sent):
    from wagtail_journeys.models import Contact, Visitor
    from wagtail_journeys.tracking.visitor import VisitorId

    message, html = sent
    other = Contact.objects.create(email="other@example.com")
    theirs = VisitorId(VisitorId.new().uuid, other.pk)
    Visitor.objects.create(id=theirs.uuid, contact=other)
    client.cookies["journeys_vid"] = theirs.token
    url = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)[0]
    response = client.get(url)
    bound = VisitorId.from_token(response.cookies["journeys_vid"].value)
    assert bound.contact_id == message.contact_id and bound.uuid != theirs.uuid
    assert Visitor.objects.get(pk=theirs.uuid).contact == other


def test_an_unsubscribe_page_does_not_tie_the_browser(client, sent):
    _, html = sent
    response = client.get(path_of(html, "u"))
    assert response.status_code == 200
    assert "journeys_vid" not in response.cookies
