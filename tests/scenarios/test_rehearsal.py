"""Rehearsing a draft scenario over the recorded event log: the same figures as switching it
on and replaying the same events through the real engine, and nothing written."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, scenario_index
from tests.segments.factories import rule
from wagtail_journeys.engine import tick
from wagtail_journeys.engine.rehearsal import rehearse
from wagtail_journeys.exceptions import InvalidInput
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Enrollment,
    Event,
    EventSource,
    ScenarioPage,
    SendEmailStep,
    StepRun,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=10)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def engine_settings(settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": ["21:00", "08:00"],
        "FREQUENCY_CAP": {"emails": 1, "days": 3},
        "REHEARSAL_DAILY_SHARE_WARNING": 0.2,
    }


def draft_journey() -> tuple[ScenarioPage, dict[str, object]]:
    """Signed up → welcome → wait 2 days → browsed? (tips, skipped by the cap) : (offer,
    deferred by the cap); goal: a purchase. Every page a draft (never published)."""
    scenario = add(
        scenario_index(),
        ScenarioPage,
        publish=False,
        title="Welcome journey",
        trigger_event="signup",
        goal_event="purchase",
        live_since=START,
    )
    welcome, tips, offer = (make_email(title=t) for t in ("Welcome", "Tips", "Offer"))
    steps = {"welcome": add(scenario, SendEmailStep, publish=False, email=welcome)}
    steps["wait"] = add(scenario, WaitStep, publish=False, mode="duration", amount=2, unit="days")
    steps["condition"] = add(scenario, ConditionStep, publish=False, title="Browsed?")
    steps["browsed"] = add(
        steps["condition"],
        Branch,
        publish=False,
        title="browsed",
        rules=[rule("event", event="browse", at_least=1, days=7, filters=[])],
    )
    steps["tips"] = add(steps["browsed"], SendEmailStep, publish=False, email=tips, on_cap="skip")
    steps["else"] = add(steps["condition"], Branch, publish=False, title="else", is_else=True)
    steps["offer"] = add(steps["else"], SendEmailStep, publish=False, email=offer)
    return scenario, steps


def recorded_log() -> list[dict]:
    """Twelve sign-ups spread over nine days (some at night), browsing, purchases, a
    second sign-up, events nobody listens to; one contact unsubscribed."""
    contacts = [make_contact(f"c{i}@example.com") for i in range(12)]
    contacts[11].email_status = "unsubscribed"
    contacts[11].save()
    log = []
    for i, contact in enumerate(contacts):
        signup = START + dt.timedelta(hours=19 * i, minutes=10)
        log.append({"name": "signup", "contact": contact, "at": signup})
        if i % 2 == 0:
            log.append({"name": "browse", "contact": contact, "at": signup + dt.timedelta(days=1)})
        if i in (3, 7):
            at = signup + dt.timedelta(days=1, hours=2)
            log.append({"name": "purchase", "contact": contact, "at": at, "amount": 20})
        log.append({"name": "page_view", "contact": contact, "at": signup + 2 * HOUR})
    log.append({"name": "signup", "contact": contacts[0], "at": START + dt.timedelta(days=5)})
    return sorted(log, key=lambda e: e["at"])


def record(entry: dict, *, received_at: dt.datetime) -> Event:
    properties = {"amount": entry["amount"]} if "amount" in entry else {}
    return Event.objects.create(
        name=entry["name"],
        contact=entry["contact"],
        occurred_at=entry["at"],
        received_at=received_at,
        source=EventSource.API,
        properties=properties,
    )


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (introspected names)
            counts[table] = cursor.fetchone()[0]
        return counts


def switch_on(scenario: ScenarioPage) -> None:
    """Publish the scenario and every page under it together, as "Switch on" does."""
    with publishing_together():
        scenario.get_latest_revision().publish()
        for page in scenario.get_descendants().order_by("-depth"):
            page.get_latest_revision().publish()


def replay(log: list[dict]) -> None:
    """The real engine, run every hour of the period, each event recorded just before
    the first pass after it happened."""
    moment, index = START, 0
    while moment <= END:
        while index < len(log) and log[index]["at"] <= moment:
            record(log[index], received_at=timezone.now() - dt.timedelta(seconds=10))
            index += 1
        # An hour passed since the last pass: the rows it wrote (email_sent) have settled
        # too, as they would have (the log's readers stop at the first row still settling).
        settled = timezone.now() - dt.timedelta(seconds=10)
        Event.objects.filter(received_at__gt=settled).update(received_at=settled)
        tick(now=moment)
        moment += HOUR


def engine_figures(scenario_id: int) -> dict:
    """The rehearsal's figures, counted from the raw rows the real engine wrote."""
    runs = StepRun.objects.filter(scenario_id=scenario_id)
    per_step: dict[int, Counter] = {}
    for step_id, outcome, branch_id in runs.exclude(step_id=None).values_list(
        "step_id", "outcome", "branch_id"
    ):
        if outcome == "converted":
            continue  # the goal's per-arm runs: counted on the scenario
        outcome = "sent" if outcome == "queued" else outcome
        per_step.setdefault(step_id, Counter())[(outcome, branch_id or 0)] += 1
    enrollments = Enrollment.objects.filter(scenario_id=scenario_id)
    waiting = Counter(enrollments.filter(status="active").values_list("step_id", flat=True))
    return {
        "entered": enrollments.count(),
        "converted": enrollments.filter(status="converted").count(),
        "completed": enrollments.filter(status="completed").count(),
        "exited": enrollments.filter(status="exited").count(),
        "steps": per_step,
        "waiting": {k: v for k, v in waiting.items() if v},
    }


