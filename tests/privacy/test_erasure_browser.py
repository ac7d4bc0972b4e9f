"""Erasure driven as a person would, in a real Chromium: the admin downloads a contact's
data from its profile, then deletes it from there; the confirmation page says what will
happen, and the contact is erased, not merely deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tests.browser import ARGS, CHROMIUM, live_server
from tests.emails.factories import make_contact
from tests.services import services_required
from wagtail_journeys.models import Contact, Event, EventSource

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def page(transactional_db):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    get_user_model().objects.create_superuser("dpo", "dpo@example.com", "journeys-demo")
    with (
        live_server() as server,
        pytest.MonkeyPatch.context() as patch,
        sync_playwright() as playwright,
    ):
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "dpo")
        page.fill("#id_password", "journeys-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")
        page.server = server
        yield page
        browser.close()
        connections.close_all()


def test_download_then_erase_from_the_profile(page):
    person = make_contact("zoeline.quarmby@example.com", first_name="Zoéline", last_name="Quarmby")
    for n in range(5):
        Event.objects.create(
            name="page_view", contact=person, source=EventSource.PAGE, properties={"n": n}
        )
    page.goto(f"{page.server}/admin/journeys_contacts/inspect/{person.pk}/")
    with page.expect_download() as download:
        page.click("[data-journeys-contact-data]")
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["contact"]["last_name"] == "Quarmby" and len(data["events"]) == 5
    delete = page.locator(f'a[href$="/delete/{person.pk}/"]').first
    if not delete.is_visible():
        page.locator("header [data-w-dropdown-target=toggle]").last.click()
    delete.click()
    page.wait_for_url(f"**/delete/{person.pk}/")
    text = page.locator("main").inner_text()
    assert "erases it" in text and "5 events" in text and "cannot be undone" in text
    page.click("button:has-text('Yes, erase')")
    page.wait_for_url(f"{page.server}/admin/journeys_contacts/")
    assert "Contact erased" in page.locator(".messages").inner_text()
    assert "Quarmby" not in page.content()
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert not Event.objects.filter(contact_id=person.pk).exists()
