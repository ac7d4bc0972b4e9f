"""What ends an enrolment from outside its steps, as soon as it happens rather than when its
current wait ends: the scenario's goal (an event, one of several, or any activity of the
contact) and, for scenarios that exit on it, leaving the audience.

Goals are applied by the trigger pass to each batch of new events. Audience exits are
checked there for the contacts of the batch (an event can take a contact out of a
segment), and for everyone on every pass of the scheduled triggers (time alone can too).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from ..models import Enrollment, EnrollmentStatus, Event, ScenarioPage, StepRun
from ..models.events import is_activity, is_machine, revenue_of
from ..scenarios.loading import current_plan
from ..scenarios.plan import Plan
from .enroll import after_start, enrollment_starts
from .triggers import filters_match

AUDIENCE_LOST = gettext_noop("no longer in the audience")


def goal_events(goal: Mapping) -> list[str]:
    """The event names of a Plan's goal (Plans stored before goals took a list name one)."""
    if "events" in goal:
        return list(goal["events"])
    return [goal["event"]] if goal.get("event") else []


def reaches_goal(goal: Mapping, name: str, properties: Mapping, source: str) -> bool:
    """Does one event (its name, properties and source) reach this goal? Any activity is
    the contact's activity as ``models.events.is_activity`` defines it (the same as the
    *Inactive* rule and ``last_activity_at``): not the app's own ``email_sent``, nor a
    machine's open or click. Pure."""
    if goal.get("any_activity"):
        return is_activity(name, source, properties) and filters_match(goal["filters"], properties)
    if is_machine(name, properties):  # an open or click a machine made is no goal
        return False
    return name in goal_events(goal) and filters_match(goal["filters"], properties)


def conversion_runs(enr: Enrollment, revenue: Decimal, now: dt.datetime) -> list[StepRun]:
    """The step runs of an enrolment reaching its goal: ``converted`` for the scenario
    (``step_id`` ``None``) and for each split arm it took (``context["arms"]``, which
    ``DatabaseEnv.log`` keeps), each with the goal event's revenue."""
    arms = (enr.context or {}).get("arms") or {}
    common = {
        "enrollment_id": enr.pk,
        "contact_id": enr.contact_id,
        "scenario_id": enr.scenario_id,
        "iteration": enr.iteration,
        "outcome": EnrollmentStatus.CONVERTED,
        "revenue": revenue,
        "ran_at": now,
    }
    runs = [StepRun(step_id=None, kind="", **common)]
    for split_id, branch_id in arms.items():
        runs.append(StepRun(step_id=int(split_id), kind="split", branch_id=branch_id, **common))
    return runs


def apply_goals(events: list[Event], props: Mapping[int, Mapping], now: dt.datetime) -> int:
    """End (or move to the goal's step) the active enrolments whose goal one of these events
    reaches; return how many. An event counts only for an enrolment it came after: one its
    trigger event preceded (by id and time), or one started before it occurred, so the
    trigger itself, and history back-filled later, never reach a goal."""
    names = {e.name for e in events}
    scenarios = (
        ScenarioPage.objects.live()
        .filter(Q(goal_any_activity=True) | ~Q(goal_event=""))
        .only("pk", "goal_event", "goal_any_activity")
    )
    done = 0
    for scenario in scenarios:
        if not scenario.goal_any_activity and not names & set(scenario.goal_events()):
            continue
        plan = current_plan(scenario.pk)
        if plan is None:
            continue
        hits: dict[int, list[Event]] = defaultdict(list)
        for e in events:
            if reaches_goal(plan.goal, e.name, props[e.pk], e.source):
                hits[e.contact_id].append(e)
        if not hits:
            continue
        done += _reach_goal(scenario.pk, plan, hits, props, now)
    return done


