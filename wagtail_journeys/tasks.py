"""django-q2 entry points: thin module-level functions that call the domain code.

Each task takes plain values (django-q2 pickles arguments and finds functions by dotted
path) and works through a batch; results go to our own tables, not django-q2's.
"""

from __future__ import annotations

from . import conf
from .contacts import process_activity

#: name -> (function path, minutes between runs[, cluster]). Created idempotently after
#: migrate. The priority schedule runs on the second cluster (``Q_CLUSTER_NAME``).
SCHEDULES = {
    "journeys: process events": ("wagtail_journeys.tasks.process_events", 1),
    "journeys: run scenarios": ("wagtail_journeys.tasks.run_scenarios", 1),
    "journeys: scheduled triggers": ("wagtail_journeys.tasks.evaluate_scheduled_triggers", 1),
    "journeys: purge step runs": ("wagtail_journeys.tasks.purge_step_runs", 60 * 24),
    "journeys: purge expired events and messages": (
        "wagtail_journeys.tasks.purge_expired",
        60 * 24,
    ),
    "journeys: roll up reports": ("wagtail_journeys.tasks.roll_up_reports", 1),
    "journeys: transactional sends": (
        "wagtail_journeys.tasks.run_transactional",
        1,
        "PRIORITY_CLUSTER",
    ),
}


def process_events(max_batches: int = 50) -> int:
    """Contact activity from the event log (``contacts.process_activity``): identified
    visitors' events attached to their contact, ``last_activity_at`` bumped."""
    return process_activity(max_batches=max_batches)


def ensure_schedules(**kwargs) -> None:
    """Create or update the django-q2 ``Schedule`` rows by name (``post_migrate``), in
    the database being migrated (``migrate --database``)."""
    from django.db import DEFAULT_DB_ALIAS
    from django_q.models import Schedule

    using = kwargs.get("using", DEFAULT_DB_ALIAS)
    for name, (func, minutes, *cluster) in SCHEDULES.items():
        Schedule.objects.using(using).update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "cluster": conf.get(cluster[0]) if cluster else None,
            },
        )


def run_scenarios(seconds: float = 85, interval: float = 1.0, fanout: int = 3) -> int:
    """The scenario pump, started every minute: for ``seconds`` (longer than the minute, so
    consecutive pumps overlap despite the scheduler's 30-second granularity), match new events to
    triggers and advance due enrolments, every ``interval``. When more is due than one
    batch, it enqueues ``advance_enrollments`` tasks so the other workers (and nodes)
    share the load. Returns the enrolments advanced here."""
    from .engine.passes import pump

    return pump(seconds=seconds, interval=interval, fanout=fanout)


def run_transactional(seconds: float = 85, interval: float = 0.5) -> int:
    """Like ``run_scenarios`` for transactional sends only, on the priority cluster."""
    from .engine.passes import pump

    return pump(seconds=seconds, interval=interval, priority=True)


def advance_enrollments(max_batches: int = 20) -> int:
    """Advance due enrolments, batch after batch (disjoint across workers)."""
    from .engine.advance import advance_due

    return advance_due(max_batches=max_batches)


def match_triggers() -> int:
    """Match new events to scenario triggers, goals and event waits."""
    from .engine.triggers import process_triggers

    return process_triggers()


def evaluate_scheduled_triggers() -> int:
    """Segment-entered, birthday/anniversary and broadcast triggers, then exits of contacts
    no longer in a scenario's audience."""
    from .engine.dates import evaluate_scheduled_triggers as evaluate

    return evaluate()


def purge_step_runs() -> int:
    """Delete step runs older than ``STEP_RUN_RETENTION_DAYS`` (daily)."""
    from .engine.retention import purge_step_runs as purge

    return purge()


def purge_expired() -> dict[str, int]:
    """Delete events and messages older than ``EVENT_RETENTION_DAYS`` and
    ``MESSAGE_RETENTION_DAYS`` (daily; never an event a reader of the log has not read)."""
    from .engine.retention import purge_expired as purge

    return purge()


def roll_up_reports(max_batches: int = 200) -> dict[str, int]:
    """Bring the report tables up to date from new events and step runs
    (``analytics.rollup``: incremental, and safe on several workers at once)."""
    from .analytics.rollup import rollup_pass

    return rollup_pass(max_batches=max_batches)


def import_contacts(import_id: int) -> str:
    """Run a contacts CSV uploaded in the admin (``contact_imports.run_import``)."""
    from .contact_imports import run_import
    from .workers import stopping

    if stopping.is_set():
        # Handed to a worker that is stopping: back to the queue for the next start.
        from django_q.tasks import async_task

        async_task("wagtail_journeys.tasks.import_contacts", import_id)
        return "requeued"
    return run_import(import_id)
