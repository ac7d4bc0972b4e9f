"""Budgets of the flow canvas (server time, one core, median of several requests):

- the canvas of a 200-step scenario (conditions with branches, waits, sends, drafts among
  them, contacts on its steps): ≤ 300 ms;
- opening a node's editor (the side panel's page editor of a send step): ≤ 200 ms.

Migrates a fresh SQLite database in a temporary directory. Run standalone:
``python benchmarks/bench_canvas.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JOURNEYS_TEST_TMP", tempfile.mkdtemp(prefix="bench-canvas-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

STEPS = 200


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:,.1f} {unit} (budget {budget})", flush=True)


def build() -> tuple[int, int]:
    """A live scenario of ``STEPS`` steps (branches counted): runs of wait → send, every
    tenth a condition with two branches of a send each; the last ten steps drafts; 500
    contacts enrolled. Returns the scenario's and a send step's ids."""
    from django.utils import timezone

    from tests.emails.factories import make_email
    from tests.scenarios.factories import add, make_scenario
    from wagtail_journeys.engine.enroll import enroll
    from wagtail_journeys.models import (
        Branch,
        ConditionStep,
        Contact,
        SendEmailStep,
        WaitStep,
    )
    from wagtail_journeys.scenarios.guard import publishing_together

    emails = [make_email([], title=f"Email {i}") for i in range(10)]
    scenario = make_scenario(title="Two hundred steps", live_since=None)
    made, send_id = 0, None
    with publishing_together():
        while made < STEPS - 10:
            if made % 10 == 8:
                condition = add(scenario, ConditionStep, title=f"Check {made}")
                for else_ in (False, True):
                    branch = add(condition, Branch, title=f"b{made}{else_}", is_else=else_)
                    add(branch, SendEmailStep, email=emails[made % 10])
                made += 5
            else:
                add(scenario, WaitStep, amount=made % 5 + 1, unit="days")
                send_id = add(scenario, SendEmailStep, email=emails[made % 10]).pk
                made += 2
        for i in range(STEPS - made):
            add(scenario, WaitStep, publish=False, amount=i + 1, unit="hours")
    contacts = Contact.objects.bulk_create(
        Contact(email=f"bench{i}@example.com") for i in range(500)
    )
    enroll(scenario.pk, [c.pk for c in contacts], now=timezone.now())
    return scenario.pk, send_id


def timed(client: Client, url: str, rounds: int) -> tuple[float, float]:
    """Median CPU and wall milliseconds of ``rounds`` GETs (after one warm-up). The CPU
    time is the server's, which other processes on a busy machine do not inflate (the
    database is in-process SQLite, so its work is counted too); the wall time is what a
    user waits, which they do."""
    assert client.get(url).status_code == 200
    cpu, wall = [], []
    for _ in range(rounds):
        start, began = time.process_time(), time.perf_counter()
        response = client.get(url)
        cpu.append((time.process_time() - start) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return statistics.median(cpu), statistics.median(wall)


def wall_note(wall: float) -> None:
    print(f"  (wall {wall:,.1f} ms; load average {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    from django.contrib.auth import get_user_model
    from wagtail.models import Page

    # As a real server renders (setup_test_environment would instrument every template).
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    scenario_id, send_id = build()
    steps = Page.objects.descendant_of(Page.objects.get(pk=scenario_id)).count()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    canvas, wall = timed(client, reverse("journeys_scenarios:canvas", args=[scenario_id]), 7)
    report(f"canvas {steps} steps", canvas, "ms", "300 ms")
    wall_note(wall)
    explorer, _wall = timed(client, reverse("wagtailadmin_explore", args=[scenario_id]), 7)
    print(f"(for scale: Wagtail's explorer of the same scenario: {explorer:,.1f} ms)")
    editor, wall = timed(client, reverse("journeys_scenarios:edit", args=[send_id]), 7)
    report("canvas open a node's editor", editor, "ms", "200 ms")
    wall_note(wall)


if __name__ == "__main__":
    main()
