"""The flow canvas in a real Chromium: insert, move and delete steps with the mouse and the
keyboard, edit a step in Wagtail's own form in the side panel; afterwards the canvas, the
explorer (in tree order) and the compiled Plan agree. A branch without an action shows
its problem on its node. The helper counts clicks and typed fields.

Also takes the screenshots of ``docs/how-to/scenario-canvas.md``: into ``docs/img`` when
``JOURNEYS_DOCS_SCREENSHOTS=1`` (to refresh them), else into a temporary folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone
from wagtail.models import Page

from tests.browser import ARGS, CHROMIUM, live_server
from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from tests.services import services_required
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Contact,
    ExitStep,
    ScenarioPage,
    SendEmailStep,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together
from wagtail_journeys.scenarios.loading import build_plan

pytestmark = pytest.mark.browser

DOCS_IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("JOURNEYS_DOCS_SCREENSHOTS") == "1"
    else Path(os.environ.get("JOURNEYS_TEST_TMP", "/tmp")) / "screenshots"
)
DOCS_IMG.mkdir(parents=True, exist_ok=True)


@dataclass
class Counted:
    """A Playwright page whose clicks and typed fields are counted (what the user does;
    navigating by URL and reading are free)."""

    page: object
    clicks: int = 0
    typed: int = 0
    log: list[str] = field(default_factory=list)

    def click(self, locator) -> None:
        self.clicks += 1
        self.log.append(f"click {locator}".split("selector=")[-1])
        locator.click()

    def fill(self, locator, text: str) -> None:
        self.typed += 1
        self.log.append(f"type {locator}")
        locator.fill(text)

    def select(self, locator, label: str) -> None:
        self.clicks += 1
        locator.select_option(label=label)


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback):
    with live_server() as url:
        yield url


@pytest.fixture
def world(server, django_user_model):
    """Database work happens here, before the browser (inside Playwright's event loop the
    ORM would open another connection, which nothing closes)."""
    django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    email = make_email([], title="Best of Stephen King")
    scenario = make_scenario(title="Stephen King readers", trigger_event="page_view")
    wait = add(scenario, WaitStep, amount=3, unit="days")
    condition = add(scenario, ConditionStep, title="Bought one")
    add(add(condition, Branch, title="bought", rules=[]), ExitStep)
    other = add(condition, Branch, title="did not buy", is_else=True)
    add(other, SendEmailStep, email=email)
    exit_step = add(scenario, ExitStep)
    contacts = [Contact.objects.create(email=f"reader{i}@example.com") for i in range(3)]
    enroll(scenario.pk, [c.pk for c in contacts], now=timezone.now())
    return {
        "scenario": scenario.pk,
        "wait": wait.pk,
        "condition": condition.pk,
        "exit": exit_step.pk,
        "email": email.pk,
    }


def chromium(server):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")


def canvas_ids(page) -> list[int]:
    """Ids of the canvas's nodes in reading order (the trigger first)."""
    return [
        int(i)
        for i in page.locator("[data-testid=node]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.node)"
        )
    ]


def node(page, page_id: int):
    return page.locator(f"#node-{page_id}")


def redrawn(page, times: int) -> None:
    """Wait until the canvas has redrawn itself ``times`` times since it was loaded."""
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=canvas]').dataset.refreshed) >= n",
        arg=times,
    )


def explorer_ids(page, server: str, parent_id: int) -> list[int]:
    """The children of a page as Wagtail's explorer lists them in tree order."""
    page.goto(f"{server}/admin/pages/{parent_id}/?ordering=ord")
    return [
        int(i)
        for i in page.locator("[data-listing-page-title] span[id^=page_][id$=_title]").evaluate_all(
            "spans => spans.map(s => s.id.split('_')[1])"
        )
    ]


