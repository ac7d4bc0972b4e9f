"""Admin users for permission tests: real users with model permissions and page
permissions given through a group, as a site owner sets them under Settings → Groups."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission, Page

#: What an editor of emails and scenarios holds on their folders.
PAGE_EDITING = ("add_page", "change_page", "publish_page")
#: What an editor of segments holds.
SEGMENT_EDITING = ("add_segment", "change_segment", "delete_segment")


def make_user(
    username: str,
    *codenames: str,
    pages: Iterable[Page] = (),
    page_permissions: Iterable[str] = PAGE_EDITING,
):
    """A user who may enter the admin, with the model permissions named by ``codenames``
    and ``page_permissions`` on each of ``pages`` (and so on their descendants)."""
    user = get_user_model().objects.create_user(username, f"{username}@staff.example", "x")
    wanted = ("access_admin", *codenames)
    found = Permission.objects.filter(codename__in=wanted)
    assert found.count() == len(set(wanted)), "unknown permission codename"
    user.user_permissions.add(*found)
    pages = list(pages)
    if pages:
        group = Group.objects.create(name=f"{username} pages")
        for page in pages:
            for codename in page_permissions:
                GroupPagePermission.objects.create(
                    group=group,
                    page=page,
                    permission=Permission.objects.get(
                        content_type__app_label="wagtailcore", codename=codename
                    ),
                )
        user.groups.add(group)
    return user


def editor_without_contacts(*pages: Page, username: str = "editor"):
    """An editor who writes and publishes the emails and scenarios under ``pages`` and
    edits segments, but has no contact permission at all."""
    return make_user(username, *SEGMENT_EDITING, pages=pages)
