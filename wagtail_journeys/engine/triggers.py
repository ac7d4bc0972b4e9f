"""Matching new events to scenario triggers, goals and event waits, in batches.

The index from event name to scenarios is a query on ``ScenarioPage.trigger_event`` (an
indexed column) for the names in the batch: no scan of every scenario per event.

The time rule: an event fires a trigger only if it occurred at or after the scenario went
live (``live_since``, carried by the Plan's trigger) and is no older than
``TRIGGER_MAX_EVENT_AGE_HOURS`` when the engine reads it. History is for segments.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q

from .. import conf
from ..events import TRIGGER_CURSOR, read_batch
from ..models import TRUST, Enrollment, EnrollmentStatus, Event, EventSource, ScenarioPage
from ..models.events import IDENTIFIED, is_machine
from ..scenarios.loading import current_plan, trigger_event_name
from ..workers import stopping
from . import clock
from .enroll import after_start, enroll, enrollment_starts
from .values import event_values

CURSOR = TRIGGER_CURSOR


def filters_match(filters: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """Every filter property equals the event's (a list filter means "one of")."""
    for key, wanted in filters.items():
        value = properties.get(key)
        if isinstance(wanted, list | tuple):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def _page_view_matches(trigger: Mapping, properties: Mapping) -> bool:
    if trigger["page_id"] and properties.get("page_id") != trigger["page_id"]:
        return False
    if trigger["page_type"] and properties.get("page_type") != trigger["page_type"]:
        return False
    return not trigger["page_tag"] or trigger["page_tag"] in (properties.get("tags") or [])


def _enough_views(trigger: Mapping, contact_id: int, now: dt.datetime) -> bool:
    """At least ``min_views`` matching page views by this contact in the window, since the
    scenario went live (tags are matched in Python: JSON list containment is not portable
    across databases)."""
    if trigger["min_views"] <= 1:
        return True
    views = Event.objects.filter(contact_id=contact_id, name="page_view")
    if trigger.get("live_since"):
        views = views.filter(occurred_at__gte=dt.datetime.fromisoformat(trigger["live_since"]))
    if trigger["view_days"]:
        views = views.filter(occurred_at__gte=now - dt.timedelta(days=trigger["view_days"]))
    if trigger["page_id"]:
        views = views.filter(properties__page_id=trigger["page_id"])
    seen = 0
    for properties in views.values_list("properties", flat=True).iterator():
        if _page_view_matches(trigger, properties or {}):
            seen += 1
            if seen >= trigger["min_views"]:
                return True
    return False


def may_fire(trigger: Mapping, event: Event, *, now: dt.datetime, max_age: dt.timedelta) -> bool:
    """The time and trust rule of event-driven triggers (pure): the event occurred at or
    after the scenario went live, is no older than ``max_age`` at ``now``, and was sent by
    the source the trigger requires (any, a server, a browser)."""
    since = trigger.get("live_since")
    if since and event.occurred_at < dt.datetime.fromisoformat(since):
        return False
    if event.occurred_at < now - max_age:
        return False
    wanted = trigger.get("source")
    return not wanted or TRUST.get(event.source) == wanted


def trigger_matches(trigger: Mapping, properties: Mapping) -> bool:
    """Does one event (its properties) fire this trigger? Pure."""
    if trigger["kind"] == "page_view":
        return _page_view_matches(trigger, properties) and filters_match(
            trigger["filters"], properties
        )
    if trigger["kind"] == "email_engagement":
        # Every open and click is recorded: the message's first (human) one fires it.
        first = properties.get("first", True) is not False  # events before 0.3: once each
        return properties.get("email_page_id") == trigger["email_id"] and first
    return filters_match(trigger["filters"], properties)


def with_identified_history(events: list[Event]) -> list[Event]:
    """The batch, preceded by the events its ``visitor_identified`` records name: what a
    visitor did while anonymous, read then without a contact, now its contact's
    (``contacts.identify``). Each is read so once more, as the contact's; the time rule
    holds as for any event (its own ``occurred_at``, no older than the maximum age)."""
    marks = [
        e
        for e in events
        if e.name == IDENTIFIED and e.source == EventSource.SYSTEM and e.contact_id
    ]
    if not marks:
        return events
    named = dict(Event.objects.filter(pk__in=[m.pk for m in marks]).values_list("pk", "properties"))
    wanted = Q(pk__in=[])
    for mark in marks:
        facts = named.get(mark.pk) or {}
        try:
            visitor = uuid.UUID(str(facts["visitor"]))
            first, last = int(facts["first"]), int(facts["last"])
        except (KeyError, TypeError, ValueError):
            continue
        wanted |= Q(visitor_id=visitor, contact_id=mark.contact_id, pk__gte=first, pk__lte=last)
    history = list(
        Event.objects.filter(wanted)
        .order_by("id")
        .only("id", "contact_id", "visitor_id", "name", "occurred_at", "source")
    )
    return [*history, *events]


