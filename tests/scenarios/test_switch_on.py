"""Draft until switched on: a scenario and its steps are drafts while built, "Switch on"
checks the whole tree and publishes it together; "Pause" (hold or let finish) and
"Resume"; editing a live scenario edits drafts, applied at once by "Publish changes",
whose page says where the contacts inside go on from. Engine behaviour through
``engine.tick``, counts from raw rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from wagtail.models import Page, PageLogEntry

from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.users import make_user
from wagtail_journeys.engine import tick
from wagtail_journeys.events import record_event
from wagtail_journeys.exceptions import InvalidInput, ScenarioInvalid
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Enrollment,
    Event,
    ExitStep,
    Message,
    ScenarioPage,
    ScenarioPlan,
    SendEmailStep,
    StepRun,
    WaitStep,
)
from wagtail_journeys.scenarios import switching
from wagtail_journeys.scenarios.guard import editing_draft
from wagtail_journeys.scenarios.loading import current_plan

pytestmark = pytest.mark.django_db
NO_ACTION = "has no action: add a step to it, or an Exit step to say “do nothing”"
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def live(page) -> bool:
    return Page.objects.get(pk=page.pk).live


def draft_scenario(title="Kings", **fields):
    """A scenario as an editor leaves it before switching it on: every page a draft."""
    fields.setdefault("trigger_event", "purchase")
    return add(scenario_index(), ScenarioPage, title=title, publish=False, **fields)


def draft_kings():
    """Wait 3 days → send 'Best of'; all drafts."""
    scenario = draft_scenario()
    wait = add(scenario, WaitStep, amount=3, unit="days", publish=False)
    send = add(scenario, SendEmailStep, email=make_email(title="Best of"), publish=False)
    return scenario, wait, send


def fire(name, contact, at):
    """An event that occurred at ``at`` and has arrived (settled) for the next pass, as
    has every row written before it (the engine's own ``email_sent`` rows included: the
    log's readers stop at the first row still settling)."""
    event, _ = record_event(name, contact=contact, occurred_at=at)
    Event.objects.filter(pk__lte=event.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=1)
    )


def later(seconds=5):
    return timezone.now() + dt.timedelta(seconds=seconds)


def active_on(scenario) -> dict[int | None, int]:
    rows = Enrollment.objects.filter(scenario=scenario, status="active")
    out: dict[int | None, int] = {}
    for step_id in rows.values_list("step_id", flat=True):
        out[step_id] = out.get(step_id, 0) + 1
    return out


# Switching on ----------------------------------------------------------------------------


def test_a_new_scenario_is_a_draft_until_switched_on_then_all_of_it_goes_live_at_once(
    admin_user,
):
    scenario, wait, send = draft_kings()
    assert not live(scenario) and not live(wait) and not live(send)
    assert not ScenarioPlan.objects.filter(scenario=scenario).exists()
    ada = make_contact("ada@example.com")
    fire("purchase", ada, timezone.now() - dt.timedelta(seconds=10))
    tick(now=later())
    assert not Enrollment.objects.exists()  # a draft lets nobody in

    plan = switching.switch_on(scenario, admin_user)
    assert live(scenario) and live(wait) and live(send)
    assert ScenarioPlan.objects.filter(scenario=scenario).count() == 1  # one compiled plan
    assert list(plan.order) == [wait.pk, send.pk]
    assert current_plan(scenario.pk).order == (wait.pk, send.pk)
    entry = PageLogEntry.objects.get(page=scenario, action="wagtail_journeys.switch_on")
    assert entry.user_id == admin_user.pk and entry.data["pages"] == 3

    now = later()
    fire("purchase", ada, now - dt.timedelta(seconds=5))
    tick(now=now)
    assert active_on(scenario) == {wait.pk: 1}
    tick(now=now + 3 * DAY + dt.timedelta(minutes=1))
    assert Message.objects.filter(contact=ada).count() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_switch_on_refuses_a_branch_without_an_action_naming_its_node(admin_user):
    scenario = draft_scenario()
    condition = add(scenario, ConditionStep, title="Which range?", publish=False)
    add(condition, Branch, title="thriller buyers", publish=False)
    with pytest.raises(ScenarioInvalid) as refused:
        switching.switch_on(scenario, admin_user)
    nodes = dict(refused.value.problems)
    assert NO_ACTION in nodes["Condition: Which range?"]
    assert "Branch 'If thriller buyers'" in nodes["Condition: Which range?"]
    assert not live(scenario) and not live(condition)
    assert not ScenarioPlan.objects.filter(scenario=scenario).exists()
    assert not PageLogEntry.objects.filter(action="wagtail_journeys.switch_on").exists()


