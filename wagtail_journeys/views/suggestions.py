"""The admin's JSON endpoints behind the scenario forms' suggestions (event names, and the
property names of one event), for editors of scenarios or segments only."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _

from ..events import EVENT_NAME
from ..scenarios.suggestions import event_names, property_keys


def may_see_suggestions(user) -> bool:
    """Editors of segments, and editors of any scenario folder (or of a page above one)."""
    from ..models import ScenarioIndexPage

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or user.has_perm("wagtail_journeys.add_segment"):
        return True
    if user.has_perm("wagtail_journeys.change_segment"):
        return True
    for folder in ScenarioIndexPage.objects.all()[:100]:
        permissions = folder.permissions_for_user(user)
        if permissions.can_add_subpage() or permissions.can_edit():
            return True
    return False


def _refused() -> JsonResponse:
    return JsonResponse({"error": _("You may not edit scenarios or segments.")}, status=403)


def events_view(request: HttpRequest) -> JsonResponse:
    """``{"names": [...]}``: the event names seen in the log (at most 200), filtered by
    ``?q=`` (a prefix, case-insensitive)."""
    if not may_see_suggestions(request.user):
        return _refused()
    prefix = request.GET.get("q", "")[:100].lower()
    names = [name for name in event_names() if name.lower().startswith(prefix)]
    return JsonResponse({"names": names})


def properties_view(request: HttpRequest) -> JsonResponse:
    """``{"keys": [...]}``: the property names of ``?event=``'s recent events."""
    if not may_see_suggestions(request.user):
        return _refused()
    name = request.GET.get("event", "")
    if not name:
        return JsonResponse({"keys": []})
    if not EVENT_NAME.fullmatch(name):
        return JsonResponse({"error": _("Not an event name.")}, status=400)
    return JsonResponse({"keys": property_keys(name)})


def admin_urls() -> list:
    return [
        path("events/", events_view, name="events"),
        path("properties/", properties_view, name="properties"),
    ]
