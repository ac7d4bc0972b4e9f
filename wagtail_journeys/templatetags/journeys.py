"""``{% journeys_tracking %}``: the tracking snippet for pages and headless front ends;
``|reason``: a stored reason in the user's language."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse

from .. import conf

register = template.Library()


@register.inclusion_tag("wagtail_journeys/tags/tracking.html")
def journeys_tracking(track_page_view: bool = False, endpoint: str = "") -> dict:
    """Load the beacon script.

    On server-rendered Wagtail pages the hook already records the page view, so the
    snippet only exposes ``journeys.track(name, properties)``; pass
    ``track_page_view=True`` on pages Wagtail does not serve. ``endpoint`` is the API base
    (``https://www.example.com/journeys/api``) for a front end on another origin. The
    output is the same for every visitor (the script asks for its visitor id), so pages
    stay safe to cache. When the site requires consent before tracking
    (``TRACKING_CONSENT_REQUIRED``), the script is told so and waits for
    ``journeys.consent.grant()``.
    """
    return {
        "consent_required": conf.get("TRACKING_CONSENT_REQUIRED"),
        "consent_cookie": conf.get("CONSENT_COOKIE_NAME"),
        "script_url": static("wagtail_journeys/js/tracking.js"),
        "endpoint": endpoint or reverse("wagtail_journeys:api:events").rsplit("/events", 1)[0],
        "track_page_view": bool(track_page_view),
    }


@register.filter
def reason(value: str | None) -> str:
    """A stored reason (a step run's, an enrolment's end, a message's error) in the user's
    language: ``{{ run.reason|reason|default:"-" }}``."""
    from ..reasons import display

    return display(value)
