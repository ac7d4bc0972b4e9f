"""The demo bookshop as a newcomer meets it: every link on its home page opens a page, and
the site answers at the demo's address (where its emails link)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from wagtail_journeys.models import EmailIndexPage, ScenarioIndexPage


@pytest.mark.django_db
def test_every_link_on_the_demo_home_page_opens(client, bookshop):
    # the demo's home holds the emails' and scenarios' folders, which have no public page
    assert EmailIndexPage.objects.child_of(bookshop).exists()
    assert ScenarioIndexPage.objects.child_of(bookshop).exists()
    home = client.get("/")
    assert home.status_code == 200
    links = set(re.findall(r'<a [^>]*href="([^"]+)"', home.content.decode()))
    local = {urlsplit(urljoin("http://testserver/", link)).path for link in links}
    assert {"/books/", "/newsletter/", "/white-paper/"} <= local, local
    for path in sorted(local):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db
def test_the_demo_site_has_the_demo_address_so_emails_link_to_its_pages(settings):
    """``make demo PORT=8001`` (and the end-to-end test, on its own port): the default
    site's address is the demo's, where the emails' page buttons (``full_url``) point."""
    from wagtail.models import Site

    from example_site.shop.models import BookPage
    from tests.conftest import journeys_demo

    settings.WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8123"
    journeys_demo(pages_only=True)
    assert Site.objects.get(is_default_site=True).root_url == "http://127.0.0.1:8123"
    book = BookPage.objects.get(slug="misery")
    assert book.full_url == "http://127.0.0.1:8123/books/misery/"
    settings.WAGTAILADMIN_BASE_URL = "http://localhost:8001"
    journeys_demo(pages_only=True)  # again, on another port
    assert Site.objects.get().root_url == "http://localhost:8001"
