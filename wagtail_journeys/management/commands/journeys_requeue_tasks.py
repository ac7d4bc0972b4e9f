"""``manage.py journeys_requeue_tasks``: hand the tasks waiting in django-q2's ORM queue
(the ``django_q_ormq`` table, which a moved database brings along) to the broker the
settings name now, e.g. Redis after a move to PostgreSQL (``docs/how-to/scale-out.md``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Move the tasks waiting in django-q2's ORM queue (table django_q_ormq) to the "
        "configured broker (Redis…), each to its cluster's queue. Nothing to do while the "
        "ORM broker is configured: its clusters read that table."
    )

    def handle(self, *args, **options):
        from django_q.brokers import get_broker
        from django_q.conf import Conf
        from django_q.models import OrmQ

        if Conf.ORM:
            waiting = OrmQ.objects.count()
            self.stdout.write(
                f"The ORM broker is configured: its clusters take the {waiting} waiting "
                "task(s) where they are. Nothing moved."
            )
            return
        moved: dict[str, int] = {}
        with transaction.atomic():
            for task in OrmQ.objects.select_for_update().order_by("id"):
                get_broker(task.key).enqueue(task.payload)
                task.delete()
                moved[task.key] = moved.get(task.key, 0) + 1
        listed = ", ".join(f"{count} to {key!r}" for key, count in sorted(moved.items()))
        self.stdout.write(
            f"Moved {sum(moved.values())} waiting task(s) to the broker"
            + (f": {listed}." if moved else ".")
        )