def test_switch_on_refuses_a_loop_with_another_scenario_naming_both(admin_user):
    from wagtail_journeys.models import NotifyStep

    newsletter = make_scenario(title="Newsletter", trigger_event="paper_read", reentry="always")
    add(newsletter, NotifyStep, notify_email="crm@shop.example", posts_back="newsletter_sent")
    paper = draft_scenario(title="White paper", trigger_event="newsletter_sent", reentry="always")
    add(paper, NotifyStep, notify_email="crm@shop.example", posts_back="paper_read", publish=False)
    with pytest.raises(ScenarioInvalid) as refused:
        switching.switch_on(paper, admin_user)
    text = str(refused.value)
    assert "White paper → Newsletter → White paper" in text or (
        "Newsletter → White paper → Newsletter" in text
    )
    assert "nothing stops it" in text
    assert not live(paper)


def test_only_a_user_who_may_publish_switches_on_pauses_or_resumes(admin_user):
    scenario, _wait, _send = draft_kings()
    writer = make_user(
        "writer", pages=[scenario_index()], page_permissions=("add_page", "change_page")
    )
    with pytest.raises(PermissionDenied):
        switching.switch_on(scenario, writer)
    assert not live(scenario)
    publisher = make_user("publisher", pages=[scenario_index()])
    switching.switch_on(ScenarioPage.objects.get(pk=scenario.pk), publisher)
    scenario = ScenarioPage.objects.get(pk=scenario.pk)
    with pytest.raises(PermissionDenied):
        switching.pause(scenario, writer, "hold")
    switching.pause(scenario, publisher, "hold")
    with pytest.raises(PermissionDenied):
        switching.resume(scenario, writer)
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == "hold"


def test_switching_on_twice_or_pausing_badly_is_refused(admin_user):
    scenario, _wait, _send = draft_kings()
    with pytest.raises(InvalidInput):
        switching.pause(scenario, admin_user, "hold")  # not on yet
    switching.switch_on(scenario, admin_user)
    scenario = ScenarioPage.objects.get(pk=scenario.pk)
    with pytest.raises(InvalidInput):
        switching.switch_on(scenario, admin_user)
    with pytest.raises(InvalidInput):
        switching.pause(scenario, admin_user, "sideways")
    with pytest.raises(InvalidInput):
        switching.resume(scenario, admin_user)  # not paused


# Pausing ---------------------------------------------------------------------------------


def running_kings(admin_user):
    """The Kings scenario switched on, with Ada inside (waiting on the wait step)."""
    scenario, wait, send = draft_kings()
    switching.switch_on(scenario, admin_user)
    ada = make_contact("ada@example.com")
    now = later()
    fire("purchase", ada, now - dt.timedelta(seconds=5))
    tick(now=now)
    assert active_on(scenario) == {wait.pk: 1}
    return ScenarioPage.objects.get(pk=scenario.pk), wait, send, now


def test_pause_and_let_finish_keeps_new_contacts_out_and_lets_those_inside_go_on(admin_user):
    scenario, wait, send, now = running_kings(admin_user)
    switching.pause(scenario, admin_user, "finish")
    bob = make_contact("bob@example.com")
    fire("purchase", bob, now)
    tick(now=now + dt.timedelta(seconds=10))
    assert not Enrollment.objects.filter(contact=bob).exists()  # nobody new enters
    tick(now=now + 3 * DAY + dt.timedelta(minutes=1))
    assert Message.objects.count() == 1  # Ada finished
    assert Enrollment.objects.get().status == "completed"
    entry = PageLogEntry.objects.get(page=scenario, action="wagtail_journeys.pause")
    assert entry.data == {"mode": "finish"}


def test_pause_and_hold_keeps_contacts_where_they_are_until_resumed(admin_user):
    scenario, wait, send, now = running_kings(admin_user)
    switching.pause(scenario, admin_user, "hold")
    end = now + 5 * DAY
    tick(now=end)
    assert Message.objects.count() == 0
    assert active_on(scenario) == {wait.pk: 1}  # held on the wait, past its end
    assert not StepRun.objects.filter(outcome__in=("sent", "completed")).exists()
    # A start from the API or another scenario is refused too.
    assert switching.inside(scenario) == 1
    from wagtail_journeys.engine.enroll import enroll

    assert enroll(scenario.pk, [make_contact("cy@example.com").pk], now=end) == []

    switching.resume(ScenarioPage.objects.get(pk=scenario.pk), admin_user)
    tick(now=end + dt.timedelta(minutes=1))
    assert Message.objects.count() == 1  # the wait ended meanwhile: on at once
    assert Enrollment.objects.get().status == "completed"
    assert PageLogEntry.objects.filter(action="wagtail_journeys.resume").count() == 1


