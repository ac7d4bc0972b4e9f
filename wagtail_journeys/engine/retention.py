"""Keeping the ``StepRun`` log to a bounded size.

Every step a contact takes is logged (conditions, waits and splits included), so a busy
base writes millions of rows a month. Runs older than ``STEP_RUN_RETENTION_DAYS`` are
deleted, oldest first, in chunks; runs still ``queued`` (a send not delivered yet) are
kept whatever their age. Enrolments, messages and events are not touched.
"""

from __future__ import annotations

import datetime as dt

from .. import conf
from ..models import StepRun
from . import clock

CHUNK = 10_000


def purge_step_runs(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> int:
    """Delete expired step runs; return how many. ``None`` retention keeps them all."""
    days = conf.get("STEP_RUN_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    deleted = 0
    while True:
        # Oldest first along the primary key: each chunk is found at the start of the
        # index, with no index on ran_at needed.
        ids = list(
            StepRun.objects.filter(ran_at__lt=cutoff)
            .exclude(outcome="queued")
            .order_by("id")
            .values_list("id", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        deleted += StepRun.objects.filter(pk__in=ids).delete()[0]
