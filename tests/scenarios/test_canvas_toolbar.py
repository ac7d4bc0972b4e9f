"""The canvas's toolbar: the scenario's state (draft, on, on with draft changes, paused)
and only the buttons that apply to it, each leading to its page and back to the canvas."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.scenarios.factories import add, scenario_index
from tests.users import make_user
from wagtail_journeys.models import ExitStep, ScenarioPage, WaitStep
from wagtail_journeys.scenarios import switching

pytestmark = pytest.mark.django_db

BUTTON = re.compile(r'href="([^"]+)" data-testid="canvas-([\w-]+)"')
STATE = re.compile(r'data-testid="canvas-state" data-state="(\w+)">([^<]+)<')


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def canvas(scenario) -> str:
    return reverse("journeys_scenarios:canvas", args=[scenario.pk])


def toolbar(client, scenario) -> tuple[tuple[str, str], dict[str, str]]:
    html = client.get(canvas(scenario)).content.decode()
    (state,) = STATE.findall(html)
    return state, {name: href.replace("&amp;", "&") for href, name in BUTTON.findall(html)}


def draft_scenario() -> ScenarioPage:
    scenario = add(
        scenario_index(), ScenarioPage, title="Kings", trigger_event="purchase", publish=False
    )
    add(scenario, ExitStep, publish=False)
    return scenario


def test_each_state_shows_the_buttons_that_apply(admin, client):
    scenario = draft_scenario()
    state, buttons = toolbar(client, scenario)
    assert state == ("draft", "Draft")
    assert list(buttons) == ["switch-on", "rehearse"]
    back = "?next=" + quote(canvas(scenario), safe="")
    assert buttons["switch-on"] == reverse("wagtail_journeys_switch_on", args=[scenario.pk]) + back
    assert buttons["rehearse"] == reverse("wagtail_journeys_rehearse", args=[scenario.pk]) + back

    switching.switch_on(scenario, admin)
    scenario.refresh_from_db()
    state, buttons = toolbar(client, scenario)
    assert state == ("on", "On")
    assert list(buttons) == ["pause", "rehearse"]

    add(scenario, WaitStep, amount=3, unit="days", publish=False)  # a draft change
    scenario.refresh_from_db()
    state, buttons = toolbar(client, scenario)
    assert state == ("changes", "On · draft changes")
    assert list(buttons) == ["publish-changes", "pause", "rehearse"]
    assert buttons["publish-changes"].endswith(back)

    switching.pause(scenario, admin, "hold")
    scenario.refresh_from_db()
    state, buttons = toolbar(client, scenario)
    assert state == ("paused", "Paused")
    assert list(buttons) == ["resume", "rehearse"]

    switching.resume(scenario, admin)
    scenario.refresh_from_db()
    assert toolbar(client, scenario)[0][0] == "changes"


def test_switch_on_from_the_canvas_comes_back_to_it(admin, client):
    scenario = draft_scenario()
    _state, buttons = toolbar(client, scenario)
    page = client.get(buttons["switch-on"]).content.decode()
    assert f'<a class="button button-secondary" href="{canvas(scenario)}">Back</a>' in page
    assert f'name="next" value="{canvas(scenario)}"' in page
    response = client.post(buttons["switch-on"], {"next": canvas(scenario)})
    assert (response.status_code, response["Location"]) == (302, canvas(scenario))
    scenario.refresh_from_db()
    assert scenario.live
    assert toolbar(client, scenario)[0][0] == "on"


def test_a_foreign_or_script_next_is_not_a_link(admin, client):
    scenario = draft_scenario()
    for bad in ("javascript:alert(1)", "https://evil.example/"):
        page = client.get(
            reverse("wagtail_journeys_switch_on", args=[scenario.pk]), {"next": bad}
        ).content.decode()
        assert bad not in page
        assert "Back to the editor" in page


def test_who_may_edit_but_not_publish_sees_no_switch_buttons(client):
    scenario = draft_scenario()
    user = make_user(
        "writer", pages=[scenario_index()], page_permissions=("add_page", "change_page")
    )
    client.force_login(user)
    _state, buttons = toolbar(client, scenario)
    assert list(buttons) == ["rehearse"]
