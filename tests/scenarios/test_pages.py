"""Scenario and step pages in Wagtail: where they may be created, what the explorer shows,
what publishing refuses, and that none of them is ever served."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from wagtail.actions.publish_page_revision import PublishPageRevisionAction
from wagtail.test.utils import WagtailPageTestCase

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.exceptions import ScenarioInvalid
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    ExitStep,
    ScenarioIndexPage,
    ScenarioPage,
    SendEmailStep,
    StartScenarioStep,
    WaitStep,
)
from wagtail_journeys.scenarios.editor import refuse_invalid_publish


class TestPageTypes(WagtailPageTestCase):
    def test_only_valid_children_can_be_added(self):
        self.assertAllowedSubpageTypes(ScenarioIndexPage, {ScenarioPage})
        self.assertCanCreateAt(ScenarioPage, WaitStep)
        self.assertCanCreateAt(Branch, SendEmailStep)
        self.assertCanCreateAt(ConditionStep, Branch)
        self.assertCanNotCreateAt(ScenarioPage, Branch)
        self.assertCanNotCreateAt(WaitStep, SendEmailStep)
        self.assertAllowedParentPageTypes(
            Branch,
            {
                ConditionStep,
                WaitStep,
                *[m for m in Branch.allowed_parent_page_models() if m.__name__ == "SplitStep"],
            },
        )


pytestmark = pytest.mark.django_db


def test_steps_summarise_themselves_in_the_explorer():
    scenario = make_scenario(title="Welcome")
    email = make_email(title="Welcome + voucher")
    assert add(scenario, WaitStep, amount=3, unit="days").get_admin_display_title() == "Wait 3 days"
    assert add(scenario, SendEmailStep, email=email).get_admin_display_title() == (
        "Send: Welcome + voucher"
    )
    window = add(
        scenario,
        WaitStep,
        mode="window",
        weekdays="0,1,2,3,4",
        window_start=dt.time(9),
        window_end=dt.time(18),
    )
    assert window.get_admin_display_title() == "Wait for Mon,Tue,Wed,Thu,Fri 09:00–18:00 local"
    assert scenario.get_admin_display_title() == "Welcome (When purchase)"


def test_scenario_pages_are_never_served(client):
    scenario = make_scenario(title="Secret", slug="secret")
    add(scenario, WaitStep, slug="wait-a-bit")
    assert client.get(scenario.url or "/scenarios/secret/").status_code == 404
    assert client.get("/scenarios/secret/wait-a-bit/").status_code == 404


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_publishing_a_scenario_with_errors_is_refused_and_says_why():
    scenario = make_scenario()
    draft_email = make_email(title="Draft", publish=False, live=False)
    step = add(scenario, SendEmailStep, email=make_email(title="Live"))
    assert refuse_invalid_publish(_request(), step) is None
    step.email = draft_email
    request = _request()
    response = refuse_invalid_publish(request, step)
    assert response.status_code == 302
    assert ["has no live email" in str(m) for m in request._messages] == [True]


def test_a_loop_is_refused_from_code_and_journeys_check_reports_one_that_got_live():
    a = make_scenario(title="Alpha", reentry="always")
    b = make_scenario(title="Beta", trigger_event="beta", reentry="always")
    add(a, StartScenarioStep, scenario=b)
    closing = add(b, StartScenarioStep, scenario=a, publish=False, live=False)
    with pytest.raises(ScenarioInvalid, match="Alpha → Beta → Alpha|Beta → Alpha → Beta"):
        closing.get_latest_revision().publish()
    assert not StartScenarioStep.objects.get(pk=closing.pk).live
    # The admin's edit view publishes through Wagtail's action itself (its hook checked
    # first): whatever gets live anyway is stored held, and reported.
    PublishPageRevisionAction(closing.get_latest_revision()).execute()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("journeys_check", stdout=out)
    assert "Alpha → Beta → Alpha" in out.getvalue() or "Beta → Alpha → Beta" in out.getvalue()
    assert "Beta: error: The engine is not running this scenario" in out.getvalue()


def test_journeys_check_passes_clean_scenarios():
    scenario = make_scenario()
    add(scenario, SendEmailStep, email=make_email())
    out = io.StringIO()
    call_command("journeys_check", stdout=out)
    assert "0 error(s)" in out.getvalue()


def test_preview_draws_the_tree_with_contacts_on_each_step(client, admin_user):
    from wagtail_journeys.models import Contact, Enrollment

    scenario = make_scenario(title="Kings <script>")
    wait = add(scenario, WaitStep, amount=3, unit="days")
    condition = add(scenario, ConditionStep, title="Opened?")
    add(add(condition, Branch, title="else", is_else=True), ExitStep)
    contact = Contact.objects.create(email="a@example.com")
    Enrollment.objects.create(contact=contact, scenario=scenario, step_id=wait.pk)
    response = scenario.make_preview_request(preview_mode="diagram")
    html = response.render().content.decode()
    assert "<svg" in html and "Trigger: When purchase" in html
    assert "Wait 3 days" in html and "Else: else" in html
    assert f'data-step="{wait.pk}">1 here' in html
    assert "<script>" not in html


def test_editor_shows_the_checker_panel(client, admin_user):
    scenario = make_scenario(title="Panel")
    email = make_email(title="Soon a draft")
    add(scenario, SendEmailStep, email=email)
    email.unpublish()  # elsewhere, by someone else: the scenario is held
    client.force_login(admin_user)
    response = client.get(f"/admin/pages/{scenario.pk}/edit/")
    assert response.status_code == 200
    assert "has no live email" in response.content.decode()
    assert "The engine is not running this scenario" in response.content.decode()


def test_publishing_a_new_step_with_a_draft_email_is_refused():
    scenario = make_scenario()
    draft_email = make_email(title="Draft", publish=False, live=False)
    step = add(scenario, SendEmailStep, email=draft_email, publish=False, live=False)
    request = _request()
    assert refuse_invalid_publish(request, step).status_code == 302
    fine = add(scenario, WaitStep, publish=False, live=False)
    assert refuse_invalid_publish(_request(), fine) is None


@pytest.mark.parametrize(
    "kind, field, message",
    [
        ("event", "trigger_event", "Name the event"),
        ("segment_entered", "trigger_segment", "Choose the segment"),
        ("birthday", "trigger_time", "Choose the local time"),
        ("broadcast", "broadcast_at", "Choose when the broadcast goes out"),
        ("email_engagement", "engagement_email", "Choose the email to watch"),
    ],
)
def test_a_trigger_missing_what_it_needs_is_a_form_error_on_that_field(kind, field, message):
    from django.core.exceptions import ValidationError

    scenario = make_scenario()
    scenario.trigger_kind, scenario.trigger_event = kind, ""
    with pytest.raises(ValidationError) as error:
        scenario.full_clean()
    assert message in str(error.value.message_dict[field])
    scenario.trigger_kind = "manual"
    scenario.full_clean()  # nothing else to fill in
