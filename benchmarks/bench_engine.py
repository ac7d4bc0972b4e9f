"""Engine benchmarks: prints ``bench NAME: VALUE UNIT (budget BUDGET)`` lines.

With no arguments (``make bench``): steps, sends and trigger latency on PostgreSQL, the
broadcast on SQLite, as the budgets are set. One at a time:

    JOURNEYS_DB=postgres python benchmarks/bench_engine.py steps sends
    python benchmarks/bench_engine.py broadcast [--sizes 10000,50000,100000]
    python benchmarks/bench_engine.py latency

Each run creates a fresh test database (``test_<name>``), measures, and drops it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# Its own SQLite files, apart from a test run's.
os.environ["JOURNEYS_TEST_TMP"] = os.path.join(os.environ.get("JOURNEYS_TEST_TMP", "/tmp"), "bench")
os.makedirs(os.environ["JOURNEYS_TEST_TMP"], exist_ok=True)


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:,.1f} {unit} (budget {budget})", flush=True)


def vendor() -> str:
    from django.db import connection

    return connection.vendor


def scenario_with(*steps):
    from tests.emails.factories import make_email
    from tests.scenarios.factories import add, make_scenario, site_root

    site_root()
    scenario = make_scenario(title=f"Bench {time.monotonic()}", reentry="always")
    created = []
    for model, fields in steps:
        if fields.get("email") == "new":
            fields = {**fields, "email": make_email(title="Bench email", body=_body())}
        created.append(add(scenario, model, **fields))
    return scenario, created


def _body():
    paragraph = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "</p>"
    return [{"type": "text", "value": paragraph} for _ in range(24)]  # ≈ 32 KB of HTML


def contacts(count: int, prefix: str) -> list[int]:
    from wagtail_journeys.models import Contact

    Contact.objects.bulk_create(
        [Contact(email=f"{prefix}{n}@example.com", first_name="Bench") for n in range(count)],
        batch_size=2000,
    )
    return list(Contact.objects.filter(email__startswith=prefix).values_list("pk", flat=True))


def due(scenario, first_step, ids, now) -> None:
    from wagtail_journeys.models import Enrollment

    Enrollment.objects.bulk_create(
        [
            Enrollment(contact_id=i, scenario=scenario, step_id=first_step.pk, due_at=now)
            for i in ids
        ],
        batch_size=2000,
    )


def steps_due(count: int):
    """A published scenario, condition (rules) → branch → wait, with ``count`` contacts
    due at its condition: two non-sending steps each. Returns the time they are due."""
    from django.utils import timezone

    from tests.scenarios.factories import add
    from wagtail_journeys.models import Branch, ConditionStep, WaitStep
    from wagtail_journeys.scenarios.loading import publish_plan

    scenario, (condition, _wait) = scenario_with(
        (ConditionStep, {"title": "Likes horror?"}), (WaitStep, {"amount": 1, "unit": "days"})
    )
    add(
        condition,
        Branch,
        title="horror",
        rules=[
            {"type": "tags", "value": {"negate": False, "tags": "horror", "require_all": False}}
        ],
    )
    publish_plan(scenario)
    now = timezone.now()
    due(scenario, condition, contacts(count, "steps"), now)
    return now


def bench_steps(count: int = 5000) -> None:
    """Condition (rules) → branch → wait: two non-sending steps per contact."""
    from wagtail_journeys.engine.advance import advance_due

    now = steps_due(count)
    started = time.perf_counter()
    advance_due(now=now, max_batches=10_000)
    elapsed = time.perf_counter() - started
    report(
        f"engine_nonsending_steps_{vendor()}", 2 * count / elapsed, "contact-steps/s", ">= 5,000"
    )


class SerialisingLocmemBackend:
    """Django's locmem backend as a real one would behave: each message is built and
    serialised once (``message().as_bytes()``) and the bytes kept in ``mail.outbox``;
    locmem itself builds it, deep-copies the object and leaves serialising to the caller,
    which would build it a second time."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        from django.core import mail

        for message in messages:
            mail.outbox.append(message.message().as_bytes())
        return len(messages)


def bench_sends(count: int = 300) -> None:
    """Engine sends (render included) to an in-memory outbox vs merely building and
    serialising the same messages, side by side in one process."""
    from django.core import mail
    from django.core.mail import EmailMultiAlternatives
    from django.test.utils import override_settings
    from django.utils import timezone

    from wagtail_journeys.emails.render import render_for
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.models import Contact, SendEmailStep

    scenario, (step,) = scenario_with((SendEmailStep, {"email": "new"}))
    ids = contacts(count, "sends")
    sample = Contact.objects.get(pk=ids[0])
    rendered = render_for(step.email.specific, sample)
    started = time.perf_counter()
    for n in range(count):
        message = EmailMultiAlternatives(
            rendered.subject, rendered.text, "shop@example.com", [f"sends{n}@example.com"]
        )
        message.attach_alternative(rendered.html, "text/html")
        message.message().as_bytes()
    baseline = count / (time.perf_counter() - started)
    now = timezone.now()
    due(scenario, step, ids, now)
    with override_settings(
        EMAIL_BACKEND=f"{__name__}.SerialisingLocmemBackend",
        WAGTAIL_JOURNEYS={"QUIET_HOURS": None, "FREQUENCY_CAP": None},
    ):
        mail.outbox = []
        started = time.perf_counter()
        advance_due(now=now, max_batches=10_000)
        rate = count / (time.perf_counter() - started)
        assert len(mail.outbox) == count, len(mail.outbox)
    report(f"engine_send_rate_{vendor()}", rate, "emails/s", "context: Mautic 5-20/s")
    report(f"engine_send_vs_build_{vendor()}", 100 * rate / baseline, "%", ">= 60 %")


