"""The live count while editing a segment, in a real headless Chromium."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from .factories import ContactFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def page(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("chromium is not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


def test_editing_rules_updates_the_count_and_sample(live_server, page):
    get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    ContactFactory(civility="mrs", email="mrs.one@x.com", first_name="Olivia")
    ContactFactory(civility="mr", email="mr.one@x.com")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/admin/snippets/wagtail_journeys/segment/add/")
    count = page.locator("[data-journeys-segment-count]")
    count.filter(has_text="2 contacts match").wait_for(timeout=15000)

    page.locator("[data-streamfield-stream-container] button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Attribute").click()
    page.locator("input[name$='-value-key']").fill("points")
    page.locator("select[name$='-value-operator']").select_option("greater")
    page.locator("input[name$='-value-value']").fill("lots")
    errors = page.locator("[data-journeys-segment-errors]")
    errors.filter(has_text="Enter a number").wait_for(timeout=15000)

    page.locator("select[name$='-value-operator']").select_option("is_empty")
    page.locator("input[name$='-value-value']").fill("")
    count.filter(has_text="2 contacts match").wait_for(timeout=15000)
    sample = page.locator("[data-journeys-segment-sample]")
    assert "Olivia <mrs.one@x.com>" in sample.inner_text()


def options(field) -> list[str]:
    return field.evaluate("el => el.list ? [...el.list.options].map(o => o.value) : []")


def test_the_rule_editor_offers_logged_event_names_and_their_property_keys(live_server, page):
    """Event names come from the event log as the editor focuses the field, and the
    property names of the event typed in the same rule when the property field is."""
    from .factories import EventFactory

    get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    buyer = ContactFactory(civility="mr", email="mr.one@x.com")
    EventFactory(contact=buyer, name="purchase", properties={"amount": 12, "title": "It"})
    EventFactory(contact=buyer, name="page_view", properties={"path": "/books/it/"})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/admin/snippets/wagtail_journeys/segment/add/")
    page.locator("[data-streamfield-stream-container] button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Event total").click()

    event = page.locator("input[name$='-value-event']")
    event.focus()
    page.wait_for_function(
        "el => el.list && el.list.options.length >= 2", arg=event.element_handle(), timeout=15000
    )
    assert options(event) == ["page_view", "purchase"]

    event.fill("purchase")
    prop = page.locator("input[name$='-value-property']")
    prop.focus()
    page.wait_for_function(
        "el => el.list && el.list.options.length >= 2", arg=prop.element_handle(), timeout=15000
    )
    assert options(prop) == ["amount", "title"]


def test_civility_checkboxes_drive_the_count(live_server, page):
    get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    ContactFactory(civility="mr", email="mr.one@x.com")
    ContactFactory(civility="mrs", email="mrs.one@x.com")
    ContactFactory(civility="dr", email="dr.one@x.com")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/admin/snippets/wagtail_journeys/segment/add/")
    count = page.locator("[data-journeys-segment-count]")
    count.filter(has_text="3 contacts match").wait_for(timeout=15000)
    page.locator("[data-streamfield-stream-container] button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Civility").click()
    page.get_by_label("Mr", exact=True).check()
    page.get_by_label("Dr", exact=True).check()
    count.filter(has_text="2 contacts match").wait_for(timeout=15000)
