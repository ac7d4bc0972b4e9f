"""``manage.py journeys_rehearse SCENARIO_ID [--from DATE] [--to DATE]``: rehearse a
scenario's draft over a past period of the event log and print what it would have done.
Writes nothing; for periods too large for the admin's screen."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...engine.rehearsal import rehearse
from ...exceptions import InvalidInput
from ...models import ScenarioPage


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date such as 2026-05-01.") from exc


class Command(BaseCommand):
    help = (
        "Run a scenario's latest draft over the events recorded in a past period (the last "
        "30 days by default) and print, per step, what it would have done. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("scenario_id", type=int)
        parser.add_argument("--from", dest="start", help="first day (default: 30 days ago)")
        parser.add_argument("--to", dest="end", help="last day (default: today)")

    def handle(self, *args, scenario_id: int, start=None, end=None, **options):
        scenario = ScenarioPage.objects.filter(pk=scenario_id).first()
        if scenario is None:
            raise CommandError(f"No scenario has id {scenario_id}.")
        today = timezone.localdate()
        last = _date(end) if end else today
        first = _date(start) if start else last - dt.timedelta(days=30)
        zone = timezone.get_current_timezone()
        begins = dt.datetime.combine(first, dt.time(), zone)
        ends = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        ends = min(ends, timezone.now().replace(second=0, microsecond=0))
        try:
            result = rehearse(scenario, start=begins, end=ends)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout
        out.write(
            f"{result.title}: {first} to {last}, {result.events_read} events read; "
            f"{result.entered} entered, {result.sent} emails, {result.converted} reached "
            f"the goal, {result.exited} exited, {result.completed} completed, "
            f"{result.active} still inside"
        )
        for node in result.nodes.values():
            line = (
                f"  {node.summary}: entered {node.entered}, passed {node.passed}, waiting "
                f"{node.waiting}, exited {node.exited}, goal {node.converted}"
            )
            if node.kind in ("send_email", "send_sms"):
                line += (
                    f"; sent {node.sent}, held by the cap {node.held_by_cap}, by quiet "
                    f"hours {node.held_by_quiet_hours}"
                )
            out.write(line)
        for day in result.days:
            flag = "  (warning)" if day.warning else ""
            out.write(f"  {day.day}: {day.sent} emails, {day.share:.1%} of the list{flag}")
        for warning in result.warnings:
            out.write(self.style.WARNING(warning))
