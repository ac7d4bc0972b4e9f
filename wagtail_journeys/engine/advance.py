"""Advancing due enrolments in batches, exactly once across any number of workers."""

from __future__ import annotations

import contextlib
import datetime as dt

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from .. import conf
from ..models import Contact, Enrollment, EnrollmentStatus, Paused, ScenarioPage, StepRun
from ..scenarios.loading import current_plan
from ..workers import stopping
from . import clock
from .bulk import update_by_values
from .env import DatabaseEnv
from .outbox import deliver, deliver_stale
from .steps import End, _finish, run

#: How long an enrolment of a scenario held by the checker waits before it is looked at
#: again (a scenario republished without errors resumes at the latest then).
HOLD_RECHECK = dt.timedelta(minutes=10)

FIELDS = [
    "status",
    "step_id",
    "due_at",
    "waiting",
    "priority",
    "wait_event",
    "outcome",
    "iteration",
    "ended_at",
    "end_reason",
]


def _claim(now: dt.datetime, limit: int, priority: bool) -> list[Enrollment]:
    with in_index_order():
        return list(due_rows(now, limit, priority))


@contextlib.contextmanager
def in_index_order():
    """On PostgreSQL, plan the queries inside without a sort where an index gives the
    order (``enable_sort`` off, for this transaction only, until the block ends). The
    claim's plan must not hang on statistics: those taken before a broadcast counted
    its rows as completed, and the planner, expecting a dozen due rows, sorted all of
    them (25-115 ms a claim, on disk) instead of reading 500 off the index."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort TO DEFAULT")


def due_rows(now: dt.datetime, limit: int, priority: bool):
    """The next ``limit`` due enrolments of live scenarios not held, oldest due first,
    locked (PostgreSQL: rows another worker holds are skipped). One table, read off the
    ``(due_at, id)`` index in its order, so a claim costs the same with ten or a million
    rows due (with ``in_index_order``). The scenarios to leave out come as a list of
    ids (``NOT IN``, which no index serves), not a join: with one, the planner could
    start from the scenarios and sort every due row of each."""
    waiting = list(
        ScenarioPage.objects.filter(Q(live=False) | Q(paused=Paused.HOLD))
        .values_list("pk", flat=True)
        .order_by()
    )
    rows = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, due_at__lte=now)
    if waiting:
        rows = rows.exclude(scenario_id__in=waiting)
    if priority:
        rows = rows.filter(priority=True)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return rows.order_by("due_at", "id")[:limit]


def _precheck(enr: Enrollment, plan, env: DatabaseEnv, now: dt.datetime, audience: set | None):
    """Ends that apply before any step: hard end date, audience lost, trigger undone."""
    end_at = plan.goal.get("end_at")
    if end_at and dt.datetime.fromisoformat(end_at) <= now:
        return End("exited", gettext_noop("the scenario's end date passed"))
    if audience is not None and enr.contact_id not in audience:
        return End("exited", gettext_noop("no longer in the audience"))
    return None


def _audiences(plans: dict, rows: list[Enrollment]) -> dict[int, set[int]]:
    from ..models import Segment

    out = {}
    for sid, plan in plans.items():
        if plan and plan.goal.get("exit_on_audience_loss") and plan.entry["audience_id"]:
            ids = [r.contact_id for r in rows if r.scenario_id == sid]
            segment = Segment.objects.filter(pk=plan.entry["audience_id"]).first()
            out[sid] = (
                set(segment.contacts().filter(pk__in=ids).values_list("pk", flat=True))
                if segment
                else set()
            )
    return out


def advance_batch(
    *, now: dt.datetime | None = None, limit: int | None = None, priority: bool = False
) -> int:
    """Advance up to ``limit`` due enrolments of live scenarios in one transaction.

    Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it
    (PostgreSQL), so concurrent workers take disjoint batches; SQLite serialises writers.
    Step effects, StepRuns and the enrolments' new state commit together: a worker killed
    mid-batch leaves the batch untouched for the next worker. Enrolments of a scenario
    whose Plan failed the checker do not move (see ``_hold``), nor do those of a scenario
    paused with "hold" (they are not even claimed). Returns rows advanced.
    """
    now = now or clock.now()
    limit = limit or conf.get("ADVANCE_BATCH_SIZE")
    with transaction.atomic():
        rows = _claim(now, limit, priority)
        if not rows:
            return 0
        contacts = Contact.objects.in_bulk({r.contact_id for r in rows})
        plans = {sid: current_plan(sid) for sid in {r.scenario_id for r in rows}}
        audiences = _audiences(plans, rows)
        env = DatabaseEnv(now)
        env.preload(list(contacts))
        told = _told_held([r for r in rows if plans[r.scenario_id] and plans[r.scenario_id].errors])
        for enr in rows:
            plan = plans[enr.scenario_id]
            if plan is None:
                _finish(enr, env, now, End("exited", gettext_noop("the scenario has no plan")))
                continue
            if plan.errors:
                _hold(enr, plan, env, now, told)
                continue
            early = _precheck(enr, plan, env, now, audiences.get(enr.scenario_id))
            if early is None and enr.iteration == 0 and enr.context.get("unless_opened"):
                early = _opened_since(enr)
            if early:
                _finish(enr, env, now, early)
                continue
            run(plan, enr, contacts[enr.contact_id], env, now)
        update_by_values(rows, FIELDS)
        if env.changed_contexts:
            Enrollment.objects.bulk_update(env.changed_contexts, ["context"])
        queued = [r for r in env.runs if r.outcome == "queued"]
        env.flush()
    deliver(queued, contacts, env.email_pages, {r.pk: r.context for r in rows})
    return len(rows)


def _told_held(rows: list[Enrollment]) -> set[tuple[int, int]]:
    """``(enrolment, iteration)`` already logged as held (one query, only for such rows)."""
    if not rows:
        return set()
    return set(
        StepRun.objects.filter(enrollment_id__in=[r.pk for r in rows], outcome="held")
        .values_list("enrollment_id", "iteration")
        .order_by()
    )


def _hold(enr: Enrollment, plan, env: DatabaseEnv, now: dt.datetime, told: set) -> None:
    """The scenario's Plan failed the checker: the enrolment stays on its step, says why
    once (a ``held`` step run), and is looked at again after ``HOLD_RECHECK``."""
    if (enr.pk, enr.iteration) not in told:
        reason = gettext_noop("held: the scenario fails the checker: %(error)s") % {
            "error": plan.errors[0]
        }
        env.log(enr, plan.steps.get(enr.step_id), "held", reason)
    enr.due_at = now + HOLD_RECHECK


def _opened_since(enr: Enrollment):
    """For "did not open within N days" triggers: end if the email was opened after all."""
    from ..models import Event
    from ..models.events import machine_q

    email_id, since = enr.context["unless_opened"], enr.context["since"]
    opened = (
        Event.objects.filter(
            contact_id=enr.contact_id,
            name="email_opened",
            occurred_at__gte=since,
            properties__email_page_id=email_id,
        )
        .exclude(machine_q())  # Apple's proxy fetching the pixel is not an open
        .exists()
    )
    return End("exited", gettext_noop("the email was opened")) if opened else None


def advance_due(
    *, now: dt.datetime | None = None, max_batches: int = 20, priority: bool = False
) -> int:
    """Advance batches until nothing is due (or ``max_batches``); return rows advanced."""
    total = 0
    deliver_stale(now=now)
    for _ in range(max_batches):
        if stopping.is_set():  # a qcluster worker told to stop (workers.py)
            break
        done = advance_batch(now=now, priority=priority)
        total += done
        if not done:
            break
    return total
