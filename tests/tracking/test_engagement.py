"""Every open and click of a sent message, on the message and in the event log: first
human open and click, counts, machines counted apart (and never the contact's activity,
a trigger or a goal), unsubscribes with the message's properties."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from tests.tracking.test_emails import BROWSER
from tests.tracking.test_machines import GMAIL_PROXY
from wagtail_journeys.contacts import apply_activity
from wagtail_journeys.delivery import send_email
from wagtail_journeys.engine.exits import reaches_goal
from wagtail_journeys.models import Contact, Event, Message

LINKS = "<p><a href='https://shop.example/a'>a</a> <a href='https://shop.example/b'>b</a></p>"


@pytest.fixture
def clock(monkeypatch):
    """The time the tracking views read (``timezone.now``), moved by hand."""
    now = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture
def sent(email_site, clock):
    """A message with two links, sent an hour before ``clock``."""
    page = make_email([text(LINKS)])
    message = send_email(page, make_contact(first_name="Zoé"))
    message.sent_at = clock[0] - dt.timedelta(hours=1)
    Message.objects.filter(pk=message.pk).update(sent_at=message.sent_at)
    html = mail.outbox[0].alternatives[0].content
    pixel = re.search(r'http://localhost:8000(/journeys/o/[^"]+)"', html)[1]
    clicks = re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)
    return message, pixel, clicks


def agent(user_agent: str) -> Client:
    return Client(headers={"User-Agent": user_agent})


def opens() -> list[dict]:
    return [e.properties for e in Event.objects.filter(name="email_opened").order_by("id")]


def test_every_open_is_recorded_once_a_minute_and_the_first_human_one_is_first(sent, clock):
    message, pixel, _ = sent
    person = agent(BROWSER)
    start = clock[0]
    for seconds in (0, 20, 61, 200):  # minute 0, 0, 1, 3
        clock[0] = start.replace(second=0, microsecond=0) + dt.timedelta(seconds=seconds)
        assert person.get(pixel).status_code == 200
    assert [p["first"] for p in opens()] == [True, False, False]
    assert all(p["message"] == message.pk and not p["machine"] for p in opens())
    message.refresh_from_db()
    assert message.open_count == 3 and message.machine_open_count == 0
    assert message.opened_at == start.replace(second=0, microsecond=0)


def test_apple_privacy_protection_opens_are_counted_apart(sent, clock):
    message, pixel, _ = sent
    assert agent("Mozilla/5.0").get(pixel).status_code == 200
    message.refresh_from_db()
    assert message.opened_at is None and message.open_count == 0
    assert message.machine_open_count == 1
    (machine,) = opens()
    assert (machine["machine"], machine["why"], machine["first"]) == (True, "apple_mpp", False)
    clock[0] += dt.timedelta(seconds=5)  # the person opens it, through Gmail, that minute
    assert agent(GMAIL_PROXY).get(pixel).status_code == 200
    assert [(p["machine"], p["first"]) for p in opens()] == [(True, False), (False, True)]
    message.refresh_from_db()
    assert message.opened_at == clock[0] and message.open_count == 1


def test_clicks_record_the_link_and_scanners_are_flagged(sent, clock):
    message, _, (_, a, b) = sent  # the first link is the brand's (the site)
    person = agent(BROWSER)
    assert person.get(b)["Location"] == "https://shop.example/b"
    clock[0] += dt.timedelta(minutes=1)
    assert person.get(a)["Location"] == "https://shop.example/a"
    clock[0] += dt.timedelta(milliseconds=200)  # every link within a second: a scanner
    response = person.get(b)
    assert response["Location"] == "https://shop.example/b"
    assert "journeys_vid" not in response.cookies  # a scanner is not the contact's browser
    clicks = [e.properties for e in Event.objects.filter(name="email_clicked").order_by("id")]
    assert [(c["link"], c["url"]) for c in clicks] == [
        (2, "https://shop.example/b"),
        (1, "https://shop.example/a"),
        (2, "https://shop.example/b"),
    ]
    assert [(c["first"], c["machine"], c["why"]) for c in clicks] == [
        (True, False, ""),
        (False, False, ""),
        (False, True, "burst"),
    ]
    message.refresh_from_db()
    assert (message.click_count, message.machine_click_count) == (2, 1)
    assert message.clicked_at == clock[0] - dt.timedelta(minutes=1, milliseconds=200)


def test_a_click_seconds_after_the_send_is_a_prefetch(sent, clock):
    message, _, (a, *_) = sent
    Message.objects.filter(pk=message.pk).update(sent_at=clock[0] - dt.timedelta(seconds=3))
    assert agent(BROWSER).get(a).status_code == 302
    assert agent(BROWSER).head(a).status_code == 302
    whys = [e.properties["why"] for e in Event.objects.filter(name="email_clicked").order_by("id")]
    assert whys == ["prefetch", "head"]
    message.refresh_from_db()
    assert message.clicked_at is None and message.click_count == 0
    assert message.machine_click_count == 2


def test_machine_opens_and_clicks_are_not_the_contacts_activity(sent, clock):
    message, pixel, (a, *_) = sent
    Message.objects.filter(pk=message.pk).update(sent_at=clock[0])
    agent("Mozilla/5.0").get(pixel)
    agent(BROWSER).get(a)  # right after the send: a prefetch
    events = list(Event.objects.filter(name__in=["email_opened", "email_clicked"]))
    assert len(events) == 2
    assert apply_activity(events) == 0
    assert Contact.objects.get(pk=message.contact_id).last_activity_at is None
    clock[0] += dt.timedelta(minutes=5)
    agent(BROWSER).get(pixel)
    human = Event.objects.filter(name="email_opened").latest("id")
    assert apply_activity([human]) == 1


def test_a_machine_click_reaches_no_goal():
    goal = {"events": ["email_clicked"], "filters": {}, "any_activity": False}
    assert reaches_goal(goal, "email_clicked", {"machine": False}, "email")
    assert not reaches_goal(goal, "email_clicked", {"machine": True}, "email")
    anything = {"any_activity": True, "filters": {}}
    assert reaches_goal(anything, "email_opened", {}, "email")  # recorded before 0.3
    assert not reaches_goal(anything, "email_opened", {"machine": True}, "email")


def test_unsubscribing_records_the_message_on_the_event_and_the_message(sent, clock):
    message, _, _ = sent
    url = re.search(
        r"<http://localhost:8000(/journeys/u/[^>]+)>",
        mail.outbox[0].extra_headers["List-Unsubscribe"],
    )[1]
    response = Client().post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    event = Event.objects.get(name="unsubscribed")
    assert event.properties == message.event_properties()
    message.refresh_from_db()
    assert message.unsubscribed_at == clock[0]
