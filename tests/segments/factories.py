"""Factories for contacts, events and segments (segment tests)."""

from __future__ import annotations

import datetime as dt

import factory

from tests.factories import EventFactory
from wagtail_journeys.models import Contact, Segment

__all__ = ["NOW", "ContactFactory", "EventFactory", "SegmentFactory", "rule"]

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = "Ada"
    timezone = "UTC"

    @factory.post_generation
    def interests(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.add(*extracted)


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    rules = factory.LazyFunction(list)


def rule(kind: str, negate: bool = False, **value) -> dict:
    """One raw rule block, as stored in the ``rules`` StreamField."""
    return {"type": kind, "value": {"negate": negate, **value}}
