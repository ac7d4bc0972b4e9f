"""The JS beacon in a real Chromium: on the site's own pages and from a front end on
another origin, which only the origins in ``CORS_ALLOWED_ORIGINS`` may use."""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import threading
from pathlib import Path

import pytest
from django.db import connections

from tests.processes import free_port, wait_for
from tests.services import services_required
from wagtail_journeys.models import Event
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
EVENTS_API = "/journeys/api/events"


@pytest.fixture
def site(live_server, django_db_serialized_rollback, bookshop_pages):
    """The bookshop_pages, served by a live server on a loopback port."""
    return live_server.url


@pytest.fixture
def page(site):
    """A page in a fresh headless Chromium, started after the test database is ready.

    Playwright's sync API runs an event loop in this thread while the browser is up; it
    must not be up while pytest-django sets up or flushes the database (the connection
    it would see there is another one), and the test's own ORM calls are synchronous.
    """
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()
        # The test's ORM calls opened their own connection while the loop ran: close it,
        # or the test database's WAL outlives the run.
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def write(html: str, name: str = "index.html") -> str:
        (Path(tmp_path) / name).write_text(html)
        return f"{origin}/{name}"

    write.origin = origin
    yield write
    server.shutdown()
    server.server_close()


def headless_page(site: str, *, visitor: str = "", track_page_view: bool = True) -> str:
    """A front end's HTML that loads the site's tracking.js, as the docs show."""
    return f"""<!DOCTYPE html>
<html><head><title>Headless shop</title>
<script src="{site}/static/wagtail_journeys/js/tracking.js"
        data-endpoint="{site}/journeys/api"
        {f'data-visitor="{visitor}"' if visitor else ""}
        {'data-page-view="true"' if track_page_view else ""} defer></script>
</head><body><h1>Headless shop</h1></body></html>"""


def beacon_response(page, action):
    """Run ``action`` and return the response to the beacon it sends to the events API."""
    with page.expect_response(lambda r: r.url.endswith(EVENTS_API), timeout=15000) as info:
        action()
    return info.value


def test_page_view_then_tracked_event_share_the_visitor(site, page):
    page.goto(f"{site}/books/the-shining/")
    page.wait_for_function("window.journeys && typeof window.journeys.track === 'function'")

    (cookie,) = [c for c in page.context.cookies() if c["name"] == "journeys_vid"]
    assert cookie["httpOnly"]
    visitor = VisitorId.from_token(cookie["value"])
    view = Event.objects.get(name="page_view")
    assert view.source == "page"
    assert view.visitor_id == visitor.uuid
    assert view.properties["path"] == "/books/the-shining/"
    assert view.properties["tags"] == ["horror", "stephen-king"]

    # The book page's button calls journeys.track('cart.updated', {...}).
    response = beacon_response(page, lambda: page.get_by_role("button", name="Add to cart").click())
    assert response.status == 201, response.text()
    event = Event.objects.get(name="cart.updated")
    assert event.source == "beacon"
    assert event.visitor_id == visitor.uuid
    assert event.properties == {"page_id": view.properties["page_id"], "price": 12.99}


def test_allowed_front_end_gets_a_visitor_id_and_records_events(site, page, front_end, settings):
    settings.WAGTAIL_JOURNEYS = {"CORS_ALLOWED_ORIGINS": [front_end.origin]}
    url = front_end(headless_page(site))

    with page.expect_response(lambda r: r.url.endswith("/journeys/api/visitor")) as issued:
        view = beacon_response(page, lambda: page.goto(url))
    assert issued.value.status == 200
    assert issued.value.headers["access-control-allow-origin"] == front_end.origin
    assert view.status == 201, view.text()

    token = page.evaluate("localStorage.getItem('journeys_visitor')")
    assert token == issued.value.json()["visitor"]
    visitor = VisitorId.from_token(token)
    tracked = beacon_response(
        page, lambda: page.evaluate("journeys.track('cart.updated', {items: 1})")
    )
    assert tracked.status == 201, tracked.text()

    events = list(Event.objects.order_by("id").values_list("name", "source", "visitor_id"))
    assert events == [
        ("page_view", "beacon", visitor.uuid),
        ("cart.updated", "beacon", visitor.uuid),
    ]
    assert Event.objects.get(name="page_view").properties["title"] == "Headless shop"


def refused(caplog, path: str) -> bool:
    """The live server answered 403 to a request for ``path`` (its own log says so)."""
    return any(
        r.name == "django.request"
        and getattr(r, "status_code", None) == 403
        and r.request.path == path
        for r in caplog.records
    )


def test_front_end_on_an_origin_not_allowed_records_nothing(
    site, page, front_end, settings, caplog
):
    settings.WAGTAIL_JOURNEYS = {"CORS_ALLOWED_ORIGINS": ["http://shop.example.com"]}

    # Without an id, the browser may not get one: the server refuses, the script gives up.
    with page.expect_console_message(
        lambda message: "journeys: event not sent" in message.text, timeout=15000
    ):
        page.goto(front_end(headless_page(site)))
    assert refused(caplog, "/journeys/api/visitor")

    # Even holding a genuine visitor id, its beacons are refused by the server.
    genuine = VisitorId.new().token
    page.goto(front_end(headless_page(site, visitor=genuine), name="with-id.html"))
    wait_for(lambda: refused(caplog, EVENTS_API), timeout=15, what="the beacon to be refused")
    assert not Event.objects.exists()


def test_sandboxed_frame_with_an_opaque_origin_records_nothing(
    site, page, front_end, settings, caplog
):
    """A sandboxed frame's requests say ``Origin: null``: which site sent them is unknown."""
    settings.WAGTAIL_JOURNEYS = {"CORS_ALLOWED_ORIGINS": [front_end.origin]}
    body = json.dumps({"name": "purchase", "visitor": VisitorId.new().token})
    frame = (
        f"<script>navigator.sendBeacon({json.dumps(site + EVENTS_API)},"
        f" new Blob([{json.dumps(body)}], {{type: 'text/plain'}}));</script>"
    )
    page.goto(
        front_end(f"<iframe sandbox='allow-scripts' srcdoc=\"{html.escape(frame)}\"></iframe>")
    )
    wait_for(lambda: refused(caplog, EVENTS_API), timeout=15, what="the beacon to be refused")
    assert not Event.objects.exists()
