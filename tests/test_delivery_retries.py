"""Sends retried with backoff through a real SMTP server on loopback (aiosmtpd) that
refuses, then accepts: a temporary failure defers the message until its next attempt,
the engine's pass retries it once it is due (and only then), each mail arrives once;
after the last attempt the message is failed with a reason the admin shows; a permanent
refusal fails at once. The clock moves through the backoff with time-machine."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.processes import free_port
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
from wagtail_journeys.models import Message, MessageStatus, SendEmailStep, StepRun

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

T0 = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


class Relay:
    """An SMTP server that answers DATA with ``answer`` (``250 OK``: it takes the mail)
    and refuses the recipients in ``refused`` for good."""

    def __init__(self):
        self.answer = "250 OK"
        self.refused: set[str] = set()
        self.greylisted: set[str] = set()
        self.received: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 No such user"
        if address in self.greylisted:
            return "450 4.2.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.answer.startswith("250"):
            self.received.append(envelope.content)
        return self.answer

    def message_ids(self) -> list[str]:
        import email

        return [email.message_from_bytes(raw)["Message-ID"] for raw in self.received]


@pytest.fixture
def relay(settings):
    relay = Relay()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": None,
        "FREQUENCY_CAP": None,
        "SEND_RETRY_DELAYS": [60, 600],
        "SEND_MAX_ATTEMPTS": 3,
    }
    yield relay
    controller.stop()


def broadcast(contacts: int, **contact_fields) -> list:
    scenario = make_scenario(trigger_kind="broadcast", broadcast_at=T0 - dt.timedelta(minutes=1))
    add(scenario, SendEmailStep, email=make_email(subject="News"))
    people = [make_contact(**contact_fields) for _ in range(contacts)]
    assert evaluate_scheduled_triggers(now=T0) == contacts
    return people


def engine_pass(at: dt.datetime) -> None:
    """One pass of the engine at ``at`` (the retry pass runs first in ``advance_due``)."""
    with time_machine.travel(at, tick=False):
        advance_due(now=at)


def statuses() -> set[tuple[str, int]]:
    return set(Message.objects.values_list("status", "attempts"))


def test_a_refusing_server_delays_the_send_until_it_accepts_and_each_mail_arrives_once(
    email_site, relay
):
    broadcast(3)
    relay.answer = "451 4.3.0 Mail server temporarily rejected message"
    engine_pass(T0)
    assert statuses() == {(MessageStatus.DEFERRED, 1)} and relay.received == []
    assert set(StepRun.objects.filter(kind="send_email").values_list("outcome", flat=True)) == {
        "queued"
    }
    engine_pass(T0 + dt.timedelta(seconds=30))  # not due yet: not tried
    assert statuses() == {(MessageStatus.DEFERRED, 1)}
    engine_pass(T0 + dt.timedelta(seconds=61))  # due: tried again, refused again
    assert statuses() == {(MessageStatus.DEFERRED, 2)}
    assert "451 4.3.0 Mail server temporarily rejected" in Message.objects.first().error
    relay.answer = "250 OK"
    engine_pass(T0 + dt.timedelta(seconds=61 + 300))  # the second delay (600 s) runs on
    assert relay.received == []
    engine_pass(T0 + dt.timedelta(seconds=61 + 601))
    assert statuses() == {(MessageStatus.SENT, 3)}
    assert sorted(relay.message_ids()) == sorted(
        Message.objects.values_list("message_id", flat=True)
    )
    assert set(StepRun.objects.filter(kind="send_email").values_list("outcome", flat=True)) == {
        "sent"
    }
    engine_pass(T0 + dt.timedelta(hours=2))
    assert len(relay.received) == 3  # none twice


def test_after_the_last_attempt_the_message_is_failed_and_the_admin_says_why(
    email_site, relay, client, settings
):
    broadcast(1)
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # the connection is refused
    engine_pass(T0)
    engine_pass(T0 + dt.timedelta(seconds=61))
    engine_pass(T0 + dt.timedelta(seconds=61 + 601))
    message = Message.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 3)
    assert message.error.startswith("The mail server refused the connection 3 times; last error: ")
    assert "Connection refused" in message.error
    run = StepRun.objects.get(kind="send_email")
    assert run.outcome == "failed" and run.reason.startswith("The mail server refused")
    settings.EMAIL_PORT = port  # the server is back
    engine_pass(T0 + dt.timedelta(days=1))  # failed is final: never tried again
    assert relay.received == [] and Message.objects.get().attempts == 3
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "x"))
    listing = client.get(reverse("journeys_messages:index")).content.decode()
    assert "The mail server refused the connection 3 times; last error:" in listing
    inspect = client.get(reverse("journeys_messages:inspect", args=[message.pk]))
    assert "refused the connection 3 times" in inspect.content.decode()


def test_a_refused_recipient_fails_at_once(email_site, relay):
    broadcast(1, email="nobody@example.com")
    relay.refused.add("nobody@example.com")
    engine_pass(T0)
    message = Message.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert message.error == (
        "The mail server refused this message: nobody@example.com: 550 5.1.1 No such user"
    )
    engine_pass(T0 + dt.timedelta(hours=1))
    assert Message.objects.get().attempts == 1 and relay.received == []


def test_a_greylisted_recipient_is_deferred_alone_and_the_others_go_out(email_site, relay):
    """A 4xx to one recipient is about that message: the connection goes on with the rest."""
    people = broadcast(3)
    relay.greylisted.add(people[0].email)
    engine_pass(T0)
    by_address = {m.recipient: m for m in Message.objects.all()}
    assert (by_address[people[0].email].status, by_address[people[0].email].attempts) == (
        MessageStatus.DEFERRED,
        1,
    )
    assert "450 4.2.0 Greylisted" in by_address[people[0].email].error
    assert {by_address[p.email].status for p in people[1:]} == {MessageStatus.SENT}
    assert len(relay.received) == 2
    relay.greylisted.clear()
    engine_pass(T0 + dt.timedelta(seconds=61))
    assert statuses() == {(MessageStatus.SENT, 1), (MessageStatus.SENT, 2)}
    assert len(relay.received) == 3


def test_a_due_retry_is_claimed_by_one_pass_only(email_site, relay):
    """Two workers' passes both see the deferred message due; one claims and sends it."""
    from wagtail_journeys.delivery import send_emails

    (contact,) = broadcast(1)
    relay.answer = "451 try later"
    engine_pass(T0)
    run = StepRun.objects.get(kind="send_email")
    stale = Message.objects.get()  # what a second worker read before the first sent it
    relay.answer = "250 OK"
    later = T0 + dt.timedelta(minutes=5)
    engine_pass(later)
    with time_machine.travel(later, tick=False):
        from wagtail_journeys.delivery import _claim

        assert _claim(stale, timezone.now(), None) is False  # the first pass took it
        send_emails(stale.email_page, [contact], keys=[run.key])
    assert len(relay.received) == 1
    assert Message.objects.get().status == MessageStatus.SENT
