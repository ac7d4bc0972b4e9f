"""A broadcast to 10,000, 50,000 and 100,000 contacts with two workers (issue 14 budget).

Budget: 100,000 contacts in ≤ 60 s with 2 workers on PostgreSQL, growing linearly, peak
memory (RSS) ≤ 400 MB per worker. For each size, a fresh base of contacts gets the
≈ 43 KB personalised mail of ``bench_send.py`` through a broadcast scenario:

- two worker processes (``--worker``, Django set up on the bench's database) wait for a
  go, then run the engine's tasks as ``qcluster`` would: the first
  ``tasks.evaluate_scheduled_triggers`` (the broadcast enrols its segment), then both
  ``tasks.advance_enrollments`` until nothing is due and the broadcast is enrolled;
- they send through Django's SMTP backend to ``bench_send.py``'s sink, a small asyncio
  server in its own process that reads each message to its final dot, answers 250 and
  counts (it offers PIPELINING, as Postfix does): the server is not what is measured;
- printed: the wall time from the go to the last worker's end, messages per second,
  messages the sink received, each worker's peak RSS and the workers' CPU per message,
  with the load average (2 cores shared with other work: wall-clock figures are noisy),
  and the rows the broadcast wrote per message (enrolment, step run, message, event; 5
  before a send's run recorded the end of the scenario too) with their size on disk.

``python benchmarks/bench_broadcast.py [--sizes 10000,50000,100000]`` (PostgreSQL when
reachable, as ``make bench`` runs it; ``JOURNEYS_DB=sqlite`` forces SQLite).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["JOURNEYS_TEST_TMP"] = os.path.join(os.environ.get("JOURNEYS_TEST_TMP", "/tmp"), "bench")
os.makedirs(os.environ["JOURNEYS_TEST_TMP"], exist_ok=True)

from benchmarks.bench_send import (  # noqa: E402
    build_rates,
    make_page,
    report,
    sink_count,
    sink_on_fresh_database,
)
from benchmarks.servers import postgres_cpu_seconds  # noqa: E402

WORKERS = 2


def smtp_settings(port: int) -> dict:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "WAGTAIL_JOURNEYS": {"QUIET_HOURS": None, "FREQUENCY_CAP": None},
    }


def worker(number: int, database: str, port: int, scenario_id: int) -> None:
    """One worker: waits for a line on stdin, works until the broadcast is sent, prints
    its figures as JSON."""
    import django
    from django.db import connection
    from django.test.utils import override_settings

    django.setup()
    connection.settings_dict["NAME"] = database
    override_settings(**smtp_settings(port)).enable()
    from wagtail_journeys import tasks, workers
    from wagtail_journeys.models import Enrollment, EnrollmentStatus, EventCursor

    workers.freeze_startup_objects()  # as each qcluster worker does once spawned
    enrolled = EventCursor.objects.filter(name=f"broadcast:{scenario_id}", position__gt=0)
    due = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
    sys.stdin.readline()
    cpu = time.process_time()
    enrolling = 0.0
    if number == 0:
        enrolling = time.perf_counter()
        tasks.evaluate_scheduled_triggers()
        enrolling = time.perf_counter() - enrolling
    while True:
        if not tasks.advance_enrollments(max_batches=20) and enrolled.exists():
            if not due.exists():
                break
            time.sleep(0.05)  # the other worker holds the last batches
        elif not enrolled.exists():
            time.sleep(0.05)
    figures = {"cpu": time.process_time() - cpu, "rss_mb": peak_rss(), "enrolling": enrolling}
    print(json.dumps(figures), flush=True)


def peak_rss() -> float:
    """This process's peak RSS in MB: ``VmHWM`` (Linux), not ``ru_maxrss``, which keeps the
    peak of the process this one was forked from (the bench, here) across ``exec``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_contacts(count: int) -> None:
    from django.db import connection

    from wagtail_journeys.engine.bulk import insert_rows
    from wagtail_journeys.models import Contact, Enrollment, Event, Message, StepRun

    models = [StepRun, Message, Event, Enrollment, Contact]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(m._meta.db_table for m in models)
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        else:
            for model in models:
                model.objects.all().delete()
    names = ["Chloé", "Bruno", "Zoë", "Ann", "Ève", "Raj", "Mia", "Léo"]
    for start in range(0, count, 10_000):
        insert_rows(
            [
                Contact(
                    email=f"reader{n}@example.com",
                    first_name=names[n % len(names)],
                    last_name=f"Reader{n}",
                )
                for n in range(start, min(count, start + 10_000))
            ]
        )


