"""Prepared mails handed straight to Django's SMTP backend (``emails.handover``): addresses
sanitised as Django sanitises them, and through a server that offers PIPELINING the same
mails arrive, while a refused recipient fails its own message only. A send's mails go
one round trip each (the next envelope before the answer to the last dot), and a server
that refuses, defers, closes or drops the connection in the middle of that stream
leaves each message with the same fate as when it waited for every answer."""

from __future__ import annotations

import email
import smtplib
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.message import sanitize_address
from hypothesis import given
from hypothesis import strategies as st

from tests import test_delivery_smtp as through_smtp
from tests.emails.factories import make_contact, make_email, text
from tests.processes import free_port
from wagtail_journeys.delivery import NOT_TRIED, send_emails
from wagtail_journeys.emails.handover import address, send_pipelined, stuffed
from wagtail_journeys.models import Message, MessageStatus

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


def test_a_dot_at_the_start_of_a_quoted_printable_line_arrives(email_site, pipelining):
    """A mail whose lines are quoted-printable (one passes 998 bytes) goes out
    dot-stuffed from its kept pieces (``SerialisedMessage.smtp``): a contact's value
    that starts a line with a dot, and a fixed line that does, arrive with their dots."""
    news = make_email([text("<p>" + "x" * 1000 + "{{ contact.first_name }}</p>\n<p>.end</p>")])
    contacts = [make_contact(first_name=name) for name in (".Ann", "Bo", "..Cy")]
    for _ in range(2):  # the second send from what the skeleton kept of the pieces
        Message.objects.all().delete()
        pipelining.messages.clear()
        messages = send_emails(news, contacts)
        assert {m.status for m in messages} == {MessageStatus.SENT}
        received = {m["To"]: m for m in pipelining.messages}
        for contact in contacts:
            got = received[contact.email]
            for kind in ("html", "plain"):
                body = got.get_body((kind,))
                assert body["Content-Transfer-Encoding"] == "quoted-printable"
                assert "x" * 1000 + contact.first_name in body.get_content()
                assert ".end" in body.get_content()


@given(st.lists(st.sampled_from([b".", b"..", b"\r\n", b"\n", b"\r", b"a", b"x.y"]), max_size=12))
def test_dot_stuffing_is_smtplibs(pieces):
    """``stuffed`` doubles the dot at every line start exactly as ``smtplib`` does (its
    ``_quote_periods`` regex), the first line and bare line feeds included."""
    data = b"".join(pieces)
    assert stuffed(data) == smtplib._quote_periods(data)


def pipelining_port(inbox) -> int:
    from django.conf import settings

    return settings.EMAIL_PORT


