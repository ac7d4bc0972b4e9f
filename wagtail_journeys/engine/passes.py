"""One full pass of everything the engine does (``engine.tick``, ``journeys_tick``), and
the pump the ``run_scenarios`` task runs for a minute at a time."""

from __future__ import annotations

import datetime as dt
import time

from .. import conf
from ..analytics.rollup import rollup_pass
from ..contacts import ACTIVITY_CURSOR, process_activity
from ..events import settling
from ..models import Enrollment, EnrollmentStatus
from ..workers import stopping
from . import clock
from .advance import advance_due
from .dates import evaluate_scheduled_triggers
from .retention import purge_expired_daily, purge_step_runs_daily
from .triggers import CURSOR, process_triggers


def tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run everything the worker's schedules do, once, in order, with the engine's clock at
    ``now`` (default: the current time); return what each part did.

    1. contact activity from the event log: identified visitors' events are attached to
       their contact, ``last_activity_at`` is bumped (``events``);
    2. new events matched to triggers, goals, event waits and audience exits, then the
       scheduled triggers and audience exits (``enrolled``);
    3. due enrolments advanced, transactional sends first (``advanced``);
    4. the report tables brought up to date (``analytics.rollup``: ``rolled_up`` events
       and step runs);
    5. step runs, events and messages past their retention purged, once a day
       (``purged``: step runs; ``purged_events``, ``purged_messages``), never one the
       rollup (or another reader of the log) has not read; contacts left unconfirmed
       past ``UNCONFIRMED_CONTACT_DAYS`` erased (``purged_unconfirmed``).

    Events younger than ``events.SETTLE`` (by the real clock, whatever ``now``) are not read
    yet; ``settling`` counts them, and the next pass takes them. Cursors make passes
    resumable and safe to run concurrently with workers. This is the public way to run the
    engine at a chosen time (cron, tests, replays): ``wagtail_journeys.engine.tick``.
    """
    now = now or clock.now()
    events = process_activity()
    enrolled = process_triggers(now=now) + evaluate_scheduled_triggers(now=now)
    advanced = advance_due(now=now, priority=True, max_batches=1000) + advance_due(
        now=now, max_batches=1000
    )
    rolled = rollup_pass(max_batches=1000)
    expired = purge_expired_daily(now=now)
    return {
        "events": events,
        "enrolled": enrolled,
        "advanced": advanced,
        "rolled_up": rolled["events"] + rolled["runs"],
        "purged": purge_step_runs_daily(now=now),
        "purged_events": expired["events"],
        "purged_messages": expired["messages"],
        "purged_unconfirmed": expired["unconfirmed"],
        "settling": settling(ACTIVITY_CURSOR, CURSOR),
    }


def _backlog(now: dt.datetime) -> int:
    limit = conf.get("ADVANCE_BATCH_SIZE")
    return (
        Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, due_at__lte=now)
        .order_by()[: limit * 4]
        .count()
        // limit
    )


def fan_out(fanout: int) -> int:
    """Enqueue ``advance_enrollments`` tasks for the backlog beyond this worker's own
    batches, keeping at most ``fanout`` tasks waiting in the queue: several pumps, each
    round, never pile up tasks the workers cannot take yet. Returns tasks enqueued."""
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    room = fanout - get_broker().queue_size()
    wanted = min(room, _backlog(clock.now())) if room > 0 else 0
    for _ in range(wanted):
        async_task("wagtail_journeys.tasks.advance_enrollments", 5)
    return wanted


def pump(*, seconds: float, interval: float, fanout: int = 0, priority: bool = False) -> int:
    """Run triggers and advancing for ``seconds`` (every ``interval``); hand surplus
    batches to other workers through ``async_task`` (see ``fan_out``). A worker told to
    stop (``workers.stopping``) ends after the round it is in, or at once if it had not
    started."""
    deadline = time.monotonic() + seconds
    done = 0
    while not stopping.is_set():  # a stopping worker starts no new round
        if not priority:
            process_triggers()
        done += advance_due(priority=priority, max_batches=2)
        if fanout:
            fan_out(fanout)
        if time.monotonic() + interval >= deadline:
            break
        stopping.wait(interval)
    return done
