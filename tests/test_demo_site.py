"""The demo bookshop as a newcomer meets it: every link on its home page opens a page."""

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