def match_events(events: list[Event], *, now: dt.datetime) -> int:
    """Apply a batch of events (oldest first) to triggers, goals, event waits and audience
    exits.

    Returns the number of enrolments created. Call inside the transaction that moves the
    cursor past these events, so a failed batch is applied again from scratch.
    """
    from .exits import apply_goals, exit_lost_audience  # exits use this module's matching

    events = [e for e in with_identified_history(events) if e.contact_id]
    if not events:
        return 0
    props = dict(
        Event.objects.filter(pk__in=[e.pk for e in events]).values_list("pk", "properties")
    )
    # A machine's open or click (Apple Mail Privacy Protection, a link scanner) is not the
    # contact's: it fires no trigger, wakes no wait and reaches no goal.
    events = [e for e in events if not is_machine(e.name, props[e.pk])]
    if not events:
        return 0
    names = {e.name for e in events}
    _wake_waits(events, names, props, now)
    wanted = Q(trigger_kind="event", trigger_event__in=names)
    if "page_view" in names:
        wanted |= Q(trigger_kind="page_view")
    if names & {"email_sent", "email_opened", "email_clicked"}:
        wanted |= Q(trigger_kind="email_engagement")
    candidates = (
        ScenarioPage.objects.live()
        .filter(wanted)
        .only("pk", "trigger_kind", "trigger_event", "engagement_kind")
    )
    index: dict[str, list[int]] = defaultdict(list)
    for scenario in candidates:
        index[trigger_event_name(scenario)].append(scenario.pk)
    created = 0
    max_age = dt.timedelta(hours=conf.get("TRIGGER_MAX_EVENT_AGE_HOURS"))
    for name in names & set(index):
        for scenario_id in index[name]:
            plan = current_plan(scenario_id)
            if plan is None:
                continue
            hits = [
                e
                for e in events
                if e.name == name
                and may_fire(plan.trigger, e, now=now, max_age=max_age)
                and trigger_matches(plan.trigger, props[e.pk])
            ]
            first: dict[int, Event] = {}  # a contact's first event of the batch enrols them
            for e in hits:
                first.setdefault(e.contact_id, e)
            if plan.trigger["kind"] == "page_view":
                first = {c: e for c, e in first.items() if _enough_views(plan.trigger, c, now)}
            if not first:
                continue
            if plan.trigger["kind"] == "email_engagement" and plan.trigger["engagement"] == (
                "not_opened"
            ):
                days = dt.timedelta(days=plan.trigger["days"])
                contexts = {
                    c: {
                        "unless_opened": plan.trigger["email_id"],
                        "since": e.occurred_at.isoformat(),
                        "event_id": e.pk,
                        "event": event_values(props[e.pk]),
                    }
                    for c, e in first.items()
                }
                due_ats = {c: e.occurred_at + days for c, e in first.items()}
            else:
                contexts = {
                    c: {"event_id": e.pk, "event": event_values(props[e.pk])}
                    for c, e in first.items()
                }
                due_ats = None
            created += len(
                enroll(scenario_id, list(first), now=now, contexts=contexts, due_ats=due_ats)
            )
    apply_goals(events, props, now)
    exit_lost_audience(now=now, contact_ids={e.contact_id for e in events})
    return created


def _wake_waits(events: list[Event], names: set[str], props: dict, now: dt.datetime) -> None:
    waiting = Enrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE,
        waiting=True,
        wait_event__in=names,
        contact_id__in={e.contact_id for e in events},
    )
    woken = []
    waiting = list(waiting)
    starts = enrollment_starts(waiting)  # a wait hears only events after its enrolment began
    for enr in waiting:
        plan = current_plan(enr.scenario_id)
        step = plan.steps.get(enr.step_id) if plan else None
        filters = step.config.get("filters", {}) if step else {}
        if any(
            e.contact_id == enr.contact_id
            and e.name == enr.wait_event
            and after_start(e, starts[enr.pk])
            and filters_match(filters, props[e.pk])
            for e in events
        ):
            woken.append(enr.pk)
    if woken:
        Enrollment.objects.filter(pk__in=woken, waiting=True).update(outcome="event", due_at=now)


def process_triggers(*, now: dt.datetime | None = None, max_batches: int = 50) -> int:
    """Consume the event log from the ``scenarios`` cursor; return enrolments created.

    Safe to run concurrently: the cursor row is locked for each batch."""
    created = 0
    for _ in range(max_batches):
        if stopping.is_set():  # a qcluster worker told to stop (workers.py)
            break
        with transaction.atomic():
            cursor, events = read_batch(CURSOR, limit=conf.get("EVENT_BATCH_SIZE"))
            if not events:
                break
            created += match_events(events, now=now or clock.now())
            cursor.position = events[-1].pk
            cursor.save(update_fields=["position", "updated_at"])
    return created
