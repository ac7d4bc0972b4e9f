"""One pass of everything the engine does (``journeys_tick``), and the pump the
``run_scenarios`` task runs for a minute at a time."""

from __future__ import annotations

import datetime as dt
import time

from .. import conf
from ..models import Enrollment, EnrollmentStatus
from . import clock
from .advance import advance_due
from .dates import evaluate_scheduled_triggers
from .triggers import process_triggers


def tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Match events, evaluate scheduled triggers, then advance everything due (transactional
    sends first). Used by cron and tests; the same functions the tasks call."""
    return {
        "enrolled": process_triggers(now=now) + evaluate_scheduled_triggers(now=now),
        "advanced": advance_due(now=now, priority=True, max_batches=1000)
        + advance_due(now=now, max_batches=1000),
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
    batches to other workers through ``async_task`` (see ``fan_out``)."""
    deadline = time.monotonic() + seconds
    done = 0
    while True:
        if not priority:
            process_triggers()
        done += advance_due(priority=priority, max_batches=2)
        if fanout:
            fan_out(fanout)
        if time.monotonic() + interval >= deadline:
            return done
        time.sleep(interval)