def rehearsal_figures(result) -> dict:
    return {
        "entered": result.entered,
        "converted": result.converted,
        "completed": result.completed,
        "exited": result.exited,
        "steps": {i: n.outcomes for i, n in result.nodes.items() if n.outcomes},
        "waiting": {i: n.waiting for i, n in result.nodes.items() if n.waiting},
    }


def test_a_rehearsal_counts_what_the_engine_does_once_switched_on_and_writes_nothing():
    scenario, steps = draft_journey()
    log = recorded_log()
    for entry in log:
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    before = row_counts()

    result = rehearse(scenario, start=START, end=END, tick=HOUR)

    assert row_counts() == before
    rehearsed = rehearsal_figures(result)
    # What a person reads on the diagram, for this log:
    assert result.entered == 12 and result.converted == 2
    welcome = result.nodes[steps["welcome"].pk]
    assert welcome.sent == 11 and welcome.skipped == {"contact is unsubscribed": 1}
    assert welcome.held_by_quiet_hours > 0
    condition = result.nodes[steps["condition"].pk]
    # sign-ups 0-9 reach it (10's welcome waited for the morning), 3 and 7 bought first
    assert condition.taken() == {steps["browsed"].pk: 5, steps["else"].pk: 3}
    tips, offer = result.nodes[steps["tips"].pk], result.nodes[steps["offer"].pk]
    assert tips.sent == 0 and tips.held_by_cap == tips.entered == 5
    assert offer.held_by_cap == offer.entered == 3 and offer.sent + offer.waiting == 3
    assert result.nodes[steps["wait"].pk].converted == 2

    Event.objects.all().delete()  # the same events, replayed as they happened
    switch_on(scenario)
    replay(log)

    assert engine_figures(scenario.pk) == rehearsed


def test_the_draft_is_rehearsed_not_the_live_tree():
    """A live scenario edited in a draft: the rehearsal runs the draft's wait (1 day),
    not the live one (2 days), and writes no enrolment for the live scenario."""
    scenario, steps = draft_journey()
    switch_on(scenario)
    wait = WaitStep.objects.get(pk=steps["wait"].pk)
    wait.amount = 1
    wait.save_revision()
    log = recorded_log()
    for entry in log:
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    result = rehearse(scenario, start=START, end=START + 40 * HOUR, tick=HOUR)
    # the first sign-up (00:10) was welcomed at 08:00 (quiet hours), waited until 08:00
    assert result.nodes[steps["wait"].pk].passed == 1
    assert not Enrollment.objects.exists()


def test_a_day_mailing_more_than_the_share_warns():
    scenario, steps = draft_journey()
    for entry in recorded_log():
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    result = rehearse(scenario, start=START, end=END, tick=HOUR)
    assert result.subscribed == 11
    assert [d.sent for d in result.days] and sum(d.sent for d in result.days) == result.sent
    warned = [d for d in result.days if d.warning]
    assert warned == [d for d in result.days if d.sent / 11 > 0.2]
    assert len(result.warnings) == len(warned)


def test_a_period_that_is_not_one_is_refused():
    scenario, _steps = draft_journey()
    with pytest.raises(InvalidInput):
        rehearse(scenario, start=END, end=START)


@pytest.fixture
def admin_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("marketer", "m@bookshop.example", "x")
    client.force_login(user)
    return client


def test_the_editor_offers_rehearse_and_the_admin_draws_the_figures(admin_client, settings):
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "REHEARSAL_DAILY_SHARE_WARNING": 0.1}
    scenario, steps = draft_journey()
    for entry in recorded_log():
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    url = f"/admin/journeys/scenarios/{scenario.pk}/rehearse/"
    assert url in admin_client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    form = admin_client.get(url)
    assert form.status_code == 200 and 'name="start"' in form.content.decode()
    assert 'data-testid="rehearsal"' not in form.content.decode()
    before = row_counts()
    today = timezone.localdate()
    page = admin_client.get(url, {"start": "2026-05-01", "end": "2026-05-10"})
    assert row_counts() == before
    html = page.content.decode()
    welcome = rehearse(scenario, start=START, end=END)
    # the figures drawn are the rehearsal's: the welcome step's sends on its node, the
    # contacts who took the "browsed" branch on it
    sent = welcome.nodes[steps["welcome"].pk].sent
    assert f'data-metric="sent" data-step="{steps["welcome"].pk}">{sent}<' in html
    branch = f'data-step="{steps["condition"].pk}" data-branch="{steps["browsed"].pk}">5<'
    assert f'data-metric="passed" {branch}' in html
    assert html.count('data-testid="rehearsal-warning"') == len(welcome.warnings) > 0
    # the default period: the last 30 days
    assert f'value="{today - dt.timedelta(days=30)}"' in form.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13-01", "end": "2026-05-10"},
        {"start": "2026-05-10", "end": "2026-05-01"},
        {"start": "'; DROP TABLE x; --", "end": ""},
        {"start": "1900-01-01", "end": "2026-05-10"},
        {"start": "2026-05-01", "end": "9999-12-31"},
    ],
)
def test_a_hostile_or_impossible_period_is_a_form_error(admin_client, query):
    scenario, _steps = draft_journey()
    page = admin_client.get(f"/admin/journeys/scenarios/{scenario.pk}/rehearse/", query)
    assert page.status_code == 200
    assert "error" in page.content.decode() and 'data-testid="rehearsal"' not in (
        page.content.decode()
    )


