"""Consent before tracking in a real Chromium: the example site's banner and the JS API.

With ``TRACKING_CONSENT_REQUIRED``, a visit before consent stores nothing and sets no
cookie; after "Accept" (or ``journeys.consent.grant()``) page views and beacon events
flow; after "Refuse" (or ``withdraw()``) they stop and the visitor cookie is gone.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from django.db import connections

from tests.browser import ARGS, CHROMIUM
from tests.processes import free_port
from tests.services import services_required
from wagtail_journeys.models import Event, Visitor
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.browser

EVENTS_API = "/journeys/api/events"
CONSENT_API = "/journeys/api/consent"


@pytest.fixture
def site(live_server, django_db_serialized_rollback, bookshop_pages, settings):
    """The bookshop, served on loopback, requiring consent as the example site does."""
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "TRACKING_CONSENT_REQUIRED": True}
    return live_server.url


@pytest.fixture
def page(site):
    """A page in a fresh headless Chromium (see tests/test_beacon_browser.py for why it
    starts after the database is ready), with the list of API requests it makes."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page()
        tab.api_requests = []
        tab.on(
            "request",
            lambda r: "/journeys/api/" in r.url and tab.api_requests.append(r.url),
        )
        yield tab
        browser.close()
        connections.close_all()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def front_end(tmp_path):
    """A static front end on another origin: ``write(html)`` returns its page's URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(QuietHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def write(html: str) -> str:
        (Path(tmp_path) / "index.html").write_text(html)
        return f"{origin}/index.html"

    write.origin = origin
    yield write
    server.shutdown()
    server.server_close()


def cookies(page) -> dict[str, dict]:
    return {c["name"]: c for c in page.context.cookies()}


def stored_visitor_ids(page) -> list:
    return page.evaluate(
        "[sessionStorage.getItem('journeys_visitor'), localStorage.getItem('journeys_visitor')]"
    )


def response_to(page, path: str, action):
    with page.expect_response(lambda r: r.url.endswith(path), timeout=15000) as info:
        action()
    return info.value


def test_the_banner_holds_tracking_until_accepted_and_stops_it_when_refused(site, page):
    page.goto(f"{site}/books/the-shining/")
    accept = page.get_by_role("button", name="Accept")
    accept.wait_for(state="visible")
    # Before consent: the page was served, nothing was stored, no cookie, no request.
    assert page.evaluate("journeys.consent.status()") == "unknown"
    assert page.evaluate("journeys.track('cart.updated', {items: 1})") is False
    page.get_by_role("button", name="Add to cart").click()
    assert page.evaluate("journeys.visitor().then(() => 'issued', () => 'refused')") == "refused"
    assert page.api_requests == []
    assert stored_visitor_ids(page) == [None, None]
    assert cookies(page) == {}
    assert not Event.objects.exists() and not Visitor.objects.exists()

    answer = response_to(page, CONSENT_API, accept.click)
    assert answer.status == 200, answer.text()
    accept.wait_for(state="hidden")
    jar = cookies(page)
    assert jar["journeys_vid"]["httpOnly"] and not jar["journeys_consent"]["httpOnly"]
    visitor = VisitorId.from_token(jar["journeys_vid"]["value"])
    assert page.evaluate("journeys.consent.status()") == "granted"

    # The beacon flows...
    tracked = response_to(
        page, EVENTS_API, lambda: page.get_by_role("button", name="Add to cart").click()
    )
    assert tracked.status == 201, tracked.text()
    # ...and so do the page views the server records.
    page.goto(f"{site}/books/dune/")
    assert not accept.is_visible()
    assert list(Event.objects.order_by("id").values_list("name", "source", "visitor_id")) == [
        ("cart.updated", "beacon", visitor.uuid),
        ("page_view", "page", visitor.uuid),
    ]

    # Changing one's mind: "Cookie settings", then "Refuse".
    page.get_by_role("button", name="Cookie settings").click()
    refuse = page.get_by_role("button", name="Refuse")
    answer = response_to(page, CONSENT_API, refuse.click)
    assert answer.status == 200, answer.text()
    refuse.wait_for(state="hidden")
    assert "journeys_vid" not in cookies(page)
    assert stored_visitor_ids(page) == [None, None]
    assert page.evaluate("journeys.consent.status()") == "denied"

    before = Event.objects.count()
    page.api_requests.clear()
    page.goto(f"{site}/books/emma/")
    page.wait_for_function("window.journeys && window.journeys.consent")
    assert not page.get_by_role("button", name="Accept").is_visible()  # the refusal is kept
    assert page.evaluate("journeys.track('cart.updated', {items: 2})") is False
    assert page.api_requests == []
    assert "journeys_vid" not in cookies(page)
    assert Event.objects.count() == before


def headless_page(site: str) -> str:
    """A front end on another origin, loading tracking.js as the docs show, with consent."""
    return f"""<!DOCTYPE html>
<html><head><title>Headless shop</title>
<script src="{site}/static/wagtail_journeys/js/tracking.js"
        data-endpoint="{site}/journeys/api" data-consent="required"
        data-page-view="true" defer></script>
</head><body><h1>Headless shop</h1></body></html>"""


def test_the_js_api_on_another_origin_starts_on_grant_and_stops_on_withdraw(
    site, page, front_end, settings
):
    settings.WAGTAIL_JOURNEYS = {
        **settings.WAGTAIL_JOURNEYS,
        "CORS_ALLOWED_ORIGINS": [front_end.origin],
    }
    # Another origin of the same site (as www.example.com is to cms.example.com): the
    # site's SameSite=Lax cookies reach its API from there (docs/how-to/tracking.md).
    site = site.replace("localhost", "127.0.0.1")
    url = front_end(headless_page(site))
    page.goto(url)
    page.wait_for_function("window.journeys && window.journeys.consent")
    assert page.evaluate("journeys.consent.status()") == "unknown"
    assert page.api_requests == []
    assert not Event.objects.exists()

    # grant(): the consent is recorded, and the page view of this page goes out at once
    view = response_to(page, EVENTS_API, lambda: page.evaluate("journeys.consent.grant()"))
    assert view.status == 201, view.text()
    assert page.evaluate("journeys.consent.status()") == "granted"
    token = page.evaluate("localStorage.getItem('journeys_visitor')")
    visitor = VisitorId.from_token(token)
    # the next page knows the choice (the cookie is the site's; the script kept the answer)
    again = response_to(page, EVENTS_API, page.reload)
    assert again.status == 201, again.text()
    assert list(Event.objects.values_list("name", "source", "visitor_id")) == [
        ("page_view", "beacon", visitor.uuid),
        ("page_view", "beacon", visitor.uuid),
    ]

    assert page.evaluate("journeys.consent.withdraw()") == "denied"
    assert stored_visitor_ids(page) == [None, None]
    assert "journeys_vid" not in cookies(page)
    page.api_requests.clear()
    page.reload()
    page.wait_for_function("window.journeys && window.journeys.consent")
    assert page.evaluate("journeys.consent.status()") == "denied"
    assert page.evaluate("journeys.track('video.played')") is False
    assert page.api_requests == []
    assert Event.objects.count() == 2