def _reach_goal(
    scenario_id: int,
    plan: Plan,
    hits: Mapping[int, list[Event]],
    props: Mapping[int, Mapping],
    now: dt.datetime,
) -> int:
    """End (or move to the goal's step) the active enrolments of one scenario whose
    contacts' events (``hits``) reach its goal after they started; log their
    ``converted`` step runs. One transaction: the enrolments are locked (not skipped),
    so one a worker is advancing right now is converted once that worker commits, if
    still active, and logged once."""
    done = 0
    with transaction.atomic():
        rows = list(
            Enrollment.objects.filter(
                scenario_id=scenario_id, contact_id__in=hits, status=EnrollmentStatus.ACTIVE
            )
            .select_for_update()
            .only("pk", "contact_id", "scenario_id", "context", "started_at", "iteration")
        )
        starts = enrollment_starts(rows)
        reached: dict[str, list[int]] = defaultdict(list)  # goal event name -> enrolments
        runs: list[StepRun] = []
        for enr in rows:
            first = next((e for e in hits[enr.contact_id] if after_start(e, starts[enr.pk])), None)
            if first is not None:
                reached[first.name].append(enr.pk)
                runs += conversion_runs(enr, revenue_of(props[first.pk], first.source), now)
        StepRun.objects.bulk_create(runs, batch_size=2000)
        step_id = plan.goal["step_id"]
        for name, ids in reached.items():
            active = Enrollment.objects.filter(pk__in=ids, status=EnrollmentStatus.ACTIVE)
            if step_id and step_id in plan.steps:
                done += active.update(
                    step_id=step_id, waiting=False, wait_event="", outcome="", due_at=now
                )
            else:
                done += active.update(
                    status=EnrollmentStatus.CONVERTED,
                    ended_at=now,
                    due_at=None,
                    waiting=False,
                    wait_event="",
                    priority=False,
                    end_reason=gettext_noop("goal: %(name)s") % {"name": name},
                )
    return done


def exit_lost_audience(*, now: dt.datetime, contact_ids: Iterable[int] | None = None) -> int:
    """End, as exited, the active enrolments of live scenarios that exit when the contact is
    no longer in their audience, for contacts outside it now (only ``contact_ids``, when
    given); return how many. One query for the members per scenario, whatever its size.

    Enrolments a worker is advancing right now are skipped (``SKIP LOCKED`` on PostgreSQL):
    the advance checks the audience itself, and the next pass sees the rest."""
    from ..models import Segment

    scenarios = (
        ScenarioPage.objects.live()
        .filter(exit_on_audience_loss=True, audience__isnull=False)
        .values_list("pk", flat=True)
    )
    if contact_ids is not None:
        contact_ids = set(contact_ids)
        if not contact_ids:
            return 0
    exited = 0
    for scenario_id in scenarios:
        plan = current_plan(scenario_id)
        if plan is None or not plan.goal.get("exit_on_audience_loss"):
            continue
        audience = plan.entry["audience_id"]
        if not audience:
            continue
        rows = Enrollment.objects.filter(scenario_id=scenario_id, status=EnrollmentStatus.ACTIVE)
        if contact_ids is not None:
            rows = rows.filter(contact_id__in=contact_ids)
        segment = Segment.objects.filter(pk=audience).first()
        if segment is not None:  # a deleted audience has no members left
            rows = rows.exclude(contact_id__in=segment.contacts(now=now).values("pk"))
        with transaction.atomic():
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True, of=("self",))
            gone = list(rows.only("pk", "contact_id", "iteration"))
            if not gone:
                continue
            Enrollment.objects.filter(pk__in=[r.pk for r in gone]).update(
                status=EnrollmentStatus.EXITED,
                ended_at=now,
                due_at=None,
                waiting=False,
                wait_event="",
                priority=False,
                end_reason=AUDIENCE_LOST,
            )
            StepRun.objects.bulk_create(
                [
                    StepRun(
                        enrollment_id=r.pk,
                        contact_id=r.contact_id,
                        scenario_id=scenario_id,
                        step_id=None,
                        kind="",
                        iteration=r.iteration,
                        outcome=EnrollmentStatus.EXITED,
                        reason=AUDIENCE_LOST,
                        ran_at=now,
                    )
                    for r in gone
                ],
                batch_size=2000,
            )
        exited += len(gone)
    return exited
