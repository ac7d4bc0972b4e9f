"""A scenario's *entered*, counted from its enrolments since migration ``0022_rows`` (an
enrolment logs no ``entered`` step run), and its *completed*, recorded on the run of the
step that ended it since migration ``0025_step_run_ends``: a broadcast writes 4 rows per
message (it wrote 5, then 6), the reports' *entered* equals the enrolments whatever order
their ids commit in, each end is counted once however it was recorded, and the rows
from before the migrations are counted once."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tests.analytics import counts
from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.analytics import rollup
from wagtail_journeys.analytics.behind import contacts_behind
from wagtail_journeys.analytics.figures import Period
from wagtail_journeys.analytics.reports import scenario_report
from wagtail_journeys.analytics.rollup import ENTRIES_CURSOR, rollup_pass
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.models import (
    Contact,
    Enrollment,
    Event,
    EventCursor,
    Message,
    SendEmailStep,
    StepRun,
    WaitStep,
)

pytestmark = pytest.mark.django_db

AT = (timezone.now() - dt.timedelta(days=15)).replace(hour=9, minute=0, second=0, microsecond=0)
PERIOD = Period.last_days(30)
MIGRATION = importlib.import_module("wagtail_journeys.migrations.0022_rows")


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


@pytest.fixture
def broadcast():
    """A weekly broadcast of one email to the readers; returns it and a function that
    adds ``n`` readers."""
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = make_scenario(
        trigger_kind="broadcast",
        trigger_segment=readers,
        broadcast_at=AT,
        broadcast_every="weekly",
        reentry="always",
    )
    add(scenario, SendEmailStep, email=make_email(title="Summer selection"))

    def readers_join(n: int) -> None:
        start = Contact.objects.count()
        for i in range(start, start + n):
            make_contact(f"reader{i}@example.com").tags.add("reader")

    return scenario, readers_join


def send(at: dt.datetime) -> int:
    """The broadcast's occurrence due at ``at``, enrolled and sent."""
    enrolled = evaluate_scheduled_triggers(now=at)
    advance_due(now=at)
    return enrolled


def entered(scenario) -> int:
    return scenario_report(scenario, PERIOD).entered


def log_entered_runs(enrollments) -> None:
    """The ``entered`` step runs an enrolment logged before migration 0022."""
    StepRun.objects.bulk_create(
        StepRun(
            enrollment_id=e.pk,
            contact_id=e.contact_id,
            scenario_id=e.scenario_id,
            step_id=None,
            outcome="entered",
            ran_at=e.started_at,
        )
        for e in enrollments
    )


def test_a_broadcast_writes_four_rows_per_message_and_no_run_but_its_send(broadcast):
    """Per message: the enrolment, the send's step run (which also records the end of
    the scenario), the message and its ``email_sent`` event; no ``entered`` run, no
    ``completed`` run of its own."""
    scenario, readers_join = broadcast
    readers_join(5)
    assert send(AT) == 5
    messages = Message.objects.filter(sent_at__isnull=False).count()
    assert messages == 5
    assert list(StepRun.objects.values_list("kind", "outcome", "ends").distinct()) == [
        ("send_email", "sent", "completed")
    ]
    written = (
        Enrollment.objects.count()
        + StepRun.objects.count()
        + Message.objects.count()
        + Event.objects.filter(name="email_sent").count()
    )
    assert written == 4 * messages
    assert set(Enrollment.objects.values_list("status", "end_reason")) == {
        ("completed", "reached the end")
    }
    counts.settle_everything()
    rollup_pass()
    report = scenario_report(scenario, PERIOD)
    assert report.entered == report.completed == Enrollment.objects.count() == 5
    (step,) = report.steps
    assert (step.entered, step.passed, step.exited) == (5, 5, 0)
    assert counts.rolled_steps() == counts.expected_steps()
    everyone = set(Enrollment.objects.values_list("contact_id", flat=True))
    behind = contacts_behind("entered", period=PERIOD, scenario_id=scenario.pk)
    assert set(behind.values_list("pk", flat=True)) == everyone
    sent = contacts_behind("sent", period=PERIOD, scenario_id=scenario.pk)
    assert set(sent.values_list("pk", flat=True)) == everyone


