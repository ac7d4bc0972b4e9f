"""The admin's "Marketing" menu: contacts, segments, emails, scenarios, messages and reports
in one group of the sidebar, each shown only to the users who may use it.

Emails and scenarios are pages kept in folders that can sit anywhere in the page tree; their
menu items open the folders' explorer (the one folder at once, a list when there are
several), so nobody needs to know which site page holds them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.models import Page, Site
from wagtail.permission_policies.pages import PagePermissionPolicy

#: The hook that fills the "Marketing" submenu: viewsets name it as their ``menu_hook``,
#: and other apps may register their own ``MenuItem`` with it.
MENU_HOOK = "register_journeys_menu_item"
#: The actions on a page (or a page below it) that make a folder worth listing.
FOLDER_ACTIONS = {"add", "change", "publish"}


def marketing_menu_item() -> SubmenuMenuItem:
    """The "Marketing" group; hidden when none of its items is (Wagtail's own rule)."""
    return SubmenuMenuItem(
        _("Marketing"),
        Menu(register_hook_name=MENU_HOOK, construct_hook_name="construct_journeys_menu"),
        name="marketing",
        icon_name="mail",
        order=250,
    )


def folder_models() -> dict[str, type[Page]]:
    from ..models import EmailIndexPage, ScenarioIndexPage

    return {"emails": EmailIndexPage, "scenarios": ScenarioIndexPage}


def folders_for(user, kind: str) -> QuerySet:
    """The folders of ``kind`` ("emails", "scenarios") in which ``user`` may add, edit or
    publish pages (a permission on the folder or on a page above it)."""
    model = folder_models()[kind]
    editable = PagePermissionPolicy().instances_user_has_any_permission_for(user, FOLDER_ACTIONS)
    return model.objects.filter(pk__in=editable.values("pk")).order_by("path")


class FolderMenuItem(MenuItem):
    """ "Emails" or "Scenarios": shown to users who may work in at least one folder."""

    def __init__(self, kind: str, label, **kwargs):
        self.kind = kind
        super().__init__(label, reverse(f"journeys_folders:{kind}"), **kwargs)

    def is_shown(self, request) -> bool:
        return folders_for(request.user, self.kind).exists()


def folders_view(request: HttpRequest, kind: str) -> HttpResponse:
    """Open the explorer of the user's one folder of ``kind``, or list their folders (with
    where each sits) when there are several; say how to make one when there is none."""
    folders = list(folders_for(request.user, kind)[:101])
    if len(folders) == 1:
        return redirect("wagtailadmin_explore", folders[0].pk)
    model = folder_models()[kind]
    can_add = request.user.is_superuser or PagePermissionPolicy().user_has_permission(
        request.user, "add"
    )
    if not folders and not can_add:
        raise PermissionDenied
    rows = [
        {"folder": folder, "parent": folder.get_parent(), "count": folder.get_children().count()}
        for folder in folders[:100]
    ]
    title = _("Emails") if kind == "emails" else _("Scenarios")
    return TemplateResponse(
        request,
        "wagtail_journeys/folders.html",
        {
            "page_title": title,
            "header_icon": "mail" if kind == "emails" else "folder-open-inverse",
            "rows": rows,
            "kind": kind,
            "folder_name": model._meta.verbose_name,
            "can_add": can_add,
            "root": site_root(),
        },
    )


def site_root() -> Page:
    """Where a first folder naturally goes: the default site's root page."""
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    return site.root_page if site else Page.get_first_root_node()


def admin_urls() -> list:
    kinds = ("emails", "scenarios")
    return [path(f"{kind}/", folders_view, {"kind": kind}, name=kind) for kind in kinds]
