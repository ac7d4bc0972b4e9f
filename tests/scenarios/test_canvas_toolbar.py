"""The canvas's toolbar: the scenario's state (draft, on, on with draft changes, paused)
and only the buttons that apply to it, each leading to its page and back to the canvas."""

from __future__ import annotations

import datetime as dt
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


NODE = re.compile(r'<li id="node-(\d+)".*?</li>', re.S)
FIGURE = re.compile(r'data-figure="(\w+)">(\d+)<')


def node_figures(html: str) -> dict[int, dict[str, int]]:
    """Page id -> the figures drawn on its node."""
    return {
        int(m.group(1)): {k: int(v) for k, v in FIGURE.findall(m.group(0))}
        for m in NODE.finditer(html)
    }


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


def test_the_rehearsal_draws_its_figures_on_the_canvas_nodes(admin, client, settings):
    """``?rehearse=1&from=&to=``: every node shows the rehearsal's figures, equal to
    those ``engine.rehearsal.rehearse`` gives for the same period, and nothing is written."""
    from tests.scenarios.test_rehearsal import (
        END,
        START,
        draft_journey,
        record,
        recorded_log,
        row_counts,
    )
    from wagtail_journeys.engine.rehearsal import rehearse

    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": ["21:00", "08:00"],
        "FREQUENCY_CAP": {"emails": 1, "days": 3},
        "REHEARSAL_DAILY_SHARE_WARNING": 0.2,
    }
    settings.TIME_ZONE = "UTC"
    scenario, steps = draft_journey()
    for entry in recorded_log():
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    before = row_counts()
    response = client.get(
        canvas(scenario), {"rehearse": 1, "from": "2026-05-01", "to": "2026-05-10"}
    )
    assert response.status_code == 200
    assert row_counts() == before
    html = response.content.decode()
    assert 'data-testid="canvas-rehearsal"' in html
    drawn = node_figures(html)
    expected = rehearse(scenario, start=START, end=END)
    sends = 0
    for step_id, node in expected.nodes.items():
        want = {
            "entered": node.entered,
            "waiting": node.waiting,
            "passed": node.passed,
            "exited": node.exited,
        }
        if node.kind == "send_email":
            want |= {"sent": node.sent, "held": node.held_by_cap + node.held_by_quiet_hours}
            sends += node.sent
        assert drawn[step_id] == want, node.summary
    assert sends > 0 and any(d.get("held") for d in drawn.values())
    for branch_id, took in expected.nodes[steps["condition"].pk].taken().items():
        assert drawn[branch_id] == {"took": took}
    assert drawn[steps["browsed"].pk] == {"took": 5}


@pytest.mark.parametrize("query", [{"from": "2026-13-01"}, {"from": "x", "to": "'; --"}])
def test_a_bad_rehearsal_period_is_a_400(admin, client, query):
    scenario = draft_scenario()
    response = client.get(canvas(scenario), {"rehearse": 1, **query})
    assert response.status_code == 400


def test_the_rehearse_page_links_to_its_figures_on_the_canvas(admin, client):
    scenario = draft_scenario()
    page = client.get(
        reverse("wagtail_journeys_rehearse", args=[scenario.pk]),
        {"start": "2026-05-01", "end": "2026-05-10"},
    ).content.decode()
    link = f"{canvas(scenario)}?rehearse=1&amp;from=2026-05-01&amp;to=2026-05-10"
    assert f'href="{link}"' in page
    assert client.get(link.replace("&amp;", "&")).status_code == 200


def test_an_exit_goes_in_without_its_editor_and_a_condition_with_its_first_branch(admin, client):
    from wagtail_journeys.models import Branch, ConditionStep

    scenario = draft_scenario()
    insert = reverse("journeys_scenarios:insert", args=[scenario.pk])
    response = client.post(insert, {"parent": scenario.pk, "type": "exitstep"})
    new = ExitStep.objects.child_of(scenario).order_by("path").first()
    assert response["Location"] == f"{canvas(scenario)}#node-{new.pk}"
    response = client.post(insert, {"parent": scenario.pk, "type": "conditionstep"})
    condition = ConditionStep.objects.child_of(scenario).get()
    (branch,) = Branch.objects.child_of(condition)
    assert not branch.live and branch.get_latest_revision() is not None
    assert response["Location"] == f"{canvas(scenario)}?edit={branch.pk}#node-{branch.pk}"


def test_exit_if_goes_in_as_a_condition_whose_branch_exits_with_an_event_row(admin, client):
    from wagtail_journeys.models import Branch, ConditionStep

    scenario = draft_scenario()
    insert = reverse("journeys_scenarios:insert", args=[scenario.pk])
    response = client.post(insert, {"parent": scenario.pk, "type": "exitif"})
    condition = ConditionStep.objects.child_of(scenario).get()
    (branch,) = Branch.objects.child_of(condition)
    (leave,) = ExitStep.objects.child_of(branch)
    assert response["Location"] == f"{canvas(scenario)}?edit={branch.pk}#node-{branch.pk}"
    assert not condition.live and not branch.live and not leave.live
    assert leave.get_latest_revision() is not None
    # the branch's editor opens on one "Did an event" row to fill in
    assert [row.block_type for row in branch.rules] == ["event"]
    draft = branch.get_latest_revision_as_object()
    assert [(row.block_type, row.value["event"]) for row in draft.rules] == [("event", None)]
    assert client.get(reverse("wagtailadmin_pages:edit", args=[branch.pk])).status_code == 200
    # filled in, the branch reads as what it tests
    branch.rules = [("event", {"event": "purchase", "filters": [], "at_least": 1})]
    branch.save_revision()
    assert branch.get_admin_display_title() == "If did purchase"


def test_a_new_send_step_opens_its_email_chooser(admin, client):
    scenario = draft_scenario()
    insert = reverse("journeys_scenarios:insert", args=[scenario.pk])
    response = client.post(insert, {"parent": scenario.pk, "type": "sendemailstep"})
    assert response["Location"].startswith(f"{canvas(scenario)}?edit=")
    assert "&choose=1#node-" in response["Location"]
    page = client.get(response["Location"].split("#")[0]).content.decode()
    assert 'data-journeys-canvas-choose-value="true"' in page
    assert "choose-value" not in client.get(canvas(scenario)).content.decode()