def bench_broadcast(sizes: list[int]) -> None:
    """One email to a whole base through a broadcast scenario, one worker (in process)."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
    from wagtail_journeys.models import Contact, Enrollment, Message, SendEmailStep, StepRun

    for size in sizes:
        Enrollment.objects.all().delete()
        StepRun.objects.all().delete()
        Message.objects.all().delete()
        Contact.objects.all().delete()
        contacts(size, f"b{size}-")
        now = timezone.now()
        scenario, _ = scenario_with((SendEmailStep, {"email": "new"}))
        scenario.trigger_kind, scenario.broadcast_at = "broadcast", now
        scenario.save_revision().publish()
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            WAGTAIL_JOURNEYS={"QUIET_HOURS": None, "FREQUENCY_CAP": None},
        ):
            started = time.perf_counter()
            evaluate_scheduled_triggers(now=now)
            advance_due(now=now, max_batches=1_000_000)
            elapsed = time.perf_counter() - started
        sent = StepRun.objects.filter(outcome="sent").count()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report(f"broadcast_{size}", elapsed, "s", "<= 120 s at 100k")
        report(f"broadcast_{size}_sent", sent, "emails", f"= {size}")
        report(f"broadcast_{size}_peak_memory", peak, "MB", "<= 400 MB")


def bench_latency(count: int = 40) -> None:
    """Event recorded -> enrolment created, with a real ``qcluster`` running the pump."""
    import statistics
    import subprocess
    import tempfile

    from django.db import connection

    from wagtail_journeys.events import record_event
    from wagtail_journeys.models import Contact, Enrollment, Event, WaitStep
    from wagtail_journeys.tasks import ensure_schedules

    scenario, _ = scenario_with((WaitStep, {"amount": 1, "unit": "days"}))
    scenario.trigger_event = "bench_latency"
    scenario.save_revision().publish()
    ensure_schedules()
    contact = Contact.objects.create(email="latency@example.com")
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (read after the cluster stops)
    cluster = subprocess.Popen(
        [sys.executable, str(ROOT / "example_site" / "manage.py"), "qcluster"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.engine.worker_settings",
            "JOURNEYS_WORKER_DB": connection.settings_dict["NAME"],
            "JOURNEYS_WORKER_OUTBOX": tempfile.mkdtemp(),
            "PYTHONPATH": str(ROOT),
        },
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        record_event("bench_latency", contact=contact)
        deadline = time.monotonic() + 180
        mine = Enrollment.objects.filter(scenario=scenario)  # other benches leave theirs
        while not mine.exists() and time.monotonic() < deadline:
            time.sleep(0.5)  # the cluster's scheduler starts the pump within ~30 s
        events = []
        for n in range(count):
            other = Contact.objects.create(email=f"latency{n}@example.com")
            events.append(record_event("bench_latency", contact=other)[0].pk)
            time.sleep(0.5)
        while mine.count() < count + 1 and time.monotonic() < deadline + 60:
            time.sleep(0.5)
    finally:
        cluster.terminate()  # graceful: the running pump finishes its minute first
        try:
            cluster.wait(timeout=120)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.wait()
    received = dict(Event.objects.filter(pk__in=events).values_list("contact_id", "received_at"))
    latencies = sorted(
        (started - received[contact_id]).total_seconds()
        for contact_id, started in Enrollment.objects.filter(contact_id__in=received).values_list(
            "contact_id", "started_at"
        )
    )
    missing = count - len(latencies)
    if missing:
        log.seek(0)
        print(log.read()[-3000:], file=sys.stderr)
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else float("inf")
    report("trigger_latency_p95", p95, "s", "<= 5 s")
    report("trigger_latency_missing", missing, "events", "= 0")


#: What ``make bench`` runs, on the database each budget names.
PLAN = [("postgres", ["steps", "sends", "latency"]), ("sqlite", ["broadcast"])]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("benches", nargs="*")
    parser.add_argument("--sizes", default="10000,50000,100000")
    args = parser.parse_args()
    if not args.benches:
        import subprocess

        # Each database in its own process (settings are read once per process).
        status = 0
        for database, benches in PLAN:
            status |= subprocess.call(
                [sys.executable, "-u", __file__, *benches, "--sizes", args.sizes],
                env={**os.environ, "JOURNEYS_DB": database},
            )
        return status
    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        if "steps" in args.benches:
            bench_steps()
        if "sends" in args.benches:
            bench_sends()
        if "latency" in args.benches:
            bench_latency()
        if "broadcast" in args.benches:
            bench_broadcast([int(s) for s in args.sizes.split(",")])
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
