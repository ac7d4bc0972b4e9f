"""The rollup pass: counts from the raw rows added into ``MailDay``, ``LinkDay`` and
``StepDay``, which reports read instead of scanning events.

Three readers, each behind its own cursor row (``EventCursor``), locked for the batch:

- the event log after ``rollup:events``: what happened to messages (sent, delivered,
  bounced, opened, clicked…) into ``MailDay`` and ``LinkDay``, and conversions
  (``analytics.conversions``);
- the step runs after ``rollup:runs``: what steps did into ``StepDay``, and the ends
  of scenarios (a run's ``ends``, or an end's own run);
- the enrolments after ``rollup:entries``: who entered each scenario, into ``StepDay``
  as the scenario's ``entered`` (step 0, on the local day of ``started_at``). Before
  migration 0022 each enrolment also wrote an ``entered`` step run, still counted by
  the runs reader: the migration starts this cursor after the enrolments of that time.

Each batch adds its counts with one upsert per table (``analytics.upsert``) in the
transaction that moves its cursor: a batch that fails is read again from scratch, and a
second worker waits for the lock and reads after it, so nothing is ever counted twice,
whatever runs where. Rows are read only once settled (``events.SETTLE`` for events,
``RUN_SETTLE`` for step runs and enrolments, by the real clock of their ``received_at``
or ``recorded_at``): an id allocated earlier can commit later, and reading past it
would skip it for good.

Only what the app itself recorded about its messages (source ``email``) counts: an API
client posting an ``email_opened`` event moves no report. Retention never purges a step
run this pass has not read yet (``engine.retention``), so it never changes past reports;
enrolments are never purged by age, and an erasure counts what of its contact is unread
first (``add_unread_of``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..events import SETTLE, last_settled
from ..models import (
    Enrollment,
    Event,
    EventCursor,
    EventSource,
    LinkDay,
    MailDay,
    Message,
    StepDay,
    StepRun,
)
from ..workers import stopping
from . import conversions
from .conversions import Row
from .figures import MAIL_COUNTS as FIGURE_COUNTS
from .upsert import add_counts

EVENTS_CURSOR = "rollup:events"
RUNS_CURSOR = "rollup:runs"
ENTRIES_CURSOR = "rollup:entries"
#: Step runs and enrolments are written inside the engine's batches, which can take
#: longer than events' inserts: they are read only this long after they were written.
RUN_SETTLE = dt.timedelta(seconds=10)
BATCH = 5000

MAIL_KEY = ("day", "email_page_id", "scenario_id", "step_id", "variant")
MAIL_COUNTS = (*FIGURE_COUNTS, "revenue")  # MailDay's columns that passes add to
LINK_KEY = ("day", "email_page_id", "scenario_id", "step_id", "link")
LINK_COUNTS = ("clicks", "clicked", "machine_clicks")
STEP_KEY = ("day", "scenario_id", "step_id", "branch_id", "outcome")
STEP_COUNTS = ("count", "revenue")

#: Event name -> the ``MailDay`` counter it adds to (opens and clicks: see ``_mail_counts``).
SIMPLE = {
    "email_sent": "sent",
    "email_delivered": "delivered",
    "email_bounced": "bounced",
    "email_rejected": "rejected",
    "email_complained": "complained",
    "unsubscribed": "unsubscribed",
}
MAIL_EVENTS = frozenset({*SIMPLE, "email_opened", "email_clicked"})
MAX_ID = 2**31 - 1


def _id(value: Any) -> int:
    """An id property as stored in a rollup key: a positive int, else 0 ("none")."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return 0


def variant_key(variant: Any) -> str:
    """``MailDay.variant`` for a message's segment variant (a list of segment ids):
    ``",".join`` of the ids sorted; ``""`` for the default content."""
    if not variant or not isinstance(variant, list | tuple):
        return ""
    return ",".join(str(i) for i in sorted({_id(v) for v in variant} - {0}))[:200]


def local_day(when: dt.datetime, tz: dt.tzinfo | None = None) -> dt.date:
    """The day a time falls on in ``settings.TIME_ZONE`` (or ``tz``, that zone fetched
    once for a batch): the day of the reports."""
    return when.astimezone(tz or timezone.get_default_timezone()).date()


def mail_key(day: dt.date, props: Mapping[str, Any]) -> tuple:
    return (
        day,
        _id(props.get("email_page_id")),
        _id(props.get("scenario_id")),
        _id(props.get("step_id")),
        variant_key(props.get("variant")),
    )