def django_floor(page) -> float:
    """Django building and serialising the mail for 2,000 of the contacts (msgs/s): the
    floor of ``bench_send.py``, measured in this run."""
    from wagtail_journeys.models import Contact

    rate = build_rates(page, list(Contact.objects.order_by("pk")[:2000]))[0]
    report("broadcast_django_build", rate, "msgs/s", "the floor: Django's build per message")
    return rate


def run(size: int, page, port: int, floor: list[float]) -> float:
    from django.db import connection
    from django.utils import timezone

    from tests.scenarios.factories import add, make_scenario
    from wagtail_journeys.models import Message, MessageStatus, SendEmailStep

    fresh_contacts(size)
    if not floor:
        floor.append(django_floor(page))
    scenario = make_scenario(
        title=f"Broadcast {size}",
        trigger_kind="broadcast",
        broadcast_at=timezone.now() - dt.timedelta(minutes=1),
    )
    add(scenario, SendEmailStep, email=page)
    received = sink_count(port)
    command = [sys.executable, __file__, "--worker", "0", "--port", str(port)]
    command += ["--database", connection.settings_dict["NAME"], "--scenario", str(scenario.pk)]
    workers = []
    for number in range(WORKERS):
        command[3] = str(number)
        workers.append(
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    time.sleep(3)  # Django set up in each
    load = os.getloadavg()[0]
    postgres = postgres_cpu_seconds(connection)
    started = time.perf_counter()
    for process in workers:
        process.stdin.write("go\n")
        process.stdin.flush()
    figures = [
        json.loads(process.communicate(timeout=1800)[0].splitlines()[-1]) for process in workers
    ]
    elapsed = time.perf_counter() - started
    if postgres is not None:
        postgres = postgres_cpu_seconds(connection) - postgres
    sent = Message.objects.filter(status=MessageStatus.SENT).count()
    arrived = sink_count(port) - received
    print(f"# {size:,} contacts, 2 workers, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    report(f"broadcast_{size}_2_workers", elapsed, "s", "<= 60 s at 100,000")
    report(f"broadcast_{size}_rate", sent / elapsed, "msgs/s", "info")
    report(f"broadcast_{size}_vs_django_build", sent / elapsed / floor[0], "x", ">= 2x")
    report(f"broadcast_{size}_arrived", arrived, "msgs", f"= {size}")
    report(f"broadcast_{size}_enrolling", figures[0]["enrolling"], "s", "info")
    cpu = sum(f["cpu"] for f in figures)
    report(f"broadcast_{size}_worker_cpu", 1000 * cpu / max(sent, 1), "ms CPU/msg", "info")
    if postgres is not None:  # the server's own CPU, when it runs on this machine
        report(
            f"broadcast_{size}_postgres_cpu", 1000 * postgres / max(sent, 1), "ms CPU/msg", "info"
        )
    for number, f in enumerate(figures):
        report(f"broadcast_{size}_worker{number}_peak_rss", f["rss_mb"], "MB", "<= 400 MB")
    rows, size_on_disk = written(connection)
    report(f"broadcast_{size}_rows_per_msg", rows / max(sent, 1), "rows/msg", "< 5 (was 5)")
    if size_on_disk is not None:
        report(f"broadcast_{size}_disk_per_msg", size_on_disk / max(sent, 1), "bytes", "info")
    return elapsed


def written(connection) -> tuple[int, int | None]:
    """The rows the broadcast wrote (its tables were emptied before it: enrolments, step
    runs, messages, events) and, on PostgreSQL, their tables' size with their indexes."""
    from wagtail_journeys.models import Enrollment, Event, Message, StepRun

    models = [Enrollment, StepRun, Message, Event]
    rows = sum(model.objects.count() for model in models)
    if connection.vendor != "postgresql":
        return rows, None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) t",
            [[model._meta.db_table for model in models]],
        )
        return rows, int(cursor.fetchone()[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.database, args.port, args.scenario)
        return 0
    with sink_on_fresh_database() as port:
        page = make_page()
        floor: list[float] = []
        sizes = map(int, args.sizes.split(","))
        times = {size: run(size, page, port, floor) for size in sizes}
        smallest = min(times)
        for size, elapsed in times.items():
            if size != smallest:
                per = (elapsed / size) / (times[smallest] / smallest)
                report(f"broadcast_{size}_per_contact_vs_{smallest}", per, "x", "~ 1 (linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
