"""Recording what a contact (or a machine in their stead) did with a message: opens,
clicks, unsubscribes. Each hit moves the message's counters with one UPDATE (never a
read-modify-write) and appends its event in the same transaction; the UPDATE returns the
new human count, which says whether this was the message's first human open or click.

Events carry the message's common properties (``Message.event_properties``) and
``first``, ``machine`` and ``why`` (``tracking.machines``). Opens are recorded every
time, at most once per message and minute (per kind, human or machine: an idempotency
key per minute); clicks every time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from .. import topics
from ..consent import status_record
from ..events import record_event
from ..models import (
    ConsentRecord,
    ConsentSource,
    Contact,
    EmailStatus,
    Event,
    EventSource,
    Message,
    Topic,
)
from .machines import Verdict


class _Repeat(Exception):
    """This minute's open of the message is recorded already: undo the counters."""


def _count_human(message_id: int, stamp: str, count: str, now: dt.datetime) -> int | None:
    """``stamp = COALESCE(stamp, now)``, ``count = count + 1`` (and the latest click time,
    for clicks) in one UPDATE; the new count, or ``None`` if the message is gone."""
    quote = connection.ops.quote_name
    when = connection.ops.adapt_datetimefield_value(now)
    sets = [
        f"{quote(stamp)} = COALESCE({quote(stamp)}, %s)",
        f"{quote(count)} = {quote(count)} + 1",
    ]
    params = [when]
    if count == "click_count":
        sets.append(f"{quote('last_click_at')} = %s")
        params.append(when)
    # Identifiers are the model's own, quoted by the backend; values are parameters.
    table, assignments = quote(Message._meta.db_table), ", ".join(sets)
    sql = f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s RETURNING {quote(count)}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, message_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _record(
    message: Message, name: str, verdict: Verdict, now: dt.datetime, key: str | None, **extra
) -> Event | None:
    """Count the hit on the message and append its event, in one transaction. Returns
    the event, or ``None`` when ``key`` was recorded already (nothing changes then)."""
    stamp, count = (
        ("opened_at", "open_count")
        if name == "email_opened"
        else (
            "clicked_at",
            "click_count",
        )
    )
    try:
        with transaction.atomic():
            if verdict.machine:
                machine = "machine_open_count" if name == "email_opened" else "machine_click_count"
                changes = {machine: F(machine) + 1}
                if name == "email_clicked":
                    changes["last_click_at"] = now
                Message.objects.filter(pk=message.pk).update(**changes)
                first = False
            else:
                first = _count_human(message.pk, stamp, count, now) == 1
            event, created = record_event(
                name,
                contact=message.contact_id,
                properties=message.event_properties(
                    **extra, first=first, machine=verdict.machine, why=verdict.why
                ),
                occurred_at=now,
                source=EventSource.EMAIL,
                idempotency_key=key,
            )
            if not created:
                raise _Repeat
    except _Repeat:
        return None
    return event


def record_open(message: Message, verdict: Verdict, now: dt.datetime) -> Event | None:
    """Record one fetch of the open pixel: ``email_opened`` (every open, at most one per
    message, kind and minute) and the message's counters; the first human open sets
    ``opened_at`` and has ``first: true``. Returns the event, or ``None`` for a repeat
    within the minute."""
    minute = int(now.timestamp()) // 60
    kind = "m" if verdict.machine else "h"
    key = f"email_opened:{message.uuid.hex}:{minute}:{kind}"
    return _record(message, "email_opened", verdict, now, key)


def record_click(
    message: Message, link: int, url: str, verdict: Verdict, now: dt.datetime
) -> Event | None:
    """Record one click on link ``link`` (its index in the compiled email) going to
    ``url``: ``email_clicked`` and the message's counters; the first human click sets
    ``clicked_at`` and has ``first: true``."""
    return _record(message, "email_clicked", verdict, now, None, link=link, url=url)


def unsubscribe_contact(
    message: Message,
    now: dt.datetime,
    *,
    topic: Topic | None = None,
    source: str = ConsentSource.UNSUBSCRIBE,
    wording: str = "",
    details: dict[str, Any] | None = None,
) -> bool:
    """Unsubscribe the message's contact from every marketing mail (``topic`` None) or
    from ``topic`` only; keep its consent record, mark the message ``unsubscribed_at`` and
    record ``unsubscribed`` (with the message's properties, and the topic's slug as
    ``topic`` for a topic) once, all in one transaction. True if the contact was subscribed
    (to the topic) until now."""
    facts = {"message": message.uuid.hex, **(details or {})}
    with transaction.atomic():
        if topic is None:
            changed = bool(
                Contact.objects.filter(pk=message.contact_id)
                .exclude(email_status=EmailStatus.UNSUBSCRIBED)
                .update(email_status=EmailStatus.UNSUBSCRIBED)
            )
            if changed:
                ConsentRecord.objects.bulk_create(
                    [
                        status_record(
                            message.contact_id,
                            EmailStatus.UNSUBSCRIBED,
                            source=source,
                            wording=wording,
                            details=facts,
                            at=now,
                        )
                    ]
                )
            key = f"unsubscribed:{message.uuid.hex}"
        else:
            changed = topics.unsubscribe(message.contact, topic, source=source, details=facts)
            key = f"unsubscribed:{message.uuid.hex}:topic:{topic.pk}"
        if changed:
            Message.objects.filter(pk=message.pk, unsubscribed_at__isnull=True).update(
                unsubscribed_at=now
            )
            record_event(
                "unsubscribed",
                contact=message.contact_id,
                properties=message.event_properties(**({"topic": topic.slug} if topic else {})),
                occurred_at=now,
                source=EventSource.EMAIL,
                idempotency_key=key,
            )
    return changed
