"""End to end through a real SMTP server on loopback (aiosmtpd): a batch on one connection,
and a broadcast whose mails (written from the send's MIME skeleton, ``emails.mime``)
arrive as Django would have built them."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from tests.processes import free_port
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.delivery import compose_again, send_emails
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
from wagtail_journeys.models import EmailPage, Message, MessageStatus, SendEmailStep


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.sessions: set[int] = set()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.sessions.add(id(session))
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


def test_batch_through_smtp(bookshop_emails, smtp):
    welcome = EmailPage.objects.get(slug="welcome")
    contacts = [
        make_contact(first_name="Chloé", civility="mrs"),
        make_contact(first_name="<b>Bruno</b>", civility="mr"),
    ]
    messages = send_emails(
        welcome,
        contacts,
        keys=[f"smtp:{c.pk}" for c in contacts],
        contexts=[{"voucher_code": "HELLO-1"}, {"voucher_code": "HELLO-2"}],
    )
    assert [m.status for m in messages] == [MessageStatus.SENT, MessageStatus.SENT]
    assert len(smtp.messages) == 2 and len(smtp.sessions) == 1  # one connection
    received = {m["To"]: m for m in smtp.messages}
    chloe = received[contacts[0].email]
    assert chloe["Subject"] == "Welcome to The Bookshop, Chloé"
    assert chloe["Message-ID"] == messages[0].message_id
    assert chloe["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<mailto:" in chloe["List-Unsubscribe"] and "/journeys/u/" in chloe["List-Unsubscribe"]
    html = chloe.get_body(("html",)).get_content()
    text = chloe.get_body(("plain",)).get_content()
    assert "HELLO-1" in html and "HELLO-1" in text and "For you, Madam" in html
    bruno = received[contacts[1].email]
    assert "&lt;b&gt;Bruno&lt;/b&gt;" in bruno.get_body(("html",)).get_content()
    assert "<b>Bruno</b>" in bruno.get_body(("plain",)).get_content()


NAMES = ["Chloé", "<b>Bruno</b>", "Zoë O'Brien", "مرحبا", "📚 Ann", '"Q, R"', "x" * 90, "Ève"]


def test_a_broadcast_arrives_intact(email_site, smtp, settings):
    """Each contact gets one mail, and it is the mail Django builds for that message
    (``compose_again``): the same subject, headers and bodies, signed links included."""
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}
    paragraph = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing. " * 30 + "</p>"
    news = make_email(
        [
            text("<p>Dear {{ contact.first_name }},</p>" + paragraph),
            text('<p><a href="https://shop.example/new?u={{ contact.email }}">New</a></p>'),
        ],
        subject="News for {{ contact.first_name }}",
    )
    now = timezone.now()
    scenario = make_scenario(trigger_kind="broadcast", broadcast_at=now - dt.timedelta(minutes=1))
    add(scenario, SendEmailStep, email=news)
    contacts = [make_contact(first_name=name) for name in NAMES]
    assert evaluate_scheduled_triggers(now=now) == len(contacts)
    advance_due(now=now)
    messages = {m.recipient: m for m in Message.objects.all()}
    assert {m.status for m in messages.values()} == {MessageStatus.SENT}
    received = {m["To"]: m for m in smtp.messages}
    assert len(smtp.messages) == len(received) == len(contacts)
    for contact in contacts:
        got, message = received[contact.email], messages[contact.email]
        built = email.message_from_bytes(
            compose_again(message).message().as_bytes(), policy=email.policy.default
        )
        for header in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe"):
            assert got[header] == built[header], header
        assert got["Subject"] == f"News for {contact.first_name}"
        for kind in ("html", "plain"):
            body = got.get_body((kind,))
            assert (
                body["Content-Transfer-Encoding"]
                == built.get_body((kind,))["Content-Transfer-Encoding"]
            )
            assert body.get_content().replace("\r\n", "\n") == built.get_body(
                (kind,)
            ).get_content().replace("\r\n", "\n")
        assert "/journeys/c/" in got.get_body(("html",)).get_content()
