"""``{% journeys_tracking %}``: the tracking snippet for pages and headless front ends."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse

from ..tracking import visitor as visitors

register = template.Library()


@register.inclusion_tag("wagtail_journeys/tags/tracking.html", takes_context=True)
def journeys_tracking(context, track_page_view: bool = False, endpoint: str = "") -> dict:
    """Load the beacon script with this visitor's signed id.

    On server-rendered Wagtail pages the hook already records the page view, so the
    snippet only exposes ``journeys.track(name, properties)``; pass
    ``track_page_view=True`` on pages Wagtail does not serve. ``endpoint`` is the API base
    (``https://www.example.com/journeys/api``) for a front end on another origin.
    """
    request = context.get("request")
    visitor = visitors.ensure(request) if request is not None else None
    return {
        "script_url": static("wagtail_journeys/js/tracking.js"),
        "endpoint": endpoint or reverse("wagtail_journeys:api:events").rsplit("/events", 1)[0],
        "visitor": visitor.token if visitor else "",
        "track_page_view": bool(track_page_view),
    }
