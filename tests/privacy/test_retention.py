"""Retention: events and messages older than their settings are purged once a day, never
an event a reader of the log has not read (so no report changes and no trigger misses
one), never a message delivery still needs; IP addresses are never stored whole."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import checks
from django.test import RequestFactory
from django.utils import timezone

from tests.analytics import counts
from tests.emails.factories import make_contact, make_email
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.consent import record_consent
from wagtail_journeys.contacts import process_activity
from wagtail_journeys.delivery import send_email
from wagtail_journeys.engine import tick
from wagtail_journeys.engine.retention import purge_events, purge_messages, purge_unconfirmed
from wagtail_journeys.engine.triggers import process_triggers
from wagtail_journeys.models import (
    Contact,
    EmailStatus,
    Event,
    EventSource,
    Message,
    MessageStatus,
    Suppression,
)
from wagtail_journeys.privacy import truncate_ip
from wagtail_journeys.tracking.engagement import record_click, record_open
from wagtail_journeys.tracking.machines import HUMAN

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OLD = NOW - dt.timedelta(days=400)


@pytest.fixture
def keep_a_year(settings):
    settings.WAGTAIL_JOURNEYS = {"EVENT_RETENTION_DAYS": 365, "MESSAGE_RETENTION_DAYS": 365}


def read_everything() -> None:
    """Every reader of the event log passes every event (settled)."""
    counts.settle_everything()
    process_activity()
    process_triggers()
    rollup_pass(settle=dt.timedelta(0))


@pytest.fixture
def mail(email_site):
    """A year-old message opened and clicked then, and a fresh one."""
    email = make_email(title="Old news")
    old = send_email(email, make_contact("old@example.com"))
    Message.objects.filter(pk=old.pk).update(created_at=OLD)
    Event.objects.filter(name="email_sent").update(occurred_at=OLD)
    record_open(old, HUMAN, OLD + dt.timedelta(hours=1))
    record_click(old, 0, "https://shop.example/a", HUMAN, OLD + dt.timedelta(hours=2))
    new = send_email(email, make_contact("new@example.com"))
    return old, new


def test_old_events_go_once_every_reader_has_passed_them(keep_a_year, mail):
    old, new = mail
    assert purge_events(now=NOW) == 0  # no reader ran yet: nothing may go
    read_everything()
    tables = counts.tables()
    late = Event.objects.create(  # an old event just posted: no reader has passed it yet
        name="purchase", contact=new.contact, source=EventSource.API, occurred_at=OLD
    )
    assert purge_events(now=NOW) == 3  # the old message's sent, open and click
    assert set(Event.objects.values_list("name", flat=True)) == {"email_sent", "purchase"}
    assert Event.objects.filter(pk=late.pk).exists()
    assert counts.tables() == tables  # the reports did not change
    read_everything()
    assert purge_events(now=NOW) == 1  # read now: it may go
    assert counts.tables() == tables


def test_old_messages_go_but_those_delivery_still_needs(keep_a_year, mail):
    old, new = mail
    stuck = send_email(make_email(title="Stuck"), make_contact("stuck@example.com"))
    Message.objects.filter(pk=stuck.pk).update(created_at=OLD, status=MessageStatus.QUEUED)
    assert purge_messages(now=NOW) == 1
    assert set(Message.objects.values_list("pk", flat=True)) == {new.pk, stuck.pk}


def test_nothing_is_purged_without_the_settings(mail):
    read_everything()
    assert purge_events(now=NOW + dt.timedelta(days=3650)) == 0
    assert purge_messages(now=NOW + dt.timedelta(days=3650)) == 0


def test_the_engine_pass_purges_once_a_day(keep_a_year, mail):
    counts.settle_everything()
    first = tick(now=NOW)  # the readers pass the events first, then the day's purge
    assert (first["purged_events"], first["purged_messages"]) == (3, 1)
    Message.objects.update(created_at=OLD)
    again = tick(now=NOW.replace(hour=23, minute=59, second=59))  # later, the same UTC day
    assert (again["purged_events"], again["purged_messages"]) == (0, 0)  # once a day
    later = tick(now=NOW + dt.timedelta(days=1))
    assert later["purged_messages"] == 1


def test_signups_never_confirmed_are_erased_after_thirty_days_and_may_sign_up_again(settings):
    settings.WAGTAIL_JOURNEYS = {"SUPPRESS_ERASED": True}
    month = dt.timedelta(days=31)

    def pending(email, *, created, mailed=None, **fields):
        contact = make_contact(email, email_status=EmailStatus.PENDING, **fields)
        Contact.objects.filter(pk=contact.pk).update(
            created_at=created, confirmation_sent_at=mailed
        )
        return contact

    stale = pending("stale@example.com", created=NOW - month, mailed=NOW - month)
    Event.objects.create(name="form_submitted", contact=stale, source=EventSource.FORM)
    pending("never-mailed@example.com", created=NOW - month)
    pending("reminded@example.com", created=NOW - month, mailed=NOW - dt.timedelta(days=2))
    pending("fresh@example.com", created=NOW - dt.timedelta(days=5), mailed=NOW)
    customer = pending("customer@example.com", created=NOW - month, mailed=NOW - month)
    Event.objects.create(name="purchase", contact=customer, source=EventSource.API)
    make_contact("subscribed@example.com")
    Contact.objects.filter(email="subscribed@example.com").update(created_at=NOW - month)

    assert purge_unconfirmed(now=NOW) == 2
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "reminded@example.com",  # mailed again two days ago: its link still stands
        "fresh@example.com",
        "customer@example.com",  # a server vouched for it: a customer, not only a signup
        "subscribed@example.com",
    }
    assert not Event.objects.filter(name="form_submitted").exists()  # erased with it
    assert not Suppression.objects.exists()  # nobody asked to be forgotten: may sign up again

    settings.WAGTAIL_JOURNEYS = {"UNCONFIRMED_CONTACT_DAYS": None}
    assert purge_unconfirmed(now=NOW + dt.timedelta(days=3650)) == 0


def test_the_engine_pass_erases_unconfirmed_signups_once_a_day():
    old = make_contact("old-signup@example.com", email_status=EmailStatus.PENDING)
    Contact.objects.filter(pk=old.pk).update(created_at=NOW - dt.timedelta(days=40))
    assert tick(now=NOW)["purged_unconfirmed"] == 1
    assert not Contact.objects.filter(pk=old.pk).exists()


def test_retention_shorter_than_attribution_is_refused(settings):
    settings.WAGTAIL_JOURNEYS = {"EVENT_RETENTION_DAYS": 3, "ATTRIBUTION_DAYS": 5}
    errors = [m.msg for m in checks.run_checks() if m.id == "journeys.E002"]
    assert any("EVENT_RETENTION_DAYS must be at least ATTRIBUTION_DAYS" in e for e in errors)


@pytest.mark.parametrize(
    ("ip", "truncated"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:1234:5678:9abc::1", "2001:db8:1234::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        (" 10.1.2.3 ", "10.1.2.0"),
        ("not an address", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_truncate_ip(ip, truncated):
    assert truncate_ip(ip) == truncated


@pytest.mark.parametrize(("setting", "kept"), [("none", None), ("truncated", "203.0.113.0")])
def test_a_consent_keeps_the_ip_only_truncated_and_only_if_asked(settings, setting, kept):
    settings.WAGTAIL_JOURNEYS = {"IP_ADDRESSES": setting}
    request = RequestFactory().post("/newsletter/", REMOTE_ADDR="203.0.113.77")
    record = record_consent(
        make_contact(), action="granted", source="form", request=request, details={"page": 3}
    )
    assert record.details.get("ip") == kept
    assert record.details["page"] == 3
    assert "203.0.113.77" not in json.dumps(record.details)


def test_tracking_stores_no_ip(client, bookshop_pages, settings):
    settings.WAGTAIL_JOURNEYS = {"IP_ADDRESSES": "truncated"}
    client.get("/", REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Mozilla/5.0")
    client.post(
        "/newsletter/",
        {"first_name": "Ann", "email": "ann@example.com"},
        REMOTE_ADDR="203.0.113.77",
    )
    stored = json.dumps(list(Event.objects.values_list()), default=str)
    assert Event.objects.count() >= 2
    assert "203.0.113" not in stored


def test_a_double_opt_in_signup_keeps_the_truncated_ip_as_proof(client, bookshop_pages, settings):
    from wagtail_journeys.models import ConsentRecord

    settings.WAGTAIL_JOURNEYS = {"IP_ADDRESSES": "truncated", "DOUBLE_OPT_IN": True}
    signup = {"first_name": "Ann", "email": "ann@example.com"}
    client.post("/newsletter/", signup, REMOTE_ADDR="203.0.113.77")
    (asked,) = ConsentRecord.objects.filter(action="requested")
    assert asked.details["ip"] == "203.0.113.0"
