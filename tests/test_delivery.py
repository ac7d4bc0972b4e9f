"""Sending: one Message per contact, idempotent keys, suppression, RFC 8058 headers."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.emails.factories import make_contact, make_email, text
from wagtail_journeys.delivery import send_email, send_emails
from wagtail_journeys.exceptions import JourneysError, Suppressed
from wagtail_journeys.models import EmailStatus, Event, Message, MessageStatus


@pytest.fixture
def email(email_site):
    return make_email(subject="Hi {{ contact.first_name }}")


def test_send_records_message_and_event_and_headers(email):
    contact = make_contact(first_name="Ada")
    message = send_email(email, contact)
    assert message.status == MessageStatus.SENT and message.subject == "Hi Ada"
    (sent,) = mail.outbox
    assert sent.to == [contact.email] and sent.subject == "Hi Ada"
    assert sent.extra_headers["Message-ID"] == message.message_id
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = sent.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<mailto:") and "/journeys/u/" in unsubscribe
    assert sent.alternatives[0].mimetype == "text/html"
    event = Event.objects.get(name="email_sent", contact=contact)
    assert event.properties == {
        "email_page_id": email.pk,
        "message_id": message.message_id,
        "message": message.pk,
        "scenario_id": None,
        "step_id": None,
        "variant": [],
    }
    assert message.recipient == contact.email


def test_same_key_never_sends_twice(email):
    contact = make_contact()
    first = send_email(email, contact, key="enrollment:1:step:2")
    second = send_email(email, contact, key="enrollment:1:step:2")
    assert first.pk == second.pk
    assert len(mail.outbox) == 1 and Message.objects.count() == 1


@pytest.mark.parametrize(
    "status", [EmailStatus.UNSUBSCRIBED, EmailStatus.BOUNCED, EmailStatus.COMPLAINED]
)
def test_suppressed_contacts_are_refused(email, status):
    contact = make_contact(email_status=status)
    with pytest.raises(Suppressed):
        send_email(email, contact)
    with pytest.raises(Suppressed):
        send_email(email, contact, transactional=True)
    assert issubclass(Suppressed, JourneysError)
    assert mail.outbox == [] and not Message.objects.exists()


def test_pending_double_opt_in_gets_transactional_mail_only(email):
    contact = make_contact(email_status=EmailStatus.PENDING)
    with pytest.raises(Suppressed):
        send_email(email, contact)
    assert send_email(email, contact, transactional=True).status == MessageStatus.SENT


def test_batch_send_on_one_connection(email):
    ok = [make_contact(first_name=f"N{i}") for i in range(5)]
    gone = make_contact(email_status=EmailStatus.UNSUBSCRIBED)
    contacts = [*ok, gone]
    keys = [f"broadcast:1:{c.pk}" for c in contacts]
    messages = send_emails(email, contacts, keys=keys)
    assert [m.contact_id for m in messages] == [c.pk for c in contacts]
    assert [m.status for m in messages] == [MessageStatus.SENT] * 5 + [MessageStatus.SUPPRESSED]
    assert sorted(m.subject for m in mail.outbox) == [f"Hi N{i}" for i in range(5)]
    again = send_emails(email, contacts, keys=keys)
    assert [m.pk for m in again] == [m.pk for m in messages]
    assert len(mail.outbox) == 5
    assert Event.objects.filter(name="email_sent").count() == 5


def test_context_fills_voucher(email):
    page = make_email([text("<p>Use {{ voucher_code }}</p>")], subject="Code {{ voucher_code }}")
    message = send_email(page, make_contact(), context={"voucher_code": "WELCOME10"})
    assert message.subject == "Code WELCOME10"
    assert "WELCOME10" in mail.outbox[0].body


def test_a_refused_connection_defers_the_send(email, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 18299, 2
    message = send_email(email, make_contact())
    assert message.status == MessageStatus.DEFERRED and message.attempts == 1
    stored = Message.objects.get()
    assert stored.status == MessageStatus.DEFERRED and stored.next_attempt_at > stored.created_at
    assert stored.error.startswith("The mail server could not take it for now (")


def test_a_deferred_keyed_message_is_retried_once_when_due(email, settings):
    contact = make_contact()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 18299, 2
    send_email(email, contact, key="k")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    (message,) = send_emails(email, [contact], keys=["k"])
    assert message.status == MessageStatus.DEFERRED and mail.outbox == []  # not due yet
    Message.objects.update(next_attempt_at=Message.objects.get().created_at)
    (message,) = send_emails(email, [contact], keys=["k"])
    assert message.status == MessageStatus.SENT and message.attempts == 2
    send_emails(email, [contact], keys=["k"])
    send_email(email, contact, key="k")
    assert len(mail.outbox) == 1


def test_message_left_queued_by_a_dead_worker_is_sent_on_retry(email):
    contact = make_contact()
    _dead_workers_message(email, contact, MessageStatus.QUEUED, "k")
    fresh = make_contact()
    Message.objects.create(key="fresh", contact=fresh, email_page=email)
    assert send_emails(email, [contact, fresh], keys=["k", "fresh"])[0].status == "sent"
    assert [m.to for m in mail.outbox] == [[contact.email]]  # the fresh one may be in flight


def _dead_workers_message(email, contact, status, key):
    import datetime as dt

    from django.utils import timezone

    return Message.objects.create(
        key=key,
        contact=contact,
        email_page=email,
        status=status,
        created_at=timezone.now() - dt.timedelta(hours=1),
    )


def test_message_a_dead_worker_was_handing_over_is_uncertain_and_never_resent(email):
    contact = make_contact()
    _dead_workers_message(email, contact, MessageStatus.SENDING, "k")
    (message,) = send_emails(email, [contact], keys=["k"])
    assert message.status == MessageStatus.UNCERTAIN and "may have been sent" in message.error
    send_email(email, contact, key="k")
    assert mail.outbox == []
    assert Message.objects.get().status == MessageStatus.UNCERTAIN


def test_retried_message_checks_consent_again(email):
    contact = make_contact()
    _dead_workers_message(email, contact, MessageStatus.QUEUED, "k")
    contact.email_status = EmailStatus.UNSUBSCRIBED
    contact.save()
    (message,) = send_emails(email, [contact], keys=["k"])
    assert message.status == MessageStatus.SUPPRESSED and "unsubscribed" in message.error
    assert mail.outbox == [] and not Event.objects.filter(name="email_sent").exists()


def test_a_key_another_worker_wrote_meanwhile_is_not_sent_by_this_one(email, monkeypatch):
    """Worker A composed its mails; before A writes and hands over the second (rows are
    written as their chunk goes), worker B, whose run looked dead, wrote the same key
    and is sending it. A finds the key taken and skips it: B sends it, once."""
    from wagtail_journeys import delivery

    first, second = make_contact(), make_contact()
    original = delivery._deliver

    def written_meanwhile(page, outgoing, **kwargs):
        Message.objects.create(
            key="b", contact=second, email_page=email, status=MessageStatus.SENDING
        )  # B's
        return original(page, outgoing, **kwargs)

    monkeypatch.setattr(delivery, "_deliver", written_meanwhile)
    messages = send_emails(email, [first, second], keys=["a", "b"])
    assert [m.to for m in mail.outbox] == [[first.email]]
    assert [m.status for m in messages] == [MessageStatus.SENT, MessageStatus.SENDING]
    assert Message.objects.get(key="b").status == MessageStatus.SENDING  # B's to send
    assert Message.objects.count() == 2


def test_a_retried_message_claimed_by_another_worker_is_not_sent_by_its_first_owner(
    email, monkeypatch
):
    """Worker A took back a deferred message for another attempt; before A hands it
    over, worker B claims it too (A looked dead). A must skip it: B sends it."""
    import datetime as dt

    from django.utils import timezone

    from wagtail_journeys import delivery

    contact = make_contact()
    Message.objects.create(
        key="b",
        contact=contact,
        email_page=email,
        status=MessageStatus.DEFERRED,
        next_attempt_at=timezone.now() - dt.timedelta(minutes=1),
    )
    original = delivery._deliver

    def claimed_meanwhile(page, outgoing, **kwargs):
        Message.objects.filter(key="b").update(created_at=timezone.now())  # B's claim
        return original(page, outgoing, **kwargs)

    monkeypatch.setattr(delivery, "_deliver", claimed_meanwhile)
    (message,) = send_emails(email, [contact], keys=["b"])
    assert mail.outbox == []
    assert Message.objects.get(key="b").status == MessageStatus.QUEUED  # B's to send


class DroppingBackend:
    """An SMTP relay that hangs up on the third message of a connection."""

    def __init__(self, *args, **kwargs):
        self.count = 0

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        import smtplib

        self.count += 1
        if self.count == 3:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if messages[0].to == ["refused@example.com"]:
            raise smtplib.SMTPRecipientsRefused({"refused@example.com": (550, b"No such user")})
        mail.outbox.extend(messages)
        return len(messages)


def test_a_dropped_connection_defers_the_rest_and_a_refused_recipient_fails(email, settings):
    settings.EMAIL_BACKEND = "tests.test_delivery.DroppingBackend"
    contacts = [make_contact("refused@example.com"), *[make_contact() for _ in range(4)]]
    keys = [f"k{n}" for n in range(5)]
    send_emails(email, contacts, keys=keys)
    rows = {m.key: m for m in Message.objects.all()}
    assert {k: (m.status, m.attempts) for k, m in rows.items()} == {
        "k0": ("failed", 1),  # refused for good: not tried again
        "k1": ("sent", 1),
        "k2": ("deferred", 1),  # the connection dropped on it
        "k3": ("deferred", 0),  # not tried: nothing more is sent on a dropped connection
        "k4": ("deferred", 0),
    }
    assert rows["k0"].error == (
        "The mail server refused this message: refused@example.com: 550 No such user"
    )
    assert "Connection unexpectedly closed" in rows["k2"].error
    assert rows["k3"].next_attempt_at == rows["k2"].next_attempt_at
    # Once their next attempt is due, the next pass sends just those.
    Message.objects.filter(status="deferred").update(next_attempt_at=rows["k2"].created_at)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_emails(email, contacts, keys=keys)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in contacts[1:])
    assert set(Message.objects.values_list("status", flat=True)) == {"failed", "sent"}
