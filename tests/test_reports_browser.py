"""Reports in a real Chromium, over real data (sends through the engine, opens and clicks
through the tracking views, the rollup pass): a scenario's diagram shows each step's
counts, a number leads to the list of its contacts; an email's click map puts its badges
over the links of its preview.

Also takes the screenshots of ``docs/concepts/reports.md``: into ``docs/img`` when
``JOURNEYS_DOCS_SCREENSHOTS=1``, else into a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tests.browser import ARGS, CHROMIUM, live_server
from tests.services import services_required
from tests.test_admin_reports import run_world
from wagtail_journeys.models import Message

pytestmark = pytest.mark.browser

SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "img"
    if os.environ.get("JOURNEYS_DOCS_SCREENSHOTS") == "1"
    else Path(os.environ.get("JOURNEYS_TEST_TMP", "/tmp")) / "screenshots"
)
NAMES = ("Ada", "Bob", "Cyd", "Dee")


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback, email_site, settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}
    with live_server() as url:
        yield url


@pytest.fixture
def world(server):
    """The data, before the browser starts (see ``tests/emails/test_browser.py``)."""
    get_user_model().objects.create_superuser("boss", "boss@example.com", "journeys-demo")
    found = run_world(first_names=NAMES)
    found["sent"] = sorted(
        Message.objects.filter(step_id=found["send"].pk).values_list("contact__email", flat=True)
    )
    return {k: (v.pk if hasattr(v, "pk") else v) for k, v in found.items() if k != "contacts"}


@pytest.fixture
def page(server, world):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "journeys-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")
        yield page
        browser.close()
        connections.close_all()


def test_a_number_on_the_diagram_leads_to_its_contacts(server, world, page):
    page.goto(f"{server}/admin/journeys/reports/scenarios/{world['scenario']}/")
    send = world["send"]
    sent = page.locator(f"[data-testid=diagram] tspan[data-metric=sent][data-step='{send}']")
    assert sent.text_content() == str(len(world["sent"])) == "4"
    opened = page.locator(f"[data-testid=diagram] tspan[data-metric=opened][data-step='{send}']")
    assert opened.text_content() == "2"
    page.screenshot(path=str(SHOTS / "report-scenario.png"), full_page=True)
    sent.click()
    page.wait_for_url("**/journeys/reports/contacts/?*")
    assert "metric=sent" in page.url
    listed = page.locator("table.listing tbody tr")
    assert listed.count() == 4
    names = page.locator("table.listing tbody tr td:first-child a").all_inner_texts()
    assert [name.strip() for name in names] == list(NAMES)  # ordered by address
    page.screenshot(path=str(SHOTS / "report-contacts.png"), full_page=True)
    page.locator("table.listing tbody tr td:first-child a", has_text="Ada").click()
    page.wait_for_url("**/inspect/**")
    assert "ada@example.com" in page.content()


def test_the_click_map_badges_sit_over_the_emails_links(server, world, page):
    page.goto(f"{server}/admin/journeys/reports/emails/{world['email']}/")
    frame = page.frame_locator("[data-testid=click-map]")
    books = world["books"]
    badge = frame.locator(f"[data-link-badge='{books}']")
    badge.wait_for()
    assert badge.inner_text() == "1 click · 100%"
    link = frame.locator(f"a[data-link='{books}']")
    assert "Books" in link.inner_text()
    others = frame.locator(f"[data-link-badge]:not([data-link-badge='{books}'])")
    assert others.count() >= 2 and set(others.all_inner_texts()) == {"0 clicks"}
    over, under = badge.bounding_box(), link.bounding_box()
    assert over["y"] + over["height"] <= under["y"] + 4  # just above the link
    assert abs(over["x"] - under["x"]) < 40  # at its start
    page.locator("[data-testid=click-map]").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "report-email.png"), full_page=True)


def test_the_dashboard_charts_the_last_30_days(server, world, page):
    page.goto(f"{server}/admin/")
    chart = page.locator("[data-testid=dashboard-chart] svg")
    chart.wait_for()
    assert chart.bounding_box()["width"] > 300
    sent = page.locator("[data-testid=dashboard-chart] polyline[data-series=sent]")
    assert len(sent.get_attribute("points").split()) == 30
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "report-dashboard.png"))
    page.goto(f"{server}/admin/journeys/reports/")
    page.locator("[data-testid=scenario-reports] a", has_text="Welcome series").click()
    page.wait_for_url(f"**/journeys/reports/scenarios/{world['scenario']}/?*")
    page.locator("[data-testid=funnel]").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "report-funnel.png"))
