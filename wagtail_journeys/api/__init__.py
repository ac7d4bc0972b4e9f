"""The headless HTTP API: a django-ninja ``NinjaAPI`` following Wagtail API v3's conventions.

Errors are RFC 7807 ``application/problem+json`` bodies (Wagtail's handlers plus ours for
domain exceptions); the OpenAPI document is at ``/journeys/api/openapi.json``.
"""

from .main import api

__all__ = ["api"]
