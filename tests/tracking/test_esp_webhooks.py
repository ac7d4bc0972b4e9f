"""Delivery feedback from real ESP webhooks: payloads as Postmark and Mailgun document
them, authenticated as django-anymail requires (basic auth; Mailgun's HMAC signature),
posted to anymail's webhook URLs mounted by the example site. They drive the message's
status, the event log and the contact's suppression; a retried webhook changes nothing
twice; feedback about mail the app did not send is ignored."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from wagtail_journeys.delivery import send_email
from wagtail_journeys.models import Contact, EmailStatus, Event, Message, MessageStatus

pytest.importorskip("anymail")

SECRET = "journeys:webhook-secret"
MAILGUN_KEY = "mailgun-signing-key"
AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def sent(email_site):
    """A message the app sent to ada@example.com, as an anymail backend would: its
    metadata names the message."""
    message = send_email(make_email(subject="Hi"), make_contact("ada@example.com"))
    assert mail.outbox[0].metadata == {"journeys_message": message.uuid.hex}
    return message


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# Postmark (https://postmarkapp.com/developer/webhooks): one JSON object per POST,
# secured with basic auth in the webhook URL.


def postmark(record: str, message: Message | None, **fields) -> dict:
    now = timezone.now() - dt.timedelta(minutes=1)
    base = {
        "RecordType": record,
        "MessageStream": "outbound",
        "ServerID": 23,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Tag": "welcome",
        "Metadata": {"journeys_message": message.uuid.hex} if message else {},
    }
    if record == "Delivery":
        base |= {
            "Recipient": "ada@example.com",
            "DeliveredAt": iso(now),
            "Details": "Test delivery webhook details",
        }
    else:
        base |= {
            "ID": 4323372036854775807,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "Description": "The server was unable to deliver your message.",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": "ada@example.com",
            "From": "hello@bookshop.example",
            "BouncedAt": iso(now),
            "DumpAvailable": True,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Hi",
        }
    return base | fields


def post_postmark(client, payload: dict, *, auth: str = AUTH):
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )


# Mailgun (https://documentation.mailgun.com/docs/mailgun/user-manual/events/webhooks):
# JSON with a signature block, HMAC-SHA256 of timestamp + token with the signing key.


def mailgun(event: str, message: Message | None, token: str, **data) -> dict:
    timestamp = str(int(timezone.now().timestamp()) - 60)
    signature = hmac.new(
        MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    event_data = {
        "event": event,
        "timestamp": float(timestamp) + 0.329574,
        "id": "CPgfbmQMTCKtHW6uIWtuVe",
        "log-level": "info",
        "recipient": "ada@example.com",
        "recipient-domain": "example.com",
        "message": {
            "headers": {
                "to": "Ada <ada@example.com>",
                "message-id": "20260503182626.18666.16540@bookshop.example",
                "from": "The Bookshop <hello@bookshop.example>",
                "subject": "Hi",
            },
            "attachments": [],
            "size": 111,
        },
        "tags": [],
        "user-variables": {"journeys_message": message.uuid.hex} if message else {},
        "delivery-status": {"code": 250, "message": "OK", "description": ""},
    }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data | data,
    }


def post_mailgun(client, payload: dict):
    return client.post(
        "/anymail/mailgun/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )


def events(name: str) -> list[Event]:
    return list(Event.objects.filter(name=name).order_by("id"))


def test_postmark_delivery_then_hard_bounce_suppresses_the_contact(client, sent):
    assert post_postmark(client, postmark("Delivery", sent)).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.delivered_at is not None
    (delivered,) = events("email_delivered")
    assert delivered.properties == sent.event_properties(esp="Postmark")
    assert delivered.source == "email"
    bounce = postmark("Bounce", sent)
    assert post_postmark(client, bounce).status_code == 200
    assert post_postmark(client, bounce).status_code == 200  # Postmark retries
    sent.refresh_from_db()
    assert (sent.status, sent.bounce_type) == (MessageStatus.BOUNCED, "hard")
    (bounced,) = events("email_bounced")
    assert bounced.properties["bounce"] == "hard" and bounced.properties["reason"] == "bounced"
    assert "does not exist" in bounced.properties["detail"]
    assert bounced.properties["message"] == sent.pk
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.BOUNCED
    # a late delivery report never undoes the bounce
    assert post_postmark(client, postmark("Delivery", sent, DeliveredAt=iso(timezone.now())))
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_postmark_spam_complaint_suppresses_at_once(client, sent):
    complaint = postmark(
        "SpamComplaint", sent, ID=42, Type="SpamComplaint", TypeCode=512, Name="Spam complaint"
    )
    assert post_postmark(client, complaint).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.COMPLAINED and sent.complained_at is not None
    assert [e.properties["esp"] for e in events("email_complained")] == ["Postmark"]
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.COMPLAINED


def test_postmark_finds_the_message_by_its_esp_id_without_metadata(client, sent):
    Message.objects.filter(pk=sent.pk).update(esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    assert post_postmark(client, postmark("Bounce", None)).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_webhooks_without_the_secret_are_refused_and_change_nothing(client, sent):
    wrong = "Basic " + base64.b64encode(b"journeys:guess").decode()
    assert post_postmark(client, postmark("Bounce", sent), auth=wrong).status_code == 400
    payload = mailgun("complained", sent, "tok-1")
    payload["signature"]["signature"] = "0" * 64
    assert post_mailgun(client, payload).status_code == 400
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.SUBSCRIBED
    assert not Event.objects.exclude(name="email_sent").exists()


def test_feedback_about_mail_the_app_did_not_send_is_ignored(client, sent):
    other = postmark("Bounce", None, MessageID="not-ours", Email="someone@example.com")
    assert post_postmark(client, other).status_code == 200
    assert not events("email_bounced")


def test_mailgun_delivered_and_permanent_failure(client, sent):
    assert post_mailgun(client, mailgun("delivered", sent, "tok-1")).status_code == 200
    failed = mailgun(
        "failed",
        sent,
        "tok-2",
        severity="permanent",
        reason="bounce",
        **{
            "delivery-status": {
                "code": 550,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
            }
        },
    )
    assert post_mailgun(client, failed).status_code == 200
    assert post_mailgun(client, copy.deepcopy(failed)).status_code == 200  # a retry
    sent.refresh_from_db()
    assert (sent.status, sent.bounce_type) == (MessageStatus.BOUNCED, "hard")
    assert sent.delivered_at is not None and sent.bounced_at is not None
    assert [e.properties["esp"] for e in events("email_delivered")] == ["Mailgun"]
    assert [e.properties["bounce"] for e in events("email_bounced")] == ["hard"]
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.BOUNCED


def test_mailgun_complaint(client, sent):
    assert post_mailgun(client, mailgun("complained", sent, "tok-3")).status_code == 200
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.COMPLAINED
    sent.refresh_from_db()
    assert sent.status == MessageStatus.COMPLAINED


def test_soft_bounces_suppress_at_the_limit_within_the_window(client, email_site, settings):
    settings.WAGTAIL_JOURNEYS = {"SOFT_BOUNCE_LIMIT": {"bounces": 2, "days": 30}}
    email = make_email(subject="Hi")
    contact = make_contact("ada@example.com")
    first, second = send_email(email, contact), send_email(email, contact)
    soft = {"Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce"}
    assert post_postmark(client, postmark("Bounce", first, ID=1, **soft)).status_code == 200
    # Mailgun's temporary failures are deferrals (it tries again): not bounces
    temporary = mailgun("failed", second, "tok-4", severity="temporary", reason="generic")
    assert post_mailgun(client, temporary).status_code == 200
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    first.refresh_from_db()
    assert (first.status, first.bounce_type) == (MessageStatus.BOUNCED, "soft")
    assert post_postmark(client, postmark("Bounce", second, ID=2, **soft)).status_code == 200
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.BOUNCED
    assert [e.properties["bounce"] for e in events("email_bounced")] == ["soft", "soft"]


def test_a_bounce_of_an_old_address_leaves_the_new_one_subscribed(client, sent):
    Contact.objects.filter(pk=sent.contact_id).update(email="ada@new.example")
    assert post_postmark(client, postmark("Bounce", sent)).status_code == 200
    assert Contact.objects.get(pk=sent.contact_id).email_status == EmailStatus.SUBSCRIBED
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_hostile_text_in_a_webhook_is_stored_safely(client, sent):
    bounce = postmark("Bounce", sent, Details="550 \x00 bad \ud800 <script>", Description=None)
    response = client.post(
        "/anymail/postmark/tracking/",
        json.dumps(bounce),  # \ud800 travels as JSON's escaped lone surrogate
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )
    assert response.status_code == 200
    (bounced,) = events("email_bounced")
    assert "\x00" not in bounced.properties["detail"]
    assert bounced.properties["detail"].startswith("550")


class QuickESP:
    """A backend whose ESP reports the delivery before ``send_messages`` returns."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        from types import SimpleNamespace

        from wagtail_journeys.tracking.esp import record_feedback

        for message in messages:
            event = SimpleNamespace(
                event_type="delivered",
                reject_reason=None,
                esp_event={},
                mta_response="250 OK",
                description=None,
                metadata=dict(message.metadata),
                message_id="esp-1",
                event_id=f"evt-{message.metadata['journeys_message']}",
                recipient=message.to[0],
                timestamp=timezone.now(),
            )
            record_feedback(event, "Quick")
        return len(messages)


def test_a_delivery_reported_while_the_chunk_is_still_sending_is_kept(email_site, settings):
    """ESPs can call back before the worker marks its chunk sent: the news stays."""
    settings.EMAIL_BACKEND = f"{__name__}.QuickESP"
    message = send_email(make_email(subject="Hi"), make_contact("ada@example.com"))
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at is not None and message.delivered_at is not None