def test_a_revision_published_later_does_not_unpause(admin_user):
    scenario, _wait, _send, _now = running_kings(admin_user)
    switching.pause(scenario, admin_user, "hold")
    scenario = ScenarioPage.objects.get(pk=scenario.pk)
    scenario.title = "Kings, renamed"
    scenario.save_revision()
    switching.publish_changes(scenario, admin_user)
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == "hold"


# Changing a live scenario ----------------------------------------------------------------


def test_editing_a_live_step_is_a_draft_the_old_plan_runs_until_publish_changes(admin_user):
    scenario, wait, send, now = running_kings(admin_user)
    plans = ScenarioPlan.objects.filter(scenario=scenario).count()
    newer = make_email(title="Even better of", subject="Newer")
    step = SendEmailStep.objects.get(pk=send.pk)
    step.email = newer
    step.save_revision()  # what "Save draft" (and now "Publish") does in the editor
    assert switching.has_changes(scenario)
    tick(now=now + 3 * DAY + dt.timedelta(minutes=1))
    assert ScenarioPlan.objects.filter(scenario=scenario).count() == plans
    message = Message.objects.get()
    assert message.email_page_id != newer.pk  # the live version ran

    bob = make_contact("bob@example.com")
    at = now + 4 * DAY
    fire("purchase", bob, at - dt.timedelta(seconds=5))
    tick(now=at)
    groups = switching.impact(scenario)
    assert [(g.step_id, g.count, g.fate) for g in groups] == [(wait.pk, 1, "same")]
    switching.publish_changes(scenario, admin_user)
    assert ScenarioPlan.objects.filter(scenario=scenario).count() == plans + 1
    assert not switching.has_changes(scenario)
    tick(now=at + 3 * DAY + dt.timedelta(minutes=1))
    assert Message.objects.filter(contact=bob).get().email_page_id == newer.pk


def test_a_step_deleted_in_the_draft_the_impact_page_says_what_the_engine_does(admin_user, client):
    scenario, wait, send, now = running_kings(admin_user)
    add_exit = add(scenario, ExitStep, publish=False)  # a draft step at the end
    with editing_draft():
        Page.objects.get(pk=wait.pk).specific.delete()
    assert not Page.objects.filter(pk=wait.pk).exists()
    # Undisturbed meanwhile: the running plan still has the wait.
    assert wait.pk in current_plan(scenario.pk).steps
    tick(now=now + dt.timedelta(hours=1))
    assert active_on(scenario) == {wait.pk: 1}

    client.force_login(admin_user)
    response = client.get(f"/admin/journeys/scenarios/{scenario.pk}/publish-changes/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-step="{wait.pk}" data-fate="removed"' in html
    assert "they leave the scenario" in html and f"step {wait.pk} was removed" in html

    response = client.post(f"/admin/journeys/scenarios/{scenario.pk}/publish-changes/")
    assert response.status_code == 302
    assert live(add_exit)
    tick(now=now + dt.timedelta(hours=2))
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "exited"
    assert enrollment.end_reason == f"step {wait.pk} was removed"  # what the page said


def test_a_step_moved_in_the_draft_they_go_on_from_it_at_its_new_place(admin_user):
    scenario, wait, send, now = running_kings(admin_user)
    condition = add(scenario, ConditionStep, title="Bought?", publish=False)
    branch = add(condition, Branch, title="else", is_else=True, publish=False)
    add(branch, ExitStep, publish=False)
    with editing_draft():
        Page.objects.get(pk=send.pk).specific.move(scenario, pos="first-child")
        Page.objects.get(pk=wait.pk).specific.move(
            Page.objects.get(pk=branch.pk), pos="first-child"
        )
    groups = {g.step_id: g for g in switching.impact(scenario)}
    assert groups[wait.pk].fate == "moved"
    assert groups[wait.pk].then == "They go on from 'Wait 3 days', now followed by 'Exit'."
    assert wait.pk in current_plan(scenario.pk).steps
    assert current_plan(scenario.pk).order == (wait.pk, send.pk)  # not yet applied
    switching.publish_changes(scenario, admin_user)
    tick(now=now + 3 * DAY + dt.timedelta(minutes=1))
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "exited" and enrollment.end_reason == "exit step"
    assert Message.objects.count() == 0  # the send now comes before the wait
