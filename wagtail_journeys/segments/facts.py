"""Plain-Python snapshots of contacts, for the reference evaluation of rules.

The reference evaluator (``Rule.holds``) reads only these snapshots, never the database,
so it is an independent second implementation of every rule: the property-based tests
and the benchmark compare it with the SQL compilation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..contacts import CONTACT_FIELDS as UPSERT_FIELDS


@dataclass(frozen=True)
class EventFact:
    name: str
    properties: Any
    occurred_at: dt.datetime
    source: str = ""


@dataclass
class ContactFacts:
    """One contact as the rules see it: its fields, attributes, tags and events, when
    it joined (``created_at``; ``None``: long ago), and its own topic choices
    (``{topic id: subscribed}``; a topic it made none for has the topic's default)."""

    id: int
    fields: dict[str, Any]
    attributes: Any = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    events: list[EventFact] = field(default_factory=list)
    created_at: dt.datetime | None = None
    topics: dict[int, bool] = field(default_factory=dict)


CONTACT_FIELDS = ("email", *UPSERT_FIELDS)


def load_facts(contacts: Iterable) -> list[ContactFacts]:
    """Snapshots of ``contacts`` (a Contact queryset) in four queries."""
    from ..models import ContactTag, Event, TopicSubscription

    snapshots = {
        row["id"]: ContactFacts(
            id=row["id"],
            fields={name: row[name] for name in CONTACT_FIELDS},
            attributes=row["attributes"],
            created_at=row["created_at"],
        )
        for row in contacts.values("id", "attributes", "created_at", *CONTACT_FIELDS)
    }
    tags: dict[int, set[str]] = defaultdict(set)
    tag_rows = ContactTag.objects.filter(content_object_id__in=contacts.values("id"))
    for contact_id, name in tag_rows.values_list("content_object_id", "tag__name"):
        tags[contact_id].add(name)
    events = Event.objects.filter(contact_id__in=contacts.values("id")).order_by()
    for contact_id, name, properties, occurred_at, source in events.values_list(
        "contact_id", "name", "properties", "occurred_at", "source"
    ).iterator(chunk_size=20000):
        snapshots[contact_id].events.append(EventFact(name, properties, occurred_at, source))
    choices = TopicSubscription.objects.filter(contact_id__in=contacts.values("id"))
    for contact_id, topic_id, subscribed in choices.values_list(
        "contact_id", "topic_id", "subscribed"
    ):
        snapshots[contact_id].topics[topic_id] = subscribed
    for contact_id, names in tags.items():
        snapshots[contact_id].tags = frozenset(names)
    return list(snapshots.values())
