"""``manage.py journeys_tick``: one full pass of the engine without a cluster."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_journeys.engine import tick
from wagtail_journeys.events import SETTLE


def parse_now(value: str) -> dt.datetime:
    """An ISO 8601 date and time with its UTC offset (``2026-06-15T10:00:00+02:00``, or
    ``Z``); anything else is a ``CommandError`` that says what was expected."""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now {value!r} is not an ISO 8601 date and time, "
            "e.g. 2026-06-15T10:00:00+02:00 or 2026-06-15T08:00:00Z."
        ) from None
    if timezone.is_naive(when):
        raise CommandError(
            f"--now {value!r} has no UTC offset: add one, e.g. {value}+00:00 or {value}Z."
        )
    return when


class Command(BaseCommand):
    help = (
        "One full pass of the engine, as the workers' schedules run it: contact activity "
        "from the event log, triggers, goals and exits from new events, scheduled "
        "triggers, every due enrolment advanced, the report tables brought up to date, and "
        "the daily purge of old step runs, and of events and messages past their retention "
        "(for cron, tests and replays)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            metavar="DATETIME",
            help="Run the engine as if the clock read this ISO 8601 time, with its UTC "
            "offset (e.g. 2026-06-15T10:00:00+02:00). Default: the current time.",
        )

    def handle(self, *args, now: str | None = None, **options):
        result = tick(now=parse_now(now) if now else None)
        self.stdout.write(
            f"events {result['events']}, enrolled {result['enrolled']}, "
            f"advanced {result['advanced']}, rolled up {result['rolled_up']}, "
            f"purged {result['purged']}"
            + (
                f", expired events {result['purged_events']}, "
                f"expired messages {result['purged_messages']}"
                if result["purged_events"] or result["purged_messages"]
                else ""
            )
            + (
                f", unconfirmed contacts erased {result['purged_unconfirmed']}"
                if result["purged_unconfirmed"]
                else ""
            )
        )
        if result["settling"]:
            seconds = int(SETTLE.total_seconds())
            self.stdout.write(
                f"{result['settling']} event(s) younger than {seconds} s left for the next "
                "pass (events settle before they are read, so none is ever skipped)."
            )