def test_an_end_without_a_step_run_has_its_own_and_every_end_counts_once():
    """An enrolment that reaches the end in a move where no step logged a run (a wait
    until a date already past moves on silently) gets a ``completed`` run of its own;
    ends from before migration 0025 have one too, beside their last step's run. The
    reports count each end once, and again once after a rebuild."""
    scenario = make_scenario(reentry="always")
    add(scenario, WaitStep, mode="until", until=AT - dt.timedelta(days=1))
    quiet = make_contact("quiet@example.com")
    enroll(scenario.pk, [quiet.pk], now=AT)
    advance_due(now=AT)
    ((step_id, outcome, ends),) = StepRun.objects.values_list("step_id", "outcome", "ends")
    assert (step_id, outcome, ends) == (None, "completed", "")
    # an enrolment of before 0025: its last step's run, then the end's own run
    old = make_contact("old@example.com")
    (before,) = enroll(scenario.pk, [old.pk], now=AT)
    Enrollment.objects.filter(pk=before.pk).update(status="completed", step_id=None)
    common = {"enrollment_id": before.pk, "contact_id": old.pk, "scenario_id": scenario.pk}
    StepRun.objects.create(step_id=99, kind="update_contact", outcome="done", ran_at=AT, **common)
    StepRun.objects.create(step_id=None, outcome="completed", ran_at=AT, **common)
    counts.settle_everything()
    rollup_pass()
    assert scenario_report(scenario, PERIOD).completed == 2
    assert counts.rolled_steps() == counts.expected_steps()
    rollup.rebuild()
    rollup_pass()
    assert scenario_report(scenario, PERIOD).completed == 2


def test_an_enrolment_committed_after_a_bigger_id_is_counted_not_skipped(broadcast):
    """Ids are drawn before the rows commit: a smaller one can appear after a bigger
    one. The rollup reads an enrolment only once it is ``RUN_SETTLE`` old, so the cursor
    never passes one that is still to come."""
    scenario, readers_join = broadcast
    readers_join(2)
    send(AT)
    first, second = Enrollment.objects.order_by("pk")
    Enrollment.objects.filter(pk=second.pk).update(recorded_at=timezone.now())
    late = {f.attname: getattr(first, f.attname) for f in Enrollment._meta.concrete_fields}
    first.delete()  # not committed yet: nobody sees it
    StepRun.objects.update(recorded_at=timezone.now() - dt.timedelta(minutes=1))
    rollup_pass()
    assert EventCursor.objects.get(name=ENTRIES_CURSOR).position < late["id"]
    assert entered(scenario) == 0
    Enrollment.objects.create(**late)  # commits now, the smaller id after the bigger
    counts.settle_everything()
    rollup_pass()
    assert EventCursor.objects.get(name=ENTRIES_CURSOR).position == second.pk
    assert entered(scenario) == Enrollment.objects.count() == 2


def test_the_migration_counts_no_enrolment_twice(broadcast):
    """Enrolments from before migration 0022 have an ``entered`` step run, read or not
    yet by ``rollup:runs``; the migration starts ``rollup:entries`` after them. Every
    enrolment is then counted once, and once again after a rebuild."""
    scenario, readers_join = broadcast
    EventCursor.objects.filter(name=ENTRIES_CURSOR).delete()  # as before the migration
    readers_join(3)
    send(AT)
    log_entered_runs(Enrollment.objects.all())
    counts.settle_everything()
    rollup.roll_runs()  # read before the migration
    readers_join(1)
    send(AT + dt.timedelta(days=7))  # its entered run not read yet when migrating
    log_entered_runs(Enrollment.objects.filter(started_at=AT + dt.timedelta(days=7)))
    MIGRATION.start_entries_cursor(apps, connection.schema_editor())
    assert EventCursor.objects.get(name=ENTRIES_CURSOR).position == (
        Enrollment.objects.order_by("-pk").first().pk
    )
    send(AT + dt.timedelta(days=14))  # after the migration: no entered run
    assert Enrollment.objects.count() == 3 + 4 + 4
    assert StepRun.objects.filter(outcome="entered").count() == 3 + 4
    counts.settle_everything()
    rollup_pass()
    assert entered(scenario) == Enrollment.objects.count() == 11
    rollup.rebuild()
    rollup_pass()
    assert entered(scenario) == 11
