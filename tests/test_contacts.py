"""Contacts: normalised emails, upserts that never half-write, activity batches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, EventFactory
from wagtail_journeys.contacts import identify, normalize_email, upsert_contact
from wagtail_journeys.exceptions import InvalidInput
from wagtail_journeys.models import Contact, Event, EventSource, Visitor
from wagtail_journeys.segments import contacts_matching
from wagtail_journeys.tasks import process_events
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw, expected",
    [
        (" Ann@Example.COM ", "ann@example.com"),
        ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@", "@b.com", "a b@c.com", None, 42])
def test_normalize_email_refuses(raw):
    with pytest.raises(InvalidInput):
        normalize_email(raw)


def test_upsert_is_case_insensitive_and_merges():
    first, created = upsert_contact("Ann@Example.com", {"first_name": "Ann"}, tags=["horror"])
    again, created_again = upsert_contact("ann@example.com", {"last_name": "Lee"}, tags=["classic"])
    assert created and not created_again
    assert first.pk == again.pk
    again.refresh_from_db()
    assert (again.first_name, again.last_name) == ("Ann", "Lee")
    assert sorted(again.tags.names()) == ["classic", "horror"]


def test_invalid_field_writes_nothing():
    with pytest.raises(InvalidInput) as exc:
        upsert_contact("a@example.com", {"first_name": "A", "timezone": "Nowhere/City"})
    assert exc.value.field == "timezone"
    assert Contact.objects.count() == 0


def test_invalid_update_leaves_contact_as_it_was():
    contact = ContactFactory(email="a@example.com", first_name="Ann", timezone="Europe/Paris")
    with pytest.raises(InvalidInput):
        upsert_contact("a@example.com", {"first_name": "Bob", "civility": "emperor"})
    contact.refresh_from_db()
    assert contact.first_name == "Ann"


def test_identify_moves_only_that_visitors_events():
    contact = ContactFactory()
    mine, other = VisitorId.new(), VisitorId.new()
    EventFactory(contact=None, visitor_id=mine.uuid)
    EventFactory(contact=None, visitor_id=other.uuid)
    assert identify(mine.uuid, contact) == 1
    assert identify(mine.uuid, contact) == 0  # idempotent
    assert Event.objects.get(visitor_id=mine.uuid).contact == contact
    assert Event.objects.get(visitor_id=other.uuid).contact is None
    assert Visitor.objects.get(pk=mine.uuid).identified_at is not None


def test_process_events_attaches_late_events_and_tracks_activity():
    contact = ContactFactory()
    visitor = VisitorId.new()
    identify(visitor.uuid, contact)
    old = timezone.now() - dt.timedelta(minutes=5)
    # an event recorded with a cookie that did not yet carry the contact
    EventFactory(contact=None, visitor_id=visitor.uuid, occurred_at=old, received_at=old)
    EventFactory(contact=contact, occurred_at=old - dt.timedelta(days=1), received_at=old)
    assert process_events() == 2
    contact.refresh_from_db()
    assert contact.last_activity_at == old
    assert Event.objects.filter(contact=contact).count() == 2
    assert process_events() == 0  # the cursor moved on


def test_the_apps_own_events_are_not_the_contacts_activity():
    """``email_sent`` (and the app's other records) move neither ``last_activity_at`` nor
    the *Inactive* rule; an open does, for both."""
    now = timezone.now()
    joined, sent, opened = (now - dt.timedelta(days=d) for d in (200, 3, 150))
    contact = ContactFactory(created_at=joined)
    EventFactory(
        contact=contact,
        name="email_opened",
        source=EventSource.EMAIL,
        occurred_at=opened,
        received_at=opened,
    )
    assert process_events() == 1
    contact.refresh_from_db()
    assert contact.last_activity_at == opened
    for name, source in (("email_sent", EventSource.EMAIL), ("flow_done", EventSource.SYSTEM)):
        EventFactory(contact=contact, name=name, source=source, occurred_at=sent, received_at=sent)
    process_events()
    contact.refresh_from_db()
    assert contact.last_activity_at == opened
    inactive = contacts_matching([{"type": "inactive", "value": {"days": 90, "event": ""}}])
    assert list(inactive) == [contact]


def test_process_events_leaves_fresh_events_for_the_next_pass():
    EventFactory()  # received just now: its id may still be followed by a smaller one
    assert process_events() == 0


def test_events_are_append_only():
    event = EventFactory()
    event.name = "edited"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
