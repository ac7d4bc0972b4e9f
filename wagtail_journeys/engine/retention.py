"""Keeping the ``StepRun`` log to a bounded size.

Every step a contact takes is logged (conditions, waits and splits included), so a busy
base writes millions of rows a month. Runs older than ``STEP_RUN_RETENTION_DAYS`` are
deleted, oldest first, in chunks; runs still ``queued`` (a send not delivered yet) are
kept whatever their age, and so are runs the rollup has not read yet (past its cursor,
``analytics.rollup``): purging never changes a report. Enrolments, messages and events
are not touched.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from .. import conf
from ..models import EventCursor, StepRun
from . import clock

CHUNK = 10_000


def purge_step_runs(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete expired step runs; return how many. ``None`` retention keeps them all."""
    days = conf.get("STEP_RUN_RETENTION_DAYS")
    if days is None:
        return 0
    from ..analytics.rollup import runs_read_up_to

    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    read = runs_read_up_to()
    deleted = 0
    while True:
        # Oldest first along the primary key: each chunk is found at the start of the
        # index, with no index on ran_at needed.
        ids = list(
            StepRun.objects.filter(ran_at__lt=cutoff, id__lte=read)
            .exclude(outcome="queued")
            .order_by("id")
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        deleted += StepRun.objects.filter(pk__in=ids).delete()[0]


def purge_step_runs_daily(*, now: dt.datetime | None = None) -> int:
    """``purge_step_runs`` at most once per UTC day, for passes run more often than that
    (``journeys_tick`` from cron): the cursor ``purge:step_runs`` keeps the day of the
    last purge. Returns how many runs were deleted."""
    now = now or clock.now()
    today = now.astimezone(dt.UTC).date().toordinal()
    with transaction.atomic():
        EventCursor.objects.get_or_create(name="purge:step_runs")
        cursor = EventCursor.objects.select_for_update().get(name="purge:step_runs")
        if cursor.position >= today:
            return 0
        cursor.position = today
        cursor.save(update_fields=["position", "updated_at"])
    return purge_step_runs(now=now)
