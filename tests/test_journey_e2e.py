"""The whole journey, end to end, as people meet it.

The example site runs as it would in production, with its own settings (consent banner,
double opt-in, ``SUPPRESS_ERASED``): gunicorn, a ``qcluster`` and an SMTP server on
loopback, each in its own process, on a fresh SQLite file filled by ``journeys_demo``
(``tests/e2e_site.py``). Two readers, Chloé and Bruno, each in their own headless
Chromium context, accept the cookie banner, read three Stephen King books, sign up for the
newsletter and confirm it from the mail that arrives. Then the site's clock moves on (all
its processes follow one offset: ``tests/clock/sitecustomize.py``):

- the next afternoon, the "Newsletter signup" scenario's white-paper offer reaches both
  (subject, recipient, first name, ``List-Unsubscribe`` and ``List-Unsubscribe-Post``);
  the "Stephen King readers" mail, three days after the views, is not due yet;
- two hours later Chloé follows the offer's tracked button to the white-paper page, and
  her mail client unsubscribes her in one click (an RFC 8058 POST, no cookies);
- three days after the views, Bruno gets his Stephen King mail (proof that it was due)
  and Chloé does not: her message is stored as suppressed, "contact is unsubscribed".

The shop's admin then sees Chloé's click, her unsubscribe and the suppressed mail on her
profile. Run alone::

    JOURNEYS_TEST_PORTS=44200-44299 python -m pytest tests/test_journey_e2e.py
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.browser import ARGS, CHROMIUM
from tests.e2e_site import ExampleSite, example_site
from tests.processes import wait_for
from tests.services import services_required

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KING_BOOKS = ["The Shining", "It", "Misery"]
CONFIRM_SUBJECT = "Please confirm your subscription to The Bookshop"
OFFER_SUBJECT = "How readers choose books (free)"
KING_SUBJECTS = {"The best of Stephen King", "If you like Stephen King"}
#: Sends keep quiet hours (21:00-08:00 in the contact's time zone, UTC here): the clock
#: moves to an afternoon.
AFTERNOON = dt.time(15, 0, tzinfo=dt.UTC)
#: The scheduler of a fresh qcluster first looks after 30 s; then the pump runs each second.
FIRST_PASS_TIMEOUT = 90
PASS_TIMEOUT = 45


def next_afternoon(after: dt.datetime) -> dt.datetime:
    """The first ``AFTERNOON`` at or after ``after``."""
    day = dt.datetime.combine(after.date(), AFTERNOON)
    return day if day >= after else day + dt.timedelta(days=1)


@pytest.fixture
def site(request, transactional_db, django_db_serialized_rollback) -> ExampleSite:
    """The example site, started on a copy of the test database as migrated (restored to
    its state right after ``migrate`` for this transactional test). Its folder (database,
    logs, mail) is kept when the test failed, removed otherwise."""
    if connection.vendor != "sqlite":
        pytest.skip("the end-to-end journey runs on SQLite (the example site's default)")
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    root = Path(os.environ.get("JOURNEYS_TEST_TMP", tempfile.gettempdir()))
    directory = Path(tempfile.mkdtemp(prefix="journey-e2e-", dir=root))
    failed = request.session.testsfailed
    with example_site(directory, connection.settings_dict["NAME"]) as running:
        yield running
    if request.session.testsfailed == failed:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def person(browser):
    """A new browser of its own (cookies and all). Its user agent is a desktop Chrome's:
    a headless one is a link scanner's to the engagement rules (``MACHINE_USER_AGENTS``)."""
    agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{browser.version} Safari/537.36"
    )
    return browser.new_context(user_agent=agent, locale="en-GB").new_page()