def _mail_counts(name: str, props: Mapping[str, Any]) -> list[str]:
    """The ``MailDay`` counters one event of the app's own adds 1 to. Pure."""
    if name in SIMPLE:
        if name == "unsubscribed" and "message" not in props:
            return []  # unsubscribed some other way (the API, the admin): no message's
        extra = (
            ["hard_bounced"] if name == "email_bounced" and props.get("bounce") == "hard" else []
        )
        return [SIMPLE[name], *extra]
    kind = "opens" if name == "email_opened" else "clicks"
    if props.get("machine") is True:
        return [f"machine_{kind}"]
    return [kind, kind[:-1] + "ed"] if props.get("first") is True else [kind]


class Tally:
    """Counts of one batch, by rollup key, ready for ``add_counts``."""

    def __init__(self, counts: tuple[str, ...], latest: tuple[str, ...] = ()):
        self.counts, self.latest = counts, latest
        self.rows: dict[tuple, dict[str, Any]] = {}

    def _row(self, key: tuple) -> dict[str, Any]:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = {
                **dict.fromkeys(self.counts, 0),
                **dict.fromkeys(self.latest, ""),
            }
        return row

    def add(self, key: tuple, counter: str, amount: int | Decimal = 1) -> None:
        self._row(key)[counter] += amount

    def set(self, key: tuple, field: str, value: Any) -> None:
        """A value that is replaced, not added (the latest wins)."""
        self._row(key)[field] = value

    def dicts(self, key_names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{**dict(zip(key_names, key, strict=True)), **row} for key, row in self.rows.items()]


def _anything_new(name: str, model: type, stamp: str, settle: dt.timedelta) -> bool:
    """Is there a settled row past the cursor? Read without a lock (a stale answer only
    leaves the rows to the next pass), so a pass with nothing new writes nothing: taking
    the row lock is a write, and its commit a disk flush."""
    position = EventCursor.objects.filter(name=name).values_list("position", flat=True).first()
    since = {f"{stamp}__lte": timezone.now() - settle}
    # Along the primary key from the cursor (a planner with stale statistics would
    # otherwise scan the whole table for a row that is not there).
    first = model.objects.filter(id__gt=position or 0, **since).order_by("id")
    return first.values_list("id", flat=True)[:1].first() is not None


def _lock(name: str) -> EventCursor:
    EventCursor.objects.get_or_create(name=name)
    return EventCursor.objects.select_for_update().get(name=name)


def roll_events(*, limit: int = BATCH, settle: dt.timedelta = SETTLE) -> int:
    """Add one batch of settled events after ``rollup:events`` into ``MailDay`` and
    ``LinkDay``, conversions included; return how many events the cursor passed (0:
    nothing new). One transaction."""
    return _roll(EVENTS_CURSOR, Event, "received_at", add_events, limit, settle)


def _roll(name: str, model, stamp: str, add: Callable, limit: int, settle: dt.timedelta) -> int:
    """One batch of a reader of ``model``'s rows by id: lock the cursor ``name``, ``add``
    the rows after it up to the last settled one (``events.last_settled``, by the real
    time in ``stamp``) and move the cursor, in one transaction; return the rows read."""
    if not _anything_new(name, model, stamp, settle):
        return 0
    with transaction.atomic():
        cursor = _lock(name)
        after = model.objects.filter(id__gt=cursor.position)
        stamps = list(after.order_by("id").values_list("id", stamp)[:limit])
        last = last_settled(stamps, settle)
        if last is None:
            return 0
        add(after.filter(id__lte=last))
        cursor.position = last
        cursor.save(update_fields=["position", "updated_at"])
    return sum(1 for pk, _ in stamps if pk <= last)


def add_events(events) -> None:
    """Count the events of a queryset (oldest first) into ``MailDay`` and ``LinkDay``,
    conversions included (``Message.converted_at`` and ``revenue`` move). The caller
    holds the ``rollup:events`` lock and makes sure no event is counted twice."""
    goals = conversions.goal_names()
    wanted = MAIL_EVENTS | conversions.candidate_names(goals)
    rows = [
        Row(*values)
        for values in events.filter(name__in=wanted)
        .order_by("id")
        .values_list("id", "name", "contact_id", "occurred_at", "source", "properties")
    ]
    mail, links = Tally(MAIL_COUNTS), Tally(LINK_COUNTS, latest=("url",))
    tz = timezone.get_default_timezone()
    for row in rows:
        if row.name in MAIL_EVENTS and row.source == EventSource.EMAIL:
            _count_mail(row, mail, links, tz)
    for conversion in conversions.attribute(rows, goals):
        key = mail_key(local_day(conversion.event.occurred_at, tz), conversion.message)
        mail.add(key, "conversions")
        mail.add(key, "converted", int(conversion.first))
        mail.add(key, "revenue", conversion.revenue)
    add_counts(MailDay, MAIL_KEY, mail.dicts(MAIL_KEY), add=MAIL_COUNTS)
    add_counts(LinkDay, LINK_KEY, links.dicts(LINK_KEY), add=LINK_COUNTS, replace=("url",))


