"""Every way a scenario's live tree changes runs the checker: publishing from code
(``revision.publish()``), scheduled publishing, the admin's bulk actions, copying, moving
and unpublishing. From code the change is refused with ``ScenarioInvalid`` and nothing
changes; in the admin the editor is told why, as for the edit view."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page, PageLogEntry, Revision

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.exceptions import ScenarioInvalid
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    ExitStep,
    ScenarioPlan,
    SendEmailStep,
    StartScenarioStep,
    UpdateContactStep,
)

pytestmark = pytest.mark.django_db
NO_ACTION = "has no action: add a step to it, or an Exit step to say “do nothing”"


def live(page) -> bool:
    return Page.objects.get(pk=page.pk).live


def one_branch():
    """A live scenario whose condition has one branch, whose only step is an email."""
    scenario = make_scenario(title="Welcome")
    condition = add(scenario, ConditionStep, title="Which range?")
    thrillers = add(condition, Branch, title="thriller buyers")
    step = add(thrillers, SendEmailStep, email=make_email())
    return scenario, thrillers, step


def test_publishing_an_empty_branch_from_code_is_refused_and_changes_nothing():
    scenario = make_scenario(title="Welcome")
    condition = add(scenario, ConditionStep, title="Which range?")
    empty = add(condition, Branch, title="thriller buyers")  # a draft
    plans = ScenarioPlan.objects.count()
    with pytest.raises(ScenarioInvalid) as refused:
        empty.save_revision().publish()
    assert "Branch 'If thriller buyers' of 'Condition: Which range?' " + NO_ACTION in str(
        refused.value
    )
    assert not live(empty)
    assert ScenarioPlan.objects.count() == plans
    add(empty, ExitStep)  # "do nothing", said with an Exit step: publishes
    assert live(empty)


def test_a_scheduled_publish_that_would_break_a_scenario_is_cancelled_and_logged():
    scenario = make_scenario(title="Welcome")
    empty = add(add(scenario, ConditionStep, title="Which range?"), Branch, title="b")
    revision = empty.save_revision()
    email = make_email(title="Later", publish=False, live=False)
    past = timezone.now() - dt.timedelta(minutes=5)
    Revision.objects.filter(pk=revision.pk).update(approved_go_live_at=past)
    Revision.objects.filter(pk=email.latest_revision_id).update(
        approved_go_live_at=past + dt.timedelta(minutes=1)
    )
    call_command("publish_scheduled")
    assert not live(empty)
    assert live(email)  # the scheduler went on with the other pages
    assert Revision.objects.get(pk=revision.pk).approved_go_live_at is None
    entry = PageLogEntry.objects.get(page=empty, action="wagtail_journeys.publish_refused")
    assert NO_ACTION in entry.data["problems"][0]


def test_admin_bulk_publish_is_checked_once_at_its_end(client, admin_user):
    scenario = make_scenario(title="Welcome")
    branch = add(add(scenario, ConditionStep), Branch, title="b")
    step = add(branch, SendEmailStep, email=make_email(), publish=False, live=False)
    client.force_login(admin_user)
    url = reverse("wagtail_bulk_action", args=("wagtailcore", "page", "publish"))
    back = f"/admin/pages/{scenario.pk}/"
    response = client.post(f"{url}?id={branch.pk}&next={back}", {}, follow=True)
    assert NO_ACTION in response.content.decode()
    assert not live(branch)
    response = client.post(f"{url}?id={branch.pk}", {"include_descendants": "on"})
    assert response.status_code == 302
    assert live(branch) and live(step)


def test_unpublishing_moving_or_deleting_the_only_step_of_a_branch_is_refused(client, admin_user):
    scenario, thrillers, step = one_branch()
    with pytest.raises(ScenarioInvalid, match=NO_ACTION):
        step.unpublish()
    with pytest.raises(ScenarioInvalid, match=NO_ACTION):
        step.move(scenario, pos="last-child")
    with pytest.raises(ScenarioInvalid, match=NO_ACTION):
        step.delete()
    step = SendEmailStep.objects.get(pk=step.pk)
    assert step.live and step.get_parent().pk == thrillers.pk
    client.force_login(admin_user)
    response = client.post(f"/admin/pages/{step.pk}/unpublish/", follow=True)
    assert NO_ACTION in response.content.decode()
    # (the admin's move and delete views change a live scenario's draft: test_switch_on)
    step = SendEmailStep.objects.get(pk=step.pk)
    assert step.live and step.get_parent().pk == thrillers.pk
    assert live(scenario)  # unpublishing the scenario itself always works: it stops
    scenario.unpublish()
    assert not live(scenario)


def test_copying_a_live_start_step_into_the_scenario_it_starts_is_refused():
    a = make_scenario(title="Alpha", reentry="always")
    b = make_scenario(title="Beta", trigger_kind="manual", reentry="always")
    starts_b = add(a, StartScenarioStep, scenario=b)
    with pytest.raises(ScenarioInvalid, match="Beta → Beta"):
        starts_b.copy(to=b, keep_live=True, update_attrs={"slug": "again"})
    assert b.get_children().count() == 0


def test_a_loop_through_the_opens_of_an_email_is_refused():
    news = make_email(title="News")
    mailer = make_scenario(title="Mailer", trigger_kind="manual", reentry="always")
    add(mailer, SendEmailStep, email=news)
    opens = make_scenario(
        title="Opens",
        trigger_event="email_opened",
        trigger_filters={"email_page_id": news.pk},
        reentry="always",
    )
    with pytest.raises(ScenarioInvalid) as refused:
        add(opens, StartScenarioStep, scenario=mailer)
    assert "Mailer → Opens → Mailer" in str(refused.value) or (
        "Opens → Mailer → Opens" in str(refused.value)
    )
    assert "'Send: News' → email_opened → Opens" in str(refused.value)


def test_a_scenario_that_brings_contacts_back_into_its_own_segment_is_refused():
    vip = SegmentFactory(rules=[rule("tags", tags="vip")])
    again = make_scenario(
        title="VIP welcome", trigger_kind="segment_entered", trigger_segment=vip, reentry="always"
    )
    add(again, UpdateContactStep, remove_tags="vip")  # leaves the segment: no loop
    with pytest.raises(ScenarioInvalid, match="VIP welcome → VIP welcome"):
        add(again, UpdateContactStep, add_tags="vip")


def test_a_live_scenario_is_deleted_with_its_steps_from_code_and_the_admin(
    client, admin_user, django_capture_on_commit_callbacks
):
    scenario, _branch, _step = one_branch()
    scenario.delete()  # deleting the scenario itself always works
    assert not Page.objects.filter(pk=scenario.pk).exists()
    scenario, _branch, _step = one_branch()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/pages/{scenario.pk}/delete/")
    assert response.status_code == 302
    assert not Page.objects.filter(pk=scenario.pk).exists()
    assert not ScenarioPlan.objects.filter(scenario_id=scenario.pk).exists()