def read_and_sign_up(page, site: ExampleSite, first_name: str, address: str) -> None:
    """Accept the banner, read three Stephen King books, sign up for the newsletter."""
    page.goto(f"{site.url}/")
    accept = page.get_by_role("button", name="Accept")
    with page.expect_response(lambda r: r.url.endswith("/journeys/api/consent")) as answer:
        accept.click()
    assert answer.value.status == 200, answer.value.text()
    accept.wait_for(state="hidden")
    for title in KING_BOOKS:
        page.get_by_role("link", name="The Bookshop", exact=True).click()
        page.get_by_role("link", name="Books", exact=True).click()
        page.get_by_role("link", name=title, exact=True).click()
        page.wait_for_url(re.compile(r"/books/[^/]+/$"))
        assert page.get_by_role("heading", level=1).inner_text() == title
    page.get_by_role("link", name="The Bookshop", exact=True).click()
    page.get_by_role("link", name="Newsletter", exact=True).click()
    page.fill("input[name=first_name]", first_name)
    page.fill("input[name=email]", address)
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    assert "confirm your subscription" in page.inner_text("main")


def confirm(page, site: ExampleSite, first_name: str, address: str) -> None:
    """Open the confirmation mail's link and confirm."""
    mail = site.mail.wait_for(address, CONFIRM_SUBJECT, timeout=20)
    html = mail.get_body(("html",)).get_content()
    assert f"One last step, {first_name}" in html
    (link,) = set(re.findall(rf'href="({re.escape(site.url)}/journeys/confirm/[^"]+)"', html))
    page.goto(link)
    page.get_by_role("button", name="Yes, confirm my subscription").click()
    page.wait_for_selector("[role=status]")
    assert f"{address} is subscribed" in page.inner_text("[role=status]")


def assert_marketing_mail(mail, *, address: str, first_name: str, site: ExampleSite) -> str:
    """A scenario's mail as a mail client reads it; returns its one-click unsubscribe URL."""
    assert mail["To"] == address and mail["Delivered-To"] == address
    assert mail["From"] == "The Bookshop <hello@bookshop.example>"
    html = mail.get_body(("html",)).get_content()
    assert f"Hello {first_name}," in html
    assert f"Hello {first_name}," in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (url,) = re.findall(r"<(https?://[^>]+)>", mail["List-Unsubscribe"])
    assert url.startswith(f"{site.url}/journeys/u/")
    return url


