"""The end of a scenario recorded on the run of the step that led to it (``StepRun.ends``,
migration 0025), on each database: the engine's bulk insert (``COPY`` on PostgreSQL)
writes it, an end reached with no step run in the move still gets a run of its own, and a
worker on the code before the migration can still insert its runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire, no_caps  # noqa: F401 (its autouse fixture)
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.models import (
    Enrollment,
    Event,
    Message,
    SendEmailStep,
    StepRun,
    UpdateContactStep,
    WaitStep,
)

pytestmark = pytest.mark.django_db


def runs(contact) -> list[tuple]:
    return list(
        StepRun.objects.filter(contact_id=contact.pk)
        .order_by("id")
        .values_list("kind", "outcome", "ends")
    )


def test_the_last_step_run_records_the_end_and_the_send_writes_four_rows():
    scenario = make_scenario(title="Thank you")
    add(scenario, UpdateContactStep, add_tags="buyer")
    add(scenario, SendEmailStep, email=make_email(title="Thanks", subject="Thanks!"))
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    fire("purchase", ada)
    fire("purchase", bob)
    advance_due(now=T0)
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    for contact in (ada, bob):
        assert runs(contact) == [
            ("update_contact", "done", ""),
            ("send_email", "sent", "completed"),
        ]
        enrollment = Enrollment.objects.get(contact=contact)
        assert (enrollment.status, enrollment.end_reason) == ("completed", "reached the end")
    sends = Message.objects.count()
    rows = (
        Enrollment.objects.count()
        + StepRun.objects.filter(kind="send_email").count()
        + StepRun.objects.filter(step_id__isnull=True).count()
        + sends
        + Event.objects.filter(name="email_sent").count()
    )
    assert sends == 2 and rows == 4 * sends


def test_an_end_after_a_wait_is_on_the_wait_run_and_a_silent_move_gets_its_own():
    """A wait that times out logs its run, which then records the end; a wait until a
    time already past moves on without a run, so the end gets a run of its own."""
    waits = make_scenario(title="Waits a day")
    add(waits, WaitStep, mode="duration", amount=1, unit="days")
    past = make_scenario(title="Waited until yesterday")
    add(past, WaitStep, mode="until", until=T0 - dt.timedelta(days=1))
    ada = make_contact("ada@example.com")
    fire("purchase", ada)
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=1))
    by_scenario = {
        scenario.pk: list(
            StepRun.objects.filter(scenario_id=scenario.pk)
            .order_by("id")
            .values_list("kind", "outcome", "ends")
        )
        for scenario in (waits, past)
    }
    assert by_scenario == {
        waits.pk: [("wait", "done", "completed")],
        past.pk: [("", "completed", "")],
    }
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"completed"}


def test_a_worker_on_the_previous_code_still_inserts_its_runs():
    """Migration 0025 keeps a database default on the column: an INSERT that does not
    name it (the code before the migration) stores a run without an end."""
    scenario = make_scenario()
    ada = make_contact("ada@example.com")
    enrollment = Enrollment.objects.create(contact=ada, scenario=scenario)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO wagtail_journeys_steprun (enrollment_id, contact_id, scenario_id,"
            " step_id, kind, iteration, outcome, reason, marketing_send, key, ran_at, recorded_at,"
            " branch_id, revenue) VALUES (%s, %s, %s, NULL, '', 0, 'completed', '',"
            " %s, '', %s, %s, 0, 0)",
            [enrollment.pk, ada.pk, scenario.pk, False, T0, T0],
        )
    assert runs(ada) == [("", "completed", "")]


def test_the_contact_export_says_which_run_ended_the_enrolment():
    """As the privacy docs promise: each step run of the export carries ``ends``."""
    from wagtail_journeys.privacy import export_contact

    scenario = make_scenario(title="Thank you")
    add(scenario, UpdateContactStep, add_tags="buyer")
    ada = make_contact("ada@example.com")
    fire("purchase", ada)
    advance_due(now=T0)
    (enrollment,) = export_contact(ada)["enrollments"]
    assert [(r["kind"], r["outcome"], r["ends"]) for r in enrollment["step_runs"]] == [
        ("update_contact", "done", "completed")
    ]
