"""The engine does not run a Plan that fails the checker: made invalid by a change
elsewhere (an email unpublished, a started scenario unpublished), it neither enrols nor
advances with it, and says why: a ``held`` step run, ``journeys_check``, the editor."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.scenarios.factories import add, make_scenario, site_root
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine.advance import HOLD_RECHECK, advance_due
from wagtail_journeys.models import (
    Enrollment,
    ExitStep,
    Message,
    ScenarioPlan,
    SendEmailStep,
    StartScenarioStep,
    StepRun,
    UpdateContactStep,
    WaitStep,
)
from wagtail_journeys.scenarios.loading import current_plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def check() -> str:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("journeys_check", stdout=out)
    return out.getvalue()


def test_an_email_unpublished_holds_the_scenario_until_it_is_live_again():
    scenario = make_scenario(title="Welcome")
    wait = add(scenario, WaitStep, amount=1, unit="days")
    email = make_email(title="Voucher")
    add(scenario, SendEmailStep, email=email)
    ada = make_contact("ada@example.com")
    assert fire("purchase", ada) == 1
    advance_due(now=T0)  # on the wait
    email.unpublish()  # by someone editing emails
    assert "has no live email" in current_plan(scenario.pk).errors[0]
    assert fire("purchase", make_contact("bob@example.com")) == 0  # nobody enters
    later = T0 + dt.timedelta(days=1)
    advance_due(now=later)
    advance_due(now=later + HOLD_RECHECK)
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.step_id) == ("active", wait.pk)
    [held] = StepRun.objects.filter(outcome="held")  # said once, not at every look
    assert held.reason.startswith("held: the scenario fails the checker: 'Send: Voucher'")
    assert "The engine is not running this scenario" in check()
    assert Message.objects.count() == 0 and mail.outbox == []
    email.save_revision().publish()  # live again: the scenario resumes
    assert current_plan(scenario.pk).errors == ()
    advance_due(now=later + 2 * HOLD_RECHECK)
    assert Enrollment.objects.get().status == "completed"
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_a_scenario_whose_started_scenario_is_unpublished_is_held():
    target = make_scenario(title="Follow-up", trigger_kind="manual")
    add(target, ExitStep)
    starter = make_scenario(title="Starter")
    add(starter, StartScenarioStep, scenario=target)
    target.unpublish()
    assert fire("purchase", make_contact()) == 0
    out = check()
    assert "Starter: error: 'Start: Follow-up' starts a scenario that is not live." in out
    assert "Starter: error: The engine is not running this scenario" in out


def test_an_email_edited_to_link_back_to_the_page_that_triggers_its_scenario_holds_it():
    page = site_root()
    news = make_email(title="News")
    scenario = make_scenario(
        title="Visitors", trigger_kind="page_view", trigger_page=page, reentry="always"
    )
    add(scenario, SendEmailStep, email=news)
    assert current_plan(scenario.pk).errors == ()
    # The email now links to the page that triggers its scenario.
    news.body = [{"type": "button", "value": {"text": "See it", "url": "", "page": page.pk}}]
    news.save_revision().publish()
    [error] = current_plan(scenario.pk).errors
    assert "Visitors → Visitors (nothing stops it)" in error
    assert f"'Send: News' → page_view of '{page.title}' → Visitors" in error


def test_a_watched_segment_changed_into_a_loop_holds_the_scenario():
    gold = SegmentFactory(rules=[rule("tags", tags="gold")])
    scenario = make_scenario(
        title="VIP", trigger_kind="segment_entered", trigger_segment=gold, reentry="always"
    )
    add(scenario, UpdateContactStep, add_tags="vip")
    assert current_plan(scenario.pk).errors == ()
    gold.rules = [rule("tags", tags="vip")]
    gold.save()
    [error] = current_plan(scenario.pk).errors
    assert "VIP → VIP" in error and "tag vip added → VIP" in error


def test_a_plan_stored_before_plans_carried_the_checkers_errors_is_checked_when_read():
    scenario = make_scenario(title="Old")
    add(scenario, SendEmailStep, email=make_email())
    data = current_plan(scenario.pk).to_json()
    del data["errors"]  # as stored by an earlier version, when an empty branch was allowed
    data["steps"][0]["kind"] = "condition"
    config = {"rules": [], "match": "all", "else": False, "percent": 0, "outcome": ""}
    data["steps"][0]["branches"] = [
        {"id": 999, "label": "If nobody", "first": None, "config": config, "empty": True}
    ]
    ScenarioPlan.objects.create(scenario=scenario, data=data)
    assert "has no action" in current_plan(scenario.pk).errors[0]
    assert fire("purchase", make_contact()) == 0
