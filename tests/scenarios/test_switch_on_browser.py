"""In a real Chromium, through Wagtail's own editor: a scenario built as drafts is switched
on from the action menu, is live (with one Plan), is paused holding the contacts inside
(the engine then leaves them where they are) and resumed."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from tests.browser import ARGS, CHROMIUM, live_server
from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, scenario_index
from tests.services import services_required
from wagtail_journeys.models import (
    Enrollment,
    Message,
    ScenarioPage,
    ScenarioPlan,
    SendEmailStep,
    WaitStep,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback):
    with live_server() as url:
        yield url


@pytest.fixture
def draft(server, django_user_model, settings):
    """A draft scenario (wait 1 hour → send), built before the browser starts."""
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}
    django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    scenario = add(
        scenario_index(), ScenarioPage, title="Kings", trigger_event="purchase", publish=False
    )
    wait = add(scenario, WaitStep, amount=1, unit="hours", publish=False)
    add(scenario, SendEmailStep, email=make_email(title="Best of"), publish=False)
    return scenario.pk, wait.pk


def menu_action(page, label: str) -> None:
    """Open the editor's action menu (the footer's drop-up) and follow ``label``."""
    page.locator("footer [data-w-dropdown-target='toggle']").first.click()
    page.get_by_role("link", name=label).click()


def test_switch_on_pause_with_hold_and_resume_from_the_editor(server, draft):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    from wagtail_journeys.engine import tick
    from wagtail_journeys.engine.enroll import enroll

    scenario_id, wait_id = draft
    edit = f"{server}/admin/pages/{scenario_id}/edit/"
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "x")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")

        page.goto(edit)
        expect(page.locator("footer button[name='action-publish']")).to_have_count(0)
        menu_action(page, "Switch on")
        expect(page.get_by_text("go live together")).to_be_visible()
        page.get_by_role("button", name="Switch on").click()
        page.wait_for_url(edit)
        expect(page.get_by_text("'Kings' is on: 2 steps are live.")).to_be_visible()
        assert ScenarioPage.objects.get(pk=scenario_id).live
        assert ScenarioPlan.objects.filter(scenario_id=scenario_id).count() == 1

        contact = make_contact("ada@example.com")
        start = timezone.now()
        enroll(scenario_id, [contact.pk], now=start)
        tick(now=start)
        assert Enrollment.objects.get().step_id == wait_id

        page.goto(edit)
        menu_action(page, "Pause")
        expect(page.get_by_text("1 contact is inside it now.")).to_be_visible()
        page.get_by_label("Hold them", exact=False).check()
        page.get_by_role("button", name="Pause").click()
        page.wait_for_url(edit)
        expect(page.get_by_text("'Kings' is paused.")).to_be_visible()
        assert ScenarioPage.objects.get(pk=scenario_id).paused == "hold"
        tick(now=start + dt.timedelta(hours=2))
        assert Message.objects.count() == 0  # held on the wait, past its end
        assert Enrollment.objects.get().step_id == wait_id

        menu_action(page, "Resume")
        expect(page.get_by_text("holds the 1 contact inside")).to_be_visible()
        page.get_by_role("button", name="Resume").click()
        page.wait_for_url(edit)
        expect(page.get_by_text("'Kings' runs again.")).to_be_visible()
        assert ScenarioPage.objects.get(pk=scenario_id).paused == ""
        tick(now=start + dt.timedelta(hours=2, minutes=1))
        assert Message.objects.count() == 1
        assert Enrollment.objects.get().status == "completed"
        browser.close()
