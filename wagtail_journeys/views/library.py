""" "New scenario": the template library first (the classic journeys, each created as a
draft with its emails), or a blank scenario."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ..models import EmailIndexPage, ScenarioIndexPage, ScenarioPage
from ..scenarios.library import TEMPLATES, create_from_template


def blank_url(folder) -> str:
    return (
        reverse("wagtailadmin_pages:add", args=["wagtail_journeys", "scenariopage", folder.pk])
        + "?blank=1"
    )


def may_write_emails(user, folder) -> bool:
    """Can ``user`` add the template's draft emails (in the email folder, or beside the
    scenario folder when there is none yet)?"""
    emails = EmailIndexPage.objects.first()
    where = emails if emails is not None else folder.get_parent()
    return where.permissions_for_user(user).can_add_subpage()


def library_view(request: HttpRequest, page_id: int) -> HttpResponse:
    """GET: the templates, each with what it does. POST ``template=<key>``: create it as
    drafts under the folder and open the (first) scenario's editor."""
    folder = get_object_or_404(ScenarioIndexPage, pk=page_id)
    if not folder.permissions_for_user(request.user).can_add_subpage():
        raise PermissionDenied
    if request.method == "POST":
        key = request.POST.get("template", "")
        if key not in TEMPLATES:
            messages.error(request, _("Choose one of the templates."))
        elif not may_write_emails(request.user, folder):
            messages.error(
                request, _("Templates write emails too: you may not add emails. Start blank.")
            )
        else:
            scenarios = create_from_template(
                key,
                folder,
                user=request.user,
                may_add_segments=request.user.has_perm("wagtail_journeys.add_segment"),
            )
            messages.success(
                request,
                _("%(template)s: created as drafts, with its emails. Adapt it, then switch it on.")
                % {"template": TEMPLATES[key].title},
            )
            for task in TEMPLATES[key].to_fill:
                messages.warning(request, _("To fill in: %(task)s") % {"task": task})
            return redirect("wagtailadmin_pages:edit", scenarios[0].pk)
    return TemplateResponse(
        request,
        "wagtail_journeys/scenarios/library.html",
        {
            "folder": folder,
            "templates": TEMPLATES.values(),
            "blank_url": blank_url(folder),
            "may_write_emails": may_write_emails(request.user, folder),
        },
        status=400 if request.method == "POST" else 200,
    )


def offer_templates(request: HttpRequest, parent_page, page_class):
    """``before_create_page``: "New scenario" opens the library (``?blank=1`` skips it)."""
    if (
        page_class is ScenarioPage
        and request.method == "GET"
        and not request.GET.get("blank")
        and isinstance(parent_page.specific_deferred, ScenarioIndexPage)
    ):
        return redirect("journeys_library:choose", parent_page.pk)
    return None


def admin_urls() -> list:
    return [path("<int:page_id>/", library_view, name="choose")]