def test_rehearsing_needs_the_right_to_edit_the_scenario(client):
    from tests.users import make_user

    scenario, _steps = draft_journey()
    client.force_login(make_user("reader"))
    page = client.get(f"/admin/journeys/scenarios/{scenario.pk}/rehearse/")
    assert page.status_code in (302, 403)
    assert client.get("/admin/journeys/scenarios/999999/rehearse/").status_code == 404


def test_scheduled_triggers_are_not_rehearsed(admin_client):
    scenario = add(
        scenario_index(),
        ScenarioPage,
        publish=False,
        trigger_kind="broadcast",
        broadcast_at=START,
        live_since=START,
    )
    with pytest.raises(InvalidInput, match="rehearsed"):
        rehearse(scenario, start=START, end=END)
    page = admin_client.get(
        f"/admin/journeys/scenarios/{scenario.pk}/rehearse/",
        {"start": "2026-05-01", "end": "2026-05-10"},
    )
    assert "can be rehearsed" in page.content.decode()


def test_journeys_rehearse_prints_the_figures_and_refuses_bad_input():
    import io

    from django.core.management import CommandError, call_command

    scenario, steps = draft_journey()
    for entry in recorded_log():
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    before = row_counts()
    out = io.StringIO()
    call_command(
        "journeys_rehearse", scenario.pk, "--from", "2026-05-01", "--to", "2026-05-10", stdout=out
    )
    assert row_counts() == before
    expected = rehearse(scenario, start=START, end=END)
    text = out.getvalue()
    assert f"{expected.entered} entered, {expected.sent} emails" in text
    welcome = expected.nodes[steps["welcome"].pk]
    assert f"sent {welcome.sent}, held by the cap {welcome.held_by_cap}" in text
    with pytest.raises(CommandError, match="not a date"):
        call_command("journeys_rehearse", scenario.pk, "--from", "yesterday")
    with pytest.raises(CommandError, match="No scenario"):
        call_command("journeys_rehearse", 999999)


def test_a_split_sends_each_contact_where_the_live_scenario_would():
    """Splits are not drawn at random: each contact's branch is the stable number the
    engine computes from the split step and the contact (``steps.bucket``)."""
    from wagtail_journeys.engine.steps import bucket
    from wagtail_journeys.models import SplitStep

    scenario = add(
        scenario_index(),
        ScenarioPage,
        publish=False,
        trigger_event="signup",
        live_since=START,
    )
    split = add(scenario, SplitStep, publish=False, title="A/B")
    a = add(split, Branch, publish=False, title="A", percent=30)
    add(a, SendEmailStep, publish=False, email=make_email(title="A"))
    b = add(split, Branch, publish=False, title="B", percent=70)
    add(b, SendEmailStep, publish=False, email=make_email(title="B"))
    contacts = [make_contact(f"s{i}@example.com") for i in range(40)]
    for i, contact in enumerate(contacts):
        at = START + dt.timedelta(hours=9, minutes=i)
        record({"name": "signup", "contact": contact, "at": at}, received_at=at)
    result = rehearse(scenario, start=START, end=START + dt.timedelta(days=1))
    in_a = sum(bucket(split.pk, c.pk) < 30 for c in contacts)
    assert result.nodes[split.pk].taken() == {a.pk: in_a, b.pk: 40 - in_a}


def test_a_period_too_large_for_the_admin_points_to_the_command(admin_client, monkeypatch):
    from wagtail_journeys.engine.rehearsal import RehearsalTooLarge
    from wagtail_journeys.views import rehearsals

    scenario, _steps = draft_journey()
    log = recorded_log()
    for entry in log:
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    watched = sum(e["name"] in ("signup", "purchase") for e in log)  # trigger and goal
    with pytest.raises(RehearsalTooLarge) as refused:
        rehearse(scenario, start=START, end=END, max_events=watched - 1)
    assert refused.value.events == watched
    monkeypatch.setattr(rehearsals, "MAX_EVENTS", watched - 1)
    page = admin_client.get(
        f"/admin/journeys/scenarios/{scenario.pk}/rehearse/",
        {"start": "2026-05-01", "end": "2026-05-10"},
    )
    html = page.content.decode()
    assert f"journeys_rehearse {scenario.pk} --from 2026-05-01 --to 2026-05-10" in html
    assert 'data-testid="rehearsal"' not in html
