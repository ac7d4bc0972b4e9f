"""Prepared mails handed straight to Django's SMTP backend (``emails.handover``): addresses
sanitised as Django sanitises them, and through a server that offers PIPELINING the same
mails arrive, while a refused recipient fails its own message only."""

from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.message import sanitize_address
from hypothesis import given
from hypothesis import strategies as st

from tests import test_delivery_smtp as through_smtp
from tests.emails.factories import make_contact, make_email, text
from tests.processes import free_port
from wagtail_journeys.delivery import send_emails
from wagtail_journeys.emails.handover import address, send_pipelined, stuffed
from wagtail_journeys.models import MessageStatus

REFUSED = "refused@example.com"


class PipeliningInbox(through_smtp.Inbox):
    """An inbox whose server offers PIPELINING (as Postfix does) and refuses one address."""

    def __init__(self):
        super().__init__()
        self.offered = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        self.offered = True
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address == REFUSED:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def pipelining(settings):
    inbox = PipeliningInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


@given(st.one_of(st.emails(), st.text(max_size=40), st.from_regex(r"[a-z.+_-]{1,9}@[a-z.-]{1,9}")))
def test_addresses_are_sanitised_as_django_does(value):
    try:
        expected = sanitize_address(value, "utf-8")
    except ValueError:
        with pytest.raises(ValueError):
            address(value, "utf-8")
        return
    assert address(value, "utf-8") == expected


def test_a_broadcast_arrives_intact_through_pipelining(email_site, pipelining, settings):
    through_smtp.test_a_broadcast_arrives_intact(email_site, pipelining, settings)
    assert pipelining.offered


def test_a_refused_recipient_fails_only_its_message(email_site, pipelining):
    news = make_email([text("<p>.Hello {{ contact.first_name }}</p>\n.")], subject="News")
    contacts = [make_contact(email=e) for e in ("ann@example.com", REFUSED, "bo@example.com")]
    messages = send_emails(news, contacts, keys=[f"h:{c.pk}" for c in contacts])
    assert [m.status for m in messages] == [
        MessageStatus.SENT,
        MessageStatus.FAILED,
        MessageStatus.SENT,
    ]
    assert "no such user" in messages[1].error
    assert sorted(m["To"] for m in pipelining.messages) == ["ann@example.com", "bo@example.com"]
    assert len(pipelining.sessions) == 1  # the connection went on after the refusal


def test_pipelined_bytes_arrive_as_sent(pipelining):
    """Dot-stuffing and the final dot as ``sendmail`` does them: the server reads back
    the very bytes, lines starting with a dot included."""
    data = b"Subject: dots\r\n\r\n.first\r\nmiddle\r\n..second\r\n."
    client = smtplib.SMTP("127.0.0.1", pipelining_port(pipelining))
    try:
        client.ehlo()
        assert send_pipelined(client, "a@example.com", ["b@example.com"], data) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send_pipelined(client, "a@example.com", [REFUSED], data)
        assert send_pipelined(client, "a@example.com", ["c@example.com"], data) == {}
    finally:
        client.quit()
    bodies = [m.get_payload() for m in pipelining.messages]
    assert bodies == [".first\r\nmiddle\r\n..second\r\n.\r\n"] * 2


@given(st.lists(st.sampled_from([b".", b"..", b"\r\n", b"\n", b"\r", b"a", b"x.y"]), max_size=12))
def test_dot_stuffing_is_smtplibs(pieces):
    """``stuffed`` doubles the dot at every line start exactly as ``smtplib`` does (its
    ``_quote_periods`` regex), the first line and bare line feeds included."""
    data = b"".join(pieces)
    assert stuffed(data) == smtplib._quote_periods(data)


def pipelining_port(inbox) -> int:
    from django.conf import settings

    return settings.EMAIL_PORT
