"""Double opt-in end to end, as a person meets it: the bookshop's newsletter form in a real
Chromium, the demo's confirmation email arriving at a real SMTP server on loopback, its
link followed in the browser, the contact confirmed and that browser bound to it."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser import ARGS, CHROMIUM, live_server
from tests.services import services_required
from tests.test_delivery_smtp import smtp  # noqa: F401  (the SMTP server on loopback)
from wagtail_journeys.models import ConsentRecord, Contact, EmailStatus, Event, Visitor
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, django_db_serialized_rollback, settings):
    """The demo bookshop's pages and emails (its confirmation email among them), served on
    loopback, with double opt-in on as in the example site."""
    from tests.conftest import journeys_demo

    journeys_demo(contacts=0, no_scenarios=True)
    with live_server() as url:
        settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": True, "EMAIL_BASE_URL": url}
        yield url


@pytest.fixture
def browser_page():
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page()
        browser.close()
        connections.close_all()


def visitor_of(page) -> VisitorId:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "journeys_vid"]
    return VisitorId.from_token(cookie["value"])


def test_signup_confirmation_mail_click_confirms_and_binds_the_browser(
    site,
    smtp,  # noqa: F811 (the fixture imported above)
    browser_page,
):
    page = browser_page
    page.goto(f"{site}/newsletter/")
    page.fill("input[name=first_name]", "Chloé")
    page.fill("input[name=email]", "chloe@example.com")
    with page.expect_navigation():
        page.click("input[type=submit], button[type=submit]")
    assert "confirm your subscription" in page.inner_text("main")

    contact = Contact.objects.get(email="chloe@example.com")
    assert contact.email_status == EmailStatus.PENDING
    before = visitor_of(page)
    assert before.contact_id is None  # the signup bound nothing
    assert not Visitor.objects.filter(contact=contact).exists()

    (mail,) = smtp.messages  # sent while the form was posted
    assert mail["To"] == "chloe@example.com"
    assert mail["Subject"] == "Please confirm your subscription to The Bookshop"
    html = mail.get_body(("html",)).get_content()
    assert "One last step, Chloé" in html
    (link,) = set(re.findall(rf'href="({re.escape(site)}/journeys/confirm/[^"]+)"', html))
    assert link in mail.get_body(("plain",)).get_content()

    page.goto(link)
    assert page.locator("text=Yes, confirm my subscription").is_visible()
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.PENDING  # opening the link is not enough
    page.click("text=Yes, confirm my subscription")
    page.wait_for_selector("[role=status]")
    assert "chloe@example.com is subscribed" in page.inner_text("[role=status]")

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED and contact.confirmed_at
    granted = ConsentRecord.objects.get(contact=contact, action="granted")
    assert (granted.source, granted.details["form"]) == ("confirmation", "newsletter")
    assert ConsentRecord.objects.filter(contact=contact, action="requested").count() == 1
    after = visitor_of(page)
    assert after.contact_id == contact.pk
    assert after.uuid == before.uuid  # the browser's own history is now the contact's
    assert Visitor.objects.get(pk=after.uuid).contact == contact
    views = Event.objects.filter(name="page_view", visitor_id=after.uuid)
    assert views and {v.contact for v in views} == {contact}
    assert Event.objects.filter(name="subscription_confirmed", contact=contact).count() == 1
