"""The example site's URLs plus ``/bench/floor``: what any Django view pays to store an event.

A bare view, as a developer would write it without a framework: parse the JSON body,
INSERT one ``Event`` row, answer with its id. No validation, no authentication, no
idempotency check beyond the database's unique constraint. ``bench_events_api`` measures
the events API against it, behind the same gunicorn, middleware and database.
"""

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from example_site.urls import urlpatterns as site_patterns


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    from wagtail_journeys.models import Event

    data = json.loads(request.body)
    event = Event.objects.create(
        name=data["name"],
        properties=data.get("properties") or {},
        source="api",
        idempotency_key=data.get("idempotency_key"),
    )
    return JsonResponse({"id": event.pk, "created": True}, status=201)


urlpatterns = [path("bench/floor", floor), *site_patterns]
