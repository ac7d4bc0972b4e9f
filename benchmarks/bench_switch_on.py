"""Budget of "Switch on" (issue 11): a 200-step draft scenario (conditions with branches,
waits, sends), checked and published together through the admin's POST, ≤ 2 s.

Also prints, for scale, "Publish changes" of the same scenario once live with one step
changed (the impact page's GET, then the POST). Migrates a fresh SQLite database in a
temporary directory. Run standalone: ``python benchmarks/bench_switch_on.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JOURNEYS_TEST_TMP", tempfile.mkdtemp(prefix="bench-switch-on-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

STEPS = 200


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:,.2f} {unit} (budget {budget})", flush=True)


def build() -> int:
    """A draft scenario of ``STEPS`` pages under it (branches counted): runs of wait →
    send, every tenth a condition with two branches of a send each; every page a draft,
    as an editor leaves it before switching it on. Returns the scenario's id."""
    from tests.emails.factories import make_email
    from tests.scenarios.factories import add, scenario_index
    from wagtail_journeys.models import (
        Branch,
        ConditionStep,
        ExitStep,
        ScenarioPage,
        SendEmailStep,
        WaitStep,
    )

    emails = [make_email([], title=f"Email {i}") for i in range(10)]
    scenario = add(
        scenario_index(),
        ScenarioPage,
        title="Two hundred steps",
        trigger_event="purchase",
        publish=False,
    )
    made = 0
    while made < STEPS:
        left = STEPS - made
        if made % 10 == 8 and left >= 5:
            condition = add(scenario, ConditionStep, title=f"Check {made}", publish=False)
            for else_ in (False, True):
                branch = add(
                    condition, Branch, title=f"b{made}{else_}", is_else=else_, publish=False
                )
                add(branch, SendEmailStep, email=emails[made % 10], publish=False)
            made += 5
        elif left >= 2:
            add(scenario, WaitStep, amount=made % 5 + 1, unit="days", publish=False)
            add(scenario, SendEmailStep, email=emails[made % 10], publish=False)
            made += 2
        else:
            add(scenario, ExitStep, publish=False)
            made += 1
    return scenario.pk


def timed_post(client: Client, url: str) -> float:
    """Wall seconds of the POST; its CPU seconds (the server's, with the in-process SQLite
    database, which a busy machine does not inflate) are printed under it."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.post(url)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert response.status_code == 302, response.status_code
    print(f"  ({cpu:,.2f} s of CPU; load average {os.getloadavg()[0]:.1f})", flush=True)
    return elapsed


def main() -> None:
    from django.contrib.auth import get_user_model
    from wagtail.models import Page

    from wagtail_journeys.models import WaitStep

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    scenario_id = build()
    pages = Page.objects.descendant_of(Page.objects.get(pk=scenario_id)).count()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    seconds = timed_post(client, reverse("wagtail_journeys_switch_on", args=[scenario_id]))
    assert Page.objects.get(pk=scenario_id).live
    report(f"switch on {pages} steps", seconds, "s", "2 s")

    wait = WaitStep.objects.descendant_of(Page.objects.get(pk=scenario_id)).first()
    wait.amount += 1
    wait.save_revision()
    url = reverse("wagtail_journeys_publish_changes", args=[scenario_id])
    start = time.perf_counter()
    assert client.get(url).status_code == 200
    impact = time.perf_counter() - start
    changes = timed_post(client, url)
    print(
        f"(for scale: the impact page {impact:,.2f} s, Publish changes of one step "
        f"{changes:,.2f} s)"
    )


if __name__ == "__main__":
    main()