def one_click_unsubscribe(url: str) -> int:
    """What a mail client does for RFC 8058: a POST with no cookies, no CSRF token."""
    request = urllib.request.Request(  # noqa: S310 (the site's http URL, on loopback)
        url,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


def admin_sees(browser, site: ExampleSite, address: str) -> dict[str, str]:
    """The shop's admin opens the contact's profile; its sections' text by heading."""
    page = person(browser)
    page.goto(f"{site.url}/admin/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "journeys-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(f"{site.url}/admin/journeys_contacts/?q={address}")
    page.get_by_role("link", name=address).click()
    page.wait_for_selector(".journeys-feed")
    return {
        heading: page.locator(f"section:has(h2:text-is('{heading}'))").inner_text()
        for heading in ("Activity", "Messages", "Scenarios")
    }


def test_browse_sign_up_confirm_get_the_mail_click_and_unsubscribe_in_one_click(site, browser):
    with site.explained():  # a failure shows the processes' logs and the mail received
        chloe, bruno = "chloe.reader@example.com", "bruno.reader@example.com"
        start = site.clock.now()

        # Day 0: two readers, each in their own browser, read and sign up...
        chloe_page, bruno_page = person(browser), person(browser)
        read_and_sign_up(chloe_page, site, "Chloé", chloe)
        read_and_sign_up(bruno_page, site, "Bruno", bruno)
        site.mark("both read three books and signed up")
        # ...while the shop's worker reads their views: anonymous ones, nobody to enrol yet.
        views = site.records.last_event("page_view")
        wait_for(
            lambda: site.records.triggers_read(views),
            timeout=FIRST_PASS_TIMEOUT,
            what="the worker to read the readers' page views",
        )
        site.mark("the worker read their views")
        assert site.records.enrollments(chloe) == {"Newsletter signup": "active"}
        # They confirm: their browsers' views become theirs, and count.
        confirm(chloe_page, site, "Chloé", chloe)
        confirm(bruno_page, site, "Bruno", bruno)
        for address in (chloe, bruno):
            assert site.records.contact(address)[1] == "subscribed"
            wait_for(
                lambda address=address: (
                    site.records.enrollments(address)
                    == {"Stephen King readers": "active", "Newsletter signup": "active"}
                ),
                timeout=PASS_TIMEOUT,
                what=f"{address} to enter both scenarios",
            )

        site.mark("both confirmed, in both scenarios")

        # The next afternoon: the newsletter's offer is due (a day after the signup), the
        # Stephen King mail is not (three days after the views).
        site.move_clock_to(next_afternoon(start + dt.timedelta(days=1, minutes=10)))
        offers = {
            address: site.mail.wait_for(address, OFFER_SUBJECT, timeout=PASS_TIMEOUT)
            for address in (chloe, bruno)
        }
        unsubscribe_url = assert_marketing_mail(
            offers[chloe], address=chloe, first_name="Chloé", site=site
        )
        assert_marketing_mail(offers[bruno], address=bruno, first_name="Bruno", site=site)
        assert not [m for m in site.mail.all() if m["Subject"] in KING_SUBJECTS]
        site.mark("the offers arrived")

        # Two hours later Chloé reads it in her webmail (its images load: the open pixel)
        # and follows its button to the white paper's page.
        site.move_clock_to(site.clock.now() + dt.timedelta(hours=2))
        reader = person(browser)
        with reader.expect_response(lambda r: "/journeys/o/" in r.url) as pixel:
            reader.set_content(offers[chloe].get_body(("html",)).get_content())
        assert pixel.value.status == 200
        button = reader.get_by_role("link", name="Download our white paper")
        assert button.get_attribute("href").startswith(f"{site.url}/journeys/c/")
        with reader.context.expect_page() as opened:  # the button opens a new tab
            button.click()
        landed = opened.value
        landed.wait_for_load_state()
        assert landed.url == f"{site.url}/white-paper/"
        assert landed.title() == "Download our white paper: How readers choose books · The Bookshop"
        # Then her mail client's "Unsubscribe" button: one POST, as RFC 8058 says.
        assert one_click_unsubscribe(unsubscribe_url) == 200
        assert site.records.contact(chloe)[1] == "unsubscribed"
        site.mark("Chloé clicked and unsubscribed")

        # Three days after the views the Stephen King mail is due for both. Bruno's
        # arrives (so it was due: he opened nothing, so the "else" branch's mail)...
        site.move_clock_to(next_afternoon(start + dt.timedelta(days=3, minutes=10)))
        king = site.mail.wait_for(bruno, "If you like Stephen King", timeout=PASS_TIMEOUT)
        assert_marketing_mail(king, address=bruno, first_name="Bruno", site=site)
        # ...Chloé's (she opened the offer: the "Best of" branch) is refused, with the reason.
        wait_for(
            lambda: site.records.enrollments(chloe)["Stephen King readers"] != "active",
            timeout=PASS_TIMEOUT,
            what="Chloé's Stephen King enrolment to end",
        )
        assert site.records.step_runs(chloe, "Stephen King readers")[-2:] == [
            ("Best of", "skipped", "contact is unsubscribed"),
            ("Exit", "exited", "exit step"),
        ]
        assert [m["Subject"] for m in site.mail.to(chloe)] == [CONFIRM_SUBJECT, OFFER_SUBJECT]
        site.mark("Bruno's Stephen King mail arrived, Chloé's was refused")

        # The shop's admin sees it all on Chloé's profile.
        profile = admin_sees(browser, site, chloe)
        assert "Opened Our white paper" in profile["Activity"]
        assert f"Clicked {site.url}/white-paper/ in Our white paper" in profile["Activity"]
        assert "Unsubscribed (from Our white paper)" in profile["Activity"]
        assert re.search(
            r"How readers choose books \(free\)\s+Our white paper", profile["Messages"]
        )
        assert "contact is unsubscribed" in profile["Scenarios"]
        site.mark("the admin read Chloé's profile")
        print("\n".join(site.timeline))  # the cost of each step (pytest -s shows it)
