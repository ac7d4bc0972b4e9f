"""A rehearsal drawn on the canvas, in a real Chromium: the toolbar's "Rehearse", the
rehearse page's "Show on the canvas", and the rehearsal's figures on the nodes. Takes
``docs/img/canvas-rehearsal.png`` when ``JOURNEYS_DOCS_SCREENSHOTS=1`` (else into a
temporary folder)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.browser import ARGS, CHROMIUM, live_server
from tests.scenarios.test_canvas_browser import DOCS_IMG, chromium
from tests.scenarios.test_rehearsal import END, START, draft_journey, record, recorded_log
from wagtail_journeys.engine.rehearsal import rehearse

pytestmark = pytest.mark.browser


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback):
    with live_server() as url:
        yield url


@pytest.fixture
def world(server, django_user_model, settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": ["21:00", "08:00"],
        "FREQUENCY_CAP": {"emails": 1, "days": 3},
        "REHEARSAL_DAILY_SHARE_WARNING": 0.5,
    }
    settings.TIME_ZONE = "UTC"
    django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    scenario, steps = draft_journey()
    for entry in recorded_log():
        record(entry, received_at=entry["at"] + dt.timedelta(seconds=1))
    result = rehearse(scenario, start=START, end=END)
    return {"scenario": scenario.pk, "nodes": result.nodes, "welcome": steps["welcome"].pk}


def test_a_rehearsal_is_drawn_on_the_canvas(server, world):
    chromium(server)
    from playwright.sync_api import sync_playwright

    scenario_id = world["scenario"]
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "x")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")
        page.goto(f"{server}/admin/journeys/scenarios/{scenario_id}/canvas/")
        assert page.locator("[data-testid=canvas-state]").inner_text() == "Draft"
        page.locator("[data-testid=canvas-rehearse]").click()
        page.fill("#id_start", "2026-05-01")
        page.fill("#id_end", "2026-05-10")
        page.get_by_role("button", name="Rehearse", exact=True).click()
        page.locator("[data-testid=rehearsal-on-canvas]").click()
        page.locator("[data-testid=canvas-rehearsal]").wait_for()
        drawn = {}
        for step_id, node in world["nodes"].items():
            figures = page.locator(f"#node-{step_id} [data-figure]").evaluate_all(
                "dds => dds.map(d => [d.dataset.figure, Number(d.textContent)])"
            )
            drawn[step_id] = dict(figures)
            assert drawn[step_id]["entered"] == node.entered
            assert drawn[step_id]["passed"] == node.passed
            assert drawn[step_id]["waiting"] == node.waiting
        assert drawn[world["welcome"]]["sent"] == world["nodes"][world["welcome"]].sent > 0
        page.screenshot(path=str(DOCS_IMG / "canvas-rehearsal.png"))
        browser.close()
    assert os.path.exists(DOCS_IMG / "canvas-rehearsal.png")
