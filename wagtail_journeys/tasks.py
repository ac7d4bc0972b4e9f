"""django-q2 entry points: thin module-level functions that call the domain code.

Each task takes plain values (django-q2 pickles arguments and finds functions by dotted
path) and works through a batch; results go to our own tables, not django-q2's.
"""

from __future__ import annotations

from django.db import transaction

from . import conf
from .contacts import apply_activity
from .events import read_batch

#: name -> (function path, minutes between runs). Created idempotently after migrate.
SCHEDULES = {
    "journeys: process events": ("wagtail_journeys.tasks.process_events", 1),
}


def process_events(max_batches: int = 50) -> int:
    """Consume the event log from the ``activity`` cursor; return events processed.

    Safe to run concurrently: the cursor row is locked for each batch, so two workers
    never process the same batch.
    """
    done = 0
    for _ in range(max_batches):
        with transaction.atomic():
            cursor, events = read_batch("activity", limit=conf.get("EVENT_BATCH_SIZE"))
            if not events:
                break
            apply_activity(events)
            cursor.position = events[-1].pk
            cursor.save(update_fields=["position", "updated_at"])
        done += len(events)
    return done


def ensure_schedules(**kwargs) -> None:
    """Create or update the django-q2 ``Schedule`` rows by name (``post_migrate``)."""
    from django_q.models import Schedule

    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
