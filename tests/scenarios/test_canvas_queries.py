"""The canvas reads a scenario in a fixed number of queries, however many steps it has:
one per page type, one for the drafts' revisions, one for the emails the steps send, and
the report's; never one per step (the 200-step budget is in ``benchmarks/bench_canvas.py``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Contact,
    ExitStep,
    SendEmailStep,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    client.force_login(user)
    return client


def grow(scenario, rounds: int) -> None:
    """``rounds`` times: wait → send → condition (two branches, a send and an exit), live
    and each with its own email; then a draft wait and a live wait with a draft change."""
    with publishing_together():
        for i in range(rounds):
            add(scenario, WaitStep, amount=i + 1, unit="days")
            add(scenario, SendEmailStep, email=make_email([], title=f"Email {i}"))
            condition = add(scenario, ConditionStep, title=f"Check {i}")
            rich = add(condition, Branch, title=f"rich {i}")
            add(rich, SendEmailStep, email=make_email([], title=f"Offer {i}"))
            add(add(condition, Branch, title=f"else {i}", is_else=True), ExitStep)
    for i in range(rounds):
        add(scenario, WaitStep, publish=False, amount=i + 1, unit="hours")
        changed = add(scenario, WaitStep, amount=i + 1, unit="weeks")
        changed.amount += 1
        changed.save_revision()


def canvas_queries(client, scenario) -> int:
    url = reverse("journeys_scenarios:canvas", args=[scenario.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_canvas_makes_as_many_queries_for_60_steps_as_for_6(admin):
    small, large = make_scenario(title="Small"), make_scenario(title="Large")
    grow(small, 1)
    grow(large, 10)
    contacts = Contact.objects.bulk_create(Contact(email=f"c{i}@example.com") for i in range(20))
    enroll(large.pk, [c.pk for c in contacts], now=timezone.now())
    canvas_queries(admin, small)  # the first request of a session reads more (the user…)

    few = canvas_queries(admin, small)
    many = canvas_queries(admin, large)

    assert many == few
    html = admin.get(reverse("journeys_scenarios:canvas", args=[large.pk])).content.decode()
    assert html.count('class="jc-node jc-node--send_email') == 20
