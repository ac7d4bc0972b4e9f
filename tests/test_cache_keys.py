"""Compiled emails and plans are cached under keys that never repeat.

SQLite hands out the ids of rows rolled back again (and a coarse clock can give the same
``created_at`` twice): a cache keyed by row id would then serve another email's or
another plan's compiled form. SQLite only: PostgreSQL sequences never give an id twice.
Neither test relies on ``tests/conftest.py``'s ``fresh_cache`` (they stay in one test).
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.emails import render, render_for
from wagtail_journeys.models import ScenarioPlan, WaitStep
from wagtail_journeys.scenarios.loading import build_plan, current_plan

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="only SQLite gives a rolled-back id again"
)


def test_an_email_revision_id_reused_after_a_rollback_is_compiled_afresh(email_site):
    contact = make_contact(first_name="Bo")
    with transaction.atomic():
        doomed = make_email([text("<p>Old offer</p>")], subject="Old subject")
        assert render_for(doomed, contact).subject == "Old subject"  # compiled and cached
        doomed_revision = doomed.live_revision_id
        transaction.set_rollback(True)
    fresh = make_email([text("<p>New offer</p>")], subject="New subject")
    assert fresh.live_revision_id == doomed_revision  # the id came back
    sent = render_for(fresh, contact)
    assert sent.subject == "New subject" and "New offer" in sent.html
    with render._lock:  # the shared cache (Django's) is keyed the same way
        render._lru.clear()
    assert render_for(fresh, contact).subject == "New subject"


def _with_wait(scenario, step, amount: int) -> dict:
    data = build_plan(scenario).to_json()
    for raw in data["steps"]:
        if raw["id"] == step.pk:
            raw["config"]["amount"] = amount
    return data


def test_a_plan_row_id_reused_after_a_rollback_serves_the_new_plan(db):
    scenario = make_scenario(title="Reused")
    step = add(scenario, WaitStep, amount=3, unit="days")
    stamp = timezone.now()  # a coarse clock: both rows get the same created_at
    with transaction.atomic():
        doomed = ScenarioPlan.objects.create(
            scenario=scenario, data=_with_wait(scenario, step, 5), created_at=stamp
        )
        assert current_plan(scenario.pk).steps[step.pk].config["amount"] == 5  # cached
        transaction.set_rollback(True)
    again = ScenarioPlan.objects.create(
        scenario=scenario, data=_with_wait(scenario, step, 7), created_at=stamp
    )
    assert again.pk == doomed.pk  # the id came back
    assert current_plan(scenario.pk).steps[step.pk].config["amount"] == 7
