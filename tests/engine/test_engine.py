"""The engine on a real database: events in, enrolments advanced, emails out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Enrollment,
    ExitStep,
    Message,
    SendEmailStep,
    StepRun,
    WaitStep,
)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def fire(name: str, contact, at=T0, **properties):
    event, _ = record_event(name, contact=contact, properties=properties, occurred_at=at)
    return match_events([event], now=at)


def welcome_series():
    scenario = make_scenario(title="Welcome")
    email = make_email(title="Welcome + voucher", subject="Welcome!")
    add(scenario, WaitStep, mode="duration", amount=3, unit="days")
    add(scenario, SendEmailStep, email=email)
    return scenario, email


def test_event_enrols_and_the_email_goes_out_after_the_wait():
    scenario, _ = welcome_series()
    ada = make_contact("ada@example.com")
    assert fire("purchase", ada) == 1
    advance_due(now=T0)
    assert mail.outbox == []
    advance_due(now=T0 + dt.timedelta(days=2, hours=23))
    assert mail.outbox == []
    advance_due(now=T0 + dt.timedelta(days=3))
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert mail.outbox[0].subject == "Welcome!"
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "completed"
    advance_due(now=T0 + dt.timedelta(days=30))
    assert len(mail.outbox) == 1


def test_other_events_and_unmatched_filters_enrol_nobody():
    make_scenario(trigger_event="form_submitted", trigger_filters={"form": "newsletter"})
    ada = make_contact()
    assert fire("purchase", ada) == 0
    assert fire("form_submitted", ada, form="white-paper") == 0
    assert fire("form_submitted", ada, form="newsletter") == 1


def test_excluded_contacts_get_nothing():
    bought_king = SegmentFactory(rules=[rule("tags", tags="stephen-king-buyer")])
    scenario, _ = welcome_series()
    scenario.exclusion = bought_king
    scenario.save_revision().publish()
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    bob.tags.add("stephen-king-buyer")
    fire("purchase", ada)
    fire("purchase", bob)
    assert Enrollment.objects.get().contact == ada
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=4))
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_goal_mid_wait_ends_as_conversion_and_nothing_is_sent():
    scenario, _ = welcome_series()
    scenario.goal_event = "purchase_confirmed"
    scenario.save_revision().publish()
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    fire("purchase_confirmed", ada, at=T0 + dt.timedelta(days=1))
    advance_due(now=T0 + dt.timedelta(days=4))
    assert mail.outbox == []
    assert Enrollment.objects.get().status == "converted"


def test_reentry_once_ever_and_per_days():
    scenario, _ = welcome_series()
    ada = make_contact()
    assert fire("purchase", ada) == 1
    assert fire("purchase", ada, at=T0 + dt.timedelta(days=400)) == 0
    scenario.reentry = "per_days"
    scenario.reentry_days = 30
    scenario.save_revision().publish()
    assert fire("purchase", ada, at=T0 + dt.timedelta(days=1)) == 0  # still active
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=4))
    assert Enrollment.objects.get().status == "completed"
    assert fire("purchase", ada, at=T0 + dt.timedelta(days=20)) == 0
    assert fire("purchase", ada, at=T0 + dt.timedelta(days=31)) == 1


def test_condition_takes_first_matching_branch_then_continues():
    scenario = make_scenario()
    king, other, after = (make_email(title=t) for t in ("Best of King", "King and more", "After"))
    condition = add(scenario, ConditionStep, title="Opened?")
    yes = add(condition, Branch, title="likes horror", rules=[rule("tags", tags="horror")])
    add(yes, SendEmailStep, email=king)
    no = add(condition, Branch, title="else", is_else=True)
    add(no, SendEmailStep, email=other)
    add(scenario, SendEmailStep, email=after)
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    ada.tags.add("horror")
    fire("purchase", ada)
    fire("purchase", bob)
    advance_due(now=T0)
    assert len(mail.outbox) == 4
    got = {(m.contact.email, m.email_page.title) for m in Message.objects.filter(status="sent")}
    assert got == {
        ("ada@example.com", "Best of King"),
        ("ada@example.com", "After"),
        ("bob@example.com", "King and more"),
        ("bob@example.com", "After"),
    }


def test_each_send_has_one_message_even_when_advanced_again():
    scenario, _ = welcome_series()
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=3))
    enrollment = Enrollment.objects.get()
    run = StepRun.objects.get(outcome="sent")
    assert run.key == f"enr:{enrollment.pk}:{run.step_id}:1"
    assert Message.objects.filter(key=run.key).count() == 1
    assert len(mail.outbox) == 1


def test_republish_moves_enrolments_and_a_removed_step_ends_them_with_a_reason():
    scenario, _ = welcome_series()
    wait = scenario.get_children().first().specific
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    wait.unpublish()
    advance_due(now=T0 + dt.timedelta(days=3))
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "exited"
    assert "removed" in enrollment.end_reason
    assert mail.outbox == []


def test_unpublishing_pauses_and_republishing_resumes():
    scenario, _ = welcome_series()
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    scenario.unpublish()
    advance_due(now=T0 + dt.timedelta(days=5))
    assert mail.outbox == []
    scenario.save_revision().publish()
    advance_due(now=T0 + dt.timedelta(days=5))
    assert len(mail.outbox) == 1


def test_unsubscribed_at_send_time_is_skipped_with_a_reason():
    welcome_series()
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    ada.email_status = "unsubscribed"
    ada.save()
    advance_due(now=T0 + dt.timedelta(days=3))
    assert mail.outbox == []
    assert StepRun.objects.filter(outcome="skipped", reason__contains="unsubscribed").exists()


def test_exit_step_ends_the_scenario():
    scenario = make_scenario()
    add(scenario, ExitStep)
    add(scenario, SendEmailStep, email=make_email())
    fire("purchase", make_contact())
    advance_due(now=T0)
    assert Enrollment.objects.get().status == "exited"
    assert mail.outbox == []


def test_a_goal_later_in_the_same_batch_converts_but_an_earlier_one_does_not():
    scenario, _ = welcome_series()
    scenario.goal_event = "purchase_confirmed"
    scenario.save_revision().publish()
    ada, bob = make_contact(), make_contact()
    events = [
        record_event("purchase", contact=ada, occurred_at=T0)[0],
        record_event("purchase_confirmed", contact=ada, occurred_at=T0)[0],
        record_event("purchase_confirmed", contact=bob, occurred_at=T0)[0],
        record_event("purchase", contact=bob, occurred_at=T0)[0],
    ]
    match_events(events, now=T0)
    assert dict(Enrollment.objects.values_list("contact_id", "status")) == {
        ada.pk: "converted",
        bob.pk: "active",
    }


def test_journeys_tick_runs_one_full_pass_from_the_event_log():
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from wagtail_journeys.models import Event

    scenario = make_scenario()
    add(scenario, SendEmailStep, email=make_email(title="Thanks"))
    ada = make_contact("ada@example.com")
    Event.objects.create(
        name="purchase",
        contact=ada,
        source="api",
        received_at=timezone.now() - dt.timedelta(seconds=10),
    )
    out = io.StringIO()
    call_command("journeys_tick", stdout=out)
    assert "enrolled 1" in out.getvalue()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    call_command("journeys_tick", stdout=io.StringIO())
    assert len(mail.outbox) == 1


def test_fan_out_keeps_at_most_fanout_advance_tasks_waiting(settings):
    """Each pump round offers the backlog to other workers; several pumps, each second,
    must not pile up tasks nobody can take yet."""
    from django_q.brokers import get_broker

    from wagtail_journeys.engine.passes import fan_out

    settings.WAGTAIL_JOURNEYS = {"ADVANCE_BATCH_SIZE": 2}
    scenario = make_scenario()
    step = add(scenario, WaitStep, amount=1, unit="days")
    contacts = [make_contact() for _ in range(10)]
    broker = get_broker()
    broker.purge_queue()
    assert fan_out(3) == 0  # nothing due
    Enrollment.objects.bulk_create(
        [Enrollment(contact=c, scenario=scenario, step_id=step.pk, due_at=T0) for c in contacts]
    )
    assert fan_out(3) == 3
    assert fan_out(3) == 0 and broker.queue_size() == 3  # a second pump adds nothing
    broker.purge_queue()
    assert fan_out(5) == 4  # the backlog counts at most 4 batches ahead


def test_old_step_runs_are_purged_but_queued_sends_are_kept(settings):
    from wagtail_journeys.analytics.rollup import rollup_pass
    from wagtail_journeys.engine.retention import purge_step_runs

    settings.WAGTAIL_JOURNEYS = {"STEP_RUN_RETENTION_DAYS": 30, "FREQUENCY_CAP": None}
    scenario = make_scenario()
    enrollment = Enrollment.objects.create(contact=make_contact(), scenario=scenario)

    def run(days_ago, outcome):
        return StepRun.objects.create(
            enrollment=enrollment,
            contact_id=enrollment.contact_id,
            scenario_id=scenario.pk,
            kind="wait",
            outcome=outcome,
            ran_at=T0 - dt.timedelta(days=days_ago),
        )

    old = [run(40, "done") for _ in range(5)]
    stuck, recent = run(40, "queued"), run(10, "done")
    rollup_pass(settle=dt.timedelta(0))  # the reports have counted them
    unread = run(40, "done")  # not counted yet: kept until it is
    assert purge_step_runs(now=T0, chunk=2) == len(old)
    assert set(StepRun.objects.values_list("pk", flat=True)) == {stuck.pk, recent.pk, unread.pk}
    settings.WAGTAIL_JOURNEYS = {"STEP_RUN_RETENTION_DAYS": None}
    assert purge_step_runs(now=T0 + dt.timedelta(days=365)) == 0


def test_a_mail_server_that_is_down_delays_the_send_but_loses_nothing(settings):
    from tests.processes import free_port
    from wagtail_journeys.engine.outbox import deliver_stale

    scenario = make_scenario()
    add(scenario, SendEmailStep, email=make_email(title="Receipt", subject="Thanks"))
    ada = make_contact("ada@example.com")
    fire("purchase", ada)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    advance_due(now=T0)
    assert Enrollment.objects.get().status == "completed"  # the step itself was taken
    assert StepRun.objects.get(kind="send_email").outcome == "queued"
    assert Message.objects.get().status == "deferred"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver_stale() == 0  # not due yet
    Message.objects.update(next_attempt_at=Message.objects.get().created_at)  # now due
    assert deliver_stale() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert StepRun.objects.get(kind="send_email").outcome == "sent"
    assert deliver_stale() == 0 and len(mail.outbox) == 1
