"""The admin side of switching on: "Publish" keeps drafts, the editor's action menu offers
"Switch on", "Publish changes", "Pause" and "Resume", and their pages check, show the
checker's problems per node, refuse bad input with a 4xx and users who may not publish
with Wagtail's "permission denied" (a redirect to the dashboard)."""

from __future__ import annotations

import pytest
from wagtail.models import Page, PageLogEntry

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.users import make_user
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    ExitStep,
    ScenarioPage,
    ScenarioPlan,
    SendEmailStep,
    WaitStep,
)
from wagtail_journeys.scenarios.loading import current_plan

pytestmark = pytest.mark.django_db
NO_ACTION = "has no action: add a step to it, or an Exit step to say “do nothing”"


def url(scenario_id, action: str) -> str:
    return f"/admin/journeys/scenarios/{scenario_id}/{action}/"


def live(page) -> bool:
    return Page.objects.get(pk=page.pk).live


def draft_scenario(title="Kings"):
    return add(scenario_index(), ScenarioPage, title=title, trigger_event="purchase", publish=False)


@pytest.fixture
def editor(client, admin_user):
    client.force_login(admin_user)
    return client


def test_publish_in_the_editor_keeps_a_new_step_and_its_scenario_drafts(editor):
    scenario = draft_scenario()
    response = editor.post(
        f"/admin/pages/add/wagtail_journeys/exitstep/{scenario.pk}/",
        {"title": "Leave", "slug": "leave", "action-publish": "action-publish"},
        follow=True,
    )
    assert response.status_code == 200
    step = ExitStep.objects.get(slug="leave")
    assert not live(step) and step.get_latest_revision() is not None
    assert "Saved as a draft" in response.content.decode()
    assert "Switch on" in response.content.decode()
    response = editor.post(
        f"/admin/pages/{scenario.pk}/edit/",
        {
            "title": "Kings",
            "slug": scenario.slug,
            "trigger_kind": "event",
            "trigger_event": "purchase",
            "trigger_min_views": 1,
            "trigger_view_days": 0,
            "broadcast_every": "once",
            "engagement_kind": "opened",
            "engagement_days": 3,
            "reentry": "once",
            "reentry_days": 30,
            "action-publish": "action-publish",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not live(scenario)
    assert not ScenarioPlan.objects.filter(scenario=scenario).exists()


def test_the_editor_menu_offers_switch_on_instead_of_publish(editor):
    scenario = draft_scenario()
    step = add(scenario, ExitStep, publish=False)
    for page in (scenario, step):
        html = editor.get(f"/admin/pages/{page.pk}/edit/").content.decode()
        assert 'name="action-publish"' not in html
        assert url(scenario.pk, "switch-on") in html
    assert (
        "Draft: nobody enters until you switch it on"
        in editor.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    )
    html = editor.get(f"/admin/pages/add/wagtail_journeys/waitstep/{scenario.pk}/").content
    assert b'name="action-publish"' not in html
    email = make_email(title="Not a scenario", publish=False, live=False)
    html = editor.get(f"/admin/pages/{email.pk}/edit/").content.decode()
    assert 'name="action-publish"' in html  # other pages publish as before


def test_switch_on_page_lists_problems_per_node_and_refuses_with_nothing_changed(editor):
    scenario = draft_scenario()
    condition = add(scenario, ConditionStep, title="Which range?", publish=False)
    branch = add(condition, Branch, title="thriller buyers", publish=False)
    response = editor.get(url(scenario.pk, "switch-on"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-problem-node="Condition: Which range?"' in html and NO_ACTION in html
    assert "disabled" in html
    response = editor.post(url(scenario.pk, "switch-on"))
    assert response.status_code == 409
    assert "Not switched on" in response.content.decode()
    assert not live(scenario) and not live(condition)

    add(branch, ExitStep, publish=False)  # "do nothing", said with an Exit step
    response = editor.post(url(scenario.pk, "switch-on"))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/pages/{scenario.pk}/edit/"
    assert live(scenario) and live(condition) and live(branch)
    assert (
        PageLogEntry.objects.filter(page=scenario, action="wagtail_journeys.switch_on").count() == 1
    )
    html = editor.get(f"/admin/pages/{scenario.pk}/history/").content.decode()
    assert "Switched on" in html
    # Once on, the editor offers "Publish changes" and "Pause".
    html = editor.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert url(scenario.pk, "publish-changes") in html and url(scenario.pk, "pause") in html
    assert editor.get(url(scenario.pk, "switch-on")).status_code == 302  # → publish changes


def test_next_goes_back_only_to_this_site(editor):
    scenario = draft_scenario()
    add(scenario, ExitStep, publish=False)
    response = editor.post(url(scenario.pk, "switch-on"), {"next": "https://evil.example/"})
    assert response["Location"] == f"/admin/pages/{scenario.pk}/edit/"
    response = editor.post(url(scenario.pk, "pause"), {"mode": "hold", "next": "/admin/x/"})
    assert response["Location"] == "/admin/x/"


@pytest.mark.parametrize("action", ["switch-on", "publish-changes", "pause", "resume"])
def test_bad_ids_are_404_and_users_who_may_not_publish_get_403(client, editor, action):
    scenario = make_scenario(title="Live one")
    step = add(scenario, ExitStep)
    for page_id in (step.pk, 999999, 10**20):
        assert editor.get(url(page_id, action)).status_code == 404
        assert editor.post(url(page_id, action)).status_code == 404
    writer = make_user(
        "writer", pages=[scenario_index()], page_permissions=("add_page", "change_page")
    )
    client.force_login(writer)
    for response in (
        client.get(url(scenario.pk, action)),
        client.post(url(scenario.pk, action), {"mode": "hold"}),
    ):  # Wagtail's admin answers PermissionDenied with its dashboard and a message
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert url(scenario.pk, action) not in html
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == ""


def test_pause_says_what_happens_and_refuses_a_bad_choice(editor):
    scenario = make_scenario(title="Live one")
    add(scenario, ExitStep)
    html = editor.get(url(scenario.pk, "pause")).content.decode()
    assert "nobody new enters" in html
    assert "Hold them: they stay on the step they are on" in html
    assert "Let them finish" in html
    for bad in ({}, {"mode": "sideways"}, {"mode": "x" * 5000}):
        assert editor.post(url(scenario.pk, "pause"), bad).status_code == 400
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == ""
    assert editor.post(url(scenario.pk, "pause"), {"mode": "hold"}).status_code == 302
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == "hold"
    html = editor.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert url(scenario.pk, "resume") in html and url(scenario.pk, "pause") not in html
    assert "Paused: nobody enters, and the 0 contacts inside are held where they are" in html
    assert "holds the 0 contacts inside" in editor.get(url(scenario.pk, "resume")).content.decode()
    assert editor.post(url(scenario.pk, "resume")).status_code == 302
    assert ScenarioPage.objects.get(pk=scenario.pk).paused == ""


def test_deleting_or_moving_a_live_step_in_the_admin_is_a_draft_change(editor):
    scenario = make_scenario(title="Live one")
    wait = add(scenario, WaitStep, amount=3, unit="days")
    send = add(scenario, SendEmailStep, email=make_email())
    before = current_plan(scenario.pk)
    response = editor.post(f"/admin/pages/{wait.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "go on with its live version" in response.content.decode()
    assert not Page.objects.filter(pk=wait.pk).exists()
    assert current_plan(scenario.pk) == before  # the running plan still has the wait
    other = make_scenario(title="Another")
    add(other, ExitStep)
    response = editor.post(f"/admin/pages/{send.pk}/move/{other.pk}/confirm/", follow=True)
    assert response.status_code == 200
    assert Page.objects.get(pk=send.pk).get_parent().pk == other.pk
    assert current_plan(scenario.pk) == before
    assert send.pk not in current_plan(other.pk).steps
    html = editor.get(url(scenario.pk, "publish-changes")).content.decode()
    assert "There are no draft changes" not in html
    assert editor.post(url(scenario.pk, "publish-changes")).status_code == 302
    assert current_plan(scenario.pk).order == ()
