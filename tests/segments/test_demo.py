"""The demo's seed segments exist once and each has members."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from wagtail_journeys.models import EventSource, Segment

from .factories import ContactFactory, EventFactory


@pytest.mark.django_db
def test_demo_segments_are_idempotent_and_populated():
    call_command("journeys_demo", stdout=io.StringIO())
    call_command("journeys_demo", stdout=io.StringIO())
    counts = {segment.slug: segment.count() for segment in Segment.objects.all()}
    assert set(counts) == {
        "birthday-today",
        "mr",
        "mrs",
        "big-spenders",
        "referred-by-a-friend",
        "inactive-90-days",
        "stephen-king-readers",
        "bought-stephen-king",
        "vip",
    }
    assert all(counts.values()), counts
    assert counts["vip"] < counts["big-spenders"]
    # Spend counts purchases a server recorded: a browser can post any amount.
    big_spenders = Segment.objects.get(slug="big-spenders")
    for source in (EventSource.BEACON, EventSource.API):
        buyer = ContactFactory()
        EventFactory(contact=buyer, name="purchase", properties={"amount": 10000}, source=source)
        assert big_spenders.contains(buyer) == (source == EventSource.API)