def _count_mail(row: Row, mail: Tally, links: Tally, tz: dt.tzinfo) -> None:
    props = row.properties if isinstance(row.properties, dict) else {}
    key = mail_key(local_day(row.occurred_at, tz), props)
    for counter in _mail_counts(row.name, props):
        mail.add(key, counter)
    link = props.get("link")
    if row.name != "email_clicked" or not isinstance(link, int) or isinstance(link, bool):
        return
    if not 0 <= link <= MAX_ID:
        return
    link_key = (*key[:4], link)
    if props.get("machine") is True:
        links.add(link_key, "machine_clicks")
    else:
        links.add(link_key, "clicks")
        links.add(link_key, "clicked", int(props.get("first") is True))
    url = props.get("url")
    links.set(link_key, "url", url[:2000] if isinstance(url, str) else "")


def queued_as(kind: str) -> str:
    """The outcome a ``queued`` step run is counted as: the send or the notification
    was decided and handed to delivery (``engine.outbox``) after the batch."""
    return "sent" if kind in ("send_email", "send_sms") else "done"


def roll_runs(*, limit: int = BATCH, settle: dt.timedelta = RUN_SETTLE) -> int:
    """Add one batch of settled step runs after ``rollup:runs`` into ``StepDay``; return
    how many were read (0: nothing new). A ``queued`` run counts as what it queued: an
    email ``sent``, a notification ``done``. Each run
    is counted as it was when read, once (a later change of its outcome is not counted
    again). One transaction."""
    return _roll(RUNS_CURSOR, StepRun, "recorded_at", add_runs, limit, settle)


def add_runs(runs) -> None:
    """Count the step runs of a queryset into ``StepDay``. The caller holds the
    ``rollup:runs`` lock and makes sure no run is counted twice. A run that also ended
    its enrolment (``ends``) counts once more, as its scenario's end (step 0), as the
    end's own run did before migration 0025."""
    steps, tz = Tally(STEP_COUNTS), timezone.get_default_timezone()
    for scenario_id, step_id, kind, branch_id, outcome, ran_at, revenue, ends in runs.values_list(
        "scenario_id", "step_id", "kind", "branch_id", "outcome", "ran_at", "revenue", "ends"
    ).order_by():
        outcome = queued_as(kind) if outcome == "queued" else outcome
        day = local_day(ran_at, tz)
        key = (day, scenario_id, step_id or 0, branch_id or 0, outcome[:12])
        steps.add(key, "count")
        steps.add(key, "revenue", revenue or 0)
        if ends:
            steps.add((day, scenario_id, 0, 0, ends[:12]), "count")
    add_counts(StepDay, STEP_KEY, steps.dicts(STEP_KEY), add=STEP_COUNTS)


def roll_entries(*, limit: int = BATCH, settle: dt.timedelta = RUN_SETTLE) -> int:
    """Add one batch of settled enrolments after ``rollup:entries`` into ``StepDay`` as
    their scenarios' ``entered``; return how many were read (0: nothing new). One
    transaction."""
    return _roll(ENTRIES_CURSOR, Enrollment, "recorded_at", add_entries, limit, settle)


def add_entries(enrollments) -> None:
    """Count the enrolments of a queryset into ``StepDay``: one ``entered`` of their
    scenario (step 0, branch 0) on the local day they started, what their ``entered``
    step run counted before migration 0022. The caller holds the ``rollup:entries``
    lock and makes sure no enrolment is counted twice."""
    steps, tz = Tally(STEP_COUNTS), timezone.get_default_timezone()
    for scenario_id, started_at in enrollments.values_list("scenario_id", "started_at").order_by():
        steps.add((local_day(started_at, tz), scenario_id, 0, 0, "entered"), "count")
    add_counts(StepDay, STEP_KEY, steps.dicts(STEP_KEY), add=STEP_COUNTS)


