"""Inactivity: joining counts as activity, and the rule and ``last_activity_at`` count the
same events (what the contact did, never the app's own ``email_sent``), on the database
the run uses, in SQL and in the Python reference alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from wagtail_journeys.importer import import_contacts
from wagtail_journeys.models import Contact, EventSource
from wagtail_journeys.segments import contacts_matching, load_facts, reference_matching

from .factories import NOW, ContactFactory, EventFactory, rule

pytestmark = pytest.mark.django_db

INACTIVE_90 = [rule("inactive", days=90, event="")]


def days_ago(n: float, now: dt.datetime = NOW) -> dt.datetime:
    return now - dt.timedelta(days=n)


def inactive(rules=INACTIVE_90, now: dt.datetime = NOW) -> set[str]:
    """The inactive contacts' emails, after checking that SQL and the reference agree."""
    sql = set(contacts_matching(rules, "all", now=now).values_list("pk", flat=True))
    python = reference_matching(rules, "all", load_facts(Contact.objects.all()), now=now)
    assert sql == python
    return set(Contact.objects.filter(pk__in=sql).values_list("email", flat=True))


def test_a_contact_imported_yesterday_is_not_inactive_for_90_days():
    report = import_contacts(["email,first_name\n", "new@x.com,Ann\n"])
    assert report.created == 1
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert inactive(now=tomorrow) == set()
    assert inactive(now=timezone.now() + dt.timedelta(days=91)) == {"new@x.com"}


def test_joining_counts_as_activity_up_to_the_window_start():
    ContactFactory(email="yesterday@x.com", created_at=days_ago(1))
    ContactFactory(email="hundred@x.com", created_at=days_ago(100))
    ContactFactory(email="exactly@x.com", created_at=days_ago(90))  # in [now − 90 d, now]
    ContactFactory(
        email="just-before@x.com", created_at=days_ago(90) - dt.timedelta(microseconds=1)
    )
    ContactFactory(email="future@x.com", created_at=NOW + dt.timedelta(days=1))  # not yet
    assert inactive() == {"hundred@x.com", "just-before@x.com"}


def test_only_what_the_contact_did_is_activity():
    """The app's own ``email_sent`` and its system events do not keep a contact active;
    opens, clicks, page views and server events do."""
    cases = {
        "sent@x.com": ("email_sent", EventSource.EMAIL),
        "sent-by-api@x.com": ("email_sent", EventSource.API),
        "system@x.com": ("scenario_event", EventSource.SYSTEM),
        "opened@x.com": ("email_opened", EventSource.EMAIL),
        "clicked@x.com": ("email_clicked", EventSource.EMAIL),
        "viewed@x.com": ("page_view", EventSource.PAGE),
        "bought@x.com": ("purchase", EventSource.API),
    }
    for email, (name, source) in cases.items():
        contact = ContactFactory(email=email, created_at=days_ago(100))
        EventFactory(contact=contact, name=name, source=source, occurred_at=days_ago(3))
    assert inactive() == {"sent@x.com", "sent-by-api@x.com", "system@x.com"}
    from wagtail_journeys.models.events import is_activity

    assert {e for e, (name, source) in cases.items() if not is_activity(name, source)} == {
        "sent@x.com",
        "sent-by-api@x.com",
        "system@x.com",
    }


def test_inactive_for_a_named_event_also_counts_from_joining():
    old = ContactFactory(email="old@x.com", created_at=days_ago(400))
    ContactFactory(email="new@x.com", created_at=days_ago(10))
    buyer = ContactFactory(email="buyer@x.com", created_at=days_ago(400))
    EventFactory(contact=old, name="page_view", occurred_at=days_ago(1))
    EventFactory(contact=buyer, name="purchase", occurred_at=days_ago(30))
    no_purchase = [rule("inactive", days=90, event="purchase")]
    assert inactive(no_purchase) == {"old@x.com"}


def test_a_machines_open_or_click_is_not_activity_nor_engagement():
    """Apple's proxy fetching the pixel and a link scanner's click are recorded with
    ``machine: true``: not activity (SQL and Python agree, as ``is_activity`` says), and
    not an open or a click for the *Email engagement* rule; events recorded before 0.3
    (no ``machine`` property) still count."""
    from wagtail_journeys.models.events import is_activity

    cases = {
        "mpp@x.com": ("email_opened", {"machine": True, "why": "apple_mpp"}),
        "scanner@x.com": ("email_clicked", {"machine": True, "why": "prefetch"}),
        "human@x.com": ("email_opened", {"machine": False, "why": ""}),
        "old@x.com": ("email_opened", {"email_page_id": 1}),
        "machine-prop@x.com": ("purchase", {"machine": True}),  # only opens and clicks
    }

    def source(name: str) -> str:
        return EventSource.API if name == "purchase" else EventSource.EMAIL

    for email, (name, properties) in cases.items():
        contact = ContactFactory(email=email, created_at=days_ago(100))
        EventFactory(
            contact=contact,
            name=name,
            properties=properties,
            source=source(name),
            occurred_at=days_ago(3),
        )
    assert inactive() == {"mpp@x.com", "scanner@x.com"}
    assert {
        e for e, (name, props) in cases.items() if not is_activity(name, source(name), props)
    } == {
        "mpp@x.com",
        "scanner@x.com",
    }
    opened = [rule("email_engagement", action="opened", email=None, days=7)]
    clicked = [rule("email_engagement", action="clicked", email=None, days=7)]
    for rules, expected in [(opened, {"human@x.com", "old@x.com"}), (clicked, set())]:
        sql = set(contacts_matching(rules, "all", now=NOW).values_list("email", flat=True))
        facts = load_facts(Contact.objects.all())
        python = reference_matching(rules, "all", facts, now=NOW)
        assert sql == expected
        assert set(Contact.objects.filter(pk__in=python).values_list("email", flat=True)) == sql
