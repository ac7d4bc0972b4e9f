"""``manage.py journeys_tick``: one pass of the scenario engine without a cluster."""

from django.core.management.base import BaseCommand

from wagtail_journeys.engine.tick import tick


class Command(BaseCommand):
    help = (
        "Match new events to scenario triggers, evaluate scheduled triggers and advance every "
        "due enrolment once (for cron, and for tests)."
    )

    def handle(self, *args, **options):
        result = tick()
        self.stdout.write(f"enrolled {result['enrolled']}, advanced {result['advanced']}")