def test_insert_move_delete_on_the_canvas(server, world):
    chromium(server)
    from playwright.sync_api import sync_playwright

    scenario_id = world["scenario"]
    canvas = f"{server}/admin/journeys/scenarios/{scenario_id}/canvas/"
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        raw = browser.new_page(viewport={"width": 1440, "height": 900})
        raw.goto(f"{server}/admin/login/")
        raw.fill("#id_username", "boss")
        raw.fill("#id_password", "x")
        raw.click("button[type=submit]")
        raw.wait_for_url(f"{server}/admin/")
        user = Counted(raw)
        raw.goto(canvas)
        raw.locator("[data-testid=canvas]").wait_for()

        # It fits 1440×900: every node inside the viewport, none clipped.
        raw.screenshot(path=str(DOCS_IMG / "canvas.png"))
        zoom = raw.locator(".jc-zoom").inner_text()
        raw.locator("[data-action='journeys-canvas#zoomIn']").click()
        assert int(raw.locator(".jc-zoom").inner_text().rstrip("%")) > int(zoom.rstrip("%"))
        raw.locator("[data-action='journeys-canvas#fit']").click()
        assert raw.locator(".jc-zoom").inner_text() == zoom
        viewport = raw.locator(".jc-viewport").bounding_box()
        for box in raw.locator("[data-testid=node]").evaluate_all(
            "nodes => nodes.map(n => n.getBoundingClientRect().toJSON())"
        ):
            assert (
                viewport["x"] <= box["x"]
                and box["x"] + box["width"] <= viewport["x"] + viewport["width"]
            )
            assert (
                viewport["y"] <= box["y"]
                and box["y"] + box["height"] <= viewport["y"] + viewport["height"]
            )

        # Insert a send step after the wait: "+", the type, the email (its chooser opens by
        # itself), save.
        user.click(raw.locator(f"[data-testid=slot][data-after='{world['wait']}']"))
        user.click(raw.locator("[data-testid=insert-sendemailstep]"))
        editor = raw.frame_locator(".jc-editor__frame")
        editor.locator("#id_title").wait_for()
        assert editor.locator("#id_title").input_value() == "Send email"
        user.click(editor.get_by_role("link", name="Best of Stephen King"))
        editor.locator("#id_email-chooser:not(.blank)").wait_for()
        raw.wait_for_timeout(600)  # the chooser's fade-out, for the docs' screenshot
        raw.screenshot(path=str(DOCS_IMG / "canvas-editor.png"))
        user.click(editor.get_by_role("button", name="Save draft"))
        redrawn(raw, 1)
        ids = canvas_ids(raw)
        new = ids[2]
        assert ids[:2] == [scenario_id, world["wait"]]
        assert node(raw, new).get_attribute("data-kind") == "send_email"
        assert "draft" in node(raw, new).inner_text()

        # Move it down with the keyboard: focus its menu, open, "Move down".
        node(raw, new).locator("summary").focus()
        raw.keyboard.press("Enter")
        node(raw, new).get_by_role("button", name="Move down").focus()
        raw.keyboard.press("Enter")
        raw.wait_for_url(re.compile(r".*#node-\d+$"))
        ids = canvas_ids(raw)
        assert ids.index(new) > ids.index(world["condition"])

        # Move it into the branch, with "Move to…".
        user.click(node(raw, new).locator("summary"))
        user.click(node(raw, new).get_by_role("button", name="Move to…"))
        branch_id = int(
            raw.locator("[data-testid=node][data-kind=branch]").first.get_attribute("data-node")
        )
        raw.locator("#jc-move-place").select_option(value=f"{branch_id}:")
        user.clicks += 1
        user.click(raw.get_by_role("button", name="Move", exact=True))
        raw.wait_for_load_state()
        ids = canvas_ids(raw)
        assert ids.index(branch_id) + 1 == ids.index(new)

        # Arrows move focus between nodes by where they are drawn; Enter opens the editor.
        node(raw, scenario_id).locator("a").first.focus()
        raw.keyboard.press("ArrowDown")
        focused = raw.evaluate("document.activeElement.closest('.jc-node').dataset.node")
        assert int(focused) == world["wait"]
        raw.keyboard.press("Enter")
        raw.frame_locator(".jc-editor__frame").locator("#id_title").wait_for()
        raw.keyboard.press("Escape")
        redrawn(raw, 1)

        # Add a branch to the condition: its node says it has no action.
        user.click(node(raw, world["condition"]).locator("summary"))
        user.click(node(raw, world["condition"]).get_by_role("button", name="Add a branch"))
        editor.locator("#id_title").wait_for()
        raw.keyboard.press("Escape")
        redrawn(raw, 1)
        empty = canvas_ids(raw)[-2]
        assert "has no action" in node(raw, empty).inner_text()
        assert "jc-node--error" in node(raw, empty).get_attribute("class")
        raw.screenshot(path=str(DOCS_IMG / "canvas-problem.png"))

        # Delete the empty branch, with confirmation.
        user.click(node(raw, empty).locator("summary"))
        user.click(node(raw, empty).get_by_role("button", name="Delete"))
        user.click(raw.locator("[data-testid=confirm-delete]"))
        raw.wait_for_load_state()
        drawn = canvas_ids(raw)
        assert empty not in drawn
        node_parent = {
            int(i): int(p or 0)
            for i, p in raw.locator("[data-testid=node]").evaluate_all(
                "nodes => nodes.map(n => [n.dataset.node, n.dataset.parent])"
            )
        }

        explorer = {
            parent: explorer_ids(raw, server, parent)
            for parent in (scenario_id, world["condition"], branch_id)
        }
        browser.close()

    clicks, typed = user.clicks, user.typed
    # the explorer, in tree order, lists each chain as the canvas draws it
    for parent, listed in explorer.items():
        assert listed == [i for i in drawn if node_parent[i] == parent], parent
    # the editor would choose the email in the step's form (a page chooser); here, directly
    send = SendEmailStep.objects.get(pk=new)
    send.email_id = world["email"]
    send.save_revision()
    # publish everything: the compiled Plan runs in the canvas's order
    with publishing_together():
        for page in [
            Page.objects.get(pk=scenario_id),
            *Page.objects.descendant_of(Page.objects.get(pk=scenario_id)).order_by("path"),
        ]:
            page.refresh_from_db()
            if not page.live or page.has_unpublished_changes:
                page.get_latest_revision().publish()
    plan = build_plan(ScenarioPage.objects.get(pk=scenario_id))
    steps = [i for i in drawn if i != scenario_id and i in plan.steps]
    assert list(plan.order) == steps
    assert len(plan.order) == 6  # wait, condition, the new send and an exit, a send, an exit
    print(f"canvas test: {clicks} clicks, {typed} typed fields")
    # insert: "+", type, email, save (4); move to: menu, item, place, Move (4); add a branch: menu,
    # item (2); delete: menu, item, confirm (3). "Move down" and opening were by keyboard.
    assert (clicks, typed) == (13, 0), user.log
