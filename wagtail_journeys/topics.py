"""Subscription topics: who may get a topic's marketing mail, and a contact's choices.

A contact may get an email of a topic when it is subscribed to email (``email_status``)
and its choice for the topic (``TopicSubscription``) says yes, or, with no choice
recorded, the topic is ``subscribed_by_default``. Transactional sends ignore topics.
``refusals`` answers for a batch in one query (delivery and the engine use it);
``subscribed_q`` is the same test as a ``Q`` over ``Contact`` (the segment rule);
``choose`` saves a contact's choices with their consent records (the preference centre).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from .consent import record_consent
from .models import (
    ConsentAction,
    ConsentSource,
    Contact,
    EmailStatus,
    Topic,
    TopicSubscription,
)


def topic_reason(topic: Topic) -> str:
    """The stored reason of a send the topic refuses (``reasons.display`` translates it)."""
    return gettext_noop("not subscribed to the topic '%(topic)s'") % {"topic": topic.name}


def refusals(topic: Topic | None, contact_ids: Iterable[int]) -> dict[int, str]:
    """``{contact id: reason}`` for the contacts among ``contact_ids`` who unsubscribed
    from ``topic`` (or never opted in to an opt-in topic); one query. Their email status
    is not looked at here (``delivery.refusal`` does that)."""
    ids = set(contact_ids)
    if topic is None or not ids:
        return {}
    choices = TopicSubscription.objects.filter(topic=topic, contact_id__in=ids).order_by()
    if topic.subscribed_by_default:
        off = set(choices.filter(subscribed=False).values_list("contact_id", flat=True))
    else:
        off = ids - set(choices.filter(subscribed=True).values_list("contact_id", flat=True))
    reason = topic_reason(topic)
    return dict.fromkeys(off, reason)


def subscribed_q(topic: Topic) -> Q:
    """Contacts who may get ``topic``'s marketing mail now (subscribed to email, and to
    the topic by choice or by its default), as a condition on ``Contact``."""
    chosen = TopicSubscription.objects.filter(contact=OuterRef("pk"), topic=topic)
    if topic.subscribed_by_default:
        choice = ~Exists(chosen.filter(subscribed=False))
    else:
        choice = Exists(chosen.filter(subscribed=True))
    return Q(email_status=EmailStatus.SUBSCRIBED) & Q(choice)


def choices_of(contact: Contact, topics: Iterable[Topic]) -> dict[int, bool]:
    """``{topic id: subscribed}`` for ``contact``: its own choice, else the default."""
    chosen = dict(
        TopicSubscription.objects.filter(contact=contact).values_list("topic_id", "subscribed")
    )
    return {t.pk: chosen.get(t.pk, t.subscribed_by_default) for t in topics}


def topic_wording(topic: Topic) -> str:
    """What the person was shown for a topic: its name and description."""
    return f"{topic.name}: {topic.description}" if topic.description else topic.name


def choose(
    contact: Contact,
    wanted: dict[int, bool],
    topics: Collection[Topic],
    *,
    source: ConsentSource | str = ConsentSource.PREFERENCES,
    details: dict[str, Any] | None = None,
) -> list[Topic]:
    """Save ``contact``'s choices (``{topic id: subscribed}``) for ``topics``, keeping a
    consent record (with the topic's name and description as the wording) for each one
    that changes what the contact gets. One transaction; returns the topics changed."""
    now = timezone.now()
    current = choices_of(contact, topics)
    changed = [t for t in topics if t.pk in wanted and wanted[t.pk] != current[t.pk]]
    if not changed:
        return []
    with transaction.atomic():
        for topic in changed:
            TopicSubscription.objects.update_or_create(
                contact=contact,
                topic=topic,
                defaults={"subscribed": wanted[topic.pk], "changed_at": now},
            )
            record_consent(
                contact,
                action=ConsentAction.GRANTED if wanted[topic.pk] else ConsentAction.WITHDRAWN,
                source=source,
                topic=topic,
                wording=topic_wording(topic),
                details=details,
                at=now,
            )
    return changed


def unsubscribe(
    contact: Contact,
    topic: Topic,
    *,
    source: ConsentSource | str = ConsentSource.UNSUBSCRIBE,
    details: dict[str, Any] | None = None,
) -> bool:
    """Unsubscribe ``contact`` from ``topic`` (the one-click link of a topic's email);
    True if the contact was subscribed to it until now."""
    return bool(choose(contact, {topic.pk: False}, [topic], source=source, details=details))
