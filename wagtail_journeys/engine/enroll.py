"""Putting contacts into a scenario, with its entry rules and re-entry policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from ..models import Enrollment, EnrollmentStatus, Event
from ..scenarios.loading import current_plan
from ..scenarios.plan import Plan
from .bulk import insert_rows


def _segment_ids(segment_id: int, contact_ids: list[int]) -> set[int]:
    from ..models import Segment

    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return set()
    return set(segment.contacts().filter(pk__in=contact_ids).values_list("pk", flat=True))


def eligible(plan: Plan, contact_ids: Iterable[int], now: dt.datetime) -> list[int]:
    """The contacts (of those given) who may enter now: in the audience, not excluded,
    allowed by the re-entry policy, before the scenario's hard end. One query per rule."""
    ids = sorted(set(contact_ids))
    entry = plan.entry
    end_at = plan.goal.get("end_at")
    if not ids or (end_at and dt.datetime.fromisoformat(end_at) <= now):
        return []
    if entry["audience_id"]:
        inside = _segment_ids(entry["audience_id"], ids)
        ids = [i for i in ids if i in inside]
    if ids and entry["exclusion_id"]:
        excluded = _segment_ids(entry["exclusion_id"], ids)
        ids = [i for i in ids if i not in excluded]
    if not ids:
        return []
    previous = Enrollment.objects.filter(scenario_id=plan.scenario_id, contact_id__in=ids)
    if entry["reentry"] == "per_days":
        previous = previous.filter(
            started_at__gt=now - dt.timedelta(days=entry["reentry_days"])
        ) | previous.filter(status=EnrollmentStatus.ACTIVE)
    elif entry["reentry"] == "always":
        previous = previous.filter(status=EnrollmentStatus.ACTIVE)
    blocked = set(previous.values_list("contact_id", flat=True))
    return [i for i in ids if i not in blocked]


def enroll(
    scenario_id: int,
    contact_ids: Iterable[int],
    *,
    now: dt.datetime,
    depth: int = 0,
    context: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
    contexts: Mapping[int, dict[str, Any]] | None = None,
    due_ats: Mapping[int, dt.datetime] | None = None,
) -> list[Enrollment]:
    """Enrol the eligible contacts in a live scenario; return the new enrolments. None
    enter a scenario whose Plan failed the checker (``Plan.errors``), nor a paused one
    (every way in, triggers, the API and start-scenario steps, comes through here).

    They are due at once (or at ``due_at``) on the scenario's first step, with ``context``;
    ``contexts`` and ``due_ats`` give some contacts their own (a batch of events, each
    contact's own). Call inside the transaction that consumed the trigger, so a retried
    batch does not enrol twice. The enrolments, written in one bulk insert stamped with
    the real time (``recorded_at``, which the rollup's settle rule reads), are the
    scenario's *entered* record: no step run is logged for the start.
    """
    from ..models import ScenarioPage

    plan = current_plan(scenario_id)
    if plan is None or plan.errors:
        return []
    if not ScenarioPage.objects.filter(pk=scenario_id, live=True, paused="").exists():
        return []
    ids = eligible(plan, contact_ids, now)
    first = plan.steps.get(plan.first) if plan.first else None
    priority = bool(first and first.kind == "send_email" and first.config["transactional"])
    written = timezone.now()
    rows = [
        Enrollment(
            contact_id=i,
            scenario_id=scenario_id,
            step_id=plan.first,
            due_at=(due_ats or {}).get(i) or due_at or now,
            started_at=now,
            recorded_at=written,
            depth=depth,
            context=(contexts or {}).get(i) or context or {},
            priority=priority,
        )
        for i in ids
    ]
    insert_rows(rows, ids=True)
    return rows


def enrollment_starts(rows: Iterable[Enrollment]) -> dict[int, tuple[int, dt.datetime]]:
    """When each enrolment started, as the events that may end or wake it must see it:
    ``(trigger event id, when that event occurred)`` for an enrolment a trigger event
    started, ``(0, started_at)`` for the others. One query, for the trigger events."""
    rows = list(rows)
    ids = {(r.context or {}).get("event_id") for r in rows} - {None}
    occurred = (
        dict(Event.objects.filter(pk__in=ids).values_list("pk", "occurred_at")) if ids else {}
    )
    starts = {}
    for r in rows:
        event_id = (r.context or {}).get("event_id") or 0
        starts[r.pk] = (event_id, occurred.get(event_id, r.started_at))
    return starts


def after_start(event: Event, start: tuple[int, dt.datetime]) -> bool:
    """Did ``event`` come after an enrolment's start (see ``enrollment_starts``): recorded
    after its trigger event, and occurred no earlier? Back-filled history never does."""
    event_id, since = start
    return event.pk > event_id and event.occurred_at >= since
