"""Rollup benchmarks: prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines.

One day of 100,000 engagement events (sends, deliveries, opens and clicks of people and
machines, bounces, complaints, unsubscribes), 1,000 purchases to attribute and 20,000
step runs, rolled up from scratch; then a pass with nothing new. With no arguments
(``make bench``): on PostgreSQL (when reachable) and on SQLite, each in its own process.

    JOURNEYS_DB=postgres python benchmarks/bench_rollup.py run [--events 100000]

Each run creates a fresh test database (``test_<name>``), measures, and drops it.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# Its own SQLite files, apart from a test run's.
os.environ["JOURNEYS_TEST_TMP"] = os.path.join(os.environ.get("JOURNEYS_TEST_TMP", "/tmp"), "bench")
os.makedirs(os.environ["JOURNEYS_TEST_TMP"], exist_ok=True)

#: One day's engagement mix, per 100 events.
MIX = [
    ("email_sent", 25),
    ("email_delivered", 22),
    ("email_opened", 30),
    ("email_clicked", 18),
    ("email_bounced", 2),
    ("email_complained", 1),
    ("unsubscribed", 2),
]
MESSAGES = 20_000
PURCHASES = 1_000
RUNS = 20_000


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:,.1f} {unit} (budget {budget})", flush=True)


def seed(events: int) -> None:
    """Contacts, messages, the day's events (received a minute ago: settled) and step
    runs, in bulk."""
    from django.utils import timezone

    from tests.scenarios.factories import make_scenario, site_root
    from wagtail_journeys.models import Contact, Enrollment, Event, Message, StepRun

    site_root()
    scenario = make_scenario(title="Bench")
    Contact.objects.bulk_create(
        [Contact(email=f"r{n}@example.com") for n in range(MESSAGES)], batch_size=5000
    )
    contact_ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    Message.objects.bulk_create(
        [Message(contact_id=c, subject="Hi", status="sent") for c in contact_ids],
        batch_size=5000,
    )
    messages = list(Message.objects.order_by("pk").values_list("pk", "contact_id"))
    now = timezone.now()
    day = now - dt.timedelta(days=1)
    settled = now - dt.timedelta(minutes=1)
    names = [name for name, share in MIX for _ in range(share)]
    rows = []
    for i in range(events):
        name = names[i % len(names)]
        message, contact = messages[i % len(messages)]
        props = {
            "email_page_id": 1 + i % 5,
            "scenario_id": scenario.pk,
            "step_id": 10 + i % 3,
            "variant": [] if i % 4 else [7, 3],
            "message": message,
        }
        if name in ("email_opened", "email_clicked"):
            props |= {"first": i % 3 == 0, "machine": i % 5 == 0, "why": ""}
        if name == "email_clicked":
            props |= {"link": i % 4, "url": f"https://shop.example/{i % 4}"}
        if name == "email_bounced":
            props["bounce"] = "hard" if i % 2 else "soft"
        rows.append(
            Event(
                name=name,
                contact_id=contact,
                properties=props,
                occurred_at=day + dt.timedelta(seconds=i * 86_000 // events),
                received_at=settled,
                source="email",
            )
        )
    for i in range(PURCHASES):
        message, contact = messages[(i * 7) % len(messages)]
        rows.append(
            Event(
                name="purchase",
                contact_id=contact,
                properties={"amount": 20 + i % 50},
                occurred_at=day + dt.timedelta(hours=23, minutes=i % 50),
                received_at=settled,
                source="api",
            )
        )
    Event.objects.bulk_create(rows, batch_size=5000)
    enrollment = Enrollment.objects.create(contact_id=contact_ids[0], scenario=scenario)
    StepRun.objects.bulk_create(
        [
            StepRun(
                enrollment=enrollment,
                contact_id=contact_ids[i % len(contact_ids)],
                scenario_id=scenario.pk,
                step_id=10 + i % 3,
                outcome=("queued", "done", "skipped", "entered")[i % 4],
                ran_at=day + dt.timedelta(seconds=i * 4),
                recorded_at=settled,
            )
            for i in range(RUNS)
        ],
        batch_size=5000,
    )


def bench_rollup(events: int) -> None:
    from django.db import connection

    from wagtail_journeys.analytics.rollup import rollup_pass
    from wagtail_journeys.models import MailDay

    seed(events)
    started = time.perf_counter()
    done = rollup_pass(max_batches=10**6)
    elapsed = time.perf_counter() - started
    assert done == {"events": events + PURCHASES, "runs": RUNS}, done
    assert sum(MailDay.objects.values_list("sent", flat=True)) == events * 25 // 100
    vendor = connection.vendor
    report(f"rollup_day_{events // 1000}k_events_{vendor}", elapsed, "s", "<= 10 s")
    idle = []
    for _ in range(30):
        started = time.perf_counter()
        rollup_pass()
        idle.append((time.perf_counter() - started) * 1000)
    report(f"rollup_nothing_new_{vendor}", statistics.median(idle), "ms", "<= 50 ms")


def main() -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from databases import main_on_each_database

    return main_on_each_database(__file__, bench_rollup, databases=("postgres", "sqlite"))


if __name__ == "__main__":
    sys.exit(main())
