"""Rehearse a scenario's draft over a past period of the real event log, writing nothing.

The rehearsal is the engine with another ``Env``: the same trigger matching
(``engine.triggers``), goals (``engine.exits``), entry checks (``engine.enroll``), step
logic (``engine.steps.run``), frequency cap and quiet hours decide; enrolments, step runs
and sends stay in memory. The clock is simulated: it moves on the grid of ``tick``
(as a worker running the engine every ``tick`` would), to each time an event of the log
was received or an enrolment is due. The log is read in id order, in batches of the
events the Plan listens to (its trigger, goal and event waits), so memory stays bounded
whatever the period.

What it cannot know is said in ``docs/concepts/scenarios.md`` ("Rehearse before
switching on"): contacts and segments are read as they are now, the emails it would have
sent were never opened, other scenarios are not run.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator
from json import loads
from typing import Any

from django.utils.translation import gettext_noop

from .. import conf
from ..exceptions import InvalidInput
from ..models import Contact, Event, StepRun
from ..models.events import is_machine
from ..scenarios.plan import Plan
from .enroll import _segment_ids, after_start
from .exits import goal_events, reaches_goal
from .figures import Rehearsal, Tally
from .rehearsal_env import LoggedEvent, Person, RehearsalEnv, RehearsalTooLarge, Visit
from .steps import End, _finish, run
from .triggers import filters_match, may_fire, trigger_matches

#: Trigger kinds a rehearsal replays from the event log (the others start on a schedule).
REHEARSED_TRIGGERS = ("event", "page_view", "email_engagement")
#: The simulated clock moves a quarter of an hour at a time: a rehearsal makes one pass
#: where a worker makes fifteen (a send comes at most that much later), which keeps a
#: month of a busy log within a minute (see ``benchmarks/bench_rehearsal.py``).
TICK = dt.timedelta(minutes=15)
#: Passes ahead whose due contacts a condition is evaluated for with the current pass's
#: (``RehearsalEnv.matches``): one query where each pass made one.
AHEAD = 32
BATCH = 5000
BLOCK = 4096  # contact ids read together
MAX_PASSES = 1000  # as ``advance_due`` per pass


def _watched(plan: Plan) -> set[str] | None:
    """The event names the Plan reacts to (``None``: any, for an any-activity goal)."""
    if plan.goal.get("any_activity"):
        return None
    names = set(goal_events(plan.goal))
    if plan.trigger["event"]:
        names.add(plan.trigger["event"])
    if plan.trigger["kind"] == "email_engagement" and plan.trigger["engagement"] == "not_opened":
        names.add("email_opened")
    for step in plan.steps.values():
        if step.kind == "wait" and step.config.get("mode") == "event" and step.config["event"]:
            names.add(step.config["event"])
    return names


def _log(plan: Plan, start: dt.datetime, end: dt.datetime):
    """The events of the period the Plan may react to. Page views that only its trigger
    reads are narrowed in SQL to the trigger's page and tag (the matching in Python
    decides; this only spares reading the others)."""
    from django.db.models import Q

    from ..segments.jsonpaths import json_condition

    rows = Event.objects.filter(
        occurred_at__gte=start, occurred_at__lte=end, contact_id__isnull=False
    )
    names = _watched(plan)
    if names is None:
        return rows
    trigger = plan.trigger
    if "page_view" not in names - {trigger["event"]} and trigger["kind"] == "page_view":
        views = Q(name="page_view")
        if trigger["page_id"]:
            views &= json_condition("properties", "page_id", "equals", str(trigger["page_id"]))
        if trigger["page_tag"]:
            views &= json_condition("properties", "tags", "contains", trigger["page_tag"])
        return rows.filter(Q(name__in=sorted(names - {"page_view"})) | views)
    return rows.filter(name__in=sorted(names))


def _moment(text: str) -> dt.datetime:
    """A datetime column read as text: ISO 8601 on both databases (PostgreSQL's output
    in the ``ISO`` DateStyle, which psycopg requires as well; SQLite's stored UTC text).
    Parsing it here takes a quarter of the time the driver's loader takes, which was
    the larger part of reading the log."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def read_log(
    plan: Plan, start: dt.datetime, end: dt.datetime, batch: int = BATCH
) -> Iterator[LoggedEvent]:
    """The contacts' events that occurred in ``[start, end]`` that the Plan may react to
    (``_log``), in id order, read ``batch`` at a time (keyset pages: one bounded query
    each). Each is made when it is needed: a page of rows (plain tuples) costs Python's
    cyclic collector nothing, a page of events and their properties would outlive a few
    of its passes and set off full ones over everything the rehearsal keeps."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    rows = _log(plan, start, end).annotate(
        occurred=Cast("occurred_at", CharField()),
        received=Cast("received_at", CharField()),
        data=Cast("properties", CharField()),
    )
    columns = ("id", "contact_id", "name", "occurred", "received", "source", "data")
    last = 0
    while True:
        page = list(rows.filter(id__gt=last).order_by("id").values_list(*columns)[:batch])
        if not page:
            return
        last = page[-1][0]
        for pk, contact, name, occurred, received, source, data in page:
            yield LoggedEvent(
                pk, contact, name, _moment(occurred), _moment(received), source, loads(data)
            )


class Simulation:
    """The simulated engine: in-memory enrolments of one draft Plan, a heap of due times,
    and the passes a worker would make at each tick."""

    def __init__(self, plan: Plan, result: Rehearsal, tick: dt.timedelta):
        self.plan, self.result, self.tick = plan, result, tick
        self.tally = Tally(result, plan)
        self.env = RehearsalEnv(self.tally, plan.scenario_id)
        self.env.upcoming = self.upcoming
        self.clock = result.start
        self.pending: list[LoggedEvent] = []
        self.heap: list[tuple[dt.datetime, int, Visit]] = []
        self.active: dict[int, Visit] = {}  # contact id -> active enrolment
        self.waiting: dict[tuple[int, str], Visit] = {}  # (contact, event) -> waiting on it
        self.started: dict[int, dt.datetime] = {}  # contact id -> last start
        self.views: dict[int, list[dt.datetime]] = defaultdict(list)
        self.people: dict[int, Person] = {}
        self.blocks: set[int] = set()
        self.opened: dict[int, dt.datetime] = {}
        self.ids = itertools.count(1)
        self.max_age = dt.timedelta(hours=conf.get("TRIGGER_MAX_EVENT_AGE_HOURS"))

    # The clock
    def tick_of(self, moment: dt.datetime) -> dt.datetime:
        """The first tick at or after ``moment`` (ticks fall on ``start + k * tick``)."""
        start = self.result.start
        if moment <= start:
            return start
        steps = -((start - moment) // self.tick)  # ceiling division
        return start + steps * self.tick

    def feed(self, event: LoggedEvent) -> None:
        """An event of the log, seen at the first tick after it was received."""
        seen = max(event.received_at, event.occurred_at)
        at = self.clock if seen <= self.clock else self.tick_of(seen)
        if at > self.clock:
            self.run_until(at)
        self.pending.append(event)

    def run_until(self, at: dt.datetime) -> None:
        """Finish the current tick (its events, then what is due), then every tick with
        something due before ``at``; the clock stops at ``at``."""
        self.pass_at(self.clock)
        while self.heap:
            due = self._next_due()
            if due is None:
                break
            moment = self.tick_of(due)
            if moment >= at:
                break
            self.clock = moment
            self.pass_at(moment)
        self.clock = at

    def finish(self) -> None:
        """Run to the end of the period and count who is still inside."""
        end = self.result.end
        self.run_until(self.tick_of(end))
        if self.clock <= end:
            self.pass_at(self.clock)
        for visit in self.active.values():
            node = self.result.nodes.get(visit.step_id)
            if node is not None:
                node.waiting += 1
        self.result.active = len(self.active)

    def _next_due(self) -> dt.datetime | None:
        while self.heap:
            due, _n, visit = self.heap[0]
            if visit.status == "active" and visit.due_at == due:
                return due
            heapq.heappop(self.heap)
        return None

    def upcoming(self, now: dt.datetime) -> dict[dt.datetime, set[int]]:
        """The contacts due in the passes after ``now``, up to ``AHEAD`` of them (and
        ``ADVANCE_BATCH_SIZE`` contacts), by the pass they are due at: a guess of whom
        the passes will ask about (a wait an event ends, or a new enrolment, comes
        sooner; a goal reached, later), which decides nothing."""
        limit, most = now + AHEAD * self.tick, conf.get("ADVANCE_BATCH_SIZE")
        heap, found, stack = self.heap, [], [0]
        while stack:  # the heap's entries due by ``limit``: prune subtrees due later
            index = stack.pop()
            if index < len(heap) and heap[index][0] <= limit:
                found.append(heap[index])
                stack += (2 * index + 1, 2 * index + 2)
        found.sort(key=lambda entry: entry[:2])
        out: dict[dt.datetime, set[int]] = {}
        for due, _n, visit in found[:most]:
            if visit.status == "active" and visit.due_at == due and due > now:
                out.setdefault(self.tick_of(due), set()).add(visit.contact_id)
        return out

    def _schedule(self, visit: Visit) -> None:
        if visit.status == "active" and visit.due_at is not None:
            heapq.heappush(self.heap, (visit.due_at, visit.id, visit))
        if visit.waiting and visit.wait_event:
            self.waiting[(visit.contact_id, visit.wait_event)] = visit

    # One pass of the engine at ``now``
    def pass_at(self, now: dt.datetime) -> None:
        if self.pending:
            events, self.pending = self.pending, []
            self.match(events, now)
        for _ in range(MAX_PASSES):
            due = []
            while self.heap and self._next_due() is not None and self.heap[0][0] <= now:
                due.append(heapq.heappop(self.heap)[2])
            if not due:
                return
            self.advance(list(dict.fromkeys(due)), now)  # a visit scheduled twice runs once

    def match(self, events: list[LoggedEvent], now: dt.datetime) -> None:
        """``triggers.match_events`` for one batch: waits woken, triggers, goals."""
        events = [e for e in events if not is_machine(e.name, e.properties)]
        self.result.events_read += len(events)
        for e in events:
            visit = self.waiting.get((e.contact_id, e.name))
            if visit is None or not visit.waiting or visit.wait_event != e.name:
                continue
            step = self.plan.steps.get(visit.step_id)
            filters = step.config.get("filters", {}) if step else {}
            if after_start(e, visit.start) and filters_match(filters, e.properties):
                visit.outcome, visit.due_at = "event", now
                del self.waiting[(e.contact_id, e.name)]
                self._schedule(visit)
        self._enrol(events, now)
        self._goals(events, now)

    def _enrol(self, events: list[LoggedEvent], now: dt.datetime) -> None:
        plan, trigger = self.plan, self.plan.trigger
        self._count_views(events)
        not_opened = trigger["kind"] == "email_engagement" and trigger["engagement"] == (
            "not_opened"
        )
        for e in events if not_opened else ():
            if (
                e.name == "email_opened"
                and e.properties.get("email_page_id") == trigger["email_id"]
            ):
                last = self.opened.get(e.contact_id)
                self.opened[e.contact_id] = max(last, e.occurred_at) if last else e.occurred_at
        hits = [
            e
            for e in events
            if e.name == trigger["event"]
            and may_fire(trigger, e, now=now, max_age=self.max_age)
            and trigger_matches(trigger, e.properties)
        ]
        first: dict[int, LoggedEvent] = {}
        for e in hits:
            first.setdefault(e.contact_id, e)
        if trigger["kind"] == "page_view" and trigger["min_views"] > 1:
            first = {c: e for c, e in first.items() if self._enough_views(c, events, now)}
        ids = self._eligible(sorted(first), now)
        if not ids:
            return
        head = plan.steps.get(plan.first) if plan.first else None
        priority = bool(head and head.kind == "send_email" and head.config["transactional"])
        for contact_id in ids:
            e = first[contact_id]
            context: dict[str, Any] = {"event_id": e.pk}
            due = now
            if not_opened:
                context.update(unless_opened=trigger["email_id"], since=e.occurred_at)
                due = e.occurred_at + dt.timedelta(days=trigger["days"])
            visit = Visit(
                id=next(self.ids),
                contact_id=contact_id,
                scenario_id=plan.scenario_id,
                step_id=plan.first,
                due_at=due,
                started_at=now,
                start=(e.pk, e.occurred_at),
                context=context,
                priority=priority,
            )
            self.active[contact_id] = visit
            self.started[contact_id] = now
            self.result.entered += 1
            self._schedule(visit)

    def _count_views(self, events: list[LoggedEvent]) -> None:
        """Remember the matching page views read (for a trigger that needs several)."""
        from .triggers import _page_view_matches

        trigger = self.plan.trigger
        if trigger["kind"] != "page_view" or trigger["min_views"] <= 1:
            return
        for e in events:
            if e.name == "page_view" and _page_view_matches(trigger, e.properties):
                self.views[e.contact_id].append(e.occurred_at)

    def _enough_views(self, contact_id: int, events, now: dt.datetime) -> bool:
        """``triggers._enough_views`` over the page views read so far (from the start of
        the period: when the draft is taken as switched on)."""
        trigger = self.plan.trigger
        seen = self.views[contact_id]
        if trigger["view_days"]:
            since = now - dt.timedelta(days=trigger["view_days"])
            seen[:] = [at for at in seen if at >= since]
        return len(seen) >= trigger["min_views"]

    def _eligible(self, ids: list[int], now: dt.datetime) -> list[int]:
        """``enroll.eligible`` with the rehearsal's own enrolments for the re-entry policy."""
        entry, end_at = self.plan.entry, self.plan.goal.get("end_at")
        if not ids or (end_at and dt.datetime.fromisoformat(end_at) <= now):
            return []
        if entry["audience_id"]:
            inside = _segment_ids(entry["audience_id"], ids)
            ids = [i for i in ids if i in inside]
        if ids and entry["exclusion_id"]:
            excluded = _segment_ids(entry["exclusion_id"], ids)
            ids = [i for i in ids if i not in excluded]
        out = []
        for i in ids:
            if i in self.active:
                continue
            last = self.started.get(i)
            again = last is not None and last <= now - dt.timedelta(days=entry["reentry_days"])
            if (
                last is None
                or entry["reentry"] == "always"
                or (entry["reentry"] == "per_days" and again)
            ):
                out.append(i)
        return out

    def _goals(self, events: list[LoggedEvent], now: dt.datetime) -> None:
        """``exits.apply_goals`` over the rehearsal's enrolments."""
        plan = self.plan
        if not plan.goal.get("any_activity") and not goal_events(plan.goal):
            return
        reached: set[int] = set()  # once per enrolment per batch, as ``apply_goals``
        for e in events:
            visit = self.active.get(e.contact_id)
            if visit is None or visit.status != "active" or visit.id in reached:
                continue
            if not reaches_goal(plan.goal, e.name, e.properties, e.source):
                continue
            if not after_start(e, visit.start):
                continue
            reached.add(visit.id)
            self.tally.ended("converted", visit)
            step_id = plan.goal["step_id"]
            self.waiting.pop((visit.contact_id, visit.wait_event), None)
            if step_id and step_id in plan.steps:
                visit.step_id, visit.waiting, visit.wait_event = step_id, False, ""
                visit.outcome, visit.due_at = "", now
                self._schedule(visit)
            else:
                visit.status, visit.ended_at, visit.due_at = "converted", now, None
                visit.end_reason = gettext_noop("goal: %(name)s") % {"name": e.name}
                self._forget(visit)

    def _forget(self, visit: Visit) -> None:
        if self.active.get(visit.contact_id) is visit:
            del self.active[visit.contact_id]

    def _contacts(self, ids: set[int]) -> dict[int, Person]:
        """The batch's contacts, read in blocks of ``BLOCK`` ids (one query per block for
        the whole rehearsal, rather than one per batch)."""
        for block in {i // BLOCK for i in ids} - self.blocks:
            rows = Contact.objects.filter(id__gte=block * BLOCK, id__lt=(block + 1) * BLOCK)
            for values in rows.values_list(*Person.FIELDS).order_by():
                self.people[values[0]] = Person(*values)
            self.blocks.add(block)
        return {i: self.people[i] for i in ids if i in self.people}

    def advance(self, due: list[Visit], now: dt.datetime) -> None:
        """``advance.advance_batch`` for the due enrolments, in batches of
        ``ADVANCE_BATCH_SIZE`` (transactional sends first, then by due time)."""
        from .advance import _precheck

        due.sort(key=lambda v: (not v.priority, v.due_at, v.id))
        size = conf.get("ADVANCE_BATCH_SIZE")
        plan = self.plan
        for index in range(0, len(due), size):
            batch = due[index : index + size]
            ids = {v.contact_id for v in batch}
            contacts = self._contacts(ids)
            self.env.begin(now, ids)
            audience = None
            if plan.goal.get("exit_on_audience_loss") and plan.entry["audience_id"]:
                audience = _segment_ids(plan.entry["audience_id"], sorted(ids))
            for visit in batch:
                self.waiting.pop((visit.contact_id, visit.wait_event), None)
                self.tally.arrive(visit, visit.step_id)
                early = _precheck(visit, plan, self.env, now, audience)
                if early is None and visit.iteration == 0 and visit.context.get("unless_opened"):
                    opened = self.opened.get(visit.contact_id)
                    if opened is not None and opened >= visit.context["since"]:
                        early = End("exited", gettext_noop("the email was opened"))
                if visit.contact_id not in contacts:
                    early = early or End("exited", gettext_noop("the contact was deleted"))
                if early:
                    _finish(visit, self.env, now, early)
                else:
                    run(plan, visit, contacts[visit.contact_id], self.env, now)
                    self.tally.arrive(visit, visit.step_id)
                if visit.status == "active":
                    self._schedule(visit)
                else:
                    self._forget(visit)


def rehearse(
    scenario: Any,
    *,
    start: dt.datetime,
    end: dt.datetime,
    tick: dt.timedelta = TICK,
    batch: int = BATCH,
    max_events: int | None = None,
) -> Rehearsal:
    """Run the scenario's draft (``scenarios.drafts``) as if it had been switched on at
    ``start``, over the events of the log that occurred until ``end``; return its figures.
    Reads only: no enrolment, step run, message, event or contact is written. Raises
    ``InvalidInput`` for a period that is not one, or a trigger the log cannot replay;
    ``RehearsalTooLarge`` (before reading them) when the period holds more than
    ``max_events`` events the draft listens to."""
    from ..scenarios.drafts import draft_plan

    if end <= start:
        raise InvalidInput("The period must end after it starts.", field="end")
    plan = draft_plan(scenario, live_since=start)
    if plan.trigger["kind"] not in REHEARSED_TRIGGERS:
        raise InvalidInput(
            "Only scenarios started by events, page views or email engagement can be "
            "rehearsed against the event log.",
            field="trigger",
        )
    if max_events is not None:
        events = _log(plan, start, end).count()
        if events > max_events:
            raise RehearsalTooLarge(events, max_events)
    share = conf.get("REHEARSAL_DAILY_SHARE_WARNING")
    result = Rehearsal(
        scenario_id=plan.scenario_id,
        title=plan.title,
        start=start,
        end=end,
        share_warning=share,
        plan=plan,
    )
    simulation = Simulation(plan, result, tick)
    env = simulation.env
    if env.cap:
        others = StepRun.objects.filter(
            marketing_send=True,
            ran_at__gte=start - dt.timedelta(days=env.cap[1]),
            ran_at__lte=end,
        ).exclude(scenario_id=plan.scenario_id)
        env.others_send = others.exists()
    for event in read_log(plan, start, end, batch):
        simulation.feed(event)
    simulation.finish()
    result.subscribed = Contact.objects.filter(email_status="subscribed").count()
    result.days = simulation.tally.days(share, result.subscribed)
    result.warnings = _warnings(result, plan)
    return result


def _warnings(result: Rehearsal, plan: Plan) -> list[str]:
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    out = []
    for day in result.days:
        if day.warning:
            out.append(
                _("On %(day)s it would have mailed %(sent)s contacts, %(share)s of the list.")
                % {"day": date_format(day.day), "sent": day.sent, "share": f"{day.share:.0%}"}
            )
    if plan.errors:
        out.extend(plan.errors)
    return out
