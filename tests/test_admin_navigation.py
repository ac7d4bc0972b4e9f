"""The admin's "Marketing" menu group: what each user finds in it, and the Emails and
Scenarios items that open their folders wherever they sit in the page tree."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from wagtail.admin.menu import admin_menu

from tests.emails.factories import email_index
from tests.scenarios.factories import scenario_index
from tests.users import SEGMENT_EDITING, make_user
from wagtail_journeys.models import EmailIndexPage

pytestmark = pytest.mark.django_db


def marketing(user) -> list[str] | None:
    """The labels of the "Marketing" group as ``user`` sees it (None: no group)."""
    reverse("wagtailadmin_home")  # the admin's URLs register the viewsets and their items
    request = RequestFactory().get("/admin/")
    request.user = user
    for item in admin_menu.menu_items_for_request(request):
        if item.name == "marketing":
            children = sorted(item.menu.menu_items_for_request(request), key=lambda i: i.order)
            return [str(child.label) for child in children]
    return None


def top_level(user) -> list[str]:
    reverse("wagtailadmin_home")
    request = RequestFactory().get("/admin/")
    request.user = user
    return [str(item.label) for item in admin_menu.menu_items_for_request(request)]


def test_a_superuser_finds_everything_in_one_group(email_site):
    scenario_index()
    boss = get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    found = marketing(boss)
    assert found == [
        "Contacts",
        "Segments",
        "Topics",
        "Emails",
        "Scenarios",
        "Messages",
        "Reports",
    ], found
    # nothing of ours is left loose in the sidebar
    assert not {"Contacts", "Segments", "Messages"} & set(top_level(boss))


def test_each_user_sees_only_what_they_may_use(email_site):
    emails = email_index()
    writer = make_user("writer", *SEGMENT_EDITING, pages=[emails])
    assert marketing(writer) == ["Segments", "Emails"]
    support = make_user("support", "view_contact")
    assert marketing(support) == ["Contacts", "Messages"]
    analyst = make_user("analyst", "view_reports")
    assert marketing(analyst) == ["Reports"]
    assert marketing(make_user("nobody")) is None


def test_emails_open_the_one_folder_in_the_explorer(client, email_site):
    folder = email_index()
    client.force_login(make_user("writer", pages=[folder]))
    response = client.get(reverse("journeys_folders:emails"))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_explore", args=[folder.pk])
    assert client.get(response["Location"]).status_code == 200


def test_several_folders_are_listed_with_where_they_sit(admin_client, email_site):
    first = email_index()
    books = email_site.add_child(instance=type(email_site)(title="Shop", slug="shop"))
    second = books.add_child(instance=EmailIndexPage(title="Shop mail", slug="shop-mail"))
    response = admin_client.get(reverse("journeys_folders:emails"))
    html = response.content.decode()
    assert response.status_code == 200
    for folder in (first, second):
        assert reverse("wagtailadmin_explore", args=[folder.pk]) in html
    assert "Shop mail" in html and ">Shop<" in html


def test_no_folder_yet_says_how_to_make_one(admin_client, email_site):
    response = admin_client.get(reverse("journeys_folders:scenarios"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is no scenario folder yet" in html
    assert reverse("wagtailadmin_pages:add_subpage", args=[email_site.pk]) in html


def test_folders_are_refused_to_who_may_not_use_them(client, email_site):
    client.force_login(make_user("nobody"))
    for kind in ("emails", "scenarios"):
        response = client.get(reverse(f"journeys_folders:{kind}"))
        # Wagtail's answer to a refused admin view: back home with a message
        assert (response.status_code, response["Location"]) == (302, reverse("wagtailadmin_home"))
