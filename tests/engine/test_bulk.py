"""``engine.bulk.insert_rows``: the rows ``bulk_create`` would write (COPY on PostgreSQL),
with their ids, JSON values, ``auto_now`` stamps and unique keys."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from wagtail_journeys.engine.bulk import insert_rows
from wagtail_journeys.models import Contact, Event, EventSource

pytestmark = pytest.mark.django_db


def test_rows_get_their_ids_and_values():
    contacts = [
        Contact(email=f"bulk{n}@example.com", first_name='Zoë\t\\ "x"', attributes={"n": n})
        for n in range(3)
    ]
    insert_rows(contacts, ids=True)
    stored = Contact.objects.in_bulk([c.pk for c in contacts])
    assert [stored[c.pk].email for c in contacts] == [c.email for c in contacts]
    assert stored[contacts[2].pk].attributes == {"n": 2}
    assert stored[contacts[0].pk].first_name == 'Zoë\t\\ "x"'
    assert stored[contacts[0].pk].updated_at is not None  # auto_now, as save() sets it
    assert not contacts[0]._state.adding


def test_a_taken_unique_key_raises_and_writes_nothing():
    contact = Contact.objects.create(email="keys@example.com")
    now = timezone.now()

    def event(key):
        return Event(
            name="email_sent",
            contact=contact,
            properties={"a": [1, "é"]},
            occurred_at=now,
            received_at=now,
            source=EventSource.EMAIL,
            idempotency_key=key,
        )

    insert_rows([event("k1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([event("k2"), event("k1")])
    assert list(Event.objects.values_list("idempotency_key", "properties")) == [
        ("k1", {"a": [1, "é"]})
    ]
