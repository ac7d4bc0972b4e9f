"""``manage.py journeys_rollup [--rebuild]``: bring the report tables up to date now, or
build them again from the raw rows still kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import reset_queries
from django.db.models import Max, Min

from ...analytics import rollup
from ...analytics.rollup import (
    ENTRIES_CURSOR,
    EVENTS_CURSOR,
    RUNS_CURSOR,
    local_day,
    rollup_pass,
)
from ...models import Enrollment, Event, EventCursor, StepRun
from ..progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Add new events, step runs and enrolments into the report tables (what the "
        "workers' schedule and journeys_tick do every minute). With --rebuild, empty them "
        "and replay every event, step run and enrolment still kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Empty the report tables and count again from the raw rows still kept. "
            "Step runs purged by STEP_RUN_RETENTION_DAYS, events purged by "
            "EVENT_RETENTION_DAYS and the rows of erased contacts cannot come back: their "
            "counts are lost.",
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, rebuild: bool = False, no_progress: bool = False, **options):
        if rebuild:
            self._warn()
            rollup.rebuild()
        cursors = {EVENTS_CURSOR: Event, RUNS_CURSOR: StepRun, ENTRIES_CURSOR: Enrollment}
        positions = dict(
            EventCursor.objects.filter(name__in=list(cursors)).values_list("name", "position")
        )
        todo = sum(
            max((model.objects.aggregate(m=Max("id"))["m"] or 0) - positions.get(name, 0), 0)
            for name, model in cursors.items()
        )
        progress = None if no_progress else ProgressBar(self.stderr._out, max(todo, 1))

        def step(rows: int) -> None:
            reset_queries()  # with DEBUG on, Django would keep every batch's SQL
            if progress:
                progress.update(rows, rows)

        done = rollup_pass(max_batches=10**9, progress=step)
        if progress:
            progress.finish(done["events"] + done["runs"], max(todo, 1))
        self.stdout.write(f"events {done['events']}, step runs {done['runs']} rolled up")

    def _warn(self) -> None:
        oldest = StepRun.objects.aggregate(at=Min("ran_at"))["at"]
        since = f" (the oldest kept is from {local_day(oldest)})" if oldest else ""
        self.stderr.write(
            self.style.WARNING(
                "Rebuilding the report tables from the raw rows still kept. Step runs "
                f"purged by STEP_RUN_RETENTION_DAYS cannot come back{since}: the step "
                "counts of earlier days will be missing, and the first day's may be partial. "
                "Neither can events purged by EVENT_RETENTION_DAYS, nor the rows of erased "
                "contacts: their counts will be missing too."
            )
        )