class Turns:
    """A scripted SMTP server (offers PIPELINING; one thread per connection) that notes,
    for each mail, whether the next mail's MAIL command arrived before it answered the
    final dot (it waits up to ``PATIENCE`` for it), and answers each mail's dot as
    ``answers`` says by its number in order of arrival: an SMTP line, or ``"drop"``
    (close the connection without an answer). ``"421 ..."`` closes after answering."""

    PATIENCE = 0.5

    def __init__(self):
        self.answers: dict[int, str] = {}
        self.arrived: list[bytes] = []  # every mail's content, in order
        self.taken: list[bytes] = []  # those answered 250
        self.early: list[bool] = []  # the next MAIL came before the answer
        self.sessions = 0
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.sessions += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn: socket.socket) -> None:
        with conn:
            buffer = bytearray()
            conn.sendall(b"220 turns ESMTP\r\n")
            while True:
                end = buffer.find(b"\r\n")
                if end < 0:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    continue
                verb = bytes(buffer[:4]).upper()
                del buffer[: end + 2]
                if verb == b"EHLO":
                    conn.sendall(b"250-turns\r\n250-PIPELINING\r\n250 SIZE 10000000\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    if not self.content(conn, buffer):
                        return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 OK\r\n")

    def content(self, conn: socket.socket, buffer: bytearray) -> bool:
        """Read one mail up to its final dot, wait a little for the next MAIL, answer;
        ``False`` when the connection is to end."""
        while (end := buffer.find(b"\r\n.\r\n")) < 0:
            chunk = conn.recv(65536)
            if not chunk:  # the client hung up in the middle of a mail
                return False
            buffer += chunk
        number = len(self.arrived)
        self.arrived.append(bytes(buffer[:end]))
        del buffer[: end + 5]
        deadline = time.monotonic() + self.PATIENCE
        while not buffer.upper().startswith(b"MAIL") and time.monotonic() < deadline:
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                return False
            buffer += chunk
        conn.settimeout(None)
        self.early.append(buffer.upper().startswith(b"MAIL"))
        answer = self.answers.get(number, "250 OK")
        if answer == "drop":
            return False
        conn.sendall(answer.encode() + b"\r\n")
        if answer.startswith("250"):
            self.taken.append(self.arrived[-1])
        return not answer.startswith("421")

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def turns(settings):
    server = Turns()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.close()


def send_five():
    news = make_email([text("<p>.Hello {{ contact.first_name }}</p>")], subject="News")
    contacts = [make_contact(email=f"reader{n}@example.com") for n in range(5)]
    return send_emails(news, contacts, keys=[f"t:{c.pk}" for c in contacts])


def arrived_ids(contents: list[bytes]) -> list[str]:
    return [email.message_from_bytes(c)["Message-ID"] for c in contents]


def test_each_mail_costs_one_round_trip(email_site, turns):
    """The next mail's envelope is on its way before the answer to a mail's final dot:
    the server never waits for it (a client that waited for each answer would make it
    wait ``PATIENCE`` every time)."""
    messages = send_five()
    assert [m.status for m in messages] == [MessageStatus.SENT] * 5
    assert turns.early == [True, True, True, True, False]  # nothing follows the last
    assert arrived_ids(turns.taken) == [m.message_id for m in messages]
    assert turns.sessions == 1


def test_a_mail_refused_in_the_stream_fails_alone(email_site, turns):
    turns.answers = {1: "554 5.7.1 Looks like spam", 3: "451 4.7.1 Try again later"}
    messages = send_five()
    assert [m.status for m in messages] == [
        MessageStatus.SENT,
        MessageStatus.FAILED,
        MessageStatus.SENT,
        MessageStatus.DEFERRED,
        MessageStatus.SENT,
    ]
    assert "554 5.7.1 Looks like spam" in messages[1].error
    assert "451 4.7.1 Try again later" in messages[3].error
    assert arrived_ids(turns.taken) == [messages[i].message_id for i in (0, 2, 4)]
    assert turns.sessions == 1  # the refusals did not end the connection
    assert turns.early == [True] * 4 + [False]


@pytest.mark.parametrize("answer", ["421 4.3.2 Shutting down", "drop"])
def test_a_connection_ended_in_the_stream_defers_the_mail_and_the_rest(email_site, turns, answer):
    """The server ends the connection at the second mail's dot, the third's envelope
    already sent: the second is deferred with its try counted (it may be tried again:
    it was not taken), the third and after untried; nothing is sent twice."""
    turns.answers = {1: answer}
    messages = send_five()
    rows = {m.pk: m for m in Message.objects.all()}
    fates = [(rows[m.pk].status, rows[m.pk].attempts) for m in messages]
    assert (
        fates
        == [(MessageStatus.SENT, 1), (MessageStatus.DEFERRED, 1)]
        + [(MessageStatus.DEFERRED, 0)] * 3
    )
    assert all(rows[m.pk].error == NOT_TRIED for m in messages[2:])
    if answer.startswith("421"):
        assert "421 4.3.2 Shutting down" in rows[messages[1].pk].error
    assert arrived_ids(turns.taken) == [messages[0].message_id]
    assert len(turns.arrived) == 2  # the third's content never left


def test_a_mail_that_cannot_be_written_fails_alone_and_the_one_before_is_sent_once(
    email_site, turns, monkeypatch
):
    """An error of ours writing the third mail comes while the second one's answer is
    still to be read: the second is read and recorded as sent (not taken back, not sent
    again), the third fails with the error, the rest go."""
    from wagtail_journeys.emails.mime import PreparedMail

    written = PreparedMail.message

    def message(mail):
        if mail.to == ["reader2@example.com"]:
            raise ValueError("cannot write this one")
        return written(mail)

    monkeypatch.setattr(PreparedMail, "message", message)
    messages = send_five()
    assert [m.status for m in messages] == [MessageStatus.SENT] * 2 + [MessageStatus.FAILED] + [
        MessageStatus.SENT
    ] * 2
    assert "cannot write this one" in messages[2].error
    assert arrived_ids(turns.taken) == [messages[i].message_id for i in (0, 1, 3, 4)]
    send_five_again = send_emails(
        messages[0].email_page, [m.contact for m in messages], keys=[m.key for m in messages]
    )
    assert [m.pk for m in send_five_again] == [m.pk for m in messages]
    assert len(turns.taken) == 4  # nothing sent twice
