"""The email editor in a real Chromium: preview modes show and hide the segment block, show
the email with images off and in dark mode.

Also takes the screenshots of ``docs/how-to/write-emails.md``: into ``docs/img`` when
``JOURNEYS_DOCS_SCREENSHOTS=1`` (to refresh them), else into a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread

from tests.emails.factories import make_contact
from tests.services import services_required
from wagtail_journeys.models import EmailPage, Segment

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PORT = 18210
DOCS_IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("JOURNEYS_DOCS_SCREENSHOTS") == "1"
    else Path(os.environ.get("JOURNEYS_TEST_TMP", "/tmp")) / "screenshots"
)
DOCS_IMG.mkdir(parents=True, exist_ok=True)
MADAM = "For you, Madam"
SIR = "For you, Sir"


@pytest.fixture
def server(transactional_db, django_db_serialized_rollback, bookshop):
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=PORT)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{PORT}"
    thread.terminate()


@pytest.fixture
def ids(server):
    """Database work happens here, before the browser: inside Playwright's event loop the
    ORM would open another connection, which nothing closes."""
    make_contact(email="chloe@example.com", first_name="Chloé", civility="mrs")
    return {
        "welcome": EmailPage.objects.get(slug="welcome").pk,
        "mrs": Segment.objects.get(slug="mrs").pk,
        "mr": Segment.objects.get(slug="mr").pk,
    }


@pytest.fixture
def browser_page(server, ids):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "journeys-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")
        yield page
        browser.close()


def email_frame(page):
    """The email body inside our preview page, inside Wagtail's preview iframe."""
    return page.frame_locator("#w-preview-iframe").frame_locator("[data-testid=preview-body]")


def test_preview_modes_show_and_hide_the_segment_block(server, ids, browser_page):
    page = browser_page
    page.goto(f"{server}/admin/pages/{ids['welcome']}/edit/")
    page.wait_for_selector("text=Segment-specific content")
    page.screenshot(path=str(DOCS_IMG / "email-editor.png"))

    page.click("[data-side-panel-toggle=preview]")
    envelope = page.frame_locator("#w-preview-iframe")
    envelope.locator("[data-testid=preview-subject]").wait_for()
    assert (
        "Welcome to The Bookshop" in envelope.locator("[data-testid=preview-subject]").inner_text()
    )

    page.select_option("#id_preview_mode", f"segment-{ids['mrs']}")
    email_frame(page).get_by_text(MADAM).wait_for()
    assert email_frame(page).get_by_text(SIR).count() == 0
    page.screenshot(path=str(DOCS_IMG / "email-preview-segment.png"))

    page.select_option("#id_preview_mode", f"segment-{ids['mr']}")
    email_frame(page).get_by_text(SIR).wait_for()
    assert email_frame(page).get_by_text(MADAM).count() == 0

    page.select_option("#id_preview_mode", "no-images")
    email_frame(page).locator("img[alt]:not([src])").first.wait_for()
    assert email_frame(page).locator("img[src*='/media/']").count() == 0

    page.select_option("#id_preview_mode", "dark")
    email_frame(page).locator("style[data-journeys-preview=dark]").wait_for(state="attached")
    page.screenshot(path=str(DOCS_IMG / "email-preview-dark.png"))

    page.select_option("#id_preview_mode", "text")
    envelope.locator("[data-testid=preview-text]").wait_for()
    assert "Our staff picks" in envelope.locator("[data-testid=preview-text]").inner_text()
    page.screenshot(path=str(DOCS_IMG / "email-preview-text.png"))

    page.goto(f"{server}/admin/journeys/emails/{ids['welcome']}/send-test/")
    page.fill("#id_to", "admin@bookshop.example, marketing@bookshop.example")
    page.fill("#id_contact", "")  # a real contact's test goes to your own address only
    page.screenshot(path=str(DOCS_IMG / "email-send-test.png"))
