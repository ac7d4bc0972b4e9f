"""``path("journeys/", include("wagtail_journeys.urls"))`` mounts everything public."""

from django.urls import path, re_path

from .api import api
from .api.access import guard
from .api.errors import NOT_FOUND_NAME, not_found
from .tracking import confirmation, emails, preferences

app_name = "wagtail_journeys"

_api_patterns, _, _ = api.urls
# Last: any other path under api/ is a 404 problem, not the site's HTML page.
_api_patterns = [*_api_patterns, re_path(r"^.*$", not_found, name=NOT_FOUND_NAME)]
for _pattern in _api_patterns:
    if _pattern.name == "api-root":  # ninja's root only raises Http404; it stays for reverse()
        _pattern.callback = not_found
    _pattern.callback = guard(_pattern.callback)
# Nested under this app's namespace; ninja reverses its own views through this name.
api.urls_namespace = f"{app_name}:api"

urlpatterns = [
    path("api/", (_api_patterns, "api", "api")),
    path("o/<str:token>.gif", emails.email_open, name="email_open"),
    path("c/<str:token>", emails.email_click, name="email_click"),
    path("u/<str:token>", preferences.email_preferences, name="email_unsubscribe"),
    path("confirm/<str:token>", confirmation.confirm_subscription, name="confirm_subscription"),
]
