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
from wagtail_journeys.scenarios.editor import keep_scenario_drafts
from wagtail_journeys.scenarios.switching import publish_changes


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


def test_publishing_a_step_in_the_admin_keeps_a_draft_and_its_errors_block_the_changes(
    admin_user,
):
    scenario = make_scenario()
    live_email = make_email(title="Live")
    step = add(scenario, SendEmailStep, email=live_email)
    step.email = None  # the editor cleared the email: nothing to send, nothing to publish
    step.save_revision()
    request = _request()
    response = keep_scenario_drafts(request, step)  # the edit view saved the revision
    assert response.status_code == 302
    assert ["Publish changes" in str(m) for m in request._messages] == [True]
    with pytest.raises(ScenarioInvalid, match="has no live email"):
        publish_changes(scenario, admin_user)
    assert SendEmailStep.objects.get(pk=step.pk).email_id == live_email.pk


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


def test_publishing_a_new_step_in_the_admin_keeps_it_a_draft():
    scenario = make_scenario()
    step = add(scenario, WaitStep, publish=False, live=True)  # as the create view adds it
    assert keep_scenario_drafts(_request(), step).status_code == 302
    assert not WaitStep.objects.get(pk=step.pk).live


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


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"goal_event": "purchase, bad name!"}, "goal_event", "'bad name!': event names are"),
        ({"goal_event": "purchase,,signup"}, None, ""),
        ({"goal_event": "purchase", "goal_any_activity": True}, "goal_event", "Any activity"),
        ({"goal_any_activity": True}, None, ""),
        (
            {"trigger_kind": "birthday", "trigger_time": dt.time(9), "trigger_source": "server"},
            "trigger_source",
            "Only event and page-view triggers",
        ),
        ({"trigger_source": "server"}, None, ""),
    ],
)
def test_goal_events_and_trigger_source_are_checked_on_the_form(fields, field, message):
    from django.core.exceptions import ValidationError

    scenario = make_scenario()
    for name, value in fields.items():
        setattr(scenario, name, value)
    if field is None:
        scenario.full_clean()
        return
    with pytest.raises(ValidationError) as error:
        scenario.full_clean()
    assert message in str(error.value.message_dict[field])


def test_the_editor_offers_the_trigger_source_and_the_goal_on_any_activity(client, admin_user):
    scenario = make_scenario(title="Panel")
    client.force_login(admin_user)
    html = client.get(f"/admin/pages/{scenario.pk}/edit/").content.decode()
    assert 'name="trigger_source"' in html and "a server only" in html
    assert 'name="goal_event"' in html and 'name="goal_any_activity"' in html
    assert 'name="live_since"' not in html  # the publish records it, nobody types it


def test_the_plan_carries_the_go_live_time_which_only_going_live_sets():
    from django.utils import timezone

    from wagtail_journeys.scenarios.loading import current_plan

    before = timezone.now()
    scenario = make_scenario(live_since=None, goal_event="purchase, signup")
    went_live = scenario.live_since
    assert went_live >= before
    plan = current_plan(scenario.pk)
    assert plan.trigger["live_since"] == went_live.isoformat()
    assert list(plan.goal["events"]) == ["purchase", "signup"]
    first = scenario.get_latest_revision()
    scenario.title = "Renamed"
    scenario.save_revision().publish()
    first.publish()  # an old revision brings back its content, not its go-live time
    scenario.refresh_from_db()
    assert scenario.live_since == went_live
    assert current_plan(scenario.pk).trigger["live_since"] == went_live.isoformat()
    scenario.unpublish()
    scenario.refresh_from_db()
    assert scenario.live_since is None
    scenario.save_revision().publish()
    scenario.refresh_from_db()
    assert scenario.live_since > went_live
    assert current_plan(scenario.pk).trigger["live_since"] == scenario.live_since.isoformat()
    copy = scenario.copy(update_attrs={"slug": "copy", "title": "Copy"}, keep_live=False)
    assert copy.live_since is None


def test_the_explorer_says_which_source_a_trigger_requires():
    receipts = make_scenario(title="Receipts", trigger_source="server")
    assert receipts.get_admin_display_title() == "Receipts (When purchase from a server)"


def test_preview_shows_sends_deferred_now_and_why(settings):
    """Quiet hours and the frequency cap hold sends without a word elsewhere: the diagram
    counts them per send step, with the reason, and says what the settings are."""
    from django.utils import timezone

    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.enroll import enroll
    from wagtail_journeys.models import Contact, Enrollment, StepRun

    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": ["21:00", "08:00"],
        "FREQUENCY_CAP": {"emails": 1, "days": 7},
    }
    now = timezone.now().replace(hour=23, minute=30)  # 08:30 the next morning in Tokyo
    scenario = make_scenario(title="Welcome", trigger_kind="manual")
    send = add(scenario, SendEmailStep, email=make_email(title="Welcome mail"))
    night = [Contact.objects.create(email=f"{n}@example.com") for n in ("ada", "bob")]
    capped, free = (
        Contact.objects.create(email=f"{n}@example.com", timezone="Asia/Tokyo")
        for n in ("chloe", "dan")
    )
    other = make_scenario(title="Other", trigger_kind="manual")
    earlier = Enrollment.objects.create(contact=capped, scenario=other, status="completed")
    StepRun.objects.create(
        enrollment=earlier,
        contact_id=capped.pk,
        scenario_id=other.pk,
        kind="send_email",
        outcome="sent",
        marketing_send=True,
        ran_at=now - dt.timedelta(days=1),
    )
    enroll(scenario.pk, [c.pk for c in [*night, capped, free]], now=now)
    advance_due(now=now)
    html = scenario.make_preview_request(preview_mode="diagram").render().content.decode()
    assert f'data-step="{send.pk}">3 here' in html
    assert f'data-deferred="{send.pk}"><title>' in html and "3 deferred</text>" in html
    listed = html[html.index('data-testid="deferred"') :]
    assert "Send: Welcome mail: 3 contacts wait" in listed
    assert "quiet hours: 2" in listed and "frequency cap (1 in 7 days): 1" in listed
    assert "quiet hours, 21:00 to 08:00 in each contact" in html
    assert "UTC for contacts without one" in html
