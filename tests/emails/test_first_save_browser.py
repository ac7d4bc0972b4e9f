"""New pages save on the first try, in a real Chromium: an email folder, an email in it, a
scenario folder and a segment are created, saved and published from Wagtail's own admin
without typing a slug, with Wagtail's autosave running (a new page's first autosave
creates it, and Publish must then update that page rather than create a second one), and
no server error is logged.
The brand's colour pickers and their hex fields stay in step.
"""

from __future__ import annotations

import logging
import os

import pytest

from tests.browser import ARGS, CHROMIUM, live_server
from tests.services import services_required
from wagtail_journeys.models import (
    BrandSettings,
    EmailIndexPage,
    EmailPage,
    ScenarioIndexPage,
    Segment,
)

pytestmark = pytest.mark.browser


class Recorder(logging.Handler):
    """Every warning and error the server logs while the browser works."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback):
    with live_server() as url:
        yield url


@pytest.fixture
def home(server, django_user_model):
    """Database work happens here, before the browser (inside Playwright's event loop the
    ORM would open another connection, which nothing closes)."""
    from wagtail.models import Page

    from tests.conftest import journeys_demo

    django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    return journeys_demo(home_only=True).pk, Page.get_first_root_node().pk


@pytest.fixture
def server_log():
    recorder = Recorder()
    loggers = [logging.getLogger(name) for name in ("django.request", "django.server", "")]
    for logger in loggers:
        logger.addHandler(recorder)
    yield recorder.records
    for logger in loggers:
        logger.removeHandler(recorder)


def chromium():
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")


def settle(page) -> None:
    """Wagtail's unsaved-changes watcher takes the form's initial state 2 s after it loads;
    what is typed before that is not seen as an edit, and no autosave follows."""
    page.wait_for_timeout(2500)


def autosave_state(page, state: str) -> None:
    """Wait until Wagtail's autosave indicator is in ``state`` (saving, saved, paused)."""
    page.locator(f"#w-autosave-indicator[data-w-autosave-state-value={state}]").wait_for(
        state="attached", timeout=15000
    )


def publish(page) -> None:
    """Open the footer's action menu and click Publish."""
    page.locator("footer [data-w-dropdown-target=toggle]").first.click()
    page.get_by_role("button", name="Publish").click()


def test_new_folder_email_and_segment_save_and_publish_first_try(server, home, server_log):
    chromium()
    home, root = home
    from playwright.sync_api import expect, sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "x")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")

        # The folder: a title only; its first autosave creates it, then Publish.
        page.goto(f"{server}/admin/pages/add/wagtail_journeys/emailindexpage/{home}/")
        settle(page)
        page.fill("#id_title", "Newsletters")
        autosave_state(page, "saved")
        assert "/edit/" in page.url  # the autosave created the page: the form edits it now
        publish(page)
        page.wait_for_url(f"{server}/admin/pages/{home}/")
        assert "Newsletters" in page.locator(".messages").inner_text()

        # The email: Publish clicked while its first autosave is on its way.
        folder = page.evaluate(
            "() => [...document.querySelectorAll('[data-listing-page-title] a')]"
            ".find(a => a.textContent.includes('Newsletters')).href"
        )
        folder_id = int(folder.rstrip("/").split("/")[-2])
        page.goto(f"{server}/admin/pages/add/wagtail_journeys/emailpage/{folder_id}/")
        settle(page)
        page.fill("#id_title", "Welcome aboard")
        page.fill("#id_subject", "Welcome, {{ contact.first_name }}")
        autosave_state(page, "saving")
        publish(page)
        page.wait_for_url(f"{server}/admin/pages/{folder_id}/")
        assert page.locator(".messages .error, .help-critical").count() == 0

        # A scenario folder (the demo's home takes none: at the root), the same way.
        page.goto(f"{server}/admin/pages/add/wagtail_journeys/scenarioindexpage/{root}/")
        settle(page)
        page.fill("#id_title", "Journeys")
        autosave_state(page, "saving")
        publish(page)
        page.wait_for_url(f"{server}/admin/pages/{root}/")

        # The segment: a name, no slug typed.
        page.goto(f"{server}/admin/snippets/wagtail_journeys/segment/add/")
        page.fill("#id_name", "Readers of thrillers")
        page.press("#id_name", "Tab")
        expect(page.locator("#id_slug")).to_have_value("readers-of-thrillers")
        page.fill("#id_slug", "")  # left empty, it is still made from the name on save
        page.locator("footer button[type=submit]").first.click()
        page.wait_for_url(f"{server}/admin/snippets/wagtail_journeys/segment/")

        # Brand colours: the picker writes the hex into the text field, and back.
        page.goto(f"{server}/admin/settings/wagtail_journeys/brandsettings/")
        page.fill("#id_primary_color-picker", "#7c2d12")
        expect(page.locator("#id_primary_color")).to_have_value("#7c2d12")
        page.fill("#id_heading_color", "#431407")
        page.press("#id_heading_color", "Tab")
        expect(page.locator("#id_heading_color-picker")).to_have_value("#431407")
        page.locator("footer button[type=submit]").first.click()
        page.locator(".messages .success").wait_for()
        browser.close()

    folder = EmailIndexPage.objects.get(title="Newsletters")
    assert folder.live and folder.slug == "newsletters"
    assert [(f.slug, f.live) for f in ScenarioIndexPage.objects.filter(title="Journeys")] == [
        ("journeys", True)
    ]
    emails = EmailPage.objects.filter(title="Welcome aboard")
    assert [(e.slug, e.live, e.has_unpublished_changes) for e in emails] == [
        ("welcome-aboard", True, False)
    ]
    assert emails[0].get_parent().pk == folder.pk
    assert Segment.objects.get(name="Readers of thrillers").slug == "readers-of-thrillers"
    brand = BrandSettings.objects.get()
    assert (brand.primary_color, brand.heading_color) == ("#7c2d12", "#431407")
    assert [f"{r.name}: {r.getMessage()}" for r in server_log] == []