def add_unread_of(contact_id: int) -> dict[str, int]:
    """Count now what the rollup has not read yet of one contact (its events, step runs
    and enrolments past the cursors, settled or not), for an erasure that deletes them in
    the same transaction: the reports then hold what they would have held had the rollup
    read them first. Locks the three cursors until the transaction ends (call inside it);
    a rollup batch running meanwhile waits, and finds the rows gone. Returns the rows
    counted. Only the contact's own rows matter: a visitor's anonymous events are never
    counted, and a conversion is credited from its contact's own opens and clicks."""
    events_cursor, runs_cursor, entries_cursor = (
        _lock(EVENTS_CURSOR),
        _lock(RUNS_CURSOR),
        _lock(ENTRIES_CURSOR),
    )
    events = Event.objects.filter(contact_id=contact_id, id__gt=events_cursor.position)
    runs = StepRun.objects.filter(contact_id=contact_id, id__gt=runs_cursor.position)
    entries = Enrollment.objects.filter(contact_id=contact_id, id__gt=entries_cursor.position)
    add_events(events)
    add_runs(runs)
    add_entries(entries)
    return {"events": events.count(), "runs": runs.count(), "entries": entries.count()}


def add_erased_exits(contact_id: int) -> int:
    """Count the contact's active enrolments as ``exited`` where they stand, today, in
    ``StepDay``, for an erasure that deletes them: a step's *entered* counts whoever is
    on it now (a live ``Enrollment``), so the erased person is still counted as having
    entered it, and as leaving there. Call inside the erasure's transaction, after
    ``add_unread_of`` (which holds the rollup's locks). Returns the enrolments
    counted."""
    from ..models import EnrollmentStatus

    rows = list(
        Enrollment.objects.filter(
            contact_id=contact_id, status=EnrollmentStatus.ACTIVE
        ).values_list("scenario_id", "step_id")
    )
    steps, today = Tally(STEP_COUNTS), local_day(timezone.now())
    for scenario_id, step_id in rows:
        steps.add((today, scenario_id, step_id or 0, 0, "exited"), "count")
    add_counts(StepDay, STEP_KEY, steps.dicts(STEP_KEY), add=STEP_COUNTS)
    return len(rows)


def rollup_pass(
    *,
    max_batches: int = 100,
    batch: int = BATCH,
    settle: dt.timedelta | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Roll up everything settled: event batches, then step-run batches, then enrolment
    batches, each until nothing is new (or ``max_batches``); return ``{"events": n,
    "runs": n}`` read (``runs``: the rows read into ``StepDay``, step runs and
    enrolments). Safe to run on several workers at once; a pass with nothing new is a
    few queries. ``batch`` rows are read per transaction.
    ``progress`` is called with the rows read so far after each batch."""
    done = {"events": 0, "runs": 0}
    for name, step, default in (
        ("events", roll_events, SETTLE),
        ("runs", roll_runs, RUN_SETTLE),
        ("runs", roll_entries, RUN_SETTLE),
    ):
        for _ in range(max_batches):
            if stopping.is_set():  # a qcluster worker told to stop (workers.py)
                break
            read = step(limit=batch, settle=default if settle is None else settle)
            done[name] += read
            if progress:
                progress(done["events"] + done["runs"])
            if not read:
                break
    return done


def runs_read_up_to() -> int:
    """The id of the last step run the rollup has read (retention keeps the rest)."""
    return (
        EventCursor.objects.filter(name=RUNS_CURSOR).values_list("position", flat=True).first() or 0
    )


def entries_read_up_to() -> int:
    """The id of the last enrolment the rollup has counted as entered."""
    return (
        EventCursor.objects.filter(name=ENTRIES_CURSOR).values_list("position", flat=True).first()
        or 0
    )


def events_read_up_to() -> int:
    """The id of the last event the rollup has read (retention keeps the rest)."""
    return (
        EventCursor.objects.filter(name=EVENTS_CURSOR).values_list("position", flat=True).first()
        or 0
    )


def rebuild() -> None:
    """Empty the rollup tables and rewind the cursors (and the messages' conversions) in
    one transaction, so the next passes replay every raw row still kept. Step runs that
    retention purged cannot come back: their days' ``StepDay`` counts are lost.

    The enrolments are replayed after the last one whose ``entered`` step run (written
    before migration 0022) is still kept, which the runs reader replays: each start is
    counted once, from its run or from its enrolment."""
    with transaction.atomic():
        events, runs, entries = _lock(EVENTS_CURSOR), _lock(RUNS_CURSOR), _lock(ENTRIES_CURSOR)
        MailDay.objects.all().delete()
        LinkDay.objects.all().delete()
        StepDay.objects.all().delete()
        Message.objects.filter(converted_at__isnull=False).update(converted_at=None)
        Message.objects.exclude(revenue=0).update(revenue=0)
        logged = StepRun.objects.filter(step_id__isnull=True, outcome="entered")
        entries.position = logged.aggregate(m=Max("enrollment_id"))["m"] or 0
        for cursor in (events, runs):
            cursor.position = 0
        for cursor in (events, runs, entries):
            cursor.save(update_fields=["position", "updated_at"])
