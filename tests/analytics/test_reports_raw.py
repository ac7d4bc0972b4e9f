"""Reports against the raw rows: real enrolments, sends, opens, clicks, bounces and goals
go through the engine and the tracking functions, the rollup pass runs, and every report
figure equals a count the test takes from ``Message``, ``Event``, ``StepRun`` and
``Enrollment`` itself. The contacts behind each number are the ones those rows name."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.emails.factories import button, make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.analytics.behind import contacts_behind
from wagtail_journeys.analytics.figures import Period
from wagtail_journeys.analytics.reports import email_report, overview, scenario_report
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Branch,
    Enrollment,
    Event,
    Message,
    SendEmailStep,
    SplitStep,
    StepRun,
    UpdateContactStep,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together
from wagtail_journeys.tracking.engagement import record_click, record_open
from wagtail_journeys.tracking.machines import HUMAN, Verdict

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
T0 = NOW - dt.timedelta(days=3)
PERIOD = Period.last_days(30)
ROBOT = Verdict(True, "apple_mpp")


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": None,
        "FREQUENCY_CAP": None,
        "SPLIT_MIN_SAMPLE": 5,
    }


def fire(name, contact, at, **properties):
    event, _ = record_event(name, contact=contact, properties=properties, occurred_at=at)
    return match_events([event], now=at)


def settle_and_roll_up():
    past = timezone.now() - dt.timedelta(minutes=1)
    Event.objects.update(received_at=past)
    StepRun.objects.update(recorded_at=past)
    rollup_pass(settle=dt.timedelta(0))


@pytest.fixture
def world():
    """Welcome → split (A: an offer; B: a tag only, the holdout) → wait; 40 contacts sign
    up, some open (humans and machines), click either link, bounce, buy."""
    rng = random.Random(10)
    welcome = make_email(
        [
            text("<p>Hi</p>"),
            button("Shop", "https://shop.example/"),
            button("Help", "https://shop.example/help"),
        ],
        title="Welcome",
    )
    offer = make_email([button("Offer", "https://shop.example/offer")], title="Offer")
    scenario = make_scenario(title="Onboarding", trigger_event="signup", goal_event="order")
    first = add(scenario, SendEmailStep, email=welcome)
    with publishing_together():
        split = add(scenario, SplitStep, title="Offer or not")
        arm_a = add(split, Branch, title="Offer", percent=50)
        second = add(arm_a, SendEmailStep, email=offer)
        arm_b = add(split, Branch, title="Nothing", percent=50)
        add(arm_b, UpdateContactStep, add_tags="no-offer")
    wait = add(scenario, WaitStep, mode="duration", amount=30, unit="days")
    contacts = [make_contact(f"c{i}@example.com") for i in range(40)]
    for i, contact in enumerate(contacts):
        fire("signup", contact, T0 + dt.timedelta(minutes=i))
    advance_due(now=T0 + dt.timedelta(hours=1))
    for message in Message.objects.filter(status="sent").select_related("contact"):
        roll = rng.random()
        at = T0 + dt.timedelta(hours=2, minutes=rng.randint(0, 600))
        if roll < 0.15:
            message.status, message.bounced_at, message.bounce_type = "bounced", at, "hard"
            message.save(update_fields=["status", "bounced_at", "bounce_type"])
            record_event(
                "email_bounced",
                contact=message.contact_id,
                properties=message.event_properties(bounce="hard"),
                occurred_at=at,
                source="email",
            )
            continue
        if roll < 0.3:
            record_open(message, ROBOT, at)
        if roll > 0.25:
            record_open(message, HUMAN, at + dt.timedelta(minutes=1))
            if roll > 0.4:
                record_open(message, HUMAN, at + dt.timedelta(minutes=5))
        if roll > 0.5:
            link = rng.randint(0, 1)
            record_click(
                message, link, f"https://shop.example/{link}", HUMAN, at + dt.timedelta(minutes=6)
            )
            if roll > 0.8:
                record_click(
                    message, 1 - link, "https://shop.example/x", HUMAN, at + dt.timedelta(minutes=7)
                )
        if roll > 0.6:
            fire("order", message.contact, at + dt.timedelta(hours=1), amount="19.90")
    settle_and_roll_up()
    return {
        "scenario": scenario,
        "welcome": welcome,
        "offer": offer,
        "first": first,
        "split": split,
        "a": arm_a,
        "b": arm_b,
        "second": second,
        "wait": wait,
    }


def sent(**filters) -> int:
    return Message.objects.filter(sent_at__isnull=False, **filters).count()


def runs(**filters) -> int:
    return StepRun.objects.filter(**filters).count()


def behind(metric, **filters) -> set[int]:
    return set(contacts_behind(metric, period=PERIOD, **filters).values_list("pk", flat=True))


def test_scenario_report_equals_the_raw_rows(world):
    s = world["scenario"]
    report = scenario_report(s, PERIOD)
    enrollments = Enrollment.objects.filter(scenario=s)
    assert report.entered == enrollments.count() == 40
    assert report.converted == enrollments.filter(status="converted").count() > 0
    assert report.waiting == enrollments.filter(status="active").count() > 0
    assert report.revenue == Decimal("19.90") * report.converted
    assert report.exited == runs(scenario_id=s.pk, outcome="exited")
    first = report.step(world["first"].pk)
    assert first.passed == runs(step_id=world["first"].pk, outcome__in=["queued", "sent"])
    assert first.mail.sent == sent(step_id=world["first"].pk) == 40
    for step in (world["first"], world["second"]):
        mail = report.step(step.pk).mail
        messages = Message.objects.filter(step_id=step.pk)
        assert mail.sent == sent(step_id=step.pk)
        assert mail.bounced == messages.filter(bounced_at__isnull=False).count()
        assert mail.hard_bounced == messages.filter(bounce_type="hard").count()
        assert mail.opened == messages.filter(opened_at__isnull=False).count()
        assert mail.opens == messages.aggregate(n=Sum("open_count"))["n"]
        assert mail.machine_opens == messages.aggregate(n=Sum("machine_open_count"))["n"]
        assert mail.clicked == messages.filter(clicked_at__isnull=False).count()
        assert mail.clicks == messages.aggregate(n=Sum("click_count"))["n"]
        assert mail.converted == messages.filter(converted_at__isnull=False).count()
        assert mail.revenue == (messages.aggregate(n=Sum("revenue"))["n"] or 0)
    [split] = report.splits
    for arm in split.arms:
        taken = runs(step_id=world["split"].pk, branch_id=arm.branch_id, outcome="done")
        assert arm.entered == taken
        assert arm.converted == runs(
            step_id=world["split"].pk, branch_id=arm.branch_id, outcome="converted"
        )
    assert sum(arm.entered for arm in split.arms) == 40
    assert sum(arm.converted for arm in split.arms) == report.converted
    assert split.verdict.enough
    wait = report.step(world["wait"].pk)
    assert wait.waiting == enrollments.filter(status="active", step_id=world["wait"].pk).count()
    assert [stage.count for stage in report.funnel][0] == 40
    assert report.funnel[-1].count == report.converted

    assert behind("entered", scenario_id=s.pk) == set(
        enrollments.values_list("contact_id", flat=True)
    )
    assert behind("converted", scenario_id=s.pk) == set(
        enrollments.filter(status="converted").values_list("contact_id", flat=True)
    )
    assert behind("waiting", scenario_id=s.pk, step_id=world["wait"].pk) == set(
        enrollments.filter(status="active", step_id=world["wait"].pk).values_list(
            "contact_id", flat=True
        )
    )
    for arm in split.arms:
        contacts = behind(
            "passed", scenario_id=s.pk, step_id=world["split"].pk, branch_id=arm.branch_id
        )
        assert len(contacts) == arm.entered
        converted = behind(
            "converted", scenario_id=s.pk, step_id=world["split"].pk, branch_id=arm.branch_id
        )
        assert len(converted) == arm.converted


def test_email_report_and_overview_equal_the_raw_rows(world):
    welcome = world["welcome"]
    report = email_report(welcome, PERIOD)
    messages = Message.objects.filter(email_page=welcome)
    assert report.mail.sent == sent(email_page=welcome) == 40
    assert report.mail.opened == messages.filter(opened_at__isnull=False).count()
    assert [b.key for b in report.by_scenario] == [str(world["scenario"].pk)]
    assert [(b.key, b.mail.sent) for b in report.by_variant] == [("", 40)]
    clicks = Event.objects.filter(name="email_clicked", properties__email_page_id=welcome.pk)
    for link in report.links:
        human = clicks.filter(properties__link=link.link, properties__machine=False)
        assert link.clicks == human.count()
        assert link.clicked == human.filter(properties__first=True).count()
        assert behind("clicked", email_id=welcome.pk, link=link.link) == set(
            human.values_list("contact_id", flat=True)
        )
    assert sum(link.clicks for link in report.links) == report.mail.clicks
    assert len(report.links) == 2 and report.mail.machine_opens > 0
    assert 0 < report.mail.clicked < report.mail.opened < report.mail.sent
    assert report.mail.bounced > 0
    for metric, column in (
        ("sent", "sent_at"),
        ("opened", "opened_at"),
        ("clicked", "clicked_at"),
        ("bounced", "bounced_at"),
        ("converted", "converted_at"),
    ):
        assert behind(metric, email_id=welcome.pk) == set(
            messages.filter(**{f"{column}__isnull": False}).values_list("contact_id", flat=True)
        ), metric

    assert behind("sent", email_id=welcome.pk, variant="") == behind("sent", email_id=welcome.pk)
    assert behind("sent", email_id=welcome.pk, variant="1,2") == set()

    totals = overview(PERIOD).totals
    everything = Message.objects.all()
    assert totals.sent == sent()
    assert totals.opened == everything.filter(opened_at__isnull=False).count()
    assert totals.converted == everything.filter(converted_at__isnull=False).count()
    assert totals.revenue == everything.aggregate(n=Sum("revenue"))["n"]
    days = overview(PERIOD).days
    assert sum(d.sent for d in days) == totals.sent
