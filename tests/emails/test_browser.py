"""The email editor in a real Chromium: preview modes show and hide the segment block, show
the email with images off and in dark mode; a merge tag inserted from the picker shows the
contact's value in the preview.

Also takes the screenshots of ``docs/how-to/write-emails.md``: into ``docs/img`` when
``JOURNEYS_DOCS_SCREENSHOTS=1`` (to refresh them), else into a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread

from tests.emails.factories import make_contact, make_email, text
from tests.processes import free_port
from tests.services import services_required
from wagtail_journeys.models import EmailPage, Segment

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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
    port = free_port()  # within JOURNEYS_TEST_PORTS
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=port)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{port}"
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
        "picker": make_email([text("<p>Hello reader</p>")], subject="News for", title="Picker").pk,
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


def test_a_merge_tag_from_the_picker_shows_the_contacts_value(server, ids, browser_page):
    page = browser_page
    page.goto(f"{server}/admin/pages/{ids['picker']}/edit/")
    picker = page.locator("[data-testid=merge-tag-picker]")

    page.click("#id_subject")
    page.keyboard.press("End")
    page.keyboard.type(" ")
    picker.locator("button[aria-expanded]").click()
    picker.locator(".jy-mt-fallback").fill("friend")
    picker.locator("[data-merge-tag='contact.first_name']").click()
    assert page.input_value("#id_subject") == 'News for {{ contact.first_name|default("friend") }}'

    page.click(".public-DraftEditor-content")
    page.keyboard.press("Control+End")
    page.keyboard.type(", dear ")
    picker.locator("button[aria-expanded]").click()
    picker.locator(".jy-mt-fallback").fill("")
    picker.locator("[data-merge-tag='contact.first_name']").click()
    page.wait_for_function(
        "document.querySelector('.public-DraftEditor-content').innerText.includes('first_name')"
    )
    page.keyboard.type("!")
    editor_text = page.locator(".public-DraftEditor-content").inner_text()
    assert "Hello reader, dear {{ contact.first_name }}!" in editor_text

    page.wait_for_function(  # Draftail writes its content to a hidden input
        "[...document.querySelectorAll('input[type=hidden]')]"
        ".some((i) => i.value.includes('dear {{ contact.first_name }}!'))"
    )
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector(".messages .success, [data-w-messages] .success, .w-message--success")
    page.goto(
        f"{server}/admin/pages/{ids['picker']}/view_draft/?mode=contact&contact=chloe@example.com"
    )
    assert page.locator("[data-testid=preview-subject]").inner_text() == "News for Chloé"
    body = page.frame_locator("[data-testid=preview-body]").locator("body")
    assert "Hello reader, dear Chloé!" in " ".join(body.inner_text().split())
