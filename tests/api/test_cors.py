"""Cross-origin use of the API: allowed origins only."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from wagtail_journeys.models import Event
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db
ALLOWED = "https://shop.example.com"


@override_settings(WAGTAIL_JOURNEYS={"CORS_ALLOWED_ORIGINS": [ALLOWED]})
def test_preflight_from_allowed_origin(client):
    response = client.options(
        "/journeys/api/events",
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response["Access-Control-Allow-Methods"]


@override_settings(WAGTAIL_JOURNEYS={"CORS_ALLOWED_ORIGINS": [ALLOWED]})
def test_beacon_from_allowed_origin_is_recorded(client):
    token = VisitorId.new().token
    response = client.post(
        "/journeys/api/events",
        data=json.dumps({"name": "page_view", "visitor": token}),
        content_type="text/plain",
        HTTP_ORIGIN=ALLOWED,
    )
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert Event.objects.count() == 1


@override_settings(WAGTAIL_JOURNEYS={"CORS_ALLOWED_ORIGINS": [ALLOWED]})
@pytest.mark.parametrize("origin", ["https://evil.example", "http://shop.example.com"])
def test_other_origins_are_refused(client, origin):
    token = VisitorId.new().token
    response = client.post(
        "/journeys/api/events",
        data=json.dumps({"name": "page_view", "visitor": token}),
        content_type="text/plain",
        HTTP_ORIGIN=origin,
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Event.objects.count() == 0
    preflight = client.options("/journeys/api/visitor", HTTP_ORIGIN=origin)
    assert preflight.status_code == 403


def test_same_origin_needs_no_configuration(client):
    token = VisitorId.new().token
    response = client.post(
        "/journeys/api/events",
        data=json.dumps({"name": "page_view", "visitor": token}),
        content_type="text/plain",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 201
