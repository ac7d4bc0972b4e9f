"""Conversions: which message an event such as a purchase is credited to, and its revenue.

An event *converts* when its name is in ``CONVERSION_EVENTS`` (default ``["purchase"]``),
or is a goal event of the scenario that sent the message it is attributed to. It is
attributed to the last message the contact opened or clicked, by a person (a machine's
open or click never counts), within ``ATTRIBUTION_DAYS`` (default 5) before it. Its
revenue is its ``amount`` when a server sent it (``models.events.revenue_of``: anyone can
script a browser, so a browser's amount counts as a conversion without money).

``attribute`` runs inside the rollup's batch (``analytics.rollup``), in the transaction
that moves its cursor: each conversion is counted once, ``Message.converted_at`` is set
by the first one and ``Message.revenue`` grows by each one's amount.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Case, DecimalField, F, Value, When

from .. import conf
from ..models import Event, EventSource, Message, ScenarioPage, Trust
from ..models.events import TRUST, is_machine, revenue_of

#: The replies that make a message the one a later conversion is credited to.
ENGAGEMENT = ("email_opened", "email_clicked")


class Row(NamedTuple):
    """An event of the log as the rollup reads it (a tuple: a batch makes thousands)."""

    id: int
    name: str
    contact_id: int | None
    occurred_at: dt.datetime
    source: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class Conversion:
    """One attributed conversion: the event, the message's properties (the ones its
    engagement events carry), whether it is the message's first, and its revenue."""

    event: Row
    message: Mapping[str, Any]
    first: bool
    revenue: Decimal


def goal_names() -> dict[int, set[str]]:
    """Each scenario's goal event names (live or not: its messages stay attributable).
    One query."""
    rows = ScenarioPage.objects.exclude(goal_event="").values_list("pk", "goal_event")
    return {pk: {n.strip() for n in names.split(",") if n.strip()} for pk, names in rows}


def candidate_names(goals: Mapping[int, set[str]]) -> set[str]:
    """Every event name that may convert: the setting's and every goal's."""
    names = set(conf.get("CONVERSION_EVENTS"))
    for scenario_names in goals.values():
        names |= scenario_names
    return names


def may_convert(row: Row, names: set[str]) -> bool:
    """Can this event be a conversion at all? A named one of a contact, not one the app
    records itself (emails sent, opened, clicked…)."""
    return (
        row.contact_id is not None and row.name in names and TRUST.get(row.source) != Trust.ENGINE
    )


def _engagements(rows: list[Row], window: dt.timedelta) -> dict[int, list[tuple]]:
    """The human opens and clicks of these events' contacts that may credit them:
    ``contact -> [(occurred_at, id, properties)]`` sorted. One query."""
    contacts = {r.contact_id for r in rows}
    since = min(r.occurred_at for r in rows) - window
    until = max(r.occurred_at for r in rows)
    found: dict[int, list[tuple]] = defaultdict(list)
    for contact_id, name, occurred_at, pk, props in (
        Event.objects.filter(
            contact_id__in=contacts,
            name__in=ENGAGEMENT,
            source=EventSource.EMAIL,
            occurred_at__gte=since,
            occurred_at__lte=until,
        )
        .values_list("contact_id", "name", "occurred_at", "pk", "properties")
        .order_by()
    ):
        if isinstance(props, dict) and not is_machine(name, props):
            message = props.get("message")
            if isinstance(message, int) and not isinstance(message, bool):
                found[contact_id].append((occurred_at, pk, props))
    for items in found.values():
        items.sort(key=lambda item: (item[0], item[1]))
    return found


def credited(row: Row, engagements: list[tuple], window: dt.timedelta) -> Mapping | None:
    """The properties of the last human open or click at or before ``row`` and within
    ``window`` of it, or ``None``. Pure."""
    at = bisect.bisect_right(engagements, (row.occurred_at, float("inf")), key=lambda i: i[:2])
    if at == 0:
        return None
    occurred_at, _pk, props = engagements[at - 1]
    return props if occurred_at >= row.occurred_at - window else None


def attribute(rows: Iterable[Row], goals: Mapping[int, set[str]]) -> list[Conversion]:
    """Credit the conversions among ``rows`` (oldest first) to messages; set each
    message's ``converted_at`` (its first) and add to its ``revenue``. Call inside the
    rollup's transaction, which holds its cursor: only the rollup writes these fields,
    so reading them first is safe. Four queries at most, whatever the batch."""
    names = candidate_names(goals)
    rows = [r for r in rows if may_convert(r, names)]
    if not rows:
        return []
    window = dt.timedelta(days=conf.get("ATTRIBUTION_DAYS"))
    engagements = _engagements(rows, window)
    site_wide = set(conf.get("CONVERSION_EVENTS"))
    credits = []
    for row in rows:
        message = credited(row, engagements.get(row.contact_id, []), window)
        if message is None:
            continue
        if row.name in site_wide or row.name in goals.get(message.get("scenario_id"), ()):
            credits.append((row, message))
    if not credits:
        return []
    ids = {message["message"] for _row, message in credits}
    unconverted = set(
        Message.objects.filter(pk__in=ids, converted_at__isnull=True).values_list("pk", flat=True)
    )
    found, firsts, revenue = [], {}, defaultdict(Decimal)
    for row, message in credits:
        pk = message["message"]
        first = pk in unconverted and pk not in firsts
        if first:
            firsts[pk] = row.occurred_at
        amount = revenue_of(row.properties, row.source)
        if amount:
            revenue[pk] += amount
        found.append(Conversion(row, message, first, amount))
    if firsts:
        Message.objects.filter(pk__in=firsts).update(
            converted_at=Case(*[When(pk=pk, then=Value(at)) for pk, at in firsts.items()])
        )
    if revenue:
        Message.objects.filter(pk__in=revenue).update(
            revenue=F("revenue")
            + Case(
                *[When(pk=pk, then=Value(amount)) for pk, amount in revenue.items()],
                output_field=DecimalField(max_digits=18, decimal_places=2),
            )
        )
    return found
