"""End to end through a real SMTP server on loopback (aiosmtpd), batch on one connection."""

from __future__ import annotations

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from tests.emails.factories import make_contact
from wagtail_journeys.delivery import send_emails
from wagtail_journeys.models import EmailPage, MessageStatus


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
    controller = Controller(inbox, hostname="127.0.0.1", port=18225)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 18225
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
