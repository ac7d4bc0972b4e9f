"""factory_boy factories for the app's models."""

from __future__ import annotations

import factory
from django.utils import timezone

from wagtail_journeys.models import Contact, Event, EventSource


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    timezone = "Europe/Paris"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    name = "page_view"
    contact = factory.SubFactory(ContactFactory)
    properties = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(timezone.now)
    source = EventSource.API
