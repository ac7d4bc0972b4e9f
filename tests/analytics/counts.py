"""What the rollup tables must hold, counted independently from the raw rows (Message,
Event, StepRun, Enrollment) with plain ORM aggregates, and the tables' own totals."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal

from django.core import mail
from django.db.models import Count, Q, Sum
from django.utils import timezone

from tests.engine.test_engine import T0
from wagtail_journeys.analytics.rollup import RUN_SETTLE
from wagtail_journeys.models import (
    Enrollment,
    Event,
    EventSource,
    LinkDay,
    MailDay,
    Message,
    StepDay,
    StepRun,
)

#: MailDay counter -> how a message shows it (a count of rows or a sum of a field).
FROM_MESSAGES = {
    "sent": Count("pk", filter=Q(sent_at__isnull=False)),
    "delivered": Count("pk", filter=Q(delivered_at__isnull=False)),
    "bounced": Count("pk", filter=Q(bounced_at__isnull=False)),
    "hard_bounced": Count("pk", filter=Q(bounce_type="hard")),
    "complained": Count("pk", filter=Q(complained_at__isnull=False)),
    "unsubscribed": Count("pk", filter=Q(unsubscribed_at__isnull=False)),
    "opened": Count("pk", filter=Q(opened_at__isnull=False)),
    "opens": Sum("open_count"),
    "machine_opens": Sum("machine_open_count"),
    "clicked": Count("pk", filter=Q(clicked_at__isnull=False)),
    "clicks": Sum("click_count"),
    "machine_clicks": Sum("machine_click_count"),
    "converted": Count("pk", filter=Q(converted_at__isnull=False)),
    "revenue": Sum("revenue"),
}


def _variant(value) -> str:
    return ",".join(str(i) for i in sorted(value or []))


def expected_mail() -> dict[tuple, dict]:
    """Per (email, scenario, step, variant): each counter from the messages themselves."""
    out: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(FROM_MESSAGES, 0))
    rows = (
        Message.objects.values("email_page_id", "scenario_id", "step_id", "variant")
        .annotate(**FROM_MESSAGES)
        .order_by()
    )
    for row in rows:
        key = (
            row["email_page_id"] or 0,
            row["scenario_id"] or 0,
            row["step_id"] or 0,
            _variant(row["variant"]),
        )
        for name in FROM_MESSAGES:
            out[key][name] += row[name] or 0
    return {k: v for k, v in out.items() if any(v.values())}


def rolled_mail() -> dict[tuple, dict]:
    """Per (email, scenario, step, variant): ``MailDay`` summed over its days."""
    rows = (
        MailDay.objects.values("email_page_id", "scenario_id", "step_id", "variant")
        .annotate(**{name: Sum(name) for name in FROM_MESSAGES})
        .order_by()
    )
    out = {}
    for row in rows:
        key = (row["email_page_id"], row["scenario_id"], row["step_id"], row["variant"])
        values = {name: row[name] for name in FROM_MESSAGES}
        if any(values.values()):
            out[key] = values
    return out


def expected_links() -> Counter:
    """``(email, link, "human"|"machine") -> clicks`` from the click events."""
    found: Counter = Counter()
    for props in Event.objects.filter(name="email_clicked").values_list("properties", flat=True):
        kind = "machine" if props["machine"] else "human"
        found[(props["email_page_id"], props["link"], kind)] += 1
    return found


def rolled_links() -> Counter:
    found: Counter = Counter()
    for row in LinkDay.objects.values("email_page_id", "link").annotate(
        human=Sum("clicks"), machine=Sum("machine_clicks")
    ):
        for kind in ("human", "machine"):
            if row[kind]:
                found[(row["email_page_id"], row["link"], kind)] += row[kind]
    return found


def expected_steps() -> dict[tuple, tuple[int, Decimal]]:
    """``(scenario, step, branch, outcome) -> (count, revenue)`` from the step runs (a
    ``queued`` send counts as ``sent``, a queued notification as ``done``) and the
    enrolments old enough for the rollup to read (each its scenario's ``entered``; see
    ``settle_everything``). A scenario's ``completed`` is its enrolments that completed,
    however the engine recorded the end (a run of its own, or the ``ends`` of the last
    step's run)."""
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    settled = Enrollment.objects.filter(recorded_at__lte=timezone.now() - RUN_SETTLE)
    for row in settled.values("scenario_id").annotate(n=Count("pk")).order_by():
        out[(row["scenario_id"], 0, 0, "entered")][0] += row["n"]
    completed = Enrollment.objects.filter(status="completed")
    for row in completed.values("scenario_id").annotate(n=Count("pk")).order_by():
        out[(row["scenario_id"], 0, 0, "completed")][0] += row["n"]
    for row in (
        StepRun.objects.exclude(step_id__isnull=True, outcome="completed")
        .values("scenario_id", "step_id", "kind", "branch_id", "outcome")
        .annotate(n=Count("pk"), money=Sum("revenue"))
        .order_by()
    ):
        outcome = row["outcome"]
        if outcome == "queued":
            outcome = "sent" if row["kind"] == "send_email" else "done"
        key = (row["scenario_id"], row["step_id"] or 0, row["branch_id"], outcome)
        out[key][0] += row["n"]
        out[key][1] += row["money"] or 0
    return {k: (n, Decimal(m)) for k, (n, m) in out.items()}


def rolled_steps() -> dict[tuple, tuple[int, Decimal]]:
    return {
        (r["scenario_id"], r["step_id"], r["branch_id"], r["outcome"]): (r["n"], Decimal(r["m"]))
        for r in StepDay.objects.values("scenario_id", "step_id", "branch_id", "outcome")
        .annotate(n=Sum("count"), m=Sum("revenue"))
        .order_by()
    }


def tables() -> list[tuple]:
    """Every rollup row, for comparing two states."""
    mail = MailDay.objects.values_list().order_by("day", "email_page_id", "step_id", "variant")
    links = LinkDay.objects.values_list().order_by("day", "email_page_id", "step_id", "link")
    steps = StepDay.objects.values_list().order_by("day", "scenario_id", "step_id", "outcome")
    strip = lambda rows: [row[1:] for row in rows]  # noqa: E731 (ids are the database's)
    return strip(mail) + strip(links) + strip(steps)


def settle_everything() -> None:
    """Make every event, step run and enrolment old enough for the passes to read (real
    time)."""
    past = timezone.now() - dt.timedelta(minutes=1)
    Event.objects.update(received_at=past)
    StepRun.objects.update(recorded_at=past)
    Enrollment.objects.update(recorded_at=past)


def signup(contact) -> None:
    Event.objects.create(
        name="signup", contact=contact, occurred_at=T0, source=EventSource.API, properties={}
    )


def links_of(message: Message) -> tuple[str, list[str]]:
    """The open pixel and click URLs of a message, from the mail that went out."""
    (sent,) = [
        m
        for m in mail.outbox
        if getattr(m, "metadata", {}).get("journeys_message") == message.uuid.hex
    ]
    html = sent.alternatives[0].content
    pixel = re.search(r'http://localhost:8000(/journeys/o/[^"]+)"', html)[1]
    return pixel, re.findall(r'http://localhost:8000(/journeys/c/[^"]+)"', html)
